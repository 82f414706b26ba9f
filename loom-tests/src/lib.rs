//! loom models of Switchboard's lock-free primitives.
//!
//! Owns nothing of its own but the `sync` shim: it compiles the main crate's
//! `src/routing/reserve.rs` and `src/routing/mailbox.rs` byte for byte, with `crate::sync`
//! resolving to [`sync`] (loom's atomics and a `SegQueue` stand-in) instead of std. The models
//! live in `tests/`; they run only under the crate-specific cfg:
//!
//! ```text
//! RUSTFLAGS="--cfg switchboard_loom" CARGO_TARGET_DIR=target-loom cargo test --release -p loom-tests
//! ```
//!
//! Without the cfg they compile and are ignored; `tests/shim.rs` still runs the included
//! primitives single-threaded on the shim. This crate must never depend on `switchboard`
//! or tokio: the cfg reaches every crate in the build, and a model is only worth something if it
//! runs the very source the server runs.

pub mod sync;

#[path = "../../src/routing/mailbox.rs"]
pub mod mailbox;
#[path = "../../src/routing/reserve.rs"]
pub mod reserve;
