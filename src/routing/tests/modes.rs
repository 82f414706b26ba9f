//! Queue modes: strict circulation with rounds, even (least recently given), balanced (fewest
//! counted), all (first taker wins), and FIFO fairness.

use super::harness::*;
use crate::routing::*;

#[test]
fn strict_offers_in_order_and_circulates_with_wrap_around() {
    let mut h = Harness::new(&config(
        "members = [\"a\", \"b\", \"c\"]\nmode = \"strict\"\ntransfer_after = \"10s\"",
        "",
    ));
    h.online(&["a", "b", "c"]);
    let d = h.client_says("l", "x");
    assert_eq!(h.offered(d).as_deref(), Some("a"));
    h.advance(10_000);
    assert_eq!(
        h.offered(d).as_deref(),
        Some("b"),
        "timeout passes it to the next"
    );
    h.decline("b", d).unwrap();
    assert_eq!(
        h.offered(d).as_deref(),
        Some("c"),
        "decline passes it on at once"
    );
    h.advance(10_000);
    assert_eq!(
        h.offered(d).as_deref(),
        Some("a"),
        "everyone tried: a new round wraps around to a"
    );
    h.advance(10_000);
    assert_eq!(h.offered(d).as_deref(), Some("b"));
}

#[test]
fn strict_skips_ineligible_operators_and_starts_at_the_first_eligible() {
    let mut h = Harness::new(&config(
        "members = [\"a\", \"b\", \"c\"]\nmode = \"strict\"",
        "",
    ));
    h.online(&["b", "c"]);
    let d = h.client_says("l", "x");
    assert_eq!(h.offered(d).as_deref(), Some("b"));
    let decided = h.take().into_iter().find_map(|e| match e {
        Effect::Decided { decision, .. } => Some(decision),
        _ => None,
    });
    assert_eq!(h.explain(&decided.unwrap()), "offered to b: a offline");
}

#[test]
fn a_declined_operator_is_skipped_until_the_round_ends() {
    let mut h = Harness::new(&config(
        "members = [\"a\", \"b\"]\nmode = \"strict\"\ntransfer_after = \"10s\"",
        "",
    ));
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    h.decline("a", d).unwrap();
    // a is the only one online: the round is over at once, a gets it again.
    assert_eq!(h.offered(d).as_deref(), Some("a"));
    h.online(&["b"]);
    h.decline("a", d).unwrap();
    assert_eq!(
        h.offered(d).as_deref(),
        Some("b"),
        "b was not tried this round"
    );
}

#[test]
fn even_offers_the_least_recently_given_never_given_first_in_queue_order() {
    let mut h = Harness::new(&config(
        "members = [\"a\", \"b\", \"c\"]\nmode = \"even\"",
        "",
    ));
    h.online(&["a", "b", "c"]);
    let d1 = h.client_says("l", "1");
    let d2 = h.client_says("l", "2");
    let d3 = h.client_says("l", "3");
    assert_eq!(
        [h.offered(d1), h.offered(d2), h.offered(d3)],
        [Some("a".into()), Some("b".into()), Some("c".into())]
    );
    h.accept("b", d2).unwrap();
    h.accept("a", d1).unwrap();
    h.accept("c", d3).unwrap();
    // All were given one; a was given longest ago.
    let d4 = h.client_says("l", "4");
    assert_eq!(h.offered(d4).as_deref(), Some("a"));
    let d5 = h.client_says("l", "5");
    assert_eq!(h.offered(d5).as_deref(), Some("b"));
}

