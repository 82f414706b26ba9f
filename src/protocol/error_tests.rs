//! Error classification: malformed → `BadFrame`, unknown `type` → `UnknownType`, oversize →
//! `TooLarge`, with `req` kept whenever the head could be read.

use serde_json::{json, Value};

use super::codec::{decode, text_within, DecodeError, Encoding};
use super::common::ErrorFrame;
use super::operator::{OperatorIn, OperatorOut};
use super::widget::WidgetIn;
use super::{ErrorCode, Sequenced};
use crate::config::bounds::NESTING_DEPTH_MAX;

const MAX: usize = 65_536;

fn json_err(bytes: &[u8]) -> DecodeError {
    decode::<WidgetIn>(bytes, Encoding::Json, MAX).unwrap_err()
}

fn msgpack(value: &Value) -> Vec<u8> {
    rmp_serde::to_vec_named(value).unwrap()
}

fn msgpack_err(bytes: &[u8]) -> DecodeError {
    decode::<WidgetIn>(bytes, Encoding::MsgPack, MAX).unwrap_err()
}

fn is_bad(err: &DecodeError, req: Option<u64>) -> bool {
    matches!(err, DecodeError::BadFrame { req: r, .. } if *r == req)
}

/// `{"type":"close","x":[[...]]}` nested `levels` deep in total (the frame map is level 1).
fn nested(levels: usize) -> Value {
    let mut inner = json!(1);
    for _ in 1..levels {
        inner = Value::Array(vec![inner]);
    }
    json!({"type": "close", "req": 1, "x": inner})
}

#[test]
fn json_malformed_is_bad_frame() {
    for input in [
        &b""[..],
        b"   ",
        b"hello",
        b"[1,2]",
        b"\"close\"",
        b"{\"type\":\"close\"",
        b"{\"type\":\"close\"} x",
        b"{\"type\":\"close\"}{}",
        b"{\"type\":\"close\",}",
        b"{\"type\":\"cl\xffose\"}",
    ] {
        let err = json_err(input);
        assert!(is_bad(&err, None), "{input:?} -> {err:?}");
        assert_eq!(err.code(), ErrorCode::BadFrame);
    }
    assert!(decode::<WidgetIn>(b" {\"type\":\"close\"}\n", Encoding::Json, MAX).is_ok());
}

