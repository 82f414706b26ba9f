//! JSON text frames: decoding with a one-pass fast path when `"type"` is the object's first key.
//!
//! Invariants: the fast path returns a frame only when the body decoded, the whole input was
//! one object, and nothing after the leading `type` could be another `type` key (a literal
//! `"type"` or any `\u` escape sends the frame down the two-pass path, which rejects
//! duplicates); every failure is classified by the two-pass path, so both paths agree.

use serde::Deserialize;

use super::codec::{self, bad, DecodeError, BAD_FIELD, BAD_HEAD, EMPTY, MALFORMED_JSON};
use super::frame::{Frame, FrameHead};
use super::head::RawHead;
use crate::config::bounds::TYPE_NAME_BYTES_MAX;

pub(super) fn decode<F: Frame>(bytes: &[u8]) -> Result<F, DecodeError> {
    decode_with(bytes, !F::NEEDS_SEQ)
}

/// The decoder without its fast path: the reference the fast path must agree with.
#[cfg(test)]
pub(super) fn decode_two_pass<F: Frame>(bytes: &[u8]) -> Result<F, DecodeError> {
    decode_with(bytes, false)
}

fn decode_with<F: Frame>(bytes: &[u8], fast: bool) -> Result<F, DecodeError> {
    let open = skip_ws(bytes);
    match open.first() {
        None => return Err(bad(EMPTY, None)),
        Some(b'{') => {}
        Some(_) => return Err(bad(codec::NOT_JSON_OBJECT, None)),
    }
    if fast {
        if let Some(frame) = open.get(1..).and_then(|after| one_pass(bytes, after)) {
            return Ok(frame);
        }
    }
    two_pass(bytes)
}

/// `after_brace` is `bytes` after the opening `{`.
fn one_pass<F: Frame>(bytes: &[u8], after_brace: &[u8]) -> Option<F> {
    let (kind, rest) = leading_type(after_brace)?;
    if may_repeat_type(rest) {
        return None;
    }
    let head = FrameHead {
        kind,
        req: None,
        seq: None,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let frame = F::decode_body(&head, &mut de)?.ok()?;
    de.end().ok()?;
    Some(frame)
}

fn two_pass<F: Frame>(bytes: &[u8]) -> Result<F, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let raw = RawHead::deserialize(&mut de)
        .and_then(|raw| de.end().map(|()| raw))
        .map_err(|err| bad(reason(&err, BAD_HEAD), None))?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    codec::body_of(&raw, &mut de, |err| reason(err, BAD_FIELD))
}

fn reason(err: &serde_json::Error, data_reason: &'static str) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Data => data_reason,
        _ => MALFORMED_JSON,
    }
}

fn skip_ws(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Reads `"type" : "<name>"` at the start of `bytes`; `None` unless the name is short and has
/// no escapes. Answers the name and the bytes after it.
fn leading_type(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let bytes = skip_ws(bytes).strip_prefix(b"\"type\"")?;
    let bytes = skip_ws(bytes).strip_prefix(b":")?;
    let bytes = skip_ws(bytes).strip_prefix(b"\"")?;
    let end = bytes
        .iter()
        .take(TYPE_NAME_BYTES_MAX + 1)
        .position(|&b| b == b'"' || b == b'\\')?;
    if bytes.get(end) != Some(&b'"') {
        return None;
    }
    let name = std::str::from_utf8(bytes.get(..end)?).ok()?;
    Some((name, bytes.get(end + 1..)?))
}

/// Whether `rest` could hold another `type` key: a literal `"type"` or a `\u` escape. A
/// branch-free filter first (it vectorizes); the exact scan runs only when it hits, which takes
/// the word `type` or a `\u` escape anywhere.
fn may_repeat_type(rest: &[u8]) -> bool {
    let shifted = |by: usize| rest.get(by..).unwrap_or_default();
    let hit = rest
        .iter()
        .zip(shifted(1))
        .zip(shifted(2))
        .zip(shifted(3))
        .fold(false, |hit, (((&a, &b), &c), &d)| {
            hit | ((a == b't') & (b == b'y') & (c == b'p') & (d == b'e'))
                | ((a == b'\\') & (b == b'u'))
        });
    hit && exact_repeat_scan(rest)
}

fn exact_repeat_scan(rest: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = rest
        .get(from..)
        .and_then(|tail| tail.iter().position(|&b| b == b'"' || b == b'\\'))
    {
        let tail = rest.get(from + at..).unwrap_or_default();
        if tail.starts_with(b"\"type\"") || tail.starts_with(b"\\u") {
            return true;
        }
        // Step over an escaped character so `\"` is never read as a quote.
        from += at + if tail.first() == Some(&b'\\') { 2 } else { 1 };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{leading_type, may_repeat_type};

    #[test]
    fn leading_type_reads_plain_names_only() {
        assert_eq!(
            leading_type(br#" "type" : "close" ,"req":1}"#),
            Some(("close", &br#" ,"req":1}"#[..]))
        );
        assert_eq!(leading_type(br#""req":1,"type":"close"}"#), None);
        assert_eq!(leading_type(br#""type":"cl\u006fse"}"#), None);
        assert_eq!(leading_type(br#""type":5}"#), None);
        assert_eq!(leading_type(br#""type":"close"#), None);
    }

    #[test]
    fn repeated_type_is_suspected() {
        assert!(may_repeat_type(br#","type":"x"}"#));
        assert!(may_repeat_type(br#","\u0074ype":"x"}"#));
        assert!(!may_repeat_type(br#","text":"say \"type\" \\"}"#));
        assert!(!may_repeat_type(br#","text":"a \\\"type\\\" b"}"#));
    }
}
