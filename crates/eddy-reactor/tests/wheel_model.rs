//! The timing wheel against a model: a `BTreeMap` ordered by
//! `(effective deadline, insertion number)`, where the effective deadline
//! is `max(deadline, wheel.now())` at insertion (a timer inserted late is
//! due at once, behind those already due). Random sequences of inserts,
//! cancels, resets, advances and pull drains with inserts inside them must
//! fire exactly what the model says, in exactly its order; plus unit tests
//! for the edges.

use std::collections::{BTreeMap, HashMap, HashSet};

use eddy_reactor::wheel::{Tick, TimerKey, Wheel};
use proptest::prelude::*;

/// The reference: what is pending, in the order it must fire.
#[derive(Default)]
struct Model {
    /// `(effective deadline, insertion number) -> value`.
    order: BTreeMap<(Tick, u64), u64>,
    /// Pending keys: their place in `order` and their real deadline.
    pending: HashMap<TimerKey, ((Tick, u64), Tick)>,
    /// The key at each place of `order`.
    keys: HashMap<(Tick, u64), TimerKey>,
    /// Insertions so far.
    seq: u64,
}

impl Model {
    fn insert(&mut self, key: TimerKey, now: Tick, deadline: Tick, value: u64) {
        let place = (deadline.max(now), self.seq);
        self.seq += 1;
        self.order.insert(place, value);
        self.pending.insert(key, (place, deadline));
        self.keys.insert(place, key);
    }

    fn remove(&mut self, key: TimerKey) -> Option<u64> {
        let (place, _) = self.pending.remove(&key)?;
        self.keys.remove(&place);
        self.order.remove(&place)
    }

    /// The next timer due at `now`, removed.
    fn pop_due(&mut self, now: Tick) -> Option<(TimerKey, u64)> {
        let (&place, _) = self.order.first_key_value().filter(|(p, _)| p.0 <= now)?;
        let key = self.keys[&place];
        self.remove(key).map(|value| (key, value))
    }

    fn earliest_deadline(&self) -> Option<Tick> {
        self.pending.values().map(|(_, deadline)| *deadline).min()
    }
}

/// A deadline relative to the wheel's clock, from each region of the wheel.
#[derive(Clone, Debug)]
enum When {
    Past(u64),
    Level0(u64),
    Level1(u64),
    Level3(u64),
    Top(u64),
    Beyond(u64),
    EndOfTime(u64),
}

impl When {
    fn at(&self, now: Tick) -> Tick {
        match *self {
            When::Past(d) => now.saturating_sub(d),
            When::EndOfTime(d) => Tick::MAX - d,
            When::Level0(d) | When::Level1(d) | When::Level3(d) | When::Top(d) | When::Beyond(d) => {
                now.saturating_add(d)
            }
        }
    }
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        2 => (0..100u64).prop_map(When::Past),
        4 => (0..64u64).prop_map(When::Level0),
        3 => (64..4096u64).prop_map(When::Level1),
        2 => (1u64 << 18..1 << 26).prop_map(When::Level3),
        1 => (1u64 << 30..1 << 36).prop_map(When::Top),
        1 => (1u64 << 36..1 << 42).prop_map(When::Beyond),
        1 => (0..3u64).prop_map(When::EndOfTime),
    ]
}

/// How far a clock moves, small to huge.
fn jump() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..70u64,
        3 => 0..5000u64,
        2 => 0..1u64 << 27,
        1 => 0..1u64 << 43,
        1 => Just(Tick::MAX),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Insert(When),
    /// Cancel the key at this index of every key ever issued (pending,
    /// fired or cancelled).
    Cancel(usize),
    /// Cancel a key issued by another wheel.
    CancelForeign(usize),
    Reset(usize, When),
    Advance(u64),
    /// Pull-drain to `now + jump`, inserting one timer after each of the
    /// first pops.
    Drain(u64, Vec<When>),
    /// Advance to `next_deadline` until a timer fires.
    Wake,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => when().prop_map(Op::Insert),
        3 => any::<usize>().prop_map(Op::Cancel),
        1 => any::<usize>().prop_map(Op::CancelForeign),
        2 => (any::<usize>(), when()).prop_map(|(i, w)| Op::Reset(i, w)),
        3 => jump().prop_map(Op::Advance),
        2 => (jump(), prop::collection::vec(when(), 0..4)).prop_map(|(j, w)| Op::Drain(j, w)),
        1 => Just(Op::Wake),
    ]
}

