//! Bytes ⇄ frames: JSON text frames and MessagePack binary frames (rmp-serde, named fields).
//!
//! Decoding reads the body of the named frame type straight from the bytes — no
//! `serde_json::Value`, no buffered serde `Content`. When `type` is the first field (as every
//! encoder here writes it) that is one pass; otherwise, or when that pass fails, two: the head
//! pass reads `type`/`req`/`seq` and checks the whole value, then the body pass. The two-pass
//! path is the reference: the one-pass path only ever returns a frame it would also return.
//! Format details live in the private `json` and `msgpack` modules.
//!
//! Invariants: never panics on any input; rejects a frame over `frame_bytes_max` before looking
//! at it; errors are `Copy` and carry only static text, so classifying a bad frame allocates
//! nothing beyond what serde itself does; MessagePack input must be exactly one map (trailing
//! bytes are an error) nested at most [`NESTING_DEPTH_MAX`] deep. JSON cannot exhaust the stack
//! either: typed fields nest at most 4 deep by their types (and serde_json stops recursion at
//! 128), and ignored fields are skipped by serde_json without recursion.
//!
//! [`NESTING_DEPTH_MAX`]: crate::config::bounds::NESTING_DEPTH_MAX

use super::error_code::ErrorCode;
use super::frame::{Frame, FrameHead};
use super::head::RawHead;
use super::{json, msgpack};

/// How a connection's frames travel; chosen from the connection's first frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// JSON in WebSocket text frames.
    Json,
    /// MessagePack (named fields) in WebSocket binary frames.
    MsgPack,
}

impl Encoding {
    /// The encoding of a WebSocket data frame: binary frames carry MessagePack.
    pub const fn of_ws_frame(is_binary: bool) -> Self {
        if is_binary {
            Encoding::MsgPack
        } else {
            Encoding::Json
        }
    }

    /// Whether frames of this encoding go out as WebSocket binary frames.
    pub const fn is_binary(self) -> bool {
        matches!(self, Encoding::MsgPack)
    }
}

/// Why a frame did not decode. No heap except for a field error's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Larger than `frame_bytes_max`: close the connection with 1009.
    #[error("frame of {len} bytes exceeds frame_bytes_max {max}")]
    TooLarge { len: usize, max: usize },
    /// Not a well-formed frame object of a known shape: answer `error bad_frame`.
    #[error("bad frame: {reason}")]
    BadFrame {
        reason: std::borrow::Cow<'static, str>,
        req: Option<u64>,
    },
    /// A well-formed object whose `type` this side does not know: answer `error unknown_type`.
    #[error("unknown frame type")]
    UnknownType { req: Option<u64> },
}

impl DecodeError {
    /// The `req` of the failed frame, when it could be read.
    pub fn req(&self) -> Option<u64> {
        match *self {
            DecodeError::TooLarge { .. } => None,
            DecodeError::BadFrame { req, .. } | DecodeError::UnknownType { req } => req,
        }
    }

    /// The `error` code to answer with.
    pub const fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
            DecodeError::BadFrame { .. } => ErrorCode::BadFrame,
            DecodeError::UnknownType { .. } => ErrorCode::UnknownType,
        }
    }

    /// The text for the `error` frame's `message`; a field error names the field and what was
    /// expected there.
    pub fn reason(&self) -> std::borrow::Cow<'static, str> {
        match self {
            DecodeError::TooLarge { .. } => "frame too large".into(),
            DecodeError::BadFrame { reason, .. } => reason.clone(),
            DecodeError::UnknownType { .. } => "unknown frame type".into(),
        }
    }
}

/// A frame could not be serialized (cannot happen for the frame types of this module; kept so
/// encoding never panics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("frame could not be encoded as JSON")]
    Json,
    #[error("frame could not be encoded as MessagePack")]
    MsgPack,
}

