//! The executor: spawn and join, panics, abort, detach, yield, wakes from
//! other threads, a wake during a poll, the runtime's drop.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use eddy_rt::{JoinError, Runtime, spawn, spawn_local, yield_now};
use util::oneshot;

#[test]
fn a_spawned_task_gives_its_output_to_its_join_handle() {
    let mut rt = Runtime::new().unwrap();
    let out = rt.block_on(async {
        let a = spawn(async { 40 });
        let b = spawn_local(async { Rc::new(2) });
        a.await.unwrap() + *b.await.unwrap()
    });
    assert_eq!(out.unwrap(), 42);
    assert_eq!(rt.tasks(), 0, "joined tasks are freed");
}

#[test]
fn a_panicking_task_reports_its_panic_and_the_loop_goes_on() {
    let mut rt = Runtime::new().unwrap();
    let (err, after) = rt
        .block_on(async {
            let bad = spawn(async {
                panic!("boom in a task");
            });
            let err: JoinError = match bad.await {
                Err(e) => e,
                Ok(()) => unreachable!(),
            };
            let after = spawn(async { "still serving" }).await.unwrap();
            (err, after)
        })
        .unwrap();
    assert!(err.is_panic());
    assert!(err.to_string().contains("boom in a task"), "{err}");
    assert_eq!(after, "still serving");
}

/// Counts drops.
struct Guard(Rc<Cell<u32>>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn abort_drops_the_future_at_once_and_the_join_says_cancelled() {
    let mut rt = Runtime::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    let d = Rc::clone(&drops);
    rt.block_on(async move {
        let guard = Guard(Rc::clone(&d));
        let task = spawn_local(async move {
            let _g = guard;
            std::future::pending::<()>().await;
        });
        yield_now().await; // the task runs once and parks
        assert_eq!(d.get(), 0);
        task.abort();
        assert_eq!(d.get(), 1, "the future was dropped by abort itself");
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled(), "{err}");
    })
    .unwrap();
    assert_eq!(drops.get(), 1);
    assert_eq!(rt.tasks(), 0);
}

#[test]
fn a_task_aborting_itself_is_dropped_when_its_poll_returns() {
    let mut rt = Runtime::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    let d = Rc::clone(&drops);
    rt.block_on(async move {
        let (tx, rx) = oneshot();
        let guard = Guard(Rc::clone(&d));
        let task = spawn_local(async move {
            let _g = guard;
            let me: eddy_rt::AbortHandle = rx.await;
            me.abort();
            yield_now().await;
            unreachable!("an aborted task is never polled again");
        });
        tx.send(task.abort_handle());
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(d.get(), 1);
    })
    .unwrap();
}

#[test]
fn dropping_the_join_handle_detaches_the_task() {
    let mut rt = Runtime::new().unwrap();
    let ran = Rc::new(Cell::new(false));
    let r = Rc::clone(&ran);
    rt.block_on(async move {
        drop(spawn_local(async move {
            yield_now().await;
            r.set(true);
        }));
        for _ in 0..10 {
            yield_now().await;
        }
    })
    .unwrap();
    assert!(ran.get(), "a detached task runs to completion");
    assert_eq!(rt.tasks(), 0, "and its slot is freed");
}

