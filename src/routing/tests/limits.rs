//! Eligibility (dismissed, vacation, presence, workday, check_availability off), the four
//! `limit.count` modes, and operator capacity across lines and shards.

use super::harness::*;
use crate::routing::*;

#[test]
fn dismissed_and_vacationing_operators_are_not_offered() {
    let extra = "";
    let mut text = config("members = [\"a\", \"b\", \"c\"]\nmode = \"strict\"", extra);
    text = text.replacen(
        "id = \"a\"\nname = \"a\"",
        "id = \"a\"\nname = \"a\"\ndismissed = true",
        1,
    );
    text = text.replacen(
        "id = \"b\"\nname = \"b\"",
        "id = \"b\"\nname = \"b\"\nvacation = [{ from = \"2026-11-20\", to = \"2026-11-23\" }]",
        1,
    );
    let mut h = Harness::new(&text);
    h.online(&["a", "b", "c"]);
    let d = h.client_says("l", "x");
    assert_eq!(h.offered(d).as_deref(), Some("c"));
    let decision = h.take().into_iter().find_map(|e| match e {
        Effect::Decided { decision, .. } => Some(decision),
        _ => None,
    });
    assert_eq!(
        h.explain(&decision.unwrap()),
        "offered to c: a dismissed, b on vacation"
    );
}

#[test]
fn a_vacation_ending_wakes_the_line() {
    let text = config("members = [\"b\"]", "").replacen(
        "id = \"b\"\nname = \"b\"",
        "id = \"b\"\nname = \"b\"\nvacation = [{ from = \"2026-11-20\", to = \"2026-11-23\" }]",
        1,
    );
    let mut h = Harness::new(&text);
    h.online(&["b"]);
    let d = h.client_says("l", "x");
    assert_eq!(h.holder(d), Some(Holder::Queued));
    h.advance(14 * 3_600_000); // 2026-11-24 00:00 UTC
    assert_eq!(h.offered(d).as_deref(), Some("b"));
}

#[test]
fn away_and_offline_operators_are_not_offered_unless_availability_is_off() {
    let mut h = Harness::new(&config("members = [\"a\", \"b\"]", ""));
    h.presence("a", Presence::Away);
    let d = h.client_says("l", "x");
    assert_eq!(h.holder(d), Some(Holder::Queued));
    let mut h = Harness::new(&config(
        "members = [\"a\", \"b\"]\ncheck_availability = false",
        "",
    ));
    let d = h.client_says("l", "x");
    assert_eq!(
        h.offered(d).as_deref(),
        Some("a"),
        "with check_availability off, offline members are eligible"
    );
}

#[test]
fn workday_tracking_follows_start_pause_end() {
    let mut h = Harness::new(&config("members = [\"a\"]\nworkday_tracking = true", ""));
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    assert_eq!(
        h.holder(d),
        Some(Holder::Queued),
        "online but the workday has not started"
    );
    let a = h.op("a");
    h.router.set_workday(h.now, a, Workday::Started, &mut h.out);
    assert_eq!(h.offered(d).as_deref(), Some("a"));
    h.router.set_workday(h.now, a, Workday::Paused, &mut h.out);
    assert_eq!(
        h.holder(d),
        Some(Holder::Queued),
        "a paused workday withdraws the offer"
    );
}

/// One operator, limit 1 under `count`; returns the harness and a dialog a holds.
fn held(count: &str) -> (Harness, DialogId) {
    let mut h = Harness::new(&config(
        &format!("members = [\"a\"]\nlimit = {{ max = 1, count = \"{count}\" }}"),
        "[lines.rating]\nenabled = true\n[lines.auto]\nrating_wait = \"5m\"",
    ));
    h.online(&["a"]);
    let d = h.client_says("l", "1");
    h.accept("a", d).unwrap();
    (h, d)
}

