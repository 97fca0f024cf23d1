//! hyper 1.x on eddy-rt (feature `hyper`): a hyper HTTP/1.1 server on an
//! eddy-rt loop driven by curl, Python's http.client and h2load; a hyper
//! client on eddy-rt against a hyper server on eddy-rt, on every backend,
//! with a `!Send` service; the timer (header-read timeout, `reset`), the
//! executors, and `EddyIo` the other way round (hyper IO as `futures_io`).
//! A test whose client is not installed is skipped with a note, or fails
//! under `EDDY_REQUIRE_CLIENTS` (as `./test.sh` runs them). The hyper
//! client against `eddy serve` is eddy-cli's `tests/hyper_client.rs`.
#![allow(clippy::print_stderr)]

mod util;

use std::cell::Cell;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::Command;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use eddy_poll::Backend;
use eddy_rt::hyper::{EddyExecutor, EddyIo, EddyLocalExecutor, EddyTimer};
use eddy_rt::net::{TcpListener, TcpStream};
use eddy_rt::time::timeout;
use eddy_rt::{spawn, spawn_local};
use futures_util::{AsyncReadExt, AsyncWriteExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::rt::{Executor, Timer};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use util::{Fnv, Rng, on_every_backend, oneshot, runtime};

// ---- the clients a test drives (as eddy-cli's tests/util/mod.rs) ----

/// The environment variable under which a missing client fails the test
/// instead of skipping it (`./test.sh` sets it: CI never skips).
const REQUIRE_CLIENTS: &str = "EDDY_REQUIRE_CLIENTS";

/// The Debian package that has `cmd`.
fn package_of(cmd: &str) -> &str {
    match cmd {
        "h2load" => "nghttp2-client",
        "timeout" => "coreutils",
        other => other,
    }
}

fn on_path(cmd: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .any(|dir| std::fs::metadata(dir.join(cmd)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Whether every client in `cmds` can be run. If one cannot: with
/// `EDDY_REQUIRE_CLIENTS` set (to anything but empty or `0`), the test
/// fails; without it, this says on stderr what to install and returns
/// false, and the test returns at once (skipped).
fn clients(cmds: &[&str]) -> bool {
    let missing: Vec<&str> = cmds.iter().copied().filter(|c| !on_path(c)).collect();
    if missing.is_empty() {
        return true;
    }
    let packages: Vec<&str> = missing.iter().map(|c| package_of(c)).collect();
    let what = format!("needs {} (apt-get install {})", missing.join(", "), packages.join(" "));
    let required = std::env::var(REQUIRE_CLIENTS).is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(!required, "{what}, and {REQUIRE_CLIENTS} is set: a missing client is a failure");
    eprintln!("skipped: {what}");
    false
}

/// Runs a command, returns (success, stdout + stderr).
fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd} must be installed: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

// ---- the server ----

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

type Body = Full<Bytes>;

/// `GET /`: plaintext; `POST /echo`: the body back; else 404.
async fn app(req: Request<Incoming>) -> Result<Response<Body>, hyper::Error> {
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/") => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
            r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain"));
            r
        }
        (&Method::POST, "/echo") => Response::new(Full::new(req.into_body().collect().await?.to_bytes())),
        _ => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"not found")));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    Ok(resp)
}

/// Accepts forever; one `Send` task per connection, hyper's http1 with
/// eddy's timer.
async fn accept_loop(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        spawn(async move {
            let conn = http1::Builder::new().timer(EddyTimer).serve_connection(EddyIo::new(stream), service_fn(app));
            let _ = conn.await;
        });
    }
}

