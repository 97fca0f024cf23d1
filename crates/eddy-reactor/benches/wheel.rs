//! Timers with 1,000,000 live: ns per insert, per cancel and per expiry,
//! for the timing wheel, a `BinaryHeap` and tokio-util's `DelayQueue`.
//!
//! Every structure holds `LIVE` timers at random deadlines in the next
//! `SPAN` ticks (about 17 minutes of milliseconds) before and after each
//! timed chunk; only the operation measured is inside the clock:
//! - insert: `CHUNK` inserts timed, then cancelled again untimed;
//! - cancel: `CHUNK` random live timers cancelled, then re-armed untimed;
//! - expire: the clock moves `STEP` ticks at a time and what is due fires
//!   (timed); each fired timer is re-armed `SPAN` later (untimed), so the
//!   load stays at `LIVE` timers spread evenly over the window.
//!
//! The heap cancels lazily (the id goes into a `HashSet`, expiry skips it,
//! a compaction outside the clock drops tombstones): O(1) on average, with
//! the O(log n) pop of the dead entry deferred. The `DelayQueue` runs on a
//! current-thread tokio runtime with a paused clock, advanced outside the
//! clock; its expiry is drained with `poll_expired` inside `block_on`.
//!
//! Run: `cargo bench -p eddy-reactor --bench wheel -- --warm-up-time 1
//! --measurement-time 3`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::future::poll_fn;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use eddy_reactor::wheel::{Tick, TimerKey, Wheel};
use tokio::runtime::Runtime;
use tokio_util::time::{DelayQueue, delay_queue};

/// Timers live in every measurement.
const LIVE: usize = 1_000_000;
/// Deadlines are drawn from the next `SPAN` ticks.
const SPAN: Tick = 1 << 20;
/// Ticks the clock moves per expiry step (about 244 timers fire per step).
const STEP: Tick = 256;
/// Operations per timed chunk before the untimed restore.
const CHUNK: u64 = 50_000;

/// The operations measured, on a queue whose values are the deadlines.
trait Queue {
    type Key: Copy;
    fn insert(&mut self, deadline: Tick) -> Self::Key;
    fn cancel(&mut self, key: Self::Key);
    /// Fires the `due` timers due at `now`, pushing their deadlines.
    fn expire(&mut self, now: Tick, due: usize, fired: &mut Vec<Tick>);
    /// Outside the clock: move a clock of its own to `now`.
    fn set_clock(&mut self, _now: Tick) {}
    /// Outside the clock: drop what lazy cancellation left behind.
    fn tidy(&mut self) {}
}

impl Queue for Wheel<Tick> {
    type Key = TimerKey;
    fn insert(&mut self, deadline: Tick) -> TimerKey {
        Wheel::insert(self, deadline, deadline)
    }
    fn cancel(&mut self, key: TimerKey) {
        black_box(Wheel::cancel(self, key));
    }
    fn expire(&mut self, now: Tick, _due: usize, fired: &mut Vec<Tick>) {
        self.advance(now, |_, deadline| fired.push(deadline));
    }
}

/// A binary heap with lazy cancellation.
#[derive(Default)]
struct Heap {
    heap: BinaryHeap<Reverse<(Tick, u64)>>,
    cancelled: HashSet<u64>,
    next_id: u64,
}

impl Queue for Heap {
    type Key = u64;
    fn insert(&mut self, deadline: Tick) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.heap.push(Reverse((deadline, id)));
        id
    }
    fn cancel(&mut self, id: u64) {
        black_box(self.cancelled.insert(id));
    }
    fn expire(&mut self, now: Tick, _due: usize, fired: &mut Vec<Tick>) {
        while let Some(&Reverse((deadline, id))) = self.heap.peek() {
            if deadline > now {
                break;
            }
            self.heap.pop();
            if !self.cancelled.remove(&id) {
                fired.push(deadline);
            }
        }
    }
    fn tidy(&mut self) {
        if self.cancelled.len() > LIVE / 2 {
            let cancelled = std::mem::take(&mut self.cancelled);
            self.heap.retain(|Reverse((_, id))| !cancelled.contains(id));
        }
    }
}

/// tokio-util's `DelayQueue` on a paused tokio clock.
struct Tokio {
    queue: DelayQueue<Tick>,
    runtime: &'static Runtime,
    /// Tick 0 on tokio's clock.
    base: tokio::time::Instant,
    clock: Tick,
}

impl Queue for Tokio {
    type Key = delay_queue::Key;
    fn insert(&mut self, deadline: Tick) -> delay_queue::Key {
        let when = self.base + Duration::from_millis(deadline);
        self.queue.insert_at(deadline, when)
    }
    fn cancel(&mut self, key: delay_queue::Key) {
        black_box(self.queue.remove(&key));
    }
    fn expire(&mut self, _now: Tick, due: usize, fired: &mut Vec<Tick>) {
        let queue = &mut self.queue;
        self.runtime.block_on(async {
            for _ in 0..due {
                if let Some(expired) = poll_fn(|cx| queue.poll_expired(cx)).await {
                    fired.push(expired.into_inner());
                }
            }
        });
    }
    fn set_clock(&mut self, now: Tick) {
        let by = Duration::from_millis(now - self.clock);
        self.runtime.block_on(tokio::time::advance(by));
        self.clock = now;
    }
}