/// The wheel and the model side by side, with every key ever issued.
struct Harness {
    wheel: Wheel<u64>,
    model: Model,
    keys: Vec<TimerKey>,
    /// `keys` as a set: no key is ever issued twice.
    issued: HashSet<TimerKey>,
    foreign: Vec<TimerKey>,
}

impl Harness {
    fn new() -> Self {
        let mut other = Wheel::new();
        let foreign = (0..8).map(|i| other.insert(i, i)).collect();
        Self { wheel: Wheel::new(), model: Model::default(), keys: Vec::new(), issued: HashSet::new(), foreign }
    }

    fn insert(&mut self, deadline: Tick) {
        let value = self.model.seq;
        let now = self.wheel.now();
        let key = self.wheel.insert(deadline, value);
        self.model.insert(key, now, deadline, value);
        self.keys.push(key);
        assert!(self.issued.insert(key), "{key:?} issued twice");
    }

    fn advance(&mut self, to: Tick) -> usize {
        let mut fired = Vec::new();
        self.wheel.advance(to, |key, value| fired.push((key, value)));
        let mut expected = Vec::new();
        while let Some(due) = self.model.pop_due(to) {
            expected.push(due);
        }
        assert_eq!(fired, expected, "advance to {to}");
        fired.len()
    }

    fn apply(&mut self, op: Op) {
        let now = self.wheel.now();
        match op {
            Op::Insert(when) => self.insert(when.at(now)),
            Op::Cancel(i) if !self.keys.is_empty() => {
                let key = self.keys[i % self.keys.len()];
                assert_eq!(self.wheel.cancel(key), self.model.remove(key));
            }
            Op::CancelForeign(i) => {
                let key = self.foreign[i % self.foreign.len()];
                assert_eq!(self.wheel.cancel(key), None);
            }
            Op::Reset(i, when) if !self.keys.is_empty() => {
                let key = self.keys[i % self.keys.len()];
                let deadline = when.at(now);
                let value = self.model.remove(key);
                assert_eq!(self.wheel.reset(key, deadline), value.is_some());
                if let Some(value) = value {
                    self.model.insert(key, now, deadline, value);
                }
            }
            Op::Advance(jump) => {
                let to = now.saturating_add(jump);
                self.advance(to);
                assert_eq!(self.wheel.now(), to);
            }
            Op::Drain(jump, inserts) => self.drain(now.saturating_add(jump), inserts),
            Op::Wake => self.wake(),
            Op::Cancel(_) | Op::Reset(..) => {}
        }
        self.check();
    }

    fn drain(&mut self, to: Tick, mut inserts: Vec<When>) {
        loop {
            let got = self.wheel.poll_expired(to);
            assert_eq!(got, self.model.pop_due(to), "drain to {to}");
            if got.is_none() {
                break;
            }
            assert!(self.wheel.now() <= to);
            if let Some(when) = inserts.pop() {
                // Relative to the drain's target, so some land inside it.
                self.insert(when.at(to));
            }
        }
        assert_eq!(self.wheel.now(), to);
    }

    /// A reactor sleeping until `next_deadline` reaches the earliest timer
    /// within one wake-up per level, plus two for the overflow list.
    fn wake(&mut self) {
        for _ in 0..8 {
            let Some(deadline) = self.wheel.next_deadline() else {
                return;
            };
            if self.advance(deadline.max(self.wheel.now())) > 0 {
                return;
            }
            self.check();
        }
        panic!("no timer fired after 8 wake-ups");
    }

