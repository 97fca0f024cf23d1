//! Async Unix domain sockets on every backend: a listener and streams
//! (echo, half-close, a peer's reset, a closed peer, readiness methods,
//! halves, abstract names, cancel safety, abort freeing the socket, 100
//! connections x 256 KiB), and datagrams (pairs, paths, unbound senders).

mod util;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr as StdUnixAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use eddy_rt::net::{UnixAddr, UnixDatagram, UnixListener, UnixStream};
use eddy_rt::time::timeout;
use eddy_rt::{spawn, spawn_local, yield_now};
use futures_util::{AsyncReadExt, AsyncWriteExt};
use util::{Fnv, Rng, fd_count, on_every_backend};

const WAIT: Duration = Duration::from_secs(10);

/// A fresh directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("eddy-rt-unix-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn echo_server(path: &Path) -> eddy_rt::JoinHandle<()> {
    let listener = UnixListener::bind(path).unwrap();
    spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            spawn(async move {
                let (mut r, mut w) = stream.into_split();
                let _ = futures_util::io::copy(&mut r, &mut w).await;
                let _ = w.close().await;
            });
        }
    })
}

#[test]
fn echo_through_bind_accept_connect_read_and_write() {
    on_every_backend(|backend| async move {
        let dir = TempDir::new();
        let path = dir.join("echo.sock");
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(listener.local_addr().unwrap(), UnixAddr::Path(path.clone()));
        let client = UnixStream::connect(&path).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, UnixAddr::Unnamed, "a connecting client is unnamed");
        assert_eq!(client.peer_addr().unwrap(), UnixAddr::Path(path.clone()));
        client.write_all(b"hello, unix").await.unwrap();
        let mut buf = [0u8; 11];
        (&server).read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello, unix", "{backend:?}");
        server.write_all(&buf).await.unwrap();
        let mut back = [0u8; 11];
        (&client).read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"hello, unix");
    });
}

#[test]
fn connecting_to_nobody_fails_at_once() {
    on_every_backend(|backend| async move {
        let dir = TempDir::new();
        let r = UnixStream::connect(dir.join("nobody.sock")).await;
        assert_eq!(r.map(drop).map_err(|e| e.kind()), Err(ErrorKind::NotFound), "{backend:?}");
        // A path bound by a closed listener: refused.
        let path = dir.join("gone.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let r = UnixStream::connect(&path).await;
        assert_eq!(r.map(drop).map_err(|e| e.kind()), Err(ErrorKind::ConnectionRefused), "{backend:?}");
    });
}

#[test]
fn a_half_closed_client_still_gets_its_answer() {
    on_every_backend(|backend| async move {
        let dir = TempDir::new();
        let path = dir.join("half.sock");
        let server = echo_server(&path).await;
        let mut c = UnixStream::connect(&path).await.unwrap();
        c.write_all(b"request").await.unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut all = Vec::new();
        timeout(WAIT, c.read_to_end(&mut all)).await.unwrap().unwrap();
        assert_eq!(all, b"request", "the echo, then EOF ({backend:?})");
        server.abort();
    });
}

/// A peer that closes with unread data in its queue resets: the read
/// ends with `ConnectionReset`, and writes then see `BrokenPipe`.
#[test]
fn a_peer_closing_with_unread_data_resets() {
    on_every_backend(|backend| async move {
        let (a, b) = UnixStream::pair().unwrap();
        a.write_all(b"never read").await.unwrap();
        let reader = spawn_local(async move {
            let mut buf = [0u8; 16];
            a.read(&mut buf).await.map_err(|e| e.kind())
        });
        yield_now().await;
        drop(b);
        let r = timeout(WAIT, reader).await.expect("the reset arrives").unwrap();
        assert_eq!(r, Err(ErrorKind::ConnectionReset), "{backend:?}");
    });
}

#[test]
fn writing_to_a_closed_peer_is_a_broken_pipe_and_reading_is_eof() {
    on_every_backend(|backend| async move {
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        let mut buf = [0u8; 4];
        assert_eq!(timeout(WAIT, a.read(&mut buf)).await.unwrap().unwrap(), 0, "{backend:?}");
        let r = timeout(WAIT, a.write(b"void")).await.unwrap();
        assert_eq!(r.map_err(|e| e.kind()), Err(ErrorKind::BrokenPipe), "{backend:?}");
    });
}

#[test]
fn readable_then_try_read_and_try_write() {
    on_every_backend(|backend| async move {
        let (a, b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(a.try_read(&mut buf).map_err(|e| e.kind()), Err(ErrorKind::WouldBlock));
        b.writable().await.unwrap();
        assert_eq!(b.try_write(b"abc").unwrap(), 3);
        loop {
            a.readable().await.unwrap();
            match a.try_read(&mut buf) {
                Ok(n) => {
                    assert_eq!(&buf[..n], b"abc", "{backend:?}");
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue, // spurious
                Err(e) => panic!("{e}"),
            }
        }
    });
}

/// A writer that fills the socket's buffer waits for the reader, then
/// finishes: every byte arrives in order.
#[test]
fn a_full_buffer_makes_the_writer_wait() {
    const BYTES: usize = 4 << 20;
    on_every_backend(|backend| async move {
        let (a, b) = UnixStream::pair().unwrap();
        let writer = spawn_local(async move {
            let data: Vec<u8> = (0..BYTES).map(|i| (i % 251) as u8).collect();
            a.write_all(&data).await.unwrap();
        });
        let mut got = Vec::with_capacity(BYTES);
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < BYTES {
            let n = timeout(WAIT, b.read(&mut buf)).await.unwrap().unwrap();
            assert_ne!(n, 0);
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8), "{backend:?}");
        writer.await.unwrap();
    });
}

#[test]
fn a_dropped_pending_read_then_a_new_read_gets_every_byte() {
    on_every_backend(|_| async move {
        let (a, b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 4];
        assert!(timeout(Duration::from_millis(20), a.read(&mut buf)).await.is_err(), "nothing yet");
        b.write_all(b"data").await.unwrap();
        let mut all = [0u8; 4];
        (&a).read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"data");
    });
}

#[test]
fn borrowed_and_owned_halves() {
    on_every_backend(|backend| async move {
        let (a, b) = UnixStream::pair().unwrap();
        {
            // `a.split()` would be `AsyncReadExt::split` (by value).
            let (mut r, mut w) = UnixStream::split(&a);
            w.write_all(b"via halves").await.unwrap();
            let mut buf = [0u8; 10];
            (&b).read_exact(&mut buf).await.unwrap();
            b.write_all(&buf).await.unwrap();
            r.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"via halves", "{backend:?}");
        }
        let (r, w) = a.into_split();
        let (r2, w2) = b.into_split();
        // Halves of two streams are given back.
        let Err((r2, w)) = r2.reunite(w) else { panic!("halves of two streams reunited") };
        let b = r2.reunite(w2).unwrap();
        w.stream().writable().await.unwrap();
        let a = r.reunite(w).unwrap();
        a.write_all(b"x").await.unwrap();
        let mut one = [0u8; 1];
        (&b).read_exact(&mut one).await.unwrap();
        assert_eq!(&one, b"x");
    });
}

