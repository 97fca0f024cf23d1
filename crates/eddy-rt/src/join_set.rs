//! [`JoinSet`]: a group of tasks, joined in the order they finish.
//!
//! `join_next` polls the set's handles in turn (each records the caller's
//! waker with its task), so one call costs O(n) in the tasks still in the
//! set; fine for the tens or hundreds a group usually holds. Dropping the
//! set aborts the tasks still in it, as tokio's does.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use crate::task::{JoinError, JoinHandle, spawn, spawn_local};

/// A group of tasks with outputs of one type.
pub struct JoinSet<T: 'static> {
    handles: Vec<JoinHandle<T>>,
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet { handles: Vec::new() }
    }

    /// Spawns `future` into the set (see [`spawn`]).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.handles.push(spawn(future));
    }

    /// Spawns a future that need not be `Send` into the set.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn spawn_local<F>(&mut self, future: F)
    where
        F: Future<Output = T> + 'static,
    {
        self.handles.push(spawn_local(future));
    }

    /// Tasks in the set (finished ones not yet joined included).
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The output of the next task to finish; `None` when the set is empty.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        if self.handles.is_empty() {
            return None;
        }
        std::future::poll_fn(|cx| {
            for i in 0..self.handles.len() {
                if let Poll::Ready(out) = Pin::new(&mut self.handles[i]).poll(cx) {
                    drop(self.handles.swap_remove(i));
                    return Poll::Ready(Some(out));
                }
            }
            Poll::Pending
        })
        .await
    }

    /// Every output, in the order the tasks finish.
    pub async fn join_all(mut self) -> Vec<Result<T, JoinError>> {
        let mut out = Vec::with_capacity(self.handles.len());
        while let Some(r) = self.join_next().await {
            out.push(r);
        }
        out
    }

    /// Aborts every task in the set (they stay in it until joined: as
    /// cancelled, or with their output if they had finished).
    pub fn abort_all(&self) {
        for h in &self.handles {
            h.abort();
        }
    }

    /// Lets every task run on without the set (detached).
    pub fn detach_all(&mut self) {
        self.handles.clear();
    }
}

impl<T: 'static> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}
