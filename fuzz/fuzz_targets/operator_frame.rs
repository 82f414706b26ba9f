#![no_main]
//! Fuzz target: `switchboard::fuzzing::operator_frame` (see src/fuzzing.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::operator_frame(data));
