//! eddy-rt: async/await on the eddy loop. **Not built yet.**
//!
//! This crate will hold, per `DESIGN.md`: an executor with its own task
//! queue and `Waker`s; a reactor driver that wakes the task waiting on each
//! direction of each registration; `block_on`; `spawn` with a `JoinHandle`
//! and abort; async sockets implementing the `futures-io` traits;
//! `sleep` / `timeout` / `interval` on the reactor's timing wheel; a
//! per-task cooperative budget; one runtime per core.
//!
//! Today it exports nothing: no part of it pretends to work.

#![forbid(unsafe_code)]
