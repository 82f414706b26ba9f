//! The `crate::sync` that the included primitives see when compiled here: loom's atomics and
//! `Arc`, and a `SegQueue` stand-in, so `loom::model` can explore every interleaving of the
//! unmodified `reserve.rs` and `mailbox.rs`.
//!
//! Mirrors the names the main crate's `src/sync.rs` exports (`AtomicBool`, `AtomicU64`,
//! `Ordering`, `Arc`, `SegQueue`). Anything the included files need from `crate::sync` must be
//! added here under the same name; nothing here may come from `std::sync`.

use std::collections::VecDeque;

pub use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
pub use loom::sync::Arc;

/// Stand-in for `crossbeam_queue::SegQueue` with the methods `Mailbox` uses.
///
/// The queue itself is crossbeam's and is trusted (it has its own tests); this stand-in is a
/// `loom::sync::Mutex<VecDeque<T>>` so that each queue operation is one atomic, loom-visible
/// step. The models therefore check the `scheduled`-flag protocol around the queue, not the
/// queue's internals. Being a lock, it orders each queue operation with the flag accesses more
/// strongly than crossbeam's atomics do, and loom treats `SeqCst` accesses as `AcqRel`: these
/// models check interleavings, not whether the orderings between queue and flag suffice.
#[derive(Debug)]
pub struct SegQueue<T> {
    items: loom::sync::Mutex<VecDeque<T>>,
}

impl<T> Default for SegQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> SegQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self {
            items: loom::sync::Mutex::new(VecDeque::new()),
        }
    }

    /// Appends `item` at the tail.
    pub fn push(&self, item: T) {
        self.lock().push_back(item);
    }

    /// Takes the head, if any.
    pub fn pop(&self) -> Option<T> {
        self.lock().pop_front()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Items queued.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> loom::sync::MutexGuard<'_, VecDeque<T>> {
        // No code here panics while holding the lock, so poisoning cannot happen.
        self.items.lock().expect("SegQueue stand-in lock poisoned")
    }
}
