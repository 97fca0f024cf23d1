//! Async TCP on every backend: echo, half-close, reset, readiness methods,
//! cancel safety, a racing peer, abort freeing the socket, and 1000
//! connections x 1 MiB through an async echo server.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use eddy_poll::Backend;
use eddy_rt::net::{TcpListener, TcpStream};
use eddy_rt::time::timeout;
use eddy_rt::{spawn, yield_now};
use futures_util::{AsyncReadExt, AsyncWriteExt};
use util::{Fnv, Rng, fd_count, on_every_backend, runtime};

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn echo_server() -> (SocketAddr, eddy_rt::JoinHandle<()>) {
    let listener = TcpListener::bind(any_port()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            spawn(async move {
                let (mut r, mut w) = stream.into_split();
                let _ = futures_util::io::copy(&mut r, &mut w).await;
                let _ = w.close().await;
            });
        }
    });
    (addr, task)
}

#[test]
fn echo_through_accept_connect_read_and_write() {
    on_every_backend(|backend| async move {
        let (addr, server) = echo_server().await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"hello, eddy").await.unwrap();
        let mut buf = [0u8; 11];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello, eddy", "{backend:?}");
        server.abort();
    });
}

#[test]
fn a_half_closed_client_still_gets_its_answer() {
    on_every_backend(|backend| async move {
        let (addr, server) = echo_server().await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"request").await.unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut all = Vec::new();
        c.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"request", "the echo, then EOF ({backend:?})");
        server.abort();
    });
}

#[test]
fn a_reset_ends_the_read_with_connection_reset() {
    on_every_backend(|backend| async move {
        let listener = TcpListener::bind(any_port()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (s, _) = {
            let peer = std::net::TcpStream::connect(addr).unwrap();
            let accepted = listener.accept().await.unwrap();
            // SO_LINGER 0: the close resets.
            let peer = eddy_poll::net::TcpStream::from_std(peer).unwrap();
            peer.set_linger(Some(Duration::ZERO)).unwrap();
            drop(peer);
            accepted
        };
        let mut buf = [0u8; 16];
        let r = timeout(Duration::from_secs(10), s.read(&mut buf)).await.expect("the reset arrives");
        assert_eq!(r.map_err(|e| e.kind()), Err(ErrorKind::ConnectionReset), "{backend:?}");
    });
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    on_every_backend(|backend| async move {
        let port = std::net::TcpListener::bind(any_port()).unwrap().local_addr().unwrap();
        let r = TcpStream::connect(port).await;
        assert_eq!(r.map(drop).map_err(|e| e.kind()), Err(ErrorKind::ConnectionRefused), "{backend:?}");
    });
}

#[test]
fn readable_then_try_read_and_try_write() {
    on_every_backend(|backend| async move {
        let listener = TcpListener::bind(any_port()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut peer = std::net::TcpStream::connect(addr).unwrap();
        let (s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 8];
        // Nothing sent yet: a fresh socket is "maybe ready", the kernel
        // says no, and the readiness is cleared.
        assert_eq!(s.try_read(&mut buf).map_err(|e| e.kind()), Err(ErrorKind::WouldBlock));
        peer.write_all(b"abc").unwrap();
        loop {
            s.readable().await.unwrap();
            match s.try_read(&mut buf) {
                Ok(n) => {
                    assert_eq!(&buf[..n], b"abc", "{backend:?}");
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue, // spurious
                Err(e) => panic!("{e}"),
            }
        }
        s.writable().await.unwrap();
        assert_eq!(s.try_write(b"xyz").unwrap(), 3);
        let mut back = [0u8; 3];
        peer.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"xyz");
    });
}

#[test]
fn peek_leaves_the_bytes_for_the_read() {
    on_every_backend(|_| async move {
        let listener = TcpListener::bind(any_port()).await.unwrap();
        let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (s, _) = listener.accept().await.unwrap();
        peer.write_all(b"peeked").unwrap();
        let mut buf = [0u8; 6];
        let n = s.peek(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &b"peeked"[..n]);
        let mut all = [0u8; 6];
        (&s).read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"peeked");
    });
}

/// A pending read dropped before any byte arrived loses nothing: a new
/// read gets every byte.
#[test]
fn a_dropped_pending_read_then_a_new_read_gets_every_byte() {
    on_every_backend(|_| async move {
        let listener = TcpListener::bind(any_port()).await.unwrap();
        let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4];
        assert!(timeout(Duration::from_millis(20), s.read(&mut buf)).await.is_err(), "nothing yet");
        peer.write_all(b"data").unwrap();
        let mut all = [0u8; 4];
        (&s).read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"data");
    });
}

