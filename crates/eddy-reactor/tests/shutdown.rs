//! Graceful shutdown of one loop: listeners close at once, connections get
//! `on_shutdown`, and those still open at the deadline are aborted.

mod util;

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use eddy_reactor::{CloseReason, Config, EventLoop};
use util::{Echo, EchoServer, client};

#[test]
fn connections_still_open_at_the_deadline_are_aborted_and_run_returns() {
    let cfg = Config { shutdown_timeout: Duration::from_millis(200), ..Config::default() };
    let server = EchoServer::start(cfg);
    let mut idle = client(server.addr);
    server.wait_for("the connection to be accepted", |s| s.live == 1);
    let start = Instant::now();
    let stats = server.stop();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(200), "aborted before the deadline: {took:?}");
    assert!(took < Duration::from_secs(5), "the shutdown deadline was not honoured: {took:?}");
    assert_eq!(stats.live, 0);
    let mut buf = [0u8; 1];
    let err = idle.read(&mut buf).expect_err("the connection was aborted");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "abort at the deadline sends RST");
    let _ = (EventLoop::<Echo>::new, CloseReason::Shutdown);
}
