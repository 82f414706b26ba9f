//! What makes a type a frame: the [`Frame`] trait the codec is generic over, the
//! `frame_enum!` macro that declares the four frame enums, and [`Sequenced`], the `seq` every
//! server → operator frame carries.
//!
//! Invariants: a frame serializes to one flat map whose `type` field names its variant; the
//! names the decoder dispatches on are the very literals the serializer writes (the macro takes
//! each once). Decoding a body never sees an unknown `type`: [`Frame::decode_body`] answers
//! `None` for it and the codec reports `unknown_type`.

use serde::{Deserializer, Serialize};

/// The fields every frame may carry, read before the frame itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead<'a> {
    /// The `type` field.
    pub kind: &'a str,
    /// The client's request id, repeated in the `ack` or `error` for it.
    pub req: Option<u64>,
    /// The operator event sequence number of a server → operator frame.
    pub seq: Option<u64>,
}

/// A frame enum (or [`Sequenced`] frame) the codec can encode and decode.
pub trait Frame: Serialize + Sized {
    /// Whether [`Frame::decode_body`] needs `head.seq` (only [`Sequenced`] does); frames that
    /// do not may be decoded in one pass when `type` comes first.
    const NEEDS_SEQ: bool = false;

    /// Decodes the fields of the frame named by `head.kind` from `de` (the whole frame object;
    /// `type` and other unknown fields are ignored). `None` when the kind is unknown here.
    fn decode_body<'de, D: Deserializer<'de>>(
        head: &FrameHead<'_>,
        de: D,
    ) -> Option<Result<Self, D::Error>>;

    /// The `type` this frame is sent with.
    fn type_name(&self) -> &'static str;

    /// The code, when this frame is an `error`.
    fn error_code(&self) -> Option<crate::protocol::ErrorCode>;
}

/// Declares a frame enum: `"wire_name" => Variant(Body)` per frame type. Emits the enum
/// (internally tagged by `type`, newtype variants), its [`Frame`] impl and `type_name`. With the
/// leading `@requests`, every body has a `req: Option<u64>` and the enum gets `req()`.
macro_rules! frame_enum {
    (@requests $(#[$meta:meta])* pub enum $name:ident {
        $( $(#[$vmeta:meta])* $tag:literal => $variant:ident($body:ty), )+
    }) => {
        $crate::protocol::frame::frame_enum! {
            $(#[$meta])* pub enum $name { $( $(#[$vmeta])* $tag => $variant($body), )+ }
        }
        impl $name {
            /// The client's request id, repeated in the `ack` or `error` for this frame.
            pub fn req(&self) -> Option<u64> {
                match self { $( $name::$variant(body) => body.req, )+ }
            }
        }
    };
    ($(#[$meta:meta])* pub enum $name:ident {
        $( $(#[$vmeta:meta])* $tag:literal => $variant:ident($body:ty), )+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        #[serde(tag = "type")]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $tag)] $variant($body), )+
        }

        impl $crate::protocol::frame::Frame for $name {
            fn decode_body<'de, D: serde::Deserializer<'de>>(
                head: &$crate::protocol::frame::FrameHead<'_>,
                de: D,
            ) -> Option<Result<Self, D::Error>> {
                match head.kind {
                    $( $tag => Some(<$body as serde::Deserialize>::deserialize(de)
                        .map($name::$variant)), )+
                    _ => None,
                }
            }

            fn type_name(&self) -> &'static str {
                match self { $( $name::$variant(_) => $tag, )+ }
            }

            fn error_code(&self) -> Option<$crate::protocol::ErrorCode> {
                match self {
                    $( $name::$variant(body) => (body as &dyn std::any::Any)
                        .downcast_ref::<$crate::protocol::ErrorFrame>()
                        .map(|e| e.code), )+
                }
            }
        }
    };
}
pub(crate) use frame_enum;

/// A server → operator frame with the operator's event sequence number, serialized flat:
/// `{"seq":12,"type":"dialog_assigned",...}`. A reconnecting operator sends the last `seq` it
/// saw as `hello {last_seq}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sequenced<F> {
    pub seq: u64,
    #[serde(flatten)]
    pub frame: F,
}

impl<F: Frame> Frame for Sequenced<F> {
    const NEEDS_SEQ: bool = true;

    fn decode_body<'de, D: Deserializer<'de>>(
        head: &FrameHead<'_>,
        de: D,
    ) -> Option<Result<Self, D::Error>> {
        let frame = F::decode_body(head, de)?;
        Some(match (frame, head.seq) {
            (Ok(frame), Some(seq)) => Ok(Sequenced { seq, frame }),
            (Ok(_), None) => Err(serde::de::Error::missing_field("seq")),
            (Err(err), _) => Err(err),
        })
    }

    fn type_name(&self) -> &'static str {
        self.frame.type_name()
    }

    fn error_code(&self) -> Option<crate::protocol::ErrorCode> {
        self.frame.error_code()
    }
}
