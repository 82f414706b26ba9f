//! Shared by the model files: run a loom model and collect the outcomes its executions reached.
//!
//! loom's exploration is not always complete: with loom 0.7 a thread whose first operation is an
//! atomic load can be left unexplored when the model's main thread races it (tokio-rs/loom#392),
//! and a model then "passes" after a single execution. Every model therefore spawns all of its
//! racing actors, returns an outcome per execution, and asserts afterwards that each outcome it
//! is meant to reach was reached: a model that stops exploring fails instead of passing vacuously.

// The bookkeeping lock below must be invisible to loom's scheduler, so it is std's on purpose.
#![allow(clippy::disallowed_types)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Runs `model` under loom; returns the distinct outcomes of all explored executions.
///
/// `preemptions_max` bounds how many times a thread may be preempted per execution (`None`:
/// exhaustive). `LOOM_MAX_PREEMPTIONS` in the environment overrides it.
pub fn explore<T, F>(preemptions_max: Option<usize>, model: F) -> BTreeSet<T>
where
    T: Ord + Send + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    // Bookkeeping outside the model: a std lock, invisible to loom's scheduler.
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let record = Arc::clone(&seen);
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = builder.preemption_bound.or(preemptions_max);
    builder.check(move || {
        let outcome = model();
        record.lock().expect("outcome set").insert(outcome);
    });
    let outcomes = std::mem::take(&mut *seen.lock().expect("outcome set"));
    outcomes
}