#[test]
fn abstract_names_bind_and_connect() {
    on_every_backend(|backend| async move {
        let name = format!("eddy-rt-test-{}-{backend:?}", std::process::id());
        let addr = StdUnixAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixListener::bind_addr(&addr).unwrap();
        assert_eq!(listener.local_addr().unwrap(), UnixAddr::Abstract(name.clone().into_bytes()));
        let c = UnixStream::connect_addr(&addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        c.write_all(b"abs").await.unwrap();
        let mut buf = [0u8; 3];
        (&s).read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abs");
    });
}

#[test]
fn from_std_adopts_a_listener_and_a_stream() {
    on_every_backend(|_| async move {
        let dir = TempDir::new();
        let path = dir.join("std.sock");
        let listener = UnixListener::from_std(std::os::unix::net::UnixListener::bind(&path).unwrap()).unwrap();
        let c = UnixStream::from_std(std::os::unix::net::UnixStream::connect(&path).unwrap()).unwrap();
        let (s, _) = listener.accept().await.unwrap();
        c.write_all(b"ok").await.unwrap();
        let mut buf = [0u8; 2];
        (&s).read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ok");
    });
}

#[test]
fn outside_a_runtime_bind_is_a_clear_error() {
    let dir = TempDir::new();
    let err = UnixListener::bind(dir.join("outside.sock")).unwrap_err();
    assert!(err.to_string().contains("not inside"), "{err}");
    let err = UnixStream::pair().unwrap_err();
    assert!(err.to_string().contains("not inside"), "{err}");
}

#[test]
fn an_aborted_task_closes_and_deregisters_its_socket() {
    on_every_backend(|backend| async move {
        let dir = TempDir::new();
        let path = dir.join("abort.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let before = fd_count();
        let reader = spawn_local({
            let path = path.clone();
            async move {
                let s = UnixStream::connect(&path).await.unwrap();
                let mut buf = [0u8; 1];
                let _ = s.read(&mut buf).await;
            }
        });
        let (server_side, _) = listener.accept().await.unwrap();
        yield_now().await;
        assert_eq!(fd_count(), before + 2, "both ends are open");
        reader.abort();
        assert_eq!(fd_count(), before + 1, "only the accepted side is left ({backend:?})");
        let mut buf = [0u8; 1];
        assert_eq!(timeout(WAIT, server_side.read(&mut buf)).await.unwrap().unwrap(), 0, "EOF");
    });
}

/// 100 connections x 256 KiB of pseudo-random bytes in random-size chunks
/// through an async echo server on the same loop; each client hashes what
/// it sent and what came back.
#[test]
fn hundred_connections_each_get_their_256_kib_back() {
    const CONNS: u64 = 100;
    const BYTES: usize = 256 << 10;
    on_every_backend(|backend| async move {
        let dir = TempDir::new();
        let path = dir.join("many.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = spawn(async move {
            let mut echoes = Vec::new();
            for _ in 0..CONNS {
                let (s, _) = listener.accept().await.unwrap();
                echoes.push(spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    futures_util::io::copy(&mut r, &mut w).await.unwrap();
                    w.close().await.unwrap();
                }));
            }
            for e in echoes {
                e.await.unwrap();
            }
        });
        let clients: Vec<_> = (0..CONNS)
            .map(|seed| {
                let path = path.clone();
                spawn(async move {
                    let s = UnixStream::connect(&path).await.unwrap();
                    let (mut r, mut w) = s.into_split();
                    let writer = spawn(async move {
                        let mut rng = Rng::new(seed);
                        let mut hash = Fnv::default();
                        let mut sent = 0;
                        let mut chunk = Vec::new();
                        while sent < BYTES {
                            let size = (1 + rng.below(16 * 1024) as usize).min(BYTES - sent);
                            chunk.resize(size, 0);
                            rng.fill(&mut chunk);
                            hash.update(&chunk);
                            w.write_all(&chunk).await.unwrap();
                            sent += size;
                        }
                        w.close().await.unwrap();
                        hash
                    });
                    let mut hash = Fnv::default();
                    let mut got = 0;
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = r.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        hash.update(&buf[..n]);
                        got += n;
                    }
                    (writer.await.unwrap(), hash, got)
                })
            })
            .collect();
        for c in clients {
            let (sent, received, got) = timeout(Duration::from_secs(60), c).await.unwrap().unwrap();
            assert_eq!(got, BYTES, "{backend:?}");
            assert_eq!(sent, received, "{backend:?}");
        }
        server.await.unwrap();
    });
}