/// A peer that writes while the task goes from `WouldBlock` to parked,
/// over and over: every byte arrives, nothing hangs (no lost wakeup).
#[test]
fn a_peer_writing_between_would_block_and_park_is_never_lost() {
    const ROUNDS: usize = 20_000;
    on_every_backend(|backend| async move {
        let listener = TcpListener::bind(any_port()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_nodelay(true).unwrap();
            let mut b = [0u8; 1];
            for i in 0..ROUNDS {
                s.write_all(&[(i % 251) as u8]).unwrap();
                s.read_exact(&mut b).unwrap();
                assert_eq!(b[0], (i % 251) as u8);
            }
        });
        let (s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut b = [0u8; 1];
        for _ in 0..ROUNDS {
            let r = timeout(Duration::from_secs(10), s.read(&mut b)).await;
            assert_eq!(r.expect("the byte was not lost").unwrap(), 1, "{backend:?}");
            s.write_all(&b).await.unwrap();
        }
        peer.join().unwrap();
    });
}

#[test]
fn an_aborted_task_closes_and_deregisters_its_socket() {
    for backend in util::BACKENDS {
        let mut rt = runtime(backend);
        rt.block_on(async move {
            let listener = TcpListener::bind(any_port()).await.unwrap();
            let addr = listener.local_addr().unwrap();
            let before = fd_count();
            let reader = spawn(async move {
                let s = TcpStream::connect(addr).await.unwrap();
                let mut buf = [0u8; 1];
                let _ = s.read(&mut buf).await;
            });
            let (server_side, _) = listener.accept().await.unwrap();
            yield_now().await;
            assert!(fd_count() > before, "the client socket is open");
            reader.abort();
            assert_eq!(fd_count(), before + 1, "only the accepted side is left ({backend:?})");
            // The peer sees the close: EOF.
            let mut buf = [0u8; 1];
            let n = timeout(Duration::from_secs(10), server_side.read(&mut buf)).await.unwrap().unwrap();
            assert_eq!(n, 0);
        })
        .unwrap();
    }
}

/// 1000 connections x 1 MiB of pseudo-random bytes in random-size chunks
/// through an async echo server on its own runtime and thread; each client
/// task hashes what it sent and what came back.
#[test]
fn thousand_connections_each_get_their_megabyte_back_async() {
    const CONNS: u64 = 1000;
    const BYTES: usize = 1 << 20;
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let mut rt = runtime(Backend::Epoll);
        rt.block_on(async move {
            let listener = TcpListener::bind(any_port()).await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
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
        })
        .unwrap();
    });
    let addr: SocketAddr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let mut rt = runtime(Backend::Epoll);
    let results = rt
        .block_on(async move {
            let clients: Vec<_> = (0..CONNS)
                .map(|seed| {
                    spawn(async move {
                        let s = TcpStream::connect(addr).await.unwrap();
                        let (mut r, mut w) = s.into_split();
                        let writer = spawn(async move {
                            let mut rng = Rng::new(seed);
                            let mut hash = Fnv::default();
                            let mut sent = 0;
                            let mut chunk = Vec::new();
                            while sent < BYTES {
                                let size = (1 + rng.below(64 * 1024) as usize).min(BYTES - sent);
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
                        let mut buf = vec![0u8; 32 * 1024];
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
            let mut out = Vec::new();
            for c in clients {
                out.push(c.await.unwrap());
            }
            out
        })
        .unwrap();
    for (sent, received, got) in results {
        assert_eq!(got, BYTES);
        assert_eq!(sent, received);
    }
    server.join().unwrap();
}
