//! hyper 1.x serving plaintext (`Hello, World!`) over HTTP/1.1 on one
//! eddy-rt loop: the eddy side of the "hyper on eddy-rt" benchmark
//! (`docs/PERFORMANCE.md`), beside `hyper_tokio`.
//!
//!   cargo run --release -p eddy-rt --features hyper --example hyper_eddy -- 8080 [--flatten]
//!
//! One task per connection, `http1::Builder` with eddy's timer (so the
//! header-read timeout is on, as in a real server); `--flatten` tells hyper
//! the socket has no efficient vectored write (it then copies head and body
//! into one buffer).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use eddy_rt::hyper::{EddyIo, EddyTimer};
use eddy_rt::net::TcpListener;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, header};

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut resp = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
    resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain"));
    Ok(resp)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(8080);
    let vectored = !args.any(|a| a == "--flatten");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut rt = eddy_rt::Runtime::new()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            eddy_rt::spawn(async move {
                let io = EddyIo::new(stream).with_write_vectored(vectored);
                let _ = http1::Builder::new().timer(EddyTimer).serve_connection(io, service_fn(hello)).await;
            });
        }
    })?
}
