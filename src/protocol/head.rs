//! The first decoding pass: read only `type`, `req` and `seq` of a frame object, skipping every
//! other field, so the codec can tell an unknown `type` from a malformed frame and repeat `req`
//! in the error reply even when the body does not decode.
//!
//! Invariants: never allocates — the `type` string is copied into an inline buffer of
//! [`TYPE_NAME_BYTES_MAX`] bytes; a longer name is kept only as "too long" (no frame type is that
//! long, so it decodes as an unknown type).

use std::fmt;

use crate::config::bounds::TYPE_NAME_BYTES_MAX;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// `type`, `req` and `seq` of a frame; other fields are skipped unparsed.
#[derive(Debug, Deserialize)]
pub(crate) struct RawHead {
    #[serde(rename = "type")]
    pub(crate) kind: Option<TypeName>,
    pub(crate) req: Option<u64>,
    pub(crate) seq: Option<u64>,
}

/// A `type` string held inline; `len == None` marks a name longer than the buffer.
#[derive(Debug)]
pub(crate) struct TypeName {
    bytes: [u8; TYPE_NAME_BYTES_MAX],
    len: Option<u8>,
}

impl TypeName {
    /// The name, or `""` when it was too long to keep (no frame type is empty).
    pub(crate) fn as_str(&self) -> &str {
        let len = self.len.map_or(0, usize::from);
        // The bytes were copied from a `&str` at a char boundary, so this cannot fail; the
        // fallback only keeps the function total.
        std::str::from_utf8(self.bytes.get(..len).unwrap_or_default()).unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_str(TypeNameVisitor)
    }
}

struct TypeNameVisitor;

impl Visitor<'_> for TypeNameVisitor {
    type Value = TypeName;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a frame type name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<TypeName, E> {
        let mut bytes = [0u8; TYPE_NAME_BYTES_MAX];
        let len = match bytes.get_mut(..name.len()) {
            Some(dst) => {
                dst.copy_from_slice(name.as_bytes());
                u8::try_from(name.len()).ok()
            }
            None => None,
        };
        Ok(TypeName { bytes, len })
    }
}
