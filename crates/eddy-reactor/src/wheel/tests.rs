//! White-box tests: the invariants of the module documentation, checked
//! on the internal state after every operation of random sequences. The
//! black-box model test is `tests/wheel_model.rs`.

use proptest::prelude::*;

use super::*;

/// Checks every invariant of the module documentation.
fn check<T>(wheel: &Wheel<T>) {
    wheel.store.check_slab();
    let now = wheel.elapsed;
    let mut total = 0;
    for level in 0..LEVELS {
        for slot in 0..SLOTS {
            let deadlines = wheel.store.walk(ListId::slot(level, slot));
            let bit = wheel.occupied[level] & (1 << slot) != 0;
            assert_eq!(bit, !deadlines.is_empty(), "bit of ({level}, {slot})");
            for d in &deadlines {
                assert!(*d > now, "({level}, {slot}) holds {d} <= now {now}");
                assert_eq!(level_for(now, *d), level, "level of {d} at {now}");
                assert_eq!(digit(*d, level), slot, "slot of {d}");
            }
            if level == 0 {
                assert!(deadlines.windows(2).all(|w| w[0] == w[1]));
            }
            total += deadlines.len();
        }
    }
    let due = wheel.store.walk(ListId::DUE);
    assert!(due.iter().all(|d| *d <= now && *d >= wheel.due_floor));
    let overflow = wheel.store.walk(ListId::OVERFLOW);
    for d in &overflow {
        assert!(level_for(now, *d) >= LEVELS && *d > now);
        assert!(*d >= wheel.overflow_floor && block_start(wheel.overflow_floor) > now);
    }
    total += due.len() + overflow.len();
    assert_eq!(total, wheel.len());
}

#[test]
fn sizes() {
    assert_eq!(size_of::<TimerKey>(), 12);
    assert_eq!(Wheel::<u64>::TIMER_BYTES, 32);
    assert_eq!(Wheel::<()>::TIMER_BYTES, 24);
    assert_eq!(Wheel::<[u8; 24]>::TIMER_BYTES, 48);
}

#[test]
fn geometry() {
    assert_eq!(level_for(0, 1), 0);
    assert_eq!(level_for(0, 63), 0);
    assert_eq!(level_for(0, 64), 1);
    assert_eq!(level_for(63, 64), 1);
    assert_eq!(level_for(64, 127), 0);
    assert_eq!(level_for(0, 4095), 1);
    assert_eq!(level_for(0, 4096), 2);
    assert_eq!(level_for(0, (1 << 36) - 1), 5);
    assert_eq!(level_for(0, 1 << 36), 6);
    assert_eq!(level_for(0, u64::MAX), 10);
    assert_eq!(slot_start(100, 0, 37), 101);
    assert_eq!(slot_start(100, 1, 3), 192);
    assert_eq!(slot_start(u64::MAX - 1, 0, 63), u64::MAX);
    assert_eq!(block_start((1 << 36) + 5), 1 << 36);
    assert_eq!(digit(4096 + 64 * 5 + 7, 1), 5);
}

#[test]
fn clock_at_the_end_of_time() {
    let mut wheel = Wheel::new();
    wheel.advance(u64::MAX - 70, |_, ()| {});
    let a = wheel.insert(u64::MAX, ());
    wheel.insert(u64::MAX - 1, ());
    check(&wheel);
    assert_eq!(wheel.next_deadline(), Some(u64::MAX - 63));
    let mut fired = Vec::new();
    wheel.advance(u64::MAX, |k, ()| fired.push(k));
    assert_eq!(fired.len(), 2);
    assert_eq!(fired[1], a);
    check(&wheel);
    assert!(wheel.is_empty());
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u64),
    Cancel(usize),
    Reset(usize, u64),
    Advance(u64),
    Poll(u64),
}

fn delta() -> impl Strategy<Value = u64> {
    prop_oneof![0..70u64, 0..5000u64, 0..(1u64 << 26), 0..(1u64 << 40)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => delta().prop_map(Op::Insert),
        2 => any::<usize>().prop_map(Op::Cancel),
        1 => (any::<usize>(), delta()).prop_map(|(i, d)| Op::Reset(i, d)),
        2 => delta().prop_map(Op::Advance),
        1 => delta().prop_map(Op::Poll),
    ]
}

proptest! {
    #[test]
    fn invariants_hold_after_every_operation(ops in prop::collection::vec(op(), 1..200)) {
        let mut wheel = Wheel::new();
        let mut keys = Vec::new();
        for op in ops {
            let now = wheel.now();
            match op {
                // Half of the inserts land in the past or on the clock.
                Op::Insert(d) => keys.push(wheel.insert((now + d).saturating_sub(35), ())),
                Op::Cancel(i) if !keys.is_empty() => {
                    wheel.cancel(keys[i % keys.len()]);
                }
                Op::Reset(i, d) if !keys.is_empty() => {
                    wheel.reset(keys[i % keys.len()], now + d);
                }
                Op::Advance(d) => wheel.advance(now + d, |_, ()| {}),
                Op::Poll(d) => {
                    // A partial drain: stops with the clock mid-way.
                    for _ in 0..3 {
                        if wheel.poll_expired(now + d).is_none() {
                            break;
                        }
                        check(&wheel);
                    }
                }
                Op::Cancel(_) | Op::Reset(..) => {}
            }
            check(&wheel);
        }
    }
}