#[test]
fn json_missing_or_mistyped_type() {
    assert_eq!(
        json_err(br#"{"req":3,"text":"x"}"#),
        DecodeError::BadFrame {
            reason: "missing type".into(),
            req: Some(3)
        }
    );
    assert!(is_bad(&json_err(br#"{"type":5,"req":3}"#), None));
    assert!(is_bad(&json_err(br#"{"type":"close","req":"3"}"#), None));
    assert!(is_bad(
        &json_err(br#"{"type":"close","type":"close"}"#),
        None
    ));
    let escaped = br#"{"type":"close","\u0074ype":"hello"}"#;
    assert!(is_bad(&json_err(escaped), None));
    let twice = b"\x82\xa4type\xa5close\xa4type\xa5close";
    assert!(is_bad(&msgpack_err(twice), None));
}

#[test]
fn type_need_not_come_first_or_be_plain() {
    for input in [
        &br#"{"req":1,"type":"close"}"#[..],
        br#"{"type":"cl\u006fse","req":1}"#,
        br#"{"type":"close","req":1,"text":"what type?"}"#,
    ] {
        let frame = decode::<WidgetIn>(input, Encoding::Json, MAX).unwrap();
        assert_eq!(frame.req(), Some(1));
    }
    let later = msgpack(&json!({"req": 1, "type": "close"}));
    assert_eq!(later.get(1..5), Some(&b"\xa3req"[..]));
    let frame = decode::<WidgetIn>(&later, Encoding::MsgPack, MAX).unwrap();
    assert_eq!(frame.req(), Some(1));
}

#[test]
fn unknown_type_keeps_req() {
    let err = json_err(br#"{"type":"dance","req":4,"steps":[1,2]}"#);
    assert_eq!(err, DecodeError::UnknownType { req: Some(4) });
    assert_eq!(err.code(), ErrorCode::UnknownType);
    assert_eq!(err.req(), Some(4));
    let long = format!(r#"{{"req":5,"type":"{}"}}"#, "x".repeat(1000));
    assert_eq!(
        json_err(long.as_bytes()),
        DecodeError::UnknownType { req: Some(5) }
    );
    // A server → client type is unknown on the client → server side.
    assert_eq!(
        json_err(br#"{"type":"welcome"}"#),
        DecodeError::UnknownType { req: None }
    );
    let mp = msgpack(&json!({"type": "dance", "req": 6}));
    assert_eq!(msgpack_err(&mp), DecodeError::UnknownType { req: Some(6) });
}

#[test]
fn wrong_field_type_is_bad_frame_with_req() {
    for (input, names) in [
        (
            &br#"{"type":"message","req":5,"client_msg_id":1,"text":"x"}"#[..],
            "field client_msg_id: invalid type: integer `1`, expected a string",
        ),
        (
            br#"{"type":"message","req":5,"text":"x"}"#,
            "missing field `client_msg_id`",
        ),
        (
            br#"{"type":"rate","req":5,"dialog_id":1,"score":"meh"}"#,
            "field score: unknown variant `meh`, expected `like` or `dislike`",
        ),
        (
            br#"{"type":"rate","req":5,"dialog_id":-1,"score":"like"}"#,
            "field dialog_id: invalid value: integer `-1`, expected u64",
        ),
    ] {
        let err = json_err(input);
        assert_eq!(err.reason(), names, "{}", String::from_utf8_lossy(input));
        assert!(is_bad(&err, Some(5)));
    }
    let err = decode::<OperatorIn>(
        br#"{"type":"supervisor_rate","req":7,"dialog_id":1,"score":6}"#,
        Encoding::Json,
        MAX,
    )
    .unwrap_err();
    assert!(is_bad(&err, Some(7)));
    let mp = msgpack(&json!({"type": "message", "req": 5, "client_msg_id": [], "text": "x"}));
    let err = msgpack_err(&mp);
    assert!(
        err.reason().starts_with("field client_msg_id: "),
        "{}",
        err.reason()
    );
    assert!(is_bad(&err, Some(5)));
}

#[test]
fn sequenced_frame_needs_seq() {
    let input = br#"{"type":"dialog_assigned","dialog_id":1,"line":"l"}"#;
    let err = decode::<Sequenced<OperatorOut>>(input, Encoding::Json, MAX).unwrap_err();
    assert!(is_bad(&err, None));
}

#[test]
fn msgpack_malformed_is_bad_frame() {
    let close = msgpack(&json!({"type": "close", "req": 2}));
    let mut trailing = close.clone();
    trailing.push(0xc0);
    assert_eq!(
        msgpack_err(&trailing),
        DecodeError::BadFrame {
            reason: "trailing bytes after the frame".into(),
            req: Some(2)
        }
    );
    let truncated = &close[..close.len() - 1];
    let array = msgpack(&json!(["close", 2]));
    for input in [
        &[][..],
        truncated,
        &array,
        &[0xc1],
        &[0x81, 0xc1],
        &[0xdf, 0xff, 0xff, 0xff, 0xff],
    ] {
        assert!(is_bad(&msgpack_err(input), None), "{input:x?}");
    }
    let no_type = msgpack(&json!({"req": 3}));
    assert!(is_bad(&msgpack_err(&no_type), Some(3)));
    assert!(decode::<WidgetIn>(&close, Encoding::MsgPack, MAX).is_ok());
}

#[test]
fn msgpack_nesting_is_limited() {
    let ok = msgpack(&nested(NESTING_DEPTH_MAX));
    assert!(decode::<WidgetIn>(&ok, Encoding::MsgPack, MAX).is_ok());
    let deep = msgpack(&nested(NESTING_DEPTH_MAX + 1));
    assert_eq!(
        msgpack_err(&deep),
        DecodeError::BadFrame {
            reason: "nesting too deep".into(),
            req: None
        }
    );
    // Far deeper than any stack could take if unbounded: 100k nested one-element arrays.
    let mut bomb = vec![0x81, 0xa1, b'x'];
    bomb.extend(std::iter::repeat_n(0x91, 100_000));
    bomb.push(0xc0);
    let err = decode::<WidgetIn>(&bomb, Encoding::MsgPack, usize::MAX).unwrap_err();
    assert!(is_bad(&err, None), "{err:?}");
}

#[test]
fn json_nesting_never_overflows() {
    // serde_json skips an ignored field without recursion: accepted, no stack growth.
    let open = "[".repeat(100_000);
    let close = "]".repeat(100_000);
    let ignored = format!(r#"{{"type":"close","x":{open}{close}}}"#);
    assert!(decode::<WidgetIn>(ignored.as_bytes(), Encoding::Json, usize::MAX).is_ok());
    // In a typed field, the recursion limit (128) or the type stops it.
    let typed = format!(r#"{{"type":"hello","line":{open}{close}}}"#);
    let err = decode::<WidgetIn>(typed.as_bytes(), Encoding::Json, usize::MAX).unwrap_err();
    assert!(is_bad(&err, None), "{err:?}");
    let unclosed = format!(r#"{{"type":"close","x":{open}"#);
    let err = decode::<WidgetIn>(unclosed.as_bytes(), Encoding::Json, usize::MAX).unwrap_err();
    assert!(is_bad(&err, None), "{err:?}");
}

#[test]
fn oversize_is_too_large() {
    let frame = br#"{"type":"close","req":1}"#;
    let len = frame.len();
    for encoding in [Encoding::Json, Encoding::MsgPack] {
        let err = decode::<WidgetIn>(frame, encoding, len - 1).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge { len, max: len - 1 });
        assert_eq!(err.code(), ErrorCode::TooLarge);
    }
    assert!(decode::<WidgetIn>(frame, Encoding::Json, len).is_ok());
}

#[test]
fn text_limit_counts_chars() {
    assert!(text_within("", 0));
    assert!(text_within("abcd", 4));
    assert!(!text_within("abcde", 4));
    assert!(text_within("жжжж", 4));
    assert!(!text_within("жжжжж", 4));
    assert!(text_within("🙂🙂", 2));
    assert!(!text_within(&"x".repeat(100), 10));
}

#[test]
fn error_frame_from_decode_error() {
    let err = json_err(br#"{"type":"dance","req":4}"#);
    let reply = ErrorFrame {
        req: err.req(),
        code: err.code(),
        message: err.reason(),
    };
    let json = serde_json::to_value(&reply).unwrap();
    assert_eq!(
        json,
        json!({"req": 4, "code": "unknown_type", "message": "unknown frame type"})
    );
}