/// splitmix64: a fixed, cheap stream of random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A deadline in `(now, now + SPAN]`.
    fn deadline(&mut self, now: Tick) -> Tick {
        now + 1 + self.next() % SPAN
    }
}

/// `q` with `LIVE` timers in `(0, SPAN]`, their keys, and a histogram of
/// their deadlines by tick (modulo `SPAN`, for the expiry counts).
fn fill<Q: Queue>(q: &mut Q, rng: &mut Rng) -> (Vec<Q::Key>, Vec<u32>) {
    let mut histogram = vec![0; SPAN as usize];
    let keys = (0..LIVE)
        .map(|_| {
            let deadline = rng.deadline(0);
            histogram[(deadline % SPAN) as usize] += 1;
            q.insert(deadline)
        })
        .collect();
    (keys, histogram)
}

fn bench_insert<Q: Queue>(c: &mut Criterion, name: &str, mut q: Q) {
    let mut rng = Rng(1);
    let _live = fill(&mut q, &mut rng);
    let mut keys = Vec::with_capacity(CHUNK as usize);
    c.bench_function(&format!("insert/{name}"), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = CHUNK.min(iters - done);
                let deadlines: Vec<_> = (0..n).map(|_| rng.deadline(0)).collect();
                let start = Instant::now();
                for &deadline in &deadlines {
                    keys.push(q.insert(deadline));
                }
                timed += start.elapsed();
                for key in keys.drain(..) {
                    q.cancel(key);
                }
                q.tidy();
                done += n;
            }
            timed
        });
    });
}

fn bench_cancel<Q: Queue>(c: &mut Criterion, name: &str, mut q: Q) {
    let mut rng = Rng(2);
    let (mut keys, _) = fill(&mut q, &mut rng);
    // Victims in a random order; a chunk never picks one twice.
    let mut order: Vec<usize> = (0..LIVE).collect();
    for i in (1..LIVE).rev() {
        order.swap(i, rng.next() as usize % (i + 1));
    }
    let mut cursor = 0;
    c.bench_function(&format!("cancel/{name}"), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = CHUNK.min(iters - done) as usize;
                let picks: Vec<usize> = (0..n).map(|i| order[(cursor + i) % LIVE]).collect();
                cursor = (cursor + n) % LIVE;
                let victims: Vec<_> = picks.iter().map(|&i| keys[i]).collect();
                let start = Instant::now();
                for &key in &victims {
                    q.cancel(key);
                }
                timed += start.elapsed();
                for &i in &picks {
                    keys[i] = q.insert(rng.deadline(0));
                }
                q.tidy();
                done += n as u64;
            }
            timed
        });
    });
}

fn bench_expire<Q: Queue>(c: &mut Criterion, name: &str, mut q: Q) {
    let mut rng = Rng(3);
    let (_keys, mut histogram) = fill(&mut q, &mut rng);
    let mut now: Tick = 0;
    let mut fired = Vec::with_capacity(4 * STEP as usize * LIVE / SPAN as usize);
    c.bench_function(&format!("expire/{name}"), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut done = 0;
            while done < iters.max(1) {
                let next = now + STEP;
                let due: u32 = (now + 1..=next).map(|t| std::mem::take(&mut histogram[(t % SPAN) as usize])).sum();
                q.set_clock(next);
                fired.clear();
                let start = Instant::now();
                q.expire(next, due as usize, &mut fired);
                timed += start.elapsed();
                assert_eq!(fired.len(), due as usize, "{name} fired a wrong count");
                for &deadline in &fired {
                    q.insert(deadline + SPAN);
                    histogram[((deadline + SPAN) % SPAN) as usize] += 1;
                }
                done += u64::from(due);
                now = next;
            }
            timed.mul_f64(iters as f64 / done as f64)
        });
    });
}

fn main() {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().expect("tokio runtime");
    let runtime: &'static Runtime = Box::leak(Box::new(runtime));
    let _context = runtime.enter();
    let tokio = || Tokio {
        queue: DelayQueue::with_capacity(LIVE + CHUNK as usize),
        runtime,
        base: tokio::time::Instant::now(),
        clock: 0,
    };
    let wheel = || Wheel::<Tick>::with_capacity(LIVE + CHUNK as usize);

    let mut c = Criterion::default().sample_size(20).configure_from_args();
    bench_insert(&mut c, "wheel", wheel());
    bench_insert(&mut c, "binary_heap", Heap::default());
    bench_insert(&mut c, "delay_queue", tokio());
    bench_cancel(&mut c, "wheel", wheel());
    bench_cancel(&mut c, "binary_heap", Heap::default());
    bench_cancel(&mut c, "delay_queue", tokio());
    bench_expire(&mut c, "wheel", wheel());
    bench_expire(&mut c, "binary_heap", Heap::default());
    bench_expire(&mut c, "delay_queue", tokio());
    c.final_summary();
}
