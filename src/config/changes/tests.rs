//! Runtime changes: a PUT round trip, one test per error class (checking kind, key and reason),
//! what deleting an operator strips, replay skipping what no longer applies, MessagePack round
//! trips, and compaction of the patterns the admin API produces.

use super::*;
use crate::config::{Config, QueueMode};
use serde_json::json;

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

#[test]
fn replay_skips_what_no_longer_applies() {
    // Made while the file had an operator "carl"; the file no longer has them.
    let changes = vec![
        line("vip", json!({"name": "V", "queue": {"members": ["carl"]}})),
        Change::PutQuickAnswers(QuickAnswerListConfig {
            id: "promo".into(),
            items: vec!["Sale!".into()],
        }),
        delete_operator("carl"),
        line(
            "vip2",
            json!({"name": "V2", "queue": {"members": ["anna"]}}),
        ),
    ];
    let (config, skipped) = replay(&base(), &changes);
    let skipped: Vec<_> = skipped
        .iter()
        .map(|(i, e)| (*i, e.kind, e.to_string()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                0,
                ChangeErrorKind::Invalid,
                "queue.members[0]: unknown operator \"carl\" (departments are written \
                 \"dept:<id>\")"
                    .to_string()
            ),
            (
                2,
                ChangeErrorKind::NotFound,
                "no operator \"carl\"".to_string()
            ),
        ]
    );
    assert_eq!(line_ids(&config), ["support", "sales", "vip2"]);
    assert_eq!(config.quick_answers[1].items, ["Sale!"]);
}

/// A line with every optional part set, and an operator with every field set.
const RICH: &str = r##"
[[departments]]
id = "sales"
name = "Sales"

[[operators]]
id = "anna"
name = "Anna"
title = "Support"
avatar = "https://example.com/a.png"
departments = ["sales"]
supervisor = true
vacation = [{ from = "2026-12-24", to = "2027-01-02" }]
timezone = "Europe/Berlin"
token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
capacity = 8

[[operators]]
id = "robot"
name = "Robot"
bot = true

[[quick_answers]]
id = "common"
items = ["Hello!", "Bye"]

[[lines]]
id = "rich"
name = "Rich"
active = false
channels = ["online_chat", "telegram"]
typing_preview = true
operator_display = "override"
lang = "de"
quick_answers = "common"
display_overrides = { anna = { name = "A.", title = "Lead", avatar = "https://example.com/x.png" } }
[lines.queue]
members = ["anna", "dept:sales"]
mode = "all"
transfer_after = "1h 30m"
check_availability = false
workday_tracking = true
limit = { max = 3, count = "exclude_awaiting_client" }
pause_after_missed = 2
escalation = [{ after = "5m", add = ["dept:sales"] }]
reassign_on_offline = { after = "250ms", text = "Moving you" }
[lines.auto]
greeting_text = "Hi"
no_operators_text = "Nobody"
unanswered_after = "10m"
unanswered_text = "Still here"
rating_wait = "5m"
client_idle_close = { after = "1h", action = "text", text = "Bye" }
operator_silence_close = "30d"
[lines.rating]
enabled = true
close_on_rating = true
[lines.hours]
timezone = "Europe/Berlin"
week = { mon = "09:00-13:00,14:00-18:00", fri = "09:00-17:00" }
holidays = ["2026-12-25"]
off_hours_text = "Closed"
route_off_hours = true
[lines.kpi.first_response]
target = "3m"
notify = ["anna"]
text = "#OPERATOR# late on #DIALOG#"
[lines.kpi.response]
target = "90s"
[lines.bot]
operator = "robot"
when = "first_contact"
handoff_after = "2m"
[lines.consent]
text = "We store your data"
version = 3
required = true
"##;

#[test]
fn every_change_round_trips_through_messagepack() {
    let rich = Config::from_toml_str(RICH).unwrap();
    let changes = [
        Change::PutLine(Box::new(rich.lines[0].clone())),
        Change::DeleteLine { id: "rich".into() },
        Change::PutOperator(Box::new(rich.operators[0].clone())),
        Change::DeleteOperator { id: "anna".into() },
        Change::PutQuickAnswers(rich.quick_answers[0].clone()),
        line("plain", json!({"name": "Plain"})),
    ];
    for change in &changes {
        let bytes = rmp_serde::to_vec_named(change).unwrap();
        let back: Change = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(as_json(&back), as_json(change), "{change:?}");
    }
    // And the decoded line applies to the same config as the original.
    let bytes = rmp_serde::to_vec_named(&changes[0]).unwrap();
    let back: Change = rmp_serde::from_slice(&bytes).unwrap();
    let mut without = rich.clone();
    without.lines.clear();
    assert_eq!(as_json(&apply(&without, &back).unwrap()), as_json(&rich));
}

#[test]
fn compaction_keeps_one_put_per_object() {
    let v = |name: &str| line("vip", json!({"name": name, "queue": {"members": ["anna"]}}));
    let other = line(
        "other",
        json!({"name": "O", "queue": {"members": ["anna"]}}),
    );
    let mut changes = vec![v("V1"), other.clone(), v("V2"), other, v("V3")];
    compact(&mut changes);
    assert_eq!(changes.len(), 2, "{changes:#?}");
    let (config, _) = replay(&base(), &changes);
    assert_eq!(line_ids(&config), ["support", "sales", "vip", "other"]);
    assert_eq!(config.lines[2].name, "V3");

    let mut changes = vec![
        Change::DeleteLine { id: "vip".into() },
        v("V1"),
        v("V2"),
        Change::DeleteLine { id: "vip".into() },
    ];
    compact(&mut changes);
    assert_eq!(
        as_json(&changes),
        as_json(&[Change::DeleteLine { id: "vip".into() }])
    );
}

#[test]
fn compaction_keeps_what_later_changes_rely_on() {
    // The case from the design: dropping the operator's put would make the line's put fail.
    let changes = vec![
        operator("x", json!({"name": "X"})),
        line(
            "vip",
            json!({"name": "V", "queue": {"members": ["anna", "x"]}}),
        ),
        delete_operator("x"),
    ];
    let mut compacted = changes.clone();
    compact(&mut compacted);
    assert_eq!(compacted.len(), 3);
    assert_eq!(
        as_json(&replay(&base(), &compacted).0),
        as_json(&replay(&base(), &changes).0)
    );

    // A bot account turned into a person while a line changed its bot in between.
    let changes = vec![
        operator("x", json!({"name": "X", "bot": true})),
        line("vip", json!({"name": "V", "bot": {"operator": "x"}})),
        line("vip", json!({"name": "V", "queue": {"members": ["anna"]}})),
        operator("x", json!({"name": "X"})),
    ];
    let (full, skipped) = replay(&base(), &changes);
    assert!(skipped.is_empty(), "{skipped:?}");
    let mut compacted = changes.clone();
    compact(&mut compacted);
    assert_eq!(
        compacted.len(),
        3,
        "the line's puts merge, the operator's do not"
    );
    let (again, skipped) = replay(&base(), &compacted);
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(as_json(&again), as_json(&full));
}
