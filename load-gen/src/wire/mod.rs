//! Everything on the wire: typed frames and their encodings (`frames`, pure) and connection
//! setup with timeouts (`conn`, the only code that opens client sockets).

pub mod conn;
pub mod frames;

pub use conn::{ConnError, Sink, Stream, Ws};
pub use frames::{
    message_text, parse_message_id, Encoding, In, Kind, Out, Received, REQ_ACCEPT, REQ_CLOSE,
    REQ_KIND_MASK, REQ_OTHER, REQ_RATE,
};
