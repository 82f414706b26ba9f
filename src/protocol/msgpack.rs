//! MessagePack binary frames (rmp-serde, named fields): decoding with a one-pass fast path when
//! the map's first key is `type`.
//!
//! Invariants: input must be exactly one map — the first byte is a map marker and nothing may
//! follow the value; nesting is capped at [`NESTING_DEPTH_MAX`]; strings are borrowed from the
//! input (no intermediate buffer). The fast path is taken only when the bytes after the leading
//! `type` do not contain `type` at all (a second `type` key must go to the two-pass path, which
//! rejects duplicates); every failure is classified by the two-pass path.

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::codec::{self, bad, DecodeError, BAD_FIELD, BAD_HEAD, EMPTY};
use super::frame::{Frame, FrameHead};
use super::head::RawHead;
use crate::config::bounds::NESTING_DEPTH_MAX;

type De<'a> = rmp_serde::Deserializer<rmp_serde::decode::ReadRefReader<'a, [u8]>>;

pub(super) fn decode<F: Frame>(bytes: &[u8]) -> Result<F, DecodeError> {
    decode_with(bytes, !F::NEEDS_SEQ)
}

/// The decoder without its fast path: the reference the fast path must agree with.
#[cfg(test)]
pub(super) fn decode_two_pass<F: Frame>(bytes: &[u8]) -> Result<F, DecodeError> {
    decode_with(bytes, false)
}

fn decode_with<F: Frame>(bytes: &[u8], fast: bool) -> Result<F, DecodeError> {
    let entries_at = match bytes.first() {
        None => return Err(bad(EMPTY, None)),
        Some(0x80..=0x8f) => 1,
        Some(0xde) => 3,
        Some(0xdf) => 5,
        Some(_) => return Err(bad(codec::NOT_MSGPACK_MAP, None)),
    };
    if fast {
        if let Some(frame) = bytes.get(entries_at..).and_then(|e| one_pass(bytes, e)) {
            return Ok(frame);
        }
    }
    two_pass(bytes)
}

fn deserializer(bytes: &[u8]) -> De<'_> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    // rmp-serde counts the outermost map as one step and fails when its counter reaches zero.
    de.set_max_depth(NESTING_DEPTH_MAX + 1);
    de
}

/// Whether the deserializer consumed all input: reading one more marker hits end of input.
fn at_end(de: &mut De<'_>) -> bool {
    use rmp_serde::decode::Error;
    match IgnoredAny::deserialize(de) {
        Err(Error::InvalidMarkerRead(err)) => err.kind() == std::io::ErrorKind::UnexpectedEof,
        _ => false,
    }
}

/// `entries` is `bytes` after the map header.
fn one_pass<F: Frame>(bytes: &[u8], entries: &[u8]) -> Option<F> {
    let (kind, rest) = leading_type(entries)?;
    if contains_type(rest) {
        return None;
    }
    let head = FrameHead {
        kind,
        req: None,
        seq: None,
    };
    let mut de = deserializer(bytes);
    let frame = F::decode_body(&head, &mut de)?.ok()?;
    at_end(&mut de).then_some(frame)
}

/// Whether `type` occurs anywhere in `bytes` (branch-free, so it vectorizes).
fn contains_type(bytes: &[u8]) -> bool {
    let shifted = |by: usize| bytes.get(by..).unwrap_or_default();
    bytes
        .iter()
        .zip(shifted(1))
        .zip(shifted(2))
        .zip(shifted(3))
        .fold(false, |hit, (((&a, &b), &c), &d)| {
            hit | ((a == b't') & (b == b'y') & (c == b'p') & (d == b'e'))
        })
}

fn two_pass<F: Frame>(bytes: &[u8]) -> Result<F, DecodeError> {
    let mut de = deserializer(bytes);
    let raw = RawHead::deserialize(&mut de).map_err(|err| bad(reason(&err, BAD_HEAD), None))?;
    if !at_end(&mut de) {
        return Err(bad(codec::TRAILING, raw.req));
    }
    codec::body_of(&raw, &mut deserializer(bytes), |err| reason(err, BAD_FIELD))
}

fn reason(err: &rmp_serde::decode::Error, data_reason: &'static str) -> &'static str {
    use rmp_serde::decode::Error as E;
    match err {
        E::DepthLimitExceeded => codec::TOO_DEEP,
        E::InvalidMarkerRead(_)
        | E::InvalidDataRead(_)
        | E::LengthMismatch(_)
        | E::Utf8Error(_) => codec::MALFORMED_MSGPACK,
        E::TypeMismatch(_) | E::OutOfRange | E::Syntax(_) | E::Uncategorized(_) => data_reason,
    }
}

/// Reads the key `type` (fixstr) and a fixstr/str8 name at the start of `entries`. Answers the
/// name and the bytes after it.
fn leading_type(entries: &[u8]) -> Option<(&str, &[u8])> {
    let rest = entries.strip_prefix(b"\xa4type")?;
    let (len, rest) = match rest.split_first()? {
        (&marker @ 0xa0..=0xbf, rest) => (usize::from(marker & 0x1f), rest),
        (0xd9, rest) => {
            let (&len, rest) = rest.split_first()?;
            (usize::from(len), rest)
        }
        _ => return None,
    };
    let name = std::str::from_utf8(rest.get(..len)?).ok()?;
    Some((name, rest.get(len..)?))
}

#[cfg(test)]
mod tests {
    use super::leading_type;

    #[test]
    fn leading_type_reads_fixstr_and_str8() {
        assert_eq!(
            leading_type(b"\xa4type\xa5close\xa3req\x01"),
            Some(("close", &b"\xa3req\x01"[..]))
        );
        assert_eq!(
            leading_type(b"\xa4type\xd9\x05close"),
            Some(("close", &[][..]))
        );
        assert_eq!(leading_type(b"\xa3req\x01\xa4type\xa5close"), None);
        assert_eq!(leading_type(b"\xa4type\x05"), None);
        assert_eq!(leading_type(b"\xa4type\xa5clo"), None);
    }
}
