//! A hyper 1.x client on eddy-rt (`eddy_rt::hyper`) against `eddy serve`:
//! keep-alive GETs with the headers eddy must send, a delayed answer, a
//! body echo, a 404, and `Connection: close` ending the client's
//! connection. (The hyper server on eddy-rt is eddy-rt's
//! `tests/hyper.rs`.)

mod util;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use eddy_rt::hyper::EddyIo;
use eddy_rt::net::TcpStream;
use eddy_rt::time::timeout;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, StatusCode, header};
use util::Eddy;

type Body = Full<Bytes>;

/// A request to `srv`; (status, headers, body), bounded in time.
async fn fetch(sender: &mut SendRequest<Body>, req: Request<Body>) -> (StatusCode, hyper::HeaderMap, Bytes) {
    let resp = timeout(Duration::from_secs(10), sender.send_request(req)).await.expect("an answer in time").unwrap();
    let (parts, body) = resp.into_parts();
    let body = timeout(Duration::from_secs(10), body.collect()).await.expect("the body in time").unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).header(header::HOST, "127.0.0.1").body(Full::new(Bytes::new())).unwrap()
}

/// Connects a hyper client over an eddy-rt socket; its connection task
/// gives `Ok` when the connection ended cleanly.
async fn client(addr: SocketAddr) -> (SendRequest<Body>, eddy_rt::JoinHandle<Result<(), String>>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = http1::handshake(EddyIo::new(stream)).await.unwrap();
    let driver = eddy_rt::spawn(async move { conn.await.map_err(|e| e.to_string()) });
    (sender, driver)
}

#[test]
fn a_hyper_client_on_eddy_rt_fetches_from_eddy_serve() {
    let srv = Eddy::serve(&[]);
    let addr = srv.addr;
    let mut rt = eddy_rt::Runtime::new().unwrap();
    rt.block_on(async move {
        let (mut sender, driver) = client(addr).await;
        for _ in 0..50 {
            let (status, headers, body) = fetch(&mut sender, get("/")).await;
            assert_eq!((status, &body[..]), (StatusCode::OK, &b"Hello, World!"[..]));
            assert_eq!(headers.get(header::SERVER).map(|v| v.as_bytes()), Some(&b"eddy"[..]), "{headers:?}");
            assert!(headers.contains_key(header::DATE), "{headers:?}");
            assert_eq!(headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()), Some(&b"text/plain"[..]));
        }

        let start = Instant::now();
        let (status, _, body) = fetch(&mut sender, get("/50/later")).await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b"later"[..]));
        assert!(start.elapsed() >= Duration::from_millis(50), "{:?}", start.elapsed());

        let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let post = Request::post("/echo")
            .header(header::HOST, "127.0.0.1")
            .body(Full::new(Bytes::from(payload.clone())))
            .unwrap();
        let (status, _, body) = fetch(&mut sender, post).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body == payload, "the echo: {} bytes back of {}", body.len(), payload.len());

        assert_eq!(fetch(&mut sender, get("/missing")).await.0, StatusCode::NOT_FOUND);

        // Still the one connection: eddy serve kept it alive throughout.
        assert!(!driver.is_finished(), "the connection is still open");
        let close = Request::get("/")
            .header(header::HOST, "127.0.0.1")
            .header(header::CONNECTION, "close")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let (status, headers, _) = fetch(&mut sender, close).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers.get(header::CONNECTION).map(|v| v.as_bytes()), Some(&b"close"[..]));
        let ended = timeout(Duration::from_secs(10), driver).await.expect("the connection ends after close").unwrap();
        assert!(ended.is_ok(), "{ended:?}");
    })
    .unwrap();
}

#[test]
fn many_hyper_clients_on_one_eddy_rt_loop_against_eddy_serve_with_two_loops() {
    let srv = Eddy::serve(&["--threads", "2"]);
    let addr = srv.addr;
    let mut rt = eddy_rt::Runtime::new().unwrap();
    rt.block_on(async move {
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                eddy_rt::spawn(async move {
                    let (mut sender, _driver) = client(addr).await;
                    for _ in 0..50 {
                        let (status, _, body) = fetch(&mut sender, get("/")).await;
                        assert_eq!((status, &body[..]), (StatusCode::OK, &b"Hello, World!"[..]));
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    })
    .unwrap();
}
