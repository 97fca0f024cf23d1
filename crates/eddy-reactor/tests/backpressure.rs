//! Backpressure: a peer that sends 100 MiB and never reads. The server stops
//! reading at its high watermark, so its queued output never exceeds it and
//! its memory stays bounded; once the peer reads, every byte arrives.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::mpsc;
use std::time::Duration;

use eddy_reactor::Config;
use util::{EchoServer, Fnv, Rng, client, rss};

const TOTAL: usize = 100 << 20;

#[test]
fn a_peer_that_never_reads_is_paused_at_the_high_watermark() {
    let cfg = Config::default();
    let high = cfg.high_watermark;
    let server = EchoServer::start(cfg);
    let rss_before = rss();

    let stream = client(server.addr);
    // A send that stays blocked 500 ms tells the writer every buffer on the
    // way is full: that is the event the test waits for.
    stream.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut writer_stream = stream.try_clone().unwrap();
    let (blocked_tx, blocked_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let (mut rng, mut hash) = (Rng::new(7), Fnv::default());
        let mut chunk = vec![0u8; 64 * 1024];
        let (mut sent, mut told) = (0, false);
        while sent < TOTAL {
            rng.fill(&mut chunk);
            hash.update(&chunk);
            let mut off = 0;
            while off < chunk.len() {
                match writer_stream.write(&chunk[off..]) {
                    Ok(n) => off += n,
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        if !told {
                            told = true;
                            blocked_tx.send(sent + off).unwrap();
                            go_rx.recv().unwrap();
                        }
                    }
                    Err(e) => panic!("write failed: {e}"),
                }
            }
            sent += chunk.len();
        }
        writer_stream.shutdown(Shutdown::Write).unwrap();
        hash
    });

    let sent_when_blocked = blocked_rx.recv_timeout(Duration::from_secs(60)).expect("the writer blocked");
    let stats = server.stats();
    assert!(stats.backpressure_pauses >= 1, "reading was never paused: {stats:?}");
    assert!(stats.max_queued <= high, "queued {} over the high watermark {high}", stats.max_queued);
    let grown = rss().saturating_sub(rss_before);
    assert!(grown < 32 << 20, "memory grew by {grown} bytes while the peer did not read");
    assert!(sent_when_blocked < 32 << 20, "the writer got {sent_when_blocked} bytes out before blocking");

    // Now read: everything must come back, in order.
    go_tx.send(()).unwrap();
    let mut reader = stream;
    let (mut got, mut hash, mut buf) = (0usize, Fnv::default(), vec![0u8; 64 * 1024]);
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hash.update(&buf[..n]);
                got += n;
            }
            Err(e) => panic!("read failed after {got} bytes: {e}"),
        }
    }
    assert_eq!(got, TOTAL);
    assert_eq!(writer.join().unwrap(), hash, "the echo differs from what was sent");
    let stats = server.stop();
    assert!(stats.max_queued <= high, "queued {} over the high watermark {high}", stats.max_queued);
}