#[test]
fn balanced_offers_the_operator_with_fewest_counted_dialogs() {
    let mut h = Harness::new(&config("members = [\"a\", \"b\"]\nmode = \"balanced\"", ""));
    h.online(&["a"]);
    let d1 = h.client_says("l", "1");
    let d2 = h.client_says("l", "2");
    h.accept("a", d1).unwrap();
    h.accept("a", d2).unwrap();
    h.online(&["b"]);
    let d3 = h.client_says("l", "3");
    let d4 = h.client_says("l", "4");
    assert_eq!(h.offered(d3).as_deref(), Some("b"), "b has 0, a has 2");
    assert_eq!(
        h.offered(d4).as_deref(),
        Some("b"),
        "b has 1 (offered), a has 2"
    );
    let d5 = h.client_says("l", "5");
    assert_eq!(
        h.offered(d5).as_deref(),
        Some("a"),
        "tie 2:2 goes to the least recently given"
    );
}

#[test]
fn all_mode_offers_everyone_and_the_first_taker_wins() {
    let mut h = Harness::new(&config(
        "members = [\"a\", \"b\", \"c\"]\nmode = \"all\"\ntransfer_after = \"30s\"",
        "",
    ));
    h.online(&["a", "b"]);
    let d = h.client_says("l", "x");
    assert_eq!(h.offered_to(), vec!["a", "b"]);
    assert_eq!(h.load("a"), 0, "an offer to all reserves nothing");
    h.online(&["c"]);
    assert_eq!(
        h.offered_to(),
        vec!["c"],
        "an operator who comes online sees the waiting dialog"
    );
    h.answer("b", d).unwrap();
    assert_eq!(h.holder(d), Some(Holder::Active(h.op("b"))));
    let revoked: Vec<_> = h
        .take()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Revoked {
                op,
                reason: RevokeReason::Taken,
                ..
            } => Some(op),
            _ => None,
        })
        .collect();
    assert_eq!(revoked, vec![h.op("a"), h.op("c")]);
    assert_eq!(
        h.accept("a", d),
        Err(RoutingError::InvalidState(
            "another operator took the dialog"
        ))
    );
    assert_eq!(h.load("b"), 1);
}

#[test]
fn all_mode_offers_again_after_transfer_after() {
    let mut h = Harness::new(&config(
        "members = [\"a\", \"b\"]\nmode = \"all\"\ntransfer_after = \"30s\"",
        "",
    ));
    h.online(&["a", "b"]);
    let d = h.client_says("l", "x");
    h.decline("a", d).unwrap();
    h.take();
    h.presence("b", Presence::Offline);
    h.advance(30_000);
    assert_eq!(
        h.offered_to(),
        vec!["a"],
        "a new round: offered to whoever is eligible then"
    );
    assert_eq!(h.holder(d), Some(Holder::OfferedAll(vec![h.op("a")])));
}

#[test]
fn dialogs_are_offered_in_arrival_order() {
    let mut h = Harness::new(&config(
        "members = [\"a\"]\nmode = \"strict\"\nlimit = { max = 1 }",
        "",
    ));
    let first = h.client_says("l", "1");
    let second = h.client_says("l", "2");
    let third = h.client_says("l", "3");
    h.online(&["a"]);
    assert_eq!(h.offered(first).as_deref(), Some("a"));
    assert_eq!(h.holder(second), Some(Holder::Queued));
    h.answer("a", first).unwrap();
    h.close("a", first).unwrap();
    assert_eq!(
        h.offered(second).as_deref(),
        Some("a"),
        "the freed slot is refilled at once, oldest first"
    );
    assert_eq!(h.holder(third), Some(Holder::Queued));
}

#[test]
fn a_timed_out_dialog_keeps_its_place_ahead_of_newer_ones() {
    let mut h = Harness::new(&config("members = [\"a\", \"b\"]\nmode = \"strict\"\nlimit = { max = 1 }\ntransfer_after = \"10s\"", ""));
    h.online(&["a"]);
    let old = h.client_says("l", "old");
    let new = h.client_says("l", "new");
    assert_eq!(h.offered(old).as_deref(), Some("a"));
    h.advance(10_000);
    // a's slot is free again; the old dialog goes first (round over, a again), not the new one.
    assert_eq!(h.offered(old).as_deref(), Some("a"));
    assert_eq!(h.holder(new), Some(Holder::Queued));
}
