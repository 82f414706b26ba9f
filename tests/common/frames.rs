//! Reading frames: a decoded frame is a [`serde_json::Value`] whatever its encoding, and these
//! helpers read its type and fields (failing the test, with the frame, when a required field is
//! missing), check an `error`, pick frames of a type, and give the clock that frames'
//! timestamps (unix milliseconds) are compared with.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// The `type` of a frame ("" when missing).
pub fn frame_type(frame: &Value) -> &str {
    frame["type"].as_str().unwrap_or("")
}

/// A required unsigned field.
pub fn field_u64(frame: &Value, key: &str) -> u64 {
    frame[key]
        .as_u64()
        .unwrap_or_else(|| panic!("field {key:?} is not an unsigned integer in {frame}"))
}

/// A required string field.
pub fn field_str<'a>(frame: &'a Value, key: &str) -> &'a str {
    frame[key]
        .as_str()
        .unwrap_or_else(|| panic!("field {key:?} is not a string in {frame}"))
}

/// Asserts `frame` is an `error` with `code`.
pub fn assert_error(frame: &Value, code: &str) {
    assert_eq!(
        frame_type(frame),
        "error",
        "expected error {code}, got {frame}"
    );
    assert_eq!(
        field_str(frame, "code"),
        code,
        "wrong error code in {frame}"
    );
    assert!(
        frame["message"].is_string(),
        "error without message: {frame}"
    );
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Whether `frame` is an operator-side `message` with this text.
pub fn is_message_with_text(frame: &Value, text: &str) -> bool {
    frame_type(frame) == "message" && frame["text"] == text
}

/// Frames of `frames` of type `kind`.
pub fn of_type<'a>(frames: &'a [Value], kind: &str) -> Vec<&'a Value> {
    frames.iter().filter(|f| frame_type(f) == kind).collect()
}
