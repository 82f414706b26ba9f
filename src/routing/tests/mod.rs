//! Tests of the routing core through the real [`Router`], driven by a hand-moved clock: one file
//! per group of rules, plus property tests against the invariants and (`message_model`) a
//! reference model of stored messages.

mod harness;
mod lifecycle;
mod limits;
mod message_model;
mod modes;
mod props;
mod responsible;
mod timers;
mod transcript_memory;
