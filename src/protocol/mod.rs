//! The wire protocol (PROTOCOL.md), pure: frame types of both WebSocket sides, error codes, and
//! the JSON / MessagePack codec.
//!
//! - [`widget`]: [`WidgetIn`] / [`WidgetOut`] for `/ws/widget`.
//! - [`operator`]: [`OperatorIn`] / [`OperatorOut`] for `/ws/operator`; every server → operator
//!   frame is sent as [`Sequenced`]`<OperatorOut>` (adds `seq`).
//! - [`common`]: values shared by both sides, including the `ack` and `error` bodies.
//! - [`codec`]: [`decode`] / [`encode`] with an [`Encoding`] per connection, [`DecodeError`].
//!
//! Invariants: no I/O, no clocks, no async, no references to the rest of the crate; decoding
//! never panics on any input. What is *not* checked here: text length against
//! `text_chars_max` (use [`text_within`]), rates, auth, whether ids exist.
//!
//! Wire decision beyond PROTOCOL.md: a top-level `message` to an operator carries the
//! per-dialog sequence number as `dialog_seq`, because its `seq` is the operator event sequence
//! every server → operator frame carries; the same holds for an operator `ack`.

pub mod codec;
pub mod common;
pub mod contacts;
pub mod error_code;
pub mod frame;
mod head;
mod json;
mod msgpack;
pub mod operator;
pub mod widget;

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use codec::{decode, encode, encode_into, text_within, DecodeError, EncodeError, Encoding};
pub use common::{
    Ack, Author, ClientInfo, CloseReason, ContactCard, DialogClosed, DialogState, DialogSummary,
    ErrorFrame, KpiKind, MessageView, OfferMode, OperatorView, PresenceState, QuickAnswer,
    RevokeReason, Score, SupervisorScore, WorkdayAction,
};
pub use error_code::ErrorCode;
pub use frame::{Frame, FrameHead, Sequenced};
pub use operator::{OperatorIn, OperatorOut};
pub use widget::{WidgetIn, WidgetOut};

/// Decodes arbitrary bytes as every frame kind in both encodings; the fuzz target.
#[cfg(fuzzing)]
pub fn fuzz_decode(bytes: &[u8]) {
    for encoding in [Encoding::Json, Encoding::MsgPack] {
        let _ = decode::<WidgetIn>(bytes, encoding, usize::MAX);
        let _ = decode::<OperatorIn>(bytes, encoding, usize::MAX);
        let _ = decode::<WidgetOut>(bytes, encoding, usize::MAX);
        let _ = decode::<Sequenced<OperatorOut>>(bytes, encoding, usize::MAX);
    }
}
