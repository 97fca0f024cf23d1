//! Time on the loop's wheel: never early, timeout, interval, a dropped
//! sleep cancels its timer, and the cooperative budget keeps a flooded
//! socket from starving a sleep.

mod util;

use std::io::Write;
use std::time::{Duration, Instant};

use eddy_rt::net::TcpListener;
use eddy_rt::time::{MissedTickBehavior, interval, pending_timers, sleep, sleep_until, timeout};
use eddy_rt::{Runtime, spawn};
use util::{Rng, on_every_backend};

#[test]
fn no_sleep_ends_early() {
    on_every_backend(|backend| async move {
        let mut rng = Rng::new(7);
        let sleeps: Vec<_> = (0..50)
            .map(|_| {
                let d = Duration::from_micros(rng.below(30_000));
                spawn(async move {
                    let start = Instant::now();
                    sleep(d).await;
                    (d, start.elapsed())
                })
            })
            .collect();
        for s in sleeps {
            let (asked, took) = s.await.unwrap();
            assert!(took >= asked, "{backend:?}: a sleep of {asked:?} ended after {took:?}");
        }
        let at = Instant::now() + Duration::from_millis(15);
        sleep_until(at).await;
        assert!(Instant::now() >= at);
    });
}

#[test]
fn timeout_gives_the_output_or_elapsed() {
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        assert_eq!(timeout(Duration::from_secs(5), async { 3 }).await, Ok(3));
        let start = Instant::now();
        let r = timeout(Duration::from_millis(30), std::future::pending::<()>()).await;
        assert_eq!(r, Err(eddy_rt::time::Elapsed));
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(timeout(Duration::ZERO, async { 1 }).await, Ok(1), "a ready future wins even a zero timeout");
    })
    .unwrap();
}

#[test]
fn an_interval_ticks_on_its_grid_and_bursts_after_a_stall() {
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let mut every = interval(Duration::from_millis(10));
        let first = every.tick().await;
        assert!(first <= Instant::now());
        for k in 1..=3u32 {
            let t = every.tick().await;
            assert_eq!(t, first + Duration::from_millis(10) * k, "on the grid");
            assert!(Instant::now() >= t, "never early");
        }
        // A stall of 5 periods: Burst fires the missed ticks at once.
        std::thread::sleep(Duration::from_millis(50));
        let before = Instant::now();
        for _ in 0..4 {
            every.tick().await;
        }
        assert!(before.elapsed() < Duration::from_millis(10), "the missed ticks came at once");
        let mut delayed = interval(Duration::from_millis(10));
        delayed.set_missed_tick_behavior(MissedTickBehavior::Delay);
        delayed.tick().await;
        std::thread::sleep(Duration::from_millis(35));
        let late = delayed.tick().await;
        let next = delayed.tick().await;
        assert!(next.duration_since(late) >= Duration::from_millis(10), "Delay: a full period after the late tick");
        assert!(start.elapsed() < Duration::from_secs(5));
    })
    .unwrap();
}

#[test]
fn a_dropped_sleep_cancels_its_timer() {
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let before = pending_timers();
        let r = timeout(Duration::from_millis(5), sleep(Duration::from_secs(3600))).await;
        assert!(r.is_err());
        assert_eq!(pending_timers(), before, "the hour-long sleep's timer is gone");
    })
    .unwrap();
    // The wheel's own timer is cancelled in the loop's next prepare phase.
    rt.event_loop().turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(rt.event_loop().stats().timers, 0, "and the wheel holds none after the next turn");
}

/// A task that always has bytes to read (a peer floods its socket) must
/// yield after its budget, so a 10 ms sleep on the same loop fires on
/// time, give or take a budget's worth of reads.
#[test]
fn a_flooded_socket_does_not_starve_a_sleep() {
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = std::sync::Arc::clone(&stop);
        let flooder = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let chunk = vec![0u8; 64 * 1024];
            while !s2.load(std::sync::atomic::Ordering::Relaxed) {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let (flooded, _) = listener.accept().await.unwrap();
        // Let the kernel's queue fill so every read has bytes.
        sleep(Duration::from_millis(50)).await;
        let reader = spawn(async move {
            // One byte a read: far slower than the flood, so every read
            // finds bytes and the task is always ready.
            let mut buf = [0u8; 1];
            let mut total = 0usize;
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(500) {
                total += flooded.read(&mut buf).await.unwrap();
            }
            total
        });
        let start = Instant::now();
        sleep(Duration::from_millis(10)).await;
        let late = start.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let read = reader.await.unwrap();
        assert!(read > 0);
        assert!(late < Duration::from_millis(200), "the sleep of 10 ms took {late:?} beside the flood");
        flooder.join().unwrap();
    })
    .unwrap();
}
