//! The one place the concurrent core gets its atomics, locks and queues from.
//!
//! Here they are `std` atomics, `parking_lot` locks and crossbeam's lock-free `SegQueue`. The
//! concurrent primitives (`routing::reserve`, `routing::mailbox`) import only from `crate::sync`,
//! so the `loom-tests` crate compiles the very same source files with its own `sync` shim that
//! re-exports loom's types (it builds under `--cfg switchboard_loom`, a crate-specific cfg: a
//! plain `--cfg loom` reaches every crate in the build and breaks tokio). Code in `routing` must
//! never take atomics, locks or queues from anywhere else.

pub use crossbeam_queue::SegQueue;
pub use parking_lot::{Condvar, Mutex, RwLock};
pub use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
pub use std::sync::Arc;
