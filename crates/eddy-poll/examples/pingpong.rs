//! The ping-pong of `benches/pingpong.rs` for a fixed number of round trips,
//! without criterion, to count what one round trip costs with tools that
//! watch a whole process:
//!
//! ```text
//! cargo build --release -p eddy-poll --example pingpong
//! strace -c -f target/release/examples/pingpong eddy 100000
//! strace -c -f target/release/examples/pingpong mio 100000
//! perf stat -e raw_syscalls:sys_enter target/release/examples/pingpong eddy 100000
//! valgrind --tool=callgrind target/release/examples/pingpong eddy 10000
//! ```
//!
//! Arguments: `eddy`, `mio` or `alternate`, the number of round trips
//! (default 100,000; per batch for `alternate`), and `timeout` to wait with
//! a 1 s timeout instead of none. `alternate` runs 101 batches of eddy and
//! mio in turn (swapping which goes first) and prints both medians, their
//! ratio and the median of the per-batch ratios: a second opinion on the
//! benchmark's ratio, less sensitive to load that changes while it runs.
//!
//! One round trip is the benchmark's: write 1 byte on `a`, poll until `b`
//! is readable, read `b` until a short read, and back. Keep the loops
//! identical to the benchmark's.

use std::io;
use std::time::{Duration, Instant};

#[path = "../benches/common/pingpong_bed.rs"]
mod bed;

/// Runs `rounds` round trips on a bed.
trait RoundTrips {
    fn round_trips(&mut self, rounds: u64) -> io::Result<()>;
}

impl RoundTrips for bed::eddy::Bed {
    fn round_trips(&mut self, rounds: u64) -> io::Result<()> {
        (0..rounds).for_each(|_| self.round_trip());
        Ok(())
    }
}

impl RoundTrips for bed::mio::Bed {
    fn round_trips(&mut self, rounds: u64) -> io::Result<()> {
        (0..rounds).for_each(|_| self.round_trip());
        Ok(())
    }
}

type Eddy = bed::eddy::Bed;
type Mio = bed::mio::Bed;

/// ns per round trip of `rounds` round trips.
fn timed(rounds: u64, run: impl FnOnce(u64) -> io::Result<()>) -> io::Result<f64> {
    let start = Instant::now();
    run(rounds)?;
    Ok(start.elapsed().as_nanos() as f64 / rounds.max(1) as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[allow(clippy::print_stdout)] // an example's report
fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("eddy", String::as_str);
    let rounds: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let timeout = args.iter().any(|a| a == "timeout").then_some(Duration::from_secs(1));
    match which {
        "eddy" => {
            let per = timed(rounds, |n| Eddy::new(timeout)?.round_trips(n))?;
            println!("eddy: {rounds} round trips, {per:.0} ns each (timeout {timeout:?})");
        }
        "mio" => {
            let per = timed(rounds, |n| Mio::new(timeout)?.round_trips(n))?;
            println!("mio: {rounds} round trips, {per:.0} ns each (timeout {timeout:?})");
        }
        "alternate" => {
            // Batches of `rounds` round trips, eddy and mio in turn, so that
            // the machine's changing load falls on both alike.
            let batches = 101;
            let (mut eddy, mut mio) = (Eddy::new(timeout)?, Mio::new(timeout)?);
            let (mut e, mut m, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..batches {
                let (te, tm) = if i % 2 == 0 {
                    let te = timed(rounds, |n| eddy.round_trips(n))?;
                    (te, timed(rounds, |n| mio.round_trips(n))?)
                } else {
                    let tm = timed(rounds, |n| mio.round_trips(n))?;
                    (timed(rounds, |n| eddy.round_trips(n))?, tm)
                };
                e.push(te);
                m.push(tm);
                ratios.push(te / tm);
            }
            let (me, mm) = (median(e), median(m));
            println!(
                "alternate: {batches} batches of {rounds} round trips (timeout {timeout:?}): \
                 eddy {me:.0} ns, mio {mm:.0} ns, median/median {:.3}, median of batch ratios {:.3}",
                me / mm,
                median(ratios)
            );
        }
        other => {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{other:?}: use eddy, mio or alternate")));
        }
    }
    Ok(())
}