/// A hyper server on an eddy-rt loop of its own thread; stopped (its
/// runtime dropped) when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<util::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::<()>();
        let thread = std::thread::spawn(move || {
            runtime(Backend::Epoll)
                .block_on(async move {
                    let listener = TcpListener::bind(any_port()).await.unwrap();
                    addr_tx.send(listener.local_addr().unwrap()).unwrap();
                    let acceptor = spawn(accept_loop(listener));
                    stopped.await;
                    acceptor.abort();
                })
                .unwrap();
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).expect("the server is listening");
        Server { addr, stop: Some(stop), thread: Some(thread) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---- real clients ----

#[test]
fn curl_gets_hello_twice_on_one_keep_alive_connection() {
    if !clients(&["curl"]) {
        return;
    }
    let srv = Server::start();
    let (ok, out) = run("curl", &["-sv", "--max-time", "10", &srv.url("/"), &srv.url("/")]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("Hello, World!").count(), 2, "{out}");
    assert!(out.contains("Re-using existing connection") || out.contains("Reusing existing connection"), "{out}");
    assert!(out.to_ascii_lowercase().contains("< content-length: 13"), "{out}");
    let (ok, out) =
        run("curl", &["-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", &srv.url("/nope")]);
    assert!(ok && out == "404", "{out}");
}

#[test]
fn python_http_client_get_post_head_and_chunked() {
    if !clients(&["python3"]) {
        return;
    }
    let srv = Server::start();
    let script = r#"
import http.client, sys
host, port = sys.argv[1], int(sys.argv[2])
c = http.client.HTTPConnection(host, port, timeout=10)
c.request("GET", "/"); r = c.getresponse(); body = r.read()
assert (r.status, body) == (200, b"Hello, World!"), (r.status, body)
assert r.getheader("Content-Type") == "text/plain"
c.request("POST", "/echo", body=b"x" * 300000); r = c.getresponse()
assert (r.status, r.read()) == (200, b"x" * 300000)
c.request("HEAD", "/"); r = c.getresponse()
assert (r.status, r.read(), r.getheader("Content-Length")) == (200, b"", "13"), r.getheaders()
c.request("GET", "/missing"); r = c.getresponse(); r.read()
assert r.status == 404
c.request("POST", "/echo", body=iter([b"chunk1-", b"chunk2"]), encode_chunked=True); r = c.getresponse()
assert (r.status, r.read()) == (200, b"chunk1-chunk2")
print("ok")
"#;
    let port = srv.addr.port().to_string();
    let (ok, out) = run("python3", &["-c", script, "127.0.0.1", &port]);
    assert!(ok && out.trim() == "ok", "{out}");
}

/// h2load's `requests:` line: (total, succeeded, failed, errored,
/// timeout).
fn h2load_summary(out: &str) -> Option<[u64; 5]> {
    let line = out.lines().find(|l| l.trim_start().starts_with("requests:"))?;
    let field = |name: &str| -> Option<u64> {
        line.split(',')
            .find_map(|part| part.trim().trim_start_matches("requests:").trim().strip_suffix(name))?
            .trim()
            .parse()
            .ok()
    };
    Some([field("total")?, field("succeeded")?, field("failed")?, field("errored")?, field("timeout")?])
}

#[test]
fn h2load_20000_pipelined_requests_on_16_connections_all_succeed() {
    if !clients(&["timeout", "h2load"]) {
        return;
    }
    let srv = Server::start();
    let (ok, out) = run("timeout", &["120", "h2load", "--h1", "-n", "20000", "-c", "16", "-m", "16", &srv.url("/")]);
    assert!(ok, "{out}");
    let summary = h2load_summary(&out).unwrap_or_else(|| panic!("no requests: line in {out}"));
    assert_eq!(summary, [20000, 20000, 0, 0, 0], "[total, succeeded, failed, errored, timeout]: {out}");
    assert!(out.contains("status codes: 20000 2xx"), "{out}");
}

// ---- a hyper client on eddy-rt ----

/// A GET through `sender`; (status, body).
async fn get(sender: &mut hyper::client::conn::http1::SendRequest<Body>, path: &str) -> (StatusCode, Bytes) {
    let req = Request::get(path).header(header::HOST, "127.0.0.1").body(Full::new(Bytes::new())).unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes())
}

#[test]
fn a_hyper_client_on_eddy_rt_talks_to_a_hyper_server_on_eddy_rt_on_every_backend() {
    on_every_backend(|backend| async move {
        // The server: a `!Send` service (Rc state), `!Send` connection
        // tasks on this same loop.
        let listener = TcpListener::bind(any_port()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Rc::new(Cell::new(0u32));
        let counter = Rc::clone(&served);
        let server = spawn_local(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let counter = Rc::clone(&counter);
                spawn_local(async move {
                    let service = service_fn(move |req| {
                        counter.set(counter.get() + 1);
                        app(req)
                    });
                    let _ = http1::Builder::new().timer(EddyTimer).serve_connection(EddyIo::new(stream), service).await;
                });
            }
        });

        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::Builder::new().handshake(EddyIo::new(stream)).await.unwrap();
        let driver = spawn(async move { conn.await.map_err(|e| e.to_string()) });
        for _ in 0..3 {
            assert_eq!(
                get(&mut sender, "/").await,
                (StatusCode::OK, Bytes::from_static(b"Hello, World!")),
                "{backend:?}"
            );
        }
        assert_eq!(get(&mut sender, "/nope").await.0, StatusCode::NOT_FOUND);

        // 1 MiB each way, through the read scratch many times.
        let mut body = vec![0u8; 1 << 20];
        Rng::new(7).fill(&mut body);
        let mut sent = Fnv::default();
        sent.update(&body);
        let req = Request::post("/echo").header(header::HOST, "127.0.0.1").body(Full::new(Bytes::from(body))).unwrap();
        let resp = timeout(Duration::from_secs(30), sender.send_request(req)).await.expect("in time").unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let back = resp.into_body().collect().await.unwrap().to_bytes();
        let mut got = Fnv::default();
        got.update(&back);
        assert_eq!((back.len(), got), (1 << 20, sent), "the echo ({backend:?})");
        assert_eq!(served.get(), 5, "one keep-alive connection, five requests");

        drop(sender);
        let closed = timeout(Duration::from_secs(10), driver).await.expect("the client connection ends").unwrap();
        assert!(closed.is_ok(), "{closed:?}");
        server.abort();
    });
}

