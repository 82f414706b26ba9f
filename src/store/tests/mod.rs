//! Tests of the store against real files in temporary directories (never tmpfs-only tricks:
//! every commit here is a real fsync), one file a topic; what they share is in [`helpers`].
//! The crash test is in `crash.rs`, the model-based property test in `model.rs`.

mod helpers;

mod commits;
mod consents;
mod crash;
mod dialogs;
mod errors;
mod gathering;
mod journal_replay;
mod log_and_snapshots;
mod messages;
mod model;
mod open;
mod webhooks;