#[test]
fn yield_now_lets_the_other_ready_tasks_run_in_between() {
    let mut rt = Runtime::new().unwrap();
    let order = rt
        .block_on(async {
            let log = Rc::new(std::cell::RefCell::new(Vec::new()));
            let tasks: Vec<_> = (0..3)
                .map(|i| {
                    let log = Rc::clone(&log);
                    spawn_local(async move {
                        for round in 0..3 {
                            log.borrow_mut().push((round, i));
                            yield_now().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            Rc::try_unwrap(log).unwrap().into_inner()
        })
        .unwrap();
    let expected: Vec<_> = (0..3).flat_map(|round| (0..3).map(move |i| (round, i))).collect();
    assert_eq!(order, expected, "round robin, in wake order");
}

#[test]
fn a_waker_from_another_thread_wakes_the_task_on_its_loop() {
    let mut rt = Runtime::new().unwrap();
    let home = std::thread::current().id();
    rt.block_on(async move {
        let (tx, rx) = oneshot();
        let task = spawn(async move {
            let v: u32 = rx.await;
            (v, std::thread::current().id())
        });
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(7);
        });
        let (v, ran_on) = task.await.unwrap();
        assert_eq!(v, 7);
        assert_eq!(ran_on, home, "the task ran on its home loop");
    })
    .unwrap();
}

/// 100,000 wakes from two threads, each waking a task that is parked (or
/// about to park): every round completes, bounded in time (no lost wakeup
/// between a task's check and its park).
#[test]
fn hundred_thousand_cross_thread_wakes_from_two_threads_all_arrive() {
    const ROUNDS: usize = 50_000;
    let mut rt = Runtime::new().unwrap();
    let start = Instant::now();
    let total = rt
        .block_on(async {
            let mut handles = Vec::new();
            for _ in 0..2 {
                let (to_task, from_thread) = std::sync::mpsc::channel::<util::Sender<usize>>();
                let worker = std::thread::spawn(move || {
                    // Answer each request from the task: a wake from here.
                    let mut n = 0;
                    while let Ok(reply) = from_thread.recv() {
                        reply.send(n);
                        n += 1;
                    }
                    n
                });
                let task = spawn(async move {
                    let mut sum = 0usize;
                    for i in 0..ROUNDS {
                        let (tx, rx) = oneshot();
                        to_task.send(tx).unwrap();
                        let n = rx.await;
                        assert_eq!(n, i);
                        sum += 1;
                    }
                    sum
                });
                handles.push((task, worker));
            }
            let mut total = 0;
            for (task, worker) in handles {
                total += task.await.unwrap();
                assert_eq!(worker.join().unwrap(), ROUNDS);
            }
            total
        })
        .unwrap();
    assert_eq!(total, 2 * ROUNDS);
    assert!(start.elapsed() < Duration::from_secs(60), "took {:?}", start.elapsed());
}

#[test]
fn a_wake_during_its_own_poll_polls_the_task_once_more() {
    let mut rt = Runtime::new().unwrap();
    let polls = rt
        .block_on(async {
            let task = spawn(async {
                let mut polls = 0;
                std::future::poll_fn(|cx| {
                    polls += 1;
                    if polls < 3 {
                        // Woken while being polled: must be polled again.
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    } else {
                        Poll::Ready(polls)
                    }
                })
                .await
            });
            task.await.unwrap()
        })
        .unwrap();
    assert_eq!(polls, 3);
}

#[test]
fn waking_a_finished_task_is_harmless() {
    let mut rt = Runtime::new().unwrap();
    let kept = Arc::new(std::sync::Mutex::new(None));
    let k = Arc::clone(&kept);
    rt.block_on(async move {
        let task = spawn(async move {
            std::future::poll_fn(|cx| {
                *k.lock().unwrap() = Some(cx.waker().clone());
                Poll::Ready(())
            })
            .await;
        });
        task.await.unwrap();
    })
    .unwrap();
    let waker = kept.lock().unwrap().take().unwrap();
    // The task is gone: waking it on its loop's thread, and from another
    // thread, does nothing (and costs the loop no poll of anything).
    waker.wake_by_ref();
    let w = waker.clone();
    std::thread::spawn(move || w.wake()).join().unwrap();
    let ran = rt.block_on(async { spawn(async { 1 }).await.unwrap() }).unwrap();
    assert_eq!(ran, 1);
    assert_eq!(rt.tasks(), 0);
}

#[test]
fn dropping_the_runtime_runs_the_destructors_of_pending_tasks() {
    let drops = Rc::new(Cell::new(0));
    {
        let mut rt = Runtime::new().unwrap();
        let d = Rc::clone(&drops);
        rt.block_on(async move {
            for _ in 0..5 {
                let g = Guard(Rc::clone(&d));
                drop(spawn_local(async move {
                    let _g = g;
                    std::future::pending::<()>().await;
                }));
            }
            yield_now().await;
        })
        .unwrap();
        assert_eq!(drops.get(), 0);
        assert_eq!(rt.tasks(), 5);
    }
    assert_eq!(drops.get(), 5, "every pending task's future was dropped");
}

#[test]
fn spawn_outside_a_runtime_is_a_clear_panic() {
    let caught = std::panic::catch_unwind(|| drop(spawn(async {})));
    let msg = caught.unwrap_err();
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("not inside the eddy-rt runtime"), "{msg}");
}

#[test]
fn many_tasks_spawned_and_joined_leave_nothing_behind() {
    let mut rt = Runtime::new().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    rt.block_on(async move {
        let handles: Vec<_> = (0..10_000)
            .map(|i| {
                let c = Arc::clone(&c);
                spawn(async move {
                    if i % 2 == 0 {
                        yield_now().await;
                    }
                    c.fetch_add(1, Ordering::Relaxed);
                    i
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap(), i);
        }
    })
    .unwrap();
    assert_eq!(count.load(Ordering::Relaxed), 10_000);
    assert_eq!(rt.tasks(), 0);
}

#[test]
fn spawn_blocking_runs_off_the_loop_and_its_result_is_awaited() {
    let mut rt = Runtime::new().unwrap();
    let home = std::thread::current().id();
    rt.block_on(async move {
        let (v, ran_on) = eddy_rt::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(10));
            (5, std::thread::current().id())
        })
        .await
        .unwrap();
        assert_eq!(v, 5);
        assert_ne!(ran_on, home, "blocking work never runs on the loop");
        let err = eddy_rt::spawn_blocking(|| -> () { panic!("blocking boom") }).await.unwrap_err();
        assert!(err.is_panic());
        // Many at once: more than the pool's threads, all complete.
        let jobs: Vec<_> = (0..40).map(|i| eddy_rt::spawn_blocking(move || i * 2)).collect();
        let mut sum = 0;
        for j in jobs {
            sum += j.await.unwrap();
        }
        assert_eq!(sum, (0..40).map(|i| i * 2).sum::<i32>());
    })
    .unwrap();
}

#[test]
fn a_join_set_gives_outputs_in_finishing_order_and_aborts_on_drop() {
    let mut rt = Runtime::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    let d = Rc::clone(&drops);
    rt.block_on(async move {
        let mut set = eddy_rt::JoinSet::new();
        for ms in [30u64, 10, 20] {
            set.spawn(async move {
                eddy_rt::time::sleep(Duration::from_millis(ms)).await;
                ms
            });
        }
        let mut order = Vec::new();
        while let Some(r) = set.join_next().await {
            order.push(r.unwrap());
        }
        assert_eq!(order, [10, 20, 30]);
        let mut doomed = eddy_rt::JoinSet::new();
        for _ in 0..3 {
            let g = Guard(Rc::clone(&d));
            doomed.spawn_local(async move {
                let _g = g;
                std::future::pending::<()>().await;
            });
        }
        yield_now().await;
        drop(doomed);
        assert_eq!(d.get(), 3, "dropping the set aborted its tasks");
    })
    .unwrap();
    assert_eq!(rt.tasks(), 0);
}
