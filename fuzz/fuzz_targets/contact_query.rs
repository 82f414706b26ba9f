#![no_main]
//! Fuzz target: `switchboard::fuzzing::contact_query` (see src/fuzzing.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::contact_query(data));
