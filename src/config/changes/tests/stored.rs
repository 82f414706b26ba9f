//! Changes as they are stored: replay over a changed file skips what no longer applies, every
//! change round-trips through MessagePack, and compaction keeps what replays the same.

use super::*;

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
