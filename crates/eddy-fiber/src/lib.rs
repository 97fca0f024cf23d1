//! eddy-fiber: stackful green threads parked on the eddy loop. **Not built yet.**
//!
//! This crate will hold, per `DESIGN.md`: mmap'd stacks with guard pages,
//! pooled; an assembly context switch (the only `unsafe` outside
//! `eddy-poll`'s `sys/`); `spawn`, `yield_now`, `sleep`, `join`; socket
//! types whose blocking calls park the fiber on the loop; a panic ends its
//! fiber, not the process.
//!
//! Today it exports nothing: no part of it pretends to work.
