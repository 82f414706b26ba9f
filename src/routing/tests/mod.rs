//! Tests of the routing core through the real [`Router`], driven by a hand-moved clock: one file
//! per group of rules, plus property tests against the invariants.

mod harness;
mod lifecycle;
mod limits;
mod modes;
mod props;
mod timers;