    fn check(&self) {
        let wheel = &self.wheel;
        assert_eq!(wheel.len(), self.model.pending.len());
        assert_eq!(wheel.is_empty(), self.model.pending.is_empty());
        let next = wheel.next_deadline();
        assert_eq!(next.is_some(), !wheel.is_empty());
        if let Some(next) = next {
            let earliest = self.model.earliest_deadline().unwrap_or(Tick::MAX);
            assert!(next <= earliest, "next_deadline {next} > {earliest}");
            let due = self.model.order.keys().next().is_some_and(|p| p.0 <= wheel.now());
            assert_eq!(next <= wheel.now(), due, "next_deadline {next} at {}", wheel.now());
        }
        for (key, (_, deadline)) in &self.model.pending {
            assert_eq!(wheel.deadline(*key), Some(*deadline));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn wheel_fires_what_the_model_fires(ops in prop::collection::vec(op(), 1..150)) {
        let mut h = Harness::new();
        for op in ops {
            h.apply(op);
        }
        // Everything pending fires by the end of time.
        h.apply(Op::Advance(Tick::MAX));
        prop_assert!(h.wheel.is_empty());
    }
}

/// Fires everything due at `now`, returning the values in firing order.
fn fire(wheel: &mut Wheel<u64>, now: Tick) -> Vec<u64> {
    let mut fired = Vec::new();
    wheel.advance(now, |_, v| fired.push(v));
    fired
}

#[test]
fn deadline_equal_to_now_fires_at_the_next_advance() {
    let mut wheel = Wheel::new();
    wheel.advance(100, |_, _| {});
    wheel.insert(100, 1);
    assert_eq!(wheel.next_deadline(), Some(100));
    assert_eq!(fire(&mut wheel, 100), [1]);
    assert_eq!(wheel.next_deadline(), None);
}

#[test]
fn deadline_in_the_past_fires_at_the_next_advance_behind_what_is_due() {
    let mut wheel = Wheel::new();
    wheel.advance(1000, |_, _| {});
    wheel.insert(1000, 1);
    wheel.insert(3, 2);
    wheel.insert(999, 3);
    wheel.insert(1001, 4);
    assert!(wheel.next_deadline() <= Some(3));
    assert_eq!(fire(&mut wheel, 1000), [1, 2, 3]);
    assert_eq!(fire(&mut wheel, 1001), [4]);
}

#[test]
fn clock_never_goes_back() {
    let mut wheel = Wheel::new();
    wheel.insert(120, 1);
    assert!(fire(&mut wheel, 100).is_empty());
    assert!(fire(&mut wheel, 50).is_empty());
    assert_eq!(wheel.now(), 100);
    wheel.insert(80, 2);
    assert_eq!(fire(&mut wheel, 10), [2]);
    assert_eq!(fire(&mut wheel, 120), [1]);
}

#[test]
fn level_0_and_1_boundary() {
    let mut wheel = Wheel::new();
    for d in [65, 64, 63, 1, 0] {
        wheel.insert(d, d);
    }
    assert_eq!(wheel.next_deadline(), Some(0));
    assert_eq!(fire(&mut wheel, 0), [0]);
    assert_eq!(wheel.next_deadline(), Some(1));
    assert_eq!(fire(&mut wheel, 62), [1]);
    assert_eq!(wheel.next_deadline(), Some(63));
    assert_eq!(fire(&mut wheel, 63), [63]);
    assert_eq!(wheel.next_deadline(), Some(64));
    assert_eq!(fire(&mut wheel, 64), [64]);
    assert_eq!(wheel.next_deadline(), Some(65));
    assert_eq!(fire(&mut wheel, 1000), [65]);
}

#[test]
fn level_1_and_2_boundary_and_precision() {
    let mut wheel = Wheel::new();
    wheel.insert(5000, 5000);
    // Level 2 (64^2 <= 5000 < 64^3): the bound is the start of its slot,
    wheel.insert(4096, 4096);
    wheel.insert(4095, 4095);
    // and level 1 comes before level 2.
    assert_eq!(wheel.next_deadline(), Some(4032));
    assert!(fire(&mut wheel, 4032).is_empty());
    assert_eq!(wheel.next_deadline(), Some(4095));
    assert_eq!(fire(&mut wheel, 4095), [4095]);
    assert_eq!(wheel.next_deadline(), Some(4096));
    assert_eq!(fire(&mut wheel, 4096), [4096]);
    // then one level lower at each wake-up until exact.
    assert_eq!(wheel.next_deadline(), Some(4992));
    assert!(fire(&mut wheel, 4992).is_empty());
    assert_eq!(wheel.next_deadline(), Some(5000));
    assert!(fire(&mut wheel, 4999).is_empty());
    assert_eq!(fire(&mut wheel, 5000), [5000]);
}

#[test]
fn unaligned_clock_fires_each_deadline_exactly_once() {
    let mut wheel = Wheel::new();
    wheel.advance(4000, |_, _| {});
    for d in 4001..4200 {
        wheel.insert(d, d);
    }
    for now in 4001..4200 {
        assert_eq!(fire(&mut wheel, now), [now]);
    }
    assert!(wheel.is_empty());
}

#[test]
fn beyond_the_top_level_waits_on_overflow() {
    let year = 365 * 24 * 3600 * 1000;
    let mut wheel = Wheel::new();
    wheel.insert(3 * year, 3);
    wheel.insert(10 * year, 10);
    assert_eq!(wheel.next_deadline(), Some((3 * year) & !((1 << 36) - 1)));
    assert!(fire(&mut wheel, 3 * year - 1).is_empty());
    assert_eq!(fire(&mut wheel, 3 * year), [3]);
    assert!(fire(&mut wheel, 10 * year - 1).is_empty());
    assert_eq!(fire(&mut wheel, Tick::MAX), [10]);
}

#[test]
fn huge_jumps_do_not_walk_ticks() {
    let mut wheel = Wheel::new();
    let hour = 3_600_000;
    let n = 10_000;
    for i in 0..n {
        wheel.insert(i * hour, i);
    }
    wheel.insert(1 << 50, n);
    // Ten thousand hours in jumps of ten hours and then of 2^40 ticks: a
    // tick-by-tick walk would take minutes.
    let mut fired = Vec::new();
    for step in 1..=n / 10 {
        wheel.advance(step * 10 * hour, |_, v| fired.push(v));
    }
    for step in 1..=1024 {
        wheel.advance(step << 40, |_, v| fired.push(v));
    }
    assert_eq!(fired, (0..=n).collect::<Vec<_>>());
}

#[test]
fn stale_and_foreign_keys_are_refused() {
    let mut wheel = Wheel::new();
    let mut other = Wheel::new();
    let a = wheel.insert(10, 1);
    let foreign = other.insert(10, 9);
    assert_eq!(wheel.cancel(foreign), None);
    assert_eq!(wheel.cancel(a), Some(1));
    assert_eq!(wheel.cancel(a), None);
    let b = wheel.insert(10, 2); // reuses the slab slot of `a`
    assert_ne!(a, b);
    assert_eq!(wheel.cancel(a), None);
    assert!(!wheel.reset(a, 20));
    assert_eq!(wheel.deadline(b), Some(10));
    assert_eq!(fire(&mut wheel, 10), [2]);
    assert_eq!(wheel.cancel(b), None, "a fired key");
    assert_eq!(other.cancel(foreign), Some(9));
}

#[test]
fn equal_deadlines_fire_in_insertion_order() {
    let mut wheel = Wheel::new();
    let keys: Vec<_> = (0..10).map(|v| wheel.insert(300, v)).collect();
    wheel.advance(100, |_, _| {});
    for v in 10..20 {
        wheel.insert(300, v);
    }
    assert!(wheel.reset(keys[0], 300));
    let mut expected: Vec<_> = (1..20).collect();
    expected.push(0);
    assert_eq!(fire(&mut wheel, 300), expected);
}

#[test]
fn reset_keeps_key_and_value() {
    let mut wheel = Wheel::new();
    let k = wheel.insert(10, 7);
    assert!(wheel.reset(k, 5000));
    assert!(fire(&mut wheel, 4999).is_empty());
    assert!(wheel.contains(k));
    assert!(wheel.reset(k, 0)); // late now: due at once
    assert_eq!(wheel.poll_expired(4999), Some((k, 7)));
    assert!(!wheel.contains(k));
}

#[test]
fn pull_drain_fires_inserts_due_within_it_in_order() {
    let mut wheel = Wheel::new();
    wheel.insert(10, 10);
    wheel.insert(20, 20);
    let doomed = wheel.insert(25, 25);
    wheel.insert(40, 40);
    let mut fired = Vec::new();
    while let Some((_, v)) = wheel.poll_expired(30) {
        fired.push(v);
        match v {
            10 => {
                wheel.insert(15, 15); // inside the drain: fires in order
                wheel.insert(31, 31); // after the drain: not now
                wheel.insert(0, 1); // late: right behind what is due
            }
            20 => {
                assert_eq!(wheel.now(), 20);
                assert_eq!(wheel.cancel(doomed), Some(25));
                wheel.insert(30, 30); // the drain's own `now`: fires
            }
            _ => {}
        }
    }
    assert_eq!(fired, [10, 1, 15, 20, 30]);
    assert_eq!(wheel.now(), 30);
    assert_eq!(wheel.next_deadline(), Some(31));
    assert_eq!(wheel.len(), 2);
}

#[test]
fn an_empty_wheel_sleeps_forever() {
    let mut wheel = Wheel::<u64>::with_capacity(16);
    assert_eq!(wheel.next_deadline(), None);
    assert_eq!(wheel.poll_expired(Tick::MAX), None);
    assert_eq!(wheel.now(), Tick::MAX);
    assert!(wheel.is_empty());
    assert_eq!(wheel.len(), 0);
}
