//! One byte back and forth through the poller: eddy's epoll `Poll` against
//! mio 1.x, the same workload on both, in one criterion group so that the
//! ratio comes from one run.
//!
//! The workload, on one thread: two connected Unix stream sockets `a` and
//! `b` (`socketpair`; a Unix pair has less kernel noise than TCP loopback),
//! both registered `READABLE` and edge-triggered with the same poller
//! (eddy: `Trigger::Edge`; mio: its only mode, edge). One round trip:
//!
//! 1. write 1 byte on `a`;
//! 2. poll until an event for `b` arrives;
//! 3. read `b` until a read is short or returns `WouldBlock` (what edge
//!    triggering asks; with a 64-byte buffer, the first read of 1 byte is
//!    short, so this is one read);
//! 4. write 1 byte on `b`, poll until `a` is readable, read `a` the same way.
//!
//! So one round trip is 6 syscalls on both sides: 2 `sendto(MSG_NOSIGNAL)`,
//! 2 `recvfrom` and 2 waits (eddy: `epoll_pwait` through rustix; mio:
//! `epoll_wait` through glibc). `examples/pingpong.rs` runs the same loop
//! for a fixed count, to count its syscalls with `strace -c`.
//!
//! Two groups: waits with no timeout (`None`), and waits with a 1 s timeout,
//! as an event loop with a timer pending passes (never reached here).
//!
//! ```text
//! cargo bench -p eddy-poll --bench pingpong -- --warm-up-time 1 --measurement-time 5
//! ```

use std::time::Duration;

use criterion::Criterion;

#[path = "common/pingpong_bed.rs"]
mod bed;

fn pingpong(c: &mut Criterion) {
    for (name, timeout) in [("no_timeout", None), ("timeout_1s", Some(Duration::from_secs(1)))] {
        let mut group = c.benchmark_group(format!("pingpong_unix/{name}"));
        let mut eddy = bed::eddy::Bed::new(timeout).expect("eddy bed");
        group.bench_function("eddy", |b| b.iter(|| eddy.round_trip()));
        let mut mio = bed::mio::Bed::new(timeout).expect("mio bed");
        group.bench_function("mio", |b| b.iter(|| mio.round_trip()));
        group.finish();
    }
}

// What `criterion_group!` / `criterion_main!` expand to, written out: the
// macros' `pub fn` has no doc, which the workspace's `missing_docs` refuses.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    pingpong(&mut c);
    c.final_summary();
}