#[test]
fn datagram_pairs_send_and_recv() {
    on_every_backend(|backend| async move {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"one").await.unwrap();
        a.send(b"").await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(b.recv(&mut buf).await.unwrap(), 3, "{backend:?}");
        assert_eq!(&buf[..3], b"one");
        assert_eq!(b.recv(&mut buf).await.unwrap(), 0, "an empty datagram");
        assert_eq!(b.try_recv(&mut buf).map_err(|e| e.kind()), Err(ErrorKind::WouldBlock));
        b.send(b"back").await.unwrap();
        a.readable().await.unwrap();
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"back"[..], UnixAddr::Unnamed));
    });
}

#[test]
fn datagrams_by_path_from_bound_and_unbound_senders() {
    on_every_backend(|backend| async move {
        let dir = TempDir::new();
        let server_path = dir.join("dgram.sock");
        let client_path = dir.join("client.sock");
        let server = UnixDatagram::bind(&server_path).unwrap();
        let client = UnixDatagram::bind(&client_path).unwrap();
        let anon = UnixDatagram::unbound().unwrap();
        assert_eq!(anon.local_addr().unwrap(), UnixAddr::Unnamed);
        client.send_to(b"named", &server_path).await.unwrap();
        anon.send_to(b"anon", &server_path).await.unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"named"[..], UnixAddr::Path(client_path.clone())), "{backend:?}");
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"anon"[..], UnixAddr::Unnamed));
        // Reply to the named one, then talk through a connected socket.
        server.send_to(b"reply", &client_path).await.unwrap();
        let n = timeout(WAIT, client.recv(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], b"reply");
        anon.connect(&server_path).unwrap();
        assert_eq!(anon.peer_addr().unwrap(), UnixAddr::Path(server_path.clone()));
        anon.send(b"conn").await.unwrap();
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"conn");
        assert_eq!(
            anon.try_send_to(b"x", dir.join("nobody")).map_err(|e| e.kind()),
            Err(ErrorKind::NotFound),
            "{backend:?}"
        );
    });
}

/// A receiver's queue full: the sender waits (Unix datagrams are flow
/// controlled, not dropped), then every datagram arrives.
#[test]
fn a_full_datagram_queue_makes_the_sender_wait() {
    const COUNT: u32 = 5_000;
    on_every_backend(|backend| async move {
        let (a, b) = UnixDatagram::pair().unwrap();
        let sender = spawn_local(async move {
            for i in 0..COUNT {
                a.send(&i.to_le_bytes()).await.unwrap();
            }
        });
        let mut buf = [0u8; 4];
        for i in 0..COUNT {
            let n = timeout(WAIT, b.recv(&mut buf)).await.expect("not lost").unwrap();
            assert_eq!((n, u32::from_le_bytes(buf)), (4, i), "{backend:?}");
        }
        sender.await.unwrap();
    });
}
