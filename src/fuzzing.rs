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

/// A contact search query (`GET /contacts?q=`, `search_contacts`): parsed, and run against a
/// small index, so the wildcard, phrase and similar-spelling automata are built from it.
pub fn contact_query(data: &[u8]) {
    use crate::contacts::search::{index::SearchIndex, query};
    static INDEX: std::sync::OnceLock<Option<SearchIndex>> = std::sync::OnceLock::new();
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(clauses) = query::parse(q) else {
        return;
    };
    let index = INDEX.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sb-fuzz-index-{}", std::process::id()));
        let index = SearchIndex::open(&dir).ok()?;
        let people = [
            ["Hans", "Müller", "ACME GmbH", "hans@acme.test"],
            ["Anna", "Smith", "Smyth & Sons", "+4930123456"],
            ["Olga", "O'Neil", "Oak Ltd", "vip lead"],
        ];
        index
            .rebuild(1, |add| {
                for (i, fields) in people.iter().enumerate() {
                    add(i as u64 + 1, fields);
                }
                Ok::<_, crate::contacts::search::index::IndexError>(())
            })
            .ok()?;
        Some(index)
    });
    if let Some(index) = index {
        let _ = index.search(&clauses);
    }
}

/// A contact body (`POST /contacts`, `PATCH /contacts/{id}`, `create_contact`): read strictly
/// and applied to a blank person, as the registry does.
pub fn contact_body(data: &[u8]) {
    use crate::contacts::{input, Contact, ContactInput, Kind, Settings};
    let Ok(body) = serde_json::from_slice::<ContactInput>(data) else {
        return;
    };
    let mut contact = Contact::blank(1, body.kind.unwrap_or(Kind::Person), "manual", 0);
    let _ = input::apply(&body, &mut contact, &Settings::default());
}