pub(super) const EMPTY: &str = "empty frame";
pub(super) const NOT_JSON_OBJECT: &str = "not a JSON object";
pub(super) const MALFORMED_JSON: &str = "malformed JSON";
pub(super) const NOT_MSGPACK_MAP: &str = "not a MessagePack map";
pub(super) const MALFORMED_MSGPACK: &str = "malformed MessagePack";
pub(super) const TRAILING: &str = "trailing bytes after the frame";
pub(super) const TOO_DEEP: &str = "nesting too deep";
pub(super) const MISSING_TYPE: &str = "missing type";
pub(super) const BAD_HEAD: &str = "type, req or seq has the wrong type";
pub(super) const BAD_FIELD: &str = "missing or mistyped field";

/// Decodes one frame of kind `F` (e.g. [`WidgetIn`](super::WidgetIn)) from a WebSocket
/// payload in `encoding`.
pub fn decode<F: Frame>(
    bytes: &[u8],
    encoding: Encoding,
    frame_bytes_max: usize,
) -> Result<F, DecodeError> {
    if bytes.len() > frame_bytes_max {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: frame_bytes_max,
        });
    }
    match encoding {
        Encoding::Json => json::decode(bytes),
        Encoding::MsgPack => msgpack::decode(bytes),
    }
}

/// Appends the encoding of `frame` to `out` (reuse one buffer per connection or fan-out).
pub fn encode_into<F: Frame>(
    frame: &F,
    encoding: Encoding,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    match encoding {
        Encoding::Json => serde_json::to_writer(&mut *out, frame).map_err(|_| EncodeError::Json),
        Encoding::MsgPack => {
            rmp_serde::encode::write_named(out, frame).map_err(|_| EncodeError::MsgPack)
        }
    }
}

/// The encoding of `frame` in a new buffer.
pub fn encode<F: Frame>(frame: &F, encoding: Encoding) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    encode_into(frame, encoding, &mut out)?;
    Ok(out)
}

/// Whether `text` has at most `text_chars_max` characters (Unicode scalar values), the unit of
/// the `text_chars_max` limit. Cheap when the byte length already decides.
pub fn text_within(text: &str, text_chars_max: usize) -> bool {
    if text.len() <= text_chars_max {
        return true;
    }
    if text.len() / 4 > text_chars_max {
        return false;
    }
    text.chars().count() <= text_chars_max
}

pub(super) fn bad(reason: &'static str, req: Option<u64>) -> DecodeError {
    DecodeError::BadFrame {
        reason: reason.into(),
        req,
    }
}

/// The `message` of a field that did not decode: `field client_msg_id: invalid type: integer
/// `1`, expected a string`, or serde's own text (`missing field `text``) when no field was
/// entered. The decoder's position suffix (`at line 1 column 40`) is left out.
fn field_reason(path: &serde_path_to_error::Path, error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let text = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => &text,
    };
    let path = path.to_string();
    if path.is_empty() || path == "?" || path == "." {
        text.to_string()
    } else {
        format!("field {path}: {text}")
    }
}

/// The second pass: decodes the body named by a head read in the first pass. A data error
/// names the field it happened in; `reason` classifies the others (malformed input, depth).
pub(super) fn body_of<'de, F: Frame, D: serde::Deserializer<'de>>(
    raw: &RawHead,
    de: D,
    reason: impl FnOnce(&D::Error) -> &'static str,
) -> Result<F, DecodeError> {
    let Some(kind) = &raw.kind else {
        return Err(bad(MISSING_TYPE, raw.req));
    };
    let head = FrameHead {
        kind: kind.as_str(),
        req: raw.req,
        seq: raw.seq,
    };
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(de, &mut track);
    match F::decode_body(&head, tracked) {
        Some(Ok(frame)) => Ok(frame),
        Some(Err(err)) => {
            let kind = reason(&err);
            let text = if kind == BAD_FIELD {
                field_reason(&track.path(), &err).into()
            } else {
                kind.into()
            };
            Err(DecodeError::BadFrame {
                reason: text,
                req: raw.req,
            })
        }
        None => Err(DecodeError::UnknownType { req: raw.req }),
    }
}