#[test]
fn a_hyper_client_on_eddy_rt_against_a_server_on_another_loop_thread() {
    let srv = Server::start();
    runtime(Backend::Epoll)
        .block_on(async move {
            let stream = TcpStream::connect(srv.addr).await.unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(EddyIo::new(stream)).await.unwrap();
            spawn(conn);
            for _ in 0..100 {
                assert_eq!(get(&mut sender, "/").await, (StatusCode::OK, Bytes::from_static(b"Hello, World!")));
            }
        })
        .unwrap();
}

// ---- the timer ----

#[test]
fn the_header_read_timeout_closes_a_connection_that_never_finishes_its_head() {
    runtime(Backend::Epoll)
        .block_on(async {
            let listener = TcpListener::bind(any_port()).await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                http1::Builder::new()
                    .timer(EddyTimer)
                    .header_read_timeout(Duration::from_millis(200))
                    .serve_connection(EddyIo::new(stream), service_fn(app))
                    .await
            });
            let mut c = TcpStream::connect(addr).await.unwrap();
            let start = Instant::now();
            c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
            let mut rest = Vec::new();
            timeout(Duration::from_secs(10), c.read_to_end(&mut rest)).await.expect("closed in time").unwrap();
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(200), "never early: {took:?}");
            assert!(took < Duration::from_secs(5), "{took:?}");
            let err = server.await.unwrap().expect_err("the connection ended in a timeout");
            assert!(err.is_timeout(), "{err}");
        })
        .unwrap();
}

/// A sleep of another timer: never ready.
struct Forever;

impl std::future::Future for Forever {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl hyper::rt::Sleep for Forever {}

#[test]
fn timer_sleeps_reset_in_place_and_replace_foreign_ones() {
    runtime(Backend::Epoll)
        .block_on(async {
            let timer = EddyTimer;
            let start = Instant::now();
            timer.sleep(Duration::from_millis(20)).await;
            assert!(start.elapsed() >= Duration::from_millis(20));

            // A sleep that has been polled (its timer armed), moved sooner.
            let mut sleep = timer.sleep(Duration::from_secs(3600));
            assert!(timeout(Duration::from_millis(5), sleep.as_mut()).await.is_err());
            let start = Instant::now();
            timer.reset(&mut sleep, start + Duration::from_millis(30));
            timeout(Duration::from_secs(10), sleep.as_mut()).await.expect("the reset deadline holds");
            assert!(start.elapsed() >= Duration::from_millis(30));
            // And moved later after it fired: it waits again.
            let again = Instant::now() + Duration::from_millis(30);
            timer.reset(&mut sleep, again);
            sleep.as_mut().await;
            assert!(Instant::now() >= again);
            drop(sleep);

            let mut foreign: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Forever);
            timer.reset(&mut foreign, Instant::now() + Duration::from_millis(10));
            timeout(Duration::from_secs(10), foreign).await.expect("replaced by an eddy sleep");

            let mut until = timer.sleep_until(Instant::now() + Duration::from_secs(3600));
            assert!(timeout(Duration::from_millis(5), until.as_mut()).await.is_err());
            assert_eq!(eddy_rt::time::pending_timers(), 1);
            drop(until);
            assert_eq!(eddy_rt::time::pending_timers(), 0, "a dropped sleep frees its timer");
        })
        .unwrap();
}

// ---- the executors ----

#[test]
fn the_executors_run_send_and_local_futures_on_the_current_loop() {
    runtime(Backend::Epoll)
        .block_on(async {
            let here = std::thread::current().id();
            let (tx, rx) = oneshot();
            EddyExecutor.execute(async move { tx.send(std::thread::current().id()) });
            assert_eq!(rx.await, here);

            let seen = Rc::new(Cell::new(false));
            let (tx, rx) = oneshot();
            let flag = Rc::clone(&seen);
            EddyLocalExecutor.execute(async move {
                flag.set(true);
                tx.send(());
            });
            rx.await;
            assert!(seen.get());
        })
        .unwrap();
}

// ---- EddyIo the other way round ----

#[test]
fn eddy_io_over_hyper_io_is_futures_io() {
    runtime(Backend::Epoll)
        .block_on(async {
            let listener = TcpListener::bind(any_port()).await.unwrap();
            let addr = listener.local_addr().unwrap();
            let echo = spawn(async move {
                let (s, _) = listener.accept().await.unwrap();
                let (mut r, mut w) = s.into_split();
                futures_util::io::copy(&mut r, &mut w).await.unwrap();
                w.close().await.unwrap();
            });
            // futures_io -> hyper -> futures_io.
            let mut io = EddyIo::new(EddyIo::new(TcpStream::connect(addr).await.unwrap()));
            let mut msg = vec![0u8; 200_000];
            Rng::new(3).fill(&mut msg);
            let (mut r, mut w) = (&mut io).split();
            let writer = async {
                w.write_all(&msg).await.unwrap();
                w.close().await.unwrap();
            };
            let mut back = Vec::new();
            let reader = async {
                r.read_to_end(&mut back).await.unwrap();
            };
            futures_util::future::join(writer, reader).await;
            assert!(back == msg, "the echo, then EOF after our shutdown");
            echo.await.unwrap();
        })
        .unwrap();
}