#[test]
fn limit_all_counts_every_dialog_until_closed_for_good() {
    let (mut h, d) = held("all");
    let waiting = h.client_says("l", "2");
    assert_eq!(h.holder(waiting), Some(Holder::Queued));
    h.answer("a", d).unwrap();
    h.close("a", d).unwrap();
    assert!(matches!(h.holder(d), Some(Holder::Closing(_))));
    assert_eq!(
        h.holder(waiting),
        Some(Holder::Queued),
        "awaiting rating still counts"
    );
    h.advance(300_000);
    assert_eq!(h.offered(waiting).as_deref(), Some("a"));
}

#[test]
fn limit_exclude_closed_frees_the_slot_while_awaiting_rating() {
    let (mut h, d) = held("exclude_closed");
    let waiting = h.client_says("l", "2");
    h.answer("a", d).unwrap();
    assert_eq!(h.holder(waiting), Some(Holder::Queued));
    h.close("a", d).unwrap();
    assert_eq!(h.offered(waiting).as_deref(), Some("a"));
}

#[test]
fn limit_exclude_awaiting_client_frees_the_slot_when_the_operator_wrote_last() {
    let (mut h, d) = held("exclude_awaiting_client");
    let waiting = h.client_says("l", "2");
    assert_eq!(h.holder(waiting), Some(Holder::Queued));
    h.answer("a", d).unwrap();
    assert_eq!(
        h.offered(waiting).as_deref(),
        Some("a"),
        "a wrote last in d: it no longer counts"
    );
}

#[test]
fn limit_exclude_answered_counts_only_unanswered_dialogs() {
    let (mut h, d) = held("exclude_answered");
    let waiting = h.client_says("l", "2");
    h.answer("a", d).unwrap();
    assert_eq!(h.offered(waiting).as_deref(), Some("a"));
    h.accept("a", waiting).unwrap();
    // The client of d writes again: d still does not count (answered once).
    h.client_says("l", "1");
    let third = h.client_says("l", "3");
    assert_eq!(
        h.holder(third),
        Some(Holder::Queued),
        "waiting is unanswered and counts: 1/1"
    );
}

const TWO_LINES: &str = r#"
[[operators]]
id = "a"
name = "A"
capacity = 1

[[lines]]
id = "one"
name = "One"
[lines.queue]
members = ["a"]

[[lines]]
id = "two"
name = "Two"
[lines.queue]
members = ["a"]
"#;

#[test]
fn capacity_holds_across_lines_on_different_shards_and_refills_across_them() {
    let mut h = Harness::with_shards(TWO_LINES, 2);
    h.online(&["a"]);
    let d1 = h.client_says("one", "x");
    let d2 = h.client_says("two", "y");
    assert_ne!(
        h.router.shard_of(d1),
        h.router.shard_of(d2),
        "the lines live on different shards"
    );
    assert_eq!(h.offered(d1).as_deref(), Some("a"));
    assert_eq!(
        h.holder(d2),
        Some(Holder::Queued),
        "capacity 1 is used by line one"
    );
    assert_eq!(h.load("a"), 1);
    h.accept("a", d1).unwrap();
    h.close("a", d1).unwrap();
    assert_eq!(
        h.offered(d2).as_deref(),
        Some("a"),
        "the other shard refilled at once"
    );
    assert_eq!(h.load("a"), 1);
}

#[test]
fn accept_in_all_mode_is_refused_at_capacity() {
    let text = TWO_LINES.replacen("members = [\"a\"]", "members = [\"a\"]\nmode = \"all\"", 1);
    let mut h = Harness::new(&text);
    h.online(&["a"]);
    let d1 = h.client_says("one", "x");
    let d2 = h.client_says("one", "y");
    assert_eq!(
        h.offered_to(),
        vec!["a", "a"],
        "both offered to all (nothing reserved)"
    );
    h.accept("a", d1).unwrap();
    assert!(matches!(h.accept("a", d2), Err(RoutingError::Capacity(_))));
    assert_eq!(h.load("a"), 1);
}
