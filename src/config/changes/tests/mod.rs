//! Runtime changes: a PUT round trip, one test per error class (checking kind, key and reason),
//! what deleting an operator strips; `stored` holds replay skipping what no longer applies,
//! MessagePack round trips, and compaction of the patterns the admin API produces.

use super::*;
use crate::config::{Config, QueueMode};
use serde_json::json;

mod stored;

/// Two lines, three operators (one a bot), a department and a quick-answer list; `support`
/// names `boris` in every place an operator can be named.
pub(super) const BASE: &str = r#"
[[departments]]
id = "sales"
name = "Sales"
members = ["anna", "boris"]

[[operators]]
id = "anna"
name = "Anna"

[[operators]]
id = "boris"
name = "Boris"

[[operators]]
id = "helper"
name = "Helper"
bot = true

[[quick_answers]]
id = "common"
items = ["Hello!"]

[[lines]]
id = "support"
name = "Support"
channels = ["online_chat"]
operator_display = "override"
quick_answers = "common"
[lines.display_overrides.boris]
name = "B."
[lines.queue]
members = ["anna", "boris", "dept:sales"]
escalation = [{ after = "5m", add = ["boris"] }, { after = "10m", add = ["anna", "boris"] }]
[lines.kpi.first_response]
target = "3m"
notify = ["boris", "anna"]

[[lines]]
id = "sales"
name = "Sales"
channels = ["telegram"]
[lines.queue]
members = ["dept:sales"]
[lines.bot]
operator = "helper"
"#;

fn base() -> Config {
    Config::from_toml_str(BASE).unwrap()
}

fn line(id: &str, body: serde_json::Value) -> Change {
    Change::PutLine(Box::new(
        parse_line_body(id, body.to_string().as_bytes()).unwrap(),
    ))
}

fn operator(id: &str, body: serde_json::Value) -> Change {
    Change::PutOperator(Box::new(
        parse_operator_body(id, body.to_string().as_bytes()).unwrap(),
    ))
}

fn delete_operator(id: &str) -> Change {
    Change::DeleteOperator { id: id.into() }
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| id(i).to_string()).collect()
}

fn line_ids(config: &Config) -> Vec<String> {
    ids(&config.lines, |l| &l.id)
}

/// The error's problems as `key: reason` strings.
fn problems(e: &ChangeError) -> Vec<String> {
    e.problems.iter().map(ToString::to_string).collect()
}

fn as_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn a_line_put_creates_or_replaces_in_place() {
    let body = br#"{"name": "VIP", "channels": ["whatsapp"],
        "queue": {"members": ["anna"], "mode": "balanced", "transfer_after": "90s"}}"#;
    let vip = parse_line_body("vip", body).unwrap();
    assert_eq!(vip.id, "vip", "the id comes from the URL");
    assert!(vip.active, "defaults as in the file");
    let config = apply(&base(), &Change::PutLine(Box::new(vip))).unwrap();
    assert_eq!(line_ids(&config), ["support", "sales", "vip"]);
    let vip = &config.lines[2];
    assert_eq!(vip.queue.mode, QueueMode::Balanced);
    assert_eq!(vip.queue.transfer_after.as_ms(), 90_000);

    let change = line(
        "support",
        json!({"name": "Help", "queue": {"members": ["boris"]}}),
    );
    let config = apply(&config, &change).unwrap();
    assert_eq!(line_ids(&config), ["support", "sales", "vip"]);
    assert_eq!(config.lines[0].name, "Help");
    assert_eq!(config.lines[0].queue.members, ["boris"]);
}

#[test]
fn malformed_json_is_bad_json_with_its_position() {
    let e = parse_line_body("vip", b"{\n  \"name\": \"VIP\"\n  \"queue\": {}\n}").unwrap_err();
    assert_eq!(e.kind, ChangeErrorKind::BadJson);
    assert_eq!((e.kind.code(), e.kind.http_status()), ("bad_json", 400));
    assert_eq!(
        e.to_string(),
        "expected `,` or `}` at line 3 column 3",
        "{e:?}"
    );
    let e = parse_operator_body("x", b"").unwrap_err();
    assert_eq!(e.kind, ChangeErrorKind::BadJson);
    assert!(e.to_string().contains("line 1 column 0"), "{e}");
}

