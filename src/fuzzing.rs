//! Entry points for the coverage-guided fuzz targets in `fuzz/` and for the test that replays
//! their corpora (`tests/fuzz_corpora.rs`): each takes arbitrary bytes and runs one parser of
//! untrusted input the way the server does. Must never panic, whatever the input; a panic here
//! is the bug the fuzzer found. Not part of the public API.

use crate::config::{apply, parse_line_body, parse_operator_body, Change, Config};
use crate::protocol::{decode, Encoding, OperatorIn, WidgetIn};

/// Frame size bound the fuzz targets decode under (the default `frame_bytes_max`).
const FRAME_BYTES_MAX: usize = 65_536;

/// A widget frame, as JSON text and as MessagePack.
pub fn widget_frame(data: &[u8]) {
    let _ = decode::<WidgetIn>(data, Encoding::Json, FRAME_BYTES_MAX).map(|f| f.req());
    let _ = decode::<WidgetIn>(data, Encoding::MsgPack, FRAME_BYTES_MAX).map(|f| f.req());
}

/// An operator frame, as JSON text and as MessagePack.
pub fn operator_frame(data: &[u8]) {
    let _ = decode::<OperatorIn>(data, Encoding::Json, FRAME_BYTES_MAX).map(|f| f.req());
    let _ = decode::<OperatorIn>(data, Encoding::MsgPack, FRAME_BYTES_MAX).map(|f| f.req());
}

/// A config file: parsed and validated (errors name their keys).
pub fn config_file(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::from_toml_str(text);
    }
}

/// An admin API body for `PUT /lines/{id}` and `PUT /operators/{id}`, applied to the example
/// configuration as the server would (validation included).
pub fn admin_body(data: &[u8]) {
    let config = Config::example();
    if let Ok(line) = parse_line_body("support", data) {
        let _ = apply(&config, &Change::PutLine(Box::new(line)));
    }
    if let Ok(operator) = parse_operator_body("anna", data) {
        let _ = apply(&config, &Change::PutOperator(Box::new(operator)));
    }
}
