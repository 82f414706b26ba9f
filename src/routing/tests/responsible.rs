//! Routing to the contact's responsible operator: offered first (even from outside the queue),
//! the decision says why, and the dialog falls back to the queue at its arrival place when the
//! responsible operator lets the offer pass, is offline, or is full.

use super::harness::*;
use crate::routing::*;

fn setup() -> Harness {
    let mut h = Harness::new(&config(
        "members = [\"a\", \"b\"]\nmode = \"even\"\ntransfer_after = \"10s\"\nlimit = { max = 1, count = \"all\" }",
        "",
    ));
    h.online(&["a", "b", "e"]);
    h
}

fn responsible_dialog(h: &mut Harness, client: &str, responsible: &str) -> DialogId {
    match h.client_writes_to_responsible("l", client, "k1", "hello", responsible) {
        Ok(Reply::ClientMessage { dialog, .. }) => dialog,
        other => panic!("{other:?}"),
    }
}

fn decisions(h: &mut Harness) -> Vec<String> {
    let effects = h.take();
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Decided { decision, .. } => Some(h.explain(decision)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_responsible_operator_is_offered_first_even_outside_the_queue() {
    let mut h = setup();
    let d = responsible_dialog(&mut h, "x", "e");
    assert_eq!(h.offered(d).as_deref(), Some("e"));
    assert_eq!(
        decisions(&mut h),
        ["offered to e: responsible for contact 812"]
    );
    assert_eq!(h.accept("e", d), Ok(Reply::Done));
    assert_eq!(h.load("e"), 1);
}

#[test]
fn an_offer_not_taken_in_time_goes_to_the_queue_at_its_arrival_place() {
    let mut h = setup();
    h.presence("a", Presence::Offline);
    h.presence("b", Presence::Offline);
    let older = h.client_says("l", "first");
    let d = responsible_dialog(&mut h, "x", "e");
    assert_eq!(h.offered(d).as_deref(), Some("e"));
    h.advance(10_000);
    assert!(h.offered(d).is_none(), "revoked after transfer_after");
    h.take();
    h.online(&["a"]);
    let effects = h.take();
    let offers = h.offers(&effects);
    assert_eq!(
        offers,
        [(older, "a".to_string())],
        "the older dialog keeps its place ahead"
    );
    h.online(&["b"]);
    let effects = h.take();
    assert_eq!(h.offers(&effects), [(d, "b".to_string())]);
}

#[test]
fn an_offline_or_full_responsible_operator_is_passed_over() {
    let mut h = setup();
    h.presence("e", Presence::Offline);
    let d = responsible_dialog(&mut h, "x", "e");
    assert_ne!(h.offered(d).as_deref(), Some("e"));
    assert!(h.offered(d).is_some(), "offered to the queue instead");

    let mut h = Harness::new(&config(
        "members = [\"a\"]\nmode = \"even\"\ntransfer_after = \"10s\"\nlimit = { max = 1, count = \"all\" }",
        "",
    ));
    h.online(&["a", "b"]);
    let first = responsible_dialog(&mut h, "x", "a");
    assert_eq!(h.offered(first).as_deref(), Some("a"));
    h.accept("a", first).unwrap();
    let second = responsible_dialog(&mut h, "y", "a");
    assert_eq!(h.offered(second), None, "a is at the line limit");
    assert_eq!(h.holder(second), Some(Holder::Queued));
}