#[test]
fn a_wrong_type_names_the_field_path() {
    let e = parse_line_body("vip", br#"{"name": "V", "queue": {"mode": "fastest"}}"#).unwrap_err();
    assert_eq!((e.kind.code(), e.kind.http_status()), ("invalid", 422));
    assert_eq!(
        problems(&e),
        [
            "queue.mode: unknown variant `fastest`, expected one of `even`, `balanced`, `strict`, \
          `all`"
        ]
    );
    let body = br#"{"name": "V", "queue": {"members": ["anna", 5]}}"#;
    let e = parse_line_body("vip", body).unwrap_err();
    assert_eq!(
        problems(&e),
        ["queue.members[1]: invalid type: integer `5`, expected a string"]
    );
    let body = br#"{"name": "V", "queue": {"transfer_after": "soon"}}"#;
    let e = parse_line_body("vip", body).unwrap_err();
    assert!(
        problems(&e)[0].starts_with("queue.transfer_after: \"soon\" is not a duration"),
        "{e}"
    );
    let e = parse_quick_answers_body("q", br#"["a"]"#).unwrap_err();
    assert_eq!(e.kind, ChangeErrorKind::Invalid);
    assert_eq!(
        problems(&e),
        ["the body must be a JSON object, not an array"]
    );
}

#[test]
fn an_unknown_key_is_named() {
    let body = br#"{"name": "V", "queue": {"membres": ["anna"]}}"#;
    let e = parse_line_body("vip", body).unwrap_err();
    assert_eq!(e.kind, ChangeErrorKind::Invalid);
    assert!(
        problems(&e)[0].starts_with("queue.membres: unknown field `membres`, expected one of"),
        "{e}"
    );
    let e = parse_operator_body("carl", br#"{"name": "Carl", "nick": "c"}"#).unwrap_err();
    assert!(
        e.to_string().starts_with("nick: unknown field `nick`"),
        "{e}"
    );
    let e = parse_line_body("vip", br#"{"queue": {}}"#).unwrap_err();
    assert_eq!(problems(&e), ["missing field `name`"]);
}

#[test]
fn an_id_in_the_body_must_match_the_url() {
    let e = parse_line_body("vip", br#"{"id": "other", "name": "V"}"#).unwrap_err();
    assert_eq!(e.kind, ChangeErrorKind::Invalid);
    assert_eq!(
        problems(&e),
        ["id: \"other\" does not match the id in the URL (\"vip\")"]
    );
    let same = parse_line_body("vip", br#"{"id": "vip", "name": "V"}"#).unwrap();
    assert_eq!(same.id, "vip");
    let e = parse_line_body("vip", br#"{"id": 7, "name": "V"}"#).unwrap_err();
    assert!(
        e.to_string().starts_with("id: invalid type: integer `7`"),
        "{e}"
    );
}

#[test]
fn semantic_errors_are_relative_to_the_changed_object() {
    let change = line(
        "vip",
        json!({"name": "V", "lang": "xx", "queue": {"members": ["anna", "zed", "dept:nope"]}}),
    );
    let e = apply(&base(), &change).unwrap_err();
    assert_eq!(e.kind, ChangeErrorKind::Invalid);
    assert_eq!(
        problems(&e),
        [
            "lang: unsupported language \"xx\" (supported: en, de, ru)",
            "queue.members[1]: unknown operator \"zed\" (departments are written \"dept:<id>\")",
            "queue.members[2]: unknown department \"nope\"",
        ]
    );
    assert_eq!(
        e.to_string(),
        problems(&e).join("; "),
        "Display is `path: message; path: message`"
    );
    let bad_id = line(
        "Bad Id",
        json!({"name": "V", "queue": {"members": ["anna"]}}),
    );
    let e = apply(&base(), &bad_id).unwrap_err();
    assert_eq!(
        problems(&e),
        ["id: \"Bad Id\" is not an id: use 1 to 64 of a-z, 0-9, '-' and '_'"]
    );
}

#[test]
fn problems_elsewhere_name_the_other_object_by_id() {
    let taken = line(
        "vip",
        json!({"name": "V", "channels": ["online_chat"], "queue": {"members": ["anna"]}}),
    );
    let e = apply(&base(), &taken).unwrap_err();
    assert_eq!(
        problems(&e),
        ["channels[0]: channel \"online_chat\" is already attached to lines[support]"]
    );
    let no_bot = operator("helper", json!({"name": "Helper"}));
    let e = apply(&base(), &no_bot).unwrap_err();
    assert_eq!(e.kind, ChangeErrorKind::Invalid);
    assert_eq!(
        problems(&e),
        [
            "lines[sales].bot.operator: operator \"helper\" is not a bot account (set bot = true \
          on it)"
        ]
    );
    let e = apply(
        &base(),
        &operator("carl", json!({"name": "Carl", "departments": ["nope"]})),
    )
    .unwrap_err();
    assert_eq!(
        problems(&e),
        ["departments[0]: unknown department \"nope\""]
    );
}

#[test]
fn deleting_an_unknown_id_is_not_found() {
    for change in [
        Change::DeleteLine { id: "nope".into() },
        delete_operator("nope"),
    ] {
        let e = apply(&base(), &change).unwrap_err();
        assert_eq!(e.kind, ChangeErrorKind::NotFound);
        assert_eq!((e.kind.code(), e.kind.http_status()), ("not_found", 404));
    }
    let e = apply(&base(), &delete_operator("nope")).unwrap_err();
    assert_eq!(e.to_string(), "no operator \"nope\"");
}

#[test]
fn deleting_a_line_keeps_the_others_in_order() {
    let config = apply(
        &base(),
        &line("vip", json!({"name": "V", "queue": {"members": ["anna"]}})),
    )
    .unwrap();
    let config = apply(&config, &Change::DeleteLine { id: "sales".into() }).unwrap();
    assert_eq!(line_ids(&config), ["support", "vip"]);
}

#[test]
fn deleting_a_bot_operator_is_a_conflict_naming_the_line() {
    let e = apply(&base(), &delete_operator("helper")).unwrap_err();
    assert_eq!(e.kind, ChangeErrorKind::Conflict);
    assert_eq!((e.kind.code(), e.kind.http_status()), ("conflict", 409));
    assert_eq!(
        problems(&e),
        [
            "lines[sales].bot.operator: line \"sales\" uses operator \"helper\" as its bot; give \
          the line another bot or none first"
        ]
    );
}

#[test]
fn deleting_an_operator_strips_every_reference() {
    let config = apply(&base(), &delete_operator("boris")).unwrap();
    assert_eq!(ids(&config.operators, |o| &o.id), ["anna", "helper"]);
    let support = &config.lines[0];
    assert_eq!(support.queue.members, ["anna", "dept:sales"]);
    let steps: Vec<_> = support
        .queue
        .escalation
        .iter()
        .map(|s| (s.after.as_ms(), &s.add))
        .collect();
    assert_eq!(
        steps,
        [(600_000, &vec!["anna".to_string()])],
        "a step left adding nobody is dropped"
    );
    assert!(support.display_overrides.is_empty());
    let notify = &support.kpi.first_response.as_ref().unwrap().notify;
    assert_eq!(notify, &["anna"]);
    assert_eq!(config.departments[0].members, ["anna"]);
}

#[test]
fn deleting_a_lines_last_member_is_a_conflict() {
    let solo = line(
        "solo",
        json!({"name": "Solo", "queue": {"members": ["boris"]}}),
    );
    let config = apply(&base(), &solo).unwrap();
    let e = apply(&config, &delete_operator("boris")).unwrap_err();
    assert_eq!(e.kind, ChangeErrorKind::Conflict);
    assert_eq!(
        problems(&e),
        [
            "lines[solo].queue.members: a line needs at least one member (or a bot) (after \
          removing operator \"boris\")"
        ]
    );
}

#[test]
fn quick_answer_lists_are_created_or_replaced() {
    let list = parse_quick_answers_body("common", br#"{"items": ["Hi", "Bye"]}"#).unwrap();
    let config = apply(&base(), &Change::PutQuickAnswers(list)).unwrap();
    assert_eq!(config.quick_answers.len(), 1);
    assert_eq!(config.quick_answers[0].items, ["Hi", "Bye"]);
    let list = parse_quick_answers_body("promo", br#"{"id": "promo"}"#).unwrap();
    let config = apply(&config, &Change::PutQuickAnswers(list)).unwrap();
    assert_eq!(ids(&config.quick_answers, |q| &q.id), ["common", "promo"]);
    assert!(config.quick_answers[1].items.is_empty());
}

#[test]
fn an_operators_plain_token_is_stored_only_as_its_hash() {
    use sha2::{Digest, Sha256};
    let op = parse_operator_body("carl", br#"{"name": "Carl", "token": "s3cret"}"#).unwrap();
    assert_eq!(op.token, None);
    let expected: String = Sha256::digest(b"s3cret")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(op.token_sha256.as_deref(), Some(expected.as_str()));
    let encoded = rmp_serde::to_vec_named(&Change::PutOperator(Box::new(op))).unwrap();
    assert!(!encoded.windows(6).any(|w| w == b"s3cret"));
    // Both given: left alone, so validation names the mistake.
    let body = format!(r#"{{"name": "Carl", "token": "a", "token_sha256": "{expected}"}}"#);
    let op = parse_operator_body("carl", body.as_bytes()).unwrap();
    let e = apply(&base(), &Change::PutOperator(Box::new(op))).unwrap_err();
    assert_eq!(problems(&e), ["token: set token or token_sha256, not both"]);
}
