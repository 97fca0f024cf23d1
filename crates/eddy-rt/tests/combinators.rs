//! `futures-util`'s io combinators on eddy-rt sockets, every backend:
//! `io::copy` from TCP into a Unix stream, `BufReader` + `lines` (and
//! `read_line`, `read_until`) over fragmented writes, `BufWriter`,
//! `AsyncReadExt::split` (a `BiLock`) with two joined futures and
//! `reunite`, `take` and `chain`.

mod util;

use std::net::SocketAddr;
use std::time::Duration;

use eddy_rt::net::{TcpListener, TcpStream, UnixStream};
use eddy_rt::spawn_local;
use eddy_rt::time::{sleep, timeout};
use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use futures_util::{StreamExt, TryStreamExt};
use util::{Fnv, Rng, on_every_backend};

const WAIT: Duration = Duration::from_secs(20);

/// A connected TCP pair on loopback: (client, accepted).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let listener = TcpListener::bind(any).await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// 1 MiB in random-size chunks: TCP client -> `io::copy` -> Unix pair ->
/// `read_to_end`; the hashes match and `copy` counts every byte.
#[test]
fn copy_moves_a_megabyte_from_tcp_into_a_unix_stream() {
    const BYTES: usize = 1 << 20;
    on_every_backend(|backend| async move {
        let (client, server) = tcp_pair().await;
        let (ua, ub) = UnixStream::pair().unwrap();
        let writer = spawn_local(async move {
            let mut rng = Rng::new(7);
            let mut hash = Fnv::default();
            let mut chunk = Vec::new();
            let mut sent = 0;
            while sent < BYTES {
                let size = (1 + rng.below(20_000) as usize).min(BYTES - sent);
                chunk.resize(size, 0);
                rng.fill(&mut chunk);
                hash.update(&chunk);
                client.write_all(&chunk).await.unwrap();
                sent += size;
            }
            (&client).close().await.unwrap();
            hash
        });
        let proxy = spawn_local(async move {
            let n = futures_util::io::copy(&server, &mut &ua).await.unwrap();
            (&ua).close().await.unwrap();
            n
        });
        let mut all = Vec::new();
        timeout(WAIT, (&ub).read_to_end(&mut all)).await.unwrap().unwrap();
        let mut got = Fnv::default();
        got.update(&all);
        assert_eq!(all.len(), BYTES, "{backend:?}");
        assert_eq!(writer.await.unwrap(), got, "{backend:?}");
        assert_eq!(proxy.await.unwrap(), BYTES as u64);
    });
}

/// Lines written in fragments that split them anywhere (with pauses, so
/// the reader parks between them) come back whole through `BufReader`.
#[test]
fn buf_reader_lines_over_fragmented_writes() {
    on_every_backend(|backend| async move {
        let (a, b) = UnixStream::pair().unwrap();
        let text = "first line\nsecond, longer line\n\nlast without newline";
        let writer = spawn_local(async move {
            let bytes = text.as_bytes();
            for piece in [&bytes[..3], &bytes[3..15], &bytes[15..16], &bytes[16..31], &bytes[31..]] {
                a.write_all(piece).await.unwrap();
                sleep(Duration::from_millis(2)).await;
            }
            (&a).close().await.unwrap();
        });
        let lines: Vec<String> = timeout(WAIT, BufReader::new(b).lines().try_collect()).await.unwrap().unwrap();
        assert_eq!(lines, ["first line", "second, longer line", "", "last without newline"], "{backend:?}");
        writer.await.unwrap();
    });
}

#[test]
fn read_line_read_until_and_a_buf_writer() {
    on_every_backend(|backend| async move {
        let (client, server) = tcp_pair().await;
        let mut w = BufWriter::new(&client);
        w.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        w.write_all(b"host: eddy\r\n\r\nbody;rest").await.unwrap();
        w.flush().await.unwrap();
        w.close().await.unwrap();
        let mut r = BufReader::new(&server);
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        assert_eq!(line, "GET / HTTP/1.1\r\n", "{backend:?}");
        let mut headers = Vec::new();
        for _ in 0..2 {
            let mut h = String::new();
            r.read_line(&mut h).await.unwrap();
            headers.push(h);
        }
        assert_eq!(headers, ["host: eddy\r\n", "\r\n"]);
        let mut upto = Vec::new();
        r.read_until(b';', &mut upto).await.unwrap();
        assert_eq!(upto, b"body;");
        let mut rest = String::new();
        r.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "rest");
    });
}

/// `AsyncReadExt::split` (futures' `BiLock` halves) on an owned stream:
/// a writer and a reader joined in one task echo through a peer, then the
/// halves are reunited.
#[test]
fn async_read_ext_split_halves_joined_in_one_task() {
    const BYTES: usize = 256 << 10;
    on_every_backend(|backend| async move {
        let (a, b) = UnixStream::pair().unwrap();
        let echo = spawn_local(async move {
            let (mut r, mut w) = AsyncReadExt::split(b);
            futures_util::io::copy(&mut r, &mut w).await.unwrap();
            w.close().await.unwrap();
            r.reunite(w).expect("halves of one stream")
        });
        let (mut r, mut w) = AsyncReadExt::split(a);
        let data: Vec<u8> = (0..BYTES).map(|i| (i % 253) as u8).collect();
        let write = async {
            for chunk in data.chunks(10_000) {
                w.write_all(chunk).await.unwrap();
            }
            w.close().await.unwrap();
        };
        let read = async {
            let mut back = Vec::new();
            r.read_to_end(&mut back).await.unwrap();
            back
        };
        let ((), back) = timeout(WAIT, futures_util::future::join(write, read)).await.unwrap();
        assert!(back == data, "{backend:?}: {} bytes back", back.len());
        let a = r.reunite(w).unwrap();
        let b = echo.await.unwrap();
        assert!(a.peer_addr().is_ok() && b.peer_addr().is_ok());
    });
}

#[test]
fn take_and_chain() {
    on_every_backend(|backend| async move {
        let (c1, s1) = tcp_pair().await;
        let (u1, u2) = UnixStream::pair().unwrap();
        c1.write_all(b"tcp-part|ignored").await.unwrap();
        (&c1).close().await.unwrap();
        u1.write_all(b"unix-part").await.unwrap();
        (&u1).close().await.unwrap();
        let mut out = String::new();
        (&s1).take(9).chain(&u2).read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "tcp-part|unix-part", "{backend:?}");
        // Take left the rest in the TCP stream.
        let rest: Vec<_> = BufReader::new(&s1).lines().map(Result::unwrap).collect().await;
        assert_eq!(rest, ["ignored"]);
    });
}
