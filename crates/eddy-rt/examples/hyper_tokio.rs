//! hyper 1.x serving plaintext (`Hello, World!`) over HTTP/1.1 on tokio's
//! current-thread runtime, through hyper-util's `TokioIo` and
//! `TokioTimer`: the peer of `hyper_eddy` in the "hyper on eddy-rt"
//! benchmark (`docs/PERFORMANCE.md`). The same service, builder and
//! socket options.
//!
//!   cargo run --release -p eddy-rt --features hyper --example hyper_tokio -- 8080

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut resp = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
    resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain"));
    Ok(resp)
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8080);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let io = TokioIo::new(stream);
                let _ = http1::Builder::new().timer(TokioTimer::new()).serve_connection(io, service_fn(hello)).await;
            });
        }
    })
}
