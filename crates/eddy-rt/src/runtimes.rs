//! [`Runtimes`]: one runtime per core, each on its own thread with its own
//! loop (thread-per-core: tasks never move between them). Work reaches a
//! given loop through its [`Handle`]; one address is served on every loop
//! by binding it on each with `SO_REUSEPORT`
//! ([`TcpListener::bind_reuseport`](crate::net::TcpListener::bind_reuseport)),
//! the kernel spreading connections over them.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use eddy_reactor::Config;

use crate::handle::Handle;
use crate::runtime::Runtime;
use crate::task::yield_now;

/// Several runtimes, one thread and one loop each.
pub struct Runtimes {
    handles: Vec<Handle>,
    threads: Vec<JoinHandle<io::Result<()>>>,
    stop: Arc<AtomicBool>,
}

impl Runtimes {
    /// Starts `n` loops (at least one) with `cfg`, named `eddy-rt-{i}`.
    ///
    /// # Errors
    ///
    /// A loop could not be made (out of fds), or a thread spawned.
    pub fn start(n: usize, cfg: &Config) -> io::Result<Runtimes> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut threads = Vec::new();
        for i in 0..n.max(1) {
            let (cfg, tx, stop) = (cfg.clone(), tx.clone(), Arc::clone(&stop));
            threads.push(std::thread::Builder::new().name(format!("eddy-rt-{i}")).spawn(move || {
                let mut rt = match Runtime::with_config(cfg) {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                        return Err(e);
                    }
                };
                let _ = tx.send(Ok((i, rt.handle())));
                rt.block_on(until(stop))
            })?);
        }
        drop(tx);
        let mut handles: Vec<Option<Handle>> = vec![None; threads.len()];
        for msg in rx.iter().take(threads.len()) {
            let (i, h) = msg?;
            handles[i] = Some(h);
        }
        let handles = handles
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| io::Error::other("a loop failed to start"))?;
        Ok(Runtimes { handles, threads, stop })
    }

    /// The handle of loop `i`'s runtime.
    pub fn handle(&self, i: usize) -> Option<&Handle> {
        self.handles.get(i)
    }

    /// The number of loops.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether there are none (never: at least one is started).
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Spawns on every loop the future `make(i)` builds there (it need not
    /// be `Send`: it is made on its loop).
    pub fn spawn_on_each<F, Fut>(&self, make: F)
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let make = Arc::new(make);
        for (i, h) in self.handles.iter().enumerate() {
            let make = Arc::clone(&make);
            h.spawn_with(move || make(i));
        }
    }

    /// Stops every loop (their tasks are dropped) and waits for the
    /// threads.
    ///
    /// # Errors
    ///
    /// A loop failed, or its thread panicked.
    pub fn shutdown(self) -> io::Result<()> {
        self.stop.store(true, Ordering::Release);
        for h in &self.handles {
            // On the loop: make `block_on` poll its future (which sees the
            // flag) after this turn.
            h.remote.post(crate::context::Message::Run(Box::new(|| {
                crate::context::with_current(|inner| inner.main_woken.store(true, Ordering::Release));
            })));
        }
        for t in self.threads {
            t.join().map_err(|_| io::Error::other("an eddy-rt loop thread panicked"))??;
        }
        Ok(())
    }
}

/// Runs until `stop` is set (`shutdown` then has the main future polled).
async fn until(stop: Arc<AtomicBool>) {
    std::future::poll_fn(|_| {
        if stop.load(Ordering::Acquire) { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    yield_now().await;
}
