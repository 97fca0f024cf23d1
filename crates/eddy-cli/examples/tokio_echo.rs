//! A tokio echo server, for the idle-memory benchmark only
//! (`benches/idle_memory.rs` runs it as a child process): a current-thread
//! runtime, one task per connection.
//!
//! `tokio_echo [--addr A] [--mode array|copy] [--buf 4096|8192]`
//!
//! - `array` (default): a read/write loop whose buffer is an array of
//!   `--buf` bytes inside the task's future, so it lives in the task's
//!   allocation from the first poll on (the common hand-written echo);
//! - `copy`: `tokio::io::copy` between the two halves of the socket
//!   (tokio's own 8 KiB heap buffer; `--buf` is ignored).
//!
//! Logs `tokio_echo: listening on ADDR` to stderr once bound.

#![allow(clippy::print_stderr)]

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How each connection's task echoes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A read/write loop with an array buffer of this many bytes (4096 or
    /// 8192) in the task.
    Array(usize),
    /// `tokio::io::copy` (an 8 KiB heap buffer).
    Copy,
}

async fn echo_array<const N: usize>(mut stream: TcpStream) {
    let mut buf = [0u8; N];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn echo_copy(mut stream: TcpStream) {
    let (mut r, mut w) = stream.split();
    let _ = tokio::io::copy(&mut r, &mut w).await;
}

/// Serves `addr` forever on a current-thread runtime.
pub(crate) fn serve(addr: SocketAddr, mode: Mode) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    rt.block_on(async move {
        // The backlog eddy uses (1024); `TcpListener::bind` would give 128.
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(1024)?;
        eprintln!("tokio_echo: listening on {} ({mode:?})", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            match mode {
                Mode::Array(4096) => tokio::spawn(echo_array::<4096>(stream)),
                Mode::Array(_) => tokio::spawn(echo_array::<8192>(stream)),
                Mode::Copy => tokio::spawn(echo_copy(stream)),
            };
        }
    })
}

/// Parses `--addr`, `--mode`, `--buf` from `args`.
pub(crate) fn parse(args: &[String]) -> Result<(SocketAddr, Mode), String> {
    let (mut addr, mut mode, mut buf) = ("127.0.0.1:0".to_string(), "array".to_string(), 4096usize);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => addr = value.clone(),
            "--mode" => mode = value.clone(),
            "--buf" => buf = value.parse().map_err(|e| format!("--buf: {e}"))?,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let mode = match (mode.as_str(), buf) {
        ("array", 4096 | 8192) => Mode::Array(buf),
        ("array", _) => return Err("--buf is 4096 or 8192".into()),
        ("copy", _) => Mode::Copy,
        _ => return Err(format!("unknown mode {mode}")),
    };
    Ok((addr.parse().map_err(|e| format!("--addr: {e}"))?, mode))
}

#[allow(dead_code)] // unused where the benchmark includes this file as a module
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse(&args).and_then(|(addr, mode)| serve(addr, mode).map_err(|e| e.to_string()));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_echo: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
