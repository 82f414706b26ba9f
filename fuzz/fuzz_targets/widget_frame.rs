#![no_main]
//! Fuzz target: `switchboard::fuzzing::widget_frame` (see src/fuzzing.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::widget_frame(data));
