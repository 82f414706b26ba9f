//! The dialog lifecycle: answer-to-take, greeting and one-shot texts, close with rating,
//! transfers, bots, working hours, client ownership checks.

use super::harness::*;
use crate::routing::*;

fn texts(effects: &[Effect]) -> Vec<(AutoText, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Text { kind, text, .. } => Some((*kind, text.to_string())),
            _ => None,
        })
        .collect()
}

#[test]
fn answering_an_offer_takes_it_and_greeting_comes_first() {
    let mut h = Harness::new(&config(
        "members = [\"a\"]",
        "[lines.auto]\ngreeting_text = \"Hi!\"",
    ));
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    assert_eq!(
        texts(&h.take()),
        vec![(AutoText::Greeting, "Hi!".to_string())]
    );
    assert_eq!(
        h.answer("a", d),
        Ok(Reply::OperatorMessage {
            dialog: d,
            msg_id: 3 << 8,
            seq: 3,
            duplicate: false,
            took: true
        }),
        "after the client's message (1) and the greeting (2)"
    );
    assert_eq!(h.holder(d), Some(Holder::Active(h.op("a"))));
    let effects = h.take();
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Assigned { op, .. } if *op == h.op("a"))));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Answered {
            first: true,
            response_ms: 0,
            ..
        }
    )));
    h.client_says("l", "x");
    assert!(
        texts(&h.take()).is_empty(),
        "greeting only on the first message of a dialog"
    );
}

#[test]
fn no_operators_text_is_sent_once_per_dialog() {
    let mut h = Harness::new(&config(
        "members = [\"a\"]",
        "[lines.auto]\nno_operators_text = \"Nobody here\"",
    ));
    let d = h.client_says("l", "x");
    h.client_says("l", "x");
    let sent = texts(&h.take());
    assert_eq!(
        sent,
        vec![(AutoText::NoOperators, "Nobody here".to_string())]
    );
    assert_eq!(h.holder(d), Some(Holder::Queued));
}

#[test]
fn close_with_rating_waits_and_a_rating_closes() {
    let extra = "[lines.auto]\nrating_wait = \"5m\"\n[lines.rating]\nenabled = true\nclose_on_rating = true";
    let mut h = Harness::new(&config("members = [\"a\"]", extra));
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    h.answer("a", d).unwrap();
    h.close("a", d).unwrap();
    assert!(h.take().contains(&Effect::RatingRequested { dialog: d }));
    assert_eq!(h.load("a"), 0, "awaiting rating holds no capacity");
    assert_eq!(
        h.run(Command::ClientRate {
            client: "other".into(),
            dialog: d,
            like: true,
            comment: None,
        }),
        Err(RoutingError::Forbidden)
    );
    h.run(Command::ClientRate {
        client: "x".into(),
        dialog: d,
        like: true,
        comment: Some("quick and kind".into()),
    })
    .unwrap();
    let effects = h.take();
    assert!(effects.contains(&Effect::Rated {
        dialog: d,
        like: true,
        comment: Some("quick and kind".into()),
        line: h.line("l"),
        operator: Some(h.op("a")),
    }));
    assert!(effects.iter().any(
        |e| matches!(e, Effect::Closed { dialog, reason: CloseReason::Rated, .. } if *dialog == d)
    ));
    assert_eq!(h.holder(d), None);
    assert_eq!(
        h.router.shards()[0].timers_armed(),
        0,
        "no timer outlives its dialog"
    );
}

#[test]
fn rating_wait_zero_closes_at_once_and_the_next_message_starts_a_new_dialog() {
    let mut h = Harness::new(&config("members = [\"a\"]", ""));
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    h.answer("a", d).unwrap();
    h.close("a", d).unwrap();
    assert!(h.take().iter().any(|e| matches!(e, Effect::Closed { dialog, reason: CloseReason::Operator, .. } if *dialog == d)));
    let again = h.client_says("l", "x");
    assert_ne!(again, d);
}

#[test]
fn transfer_to_an_operator_moves_ownership_and_slots() {
    let mut h = Harness::new(&config("members = [\"a\", \"b\"]", ""));
    h.online(&["a", "b"]);
    let d = h.client_says("l", "x");
    h.answer("a", d).unwrap();
    let b = h.op("b");
    h.run(Command::Transfer {
        op: h.op("a"),
        dialog: d,
        to: TransferTarget::Operator(b),
    })
    .unwrap();
    assert_eq!(h.holder(d), Some(Holder::Active(b)));
    assert_eq!((h.load("a"), h.load("b")), (0, 1));
    let effects = h.take();
    assert!(effects.contains(&Effect::Revoked {
        dialog: d,
        op: h.op("a"),
        reason: RevokeReason::Transferred
    }));
    assert_eq!(transfers(&effects), [(h.line("l"), None, h.op("a"))]);
    assert_eq!(h.answer("a", d), Err(RoutingError::Forbidden));
}

/// Every `Transferred` in `effects`: the line it went to, the line it left, who held it.
fn transfers(effects: &[Effect]) -> Vec<(LineIdx, Option<LineIdx>, OpIdx)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Transferred {
                line,
                from_line,
                from_op,
                ..
            } => Some((*line, *from_line, *from_op)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_line_transfer_is_one_transferred_alike_on_one_or_two_shards() {
    let text = "[[operators]]\nid = \"a\"\nname = \"A\"\n[[operators]]\nid = \"b\"\nname = \"B\"\n\
        [[lines]]\nid = \"one\"\nname = \"One\"\n[lines.queue]\nmembers = [\"a\"]\n\
        [[lines]]\nid = \"two\"\nname = \"Two\"\n[lines.queue]\nmembers = [\"b\"]\n";
    for shards in [1, 2] {
        let mut h = Harness::with_shards(text, shards);
        h.online(&["a", "b"]);
        let d = h.client_says("one", "x");
        h.answer("a", d).unwrap();
        h.take();
        let (one, two) = (h.line("one"), h.line("two"));
        h.run(Command::Transfer {
            op: h.op("a"),
            dialog: d,
            to: TransferTarget::Line(two),
        })
        .unwrap();
        let effects = h.take();
        assert_eq!(
            transfers(&effects),
            [(two, Some(one), h.op("a"))],
            "shards {shards}"
        );
        // Reported before the new line offers it.
        let at = |f: &dyn Fn(&Effect) -> bool| effects.iter().position(f).unwrap();
        assert!(
            at(&|e| matches!(e, Effect::Transferred { .. }))
                < at(&|e| matches!(e, Effect::Offered { .. })),
            "shards {shards}: {effects:?}"
        );
        assert_eq!(h.offered(d).as_deref(), Some("b"), "shards {shards}");
    }
}

#[test]
fn transfer_to_a_line_on_another_shard_queues_it_there() {
    let text = "[[operators]]\nid = \"a\"\nname = \"A\"\n[[operators]]\nid = \"b\"\nname = \"B\"\n\
        [[lines]]\nid = \"one\"\nname = \"One\"\n[lines.queue]\nmembers = [\"a\"]\n\
        [[lines]]\nid = \"two\"\nname = \"Two\"\n[lines.queue]\nmembers = [\"b\"]\n";
    let mut h = Harness::with_shards(text, 2);
    h.online(&["a", "b"]);
    let d = h.client_says("one", "x");
    h.answer("a", d).unwrap();
    let two = h.line("two");
    h.run(Command::Transfer {
        op: h.op("a"),
        dialog: d,
        to: TransferTarget::Line(two),
    })
    .unwrap();
    assert_eq!(h.router.shard_of(d), 1);
    assert_eq!(h.offered(d).as_deref(), Some("b"));
    assert_eq!(h.load("a"), 0);
    h.accept("b", d).unwrap();
    assert_eq!(h.holder(d), Some(Holder::Active(h.op("b"))));
}

#[test]
fn a_client_can_only_touch_its_own_dialog() {
    let mut h = Harness::new(&config("members = [\"a\"]", ""));
    let d = h.client_says("l", "x");
    let line = h.line("l");
    assert_eq!(
        h.run(client_message(line, "y", Some(d), "k", "mine?")),
        Err(RoutingError::Forbidden)
    );
    assert_eq!(
        h.run(Command::ClientClose {
            client: "y".into(),
            dialog: d
        }),
        Err(RoutingError::Forbidden)
    );
    assert_eq!(
        h.accept("a", DialogId(999_999)),
        Err(RoutingError::NotFound)
    );
    h.run(Command::ClientClose {
        client: "x".into(),
        dialog: d,
    })
    .unwrap();
    assert!(h.take().iter().any(
        |e| matches!(e, Effect::Closed { dialog, reason: CloseReason::Client, .. } if *dialog == d)
    ));
}

#[test]
fn an_inactive_line_routes_but_operators_cannot_answer() {
    let mut h = Harness::new(
        &config("members = [\"a\"]", "").replace("name = \"L\"", "name = \"L\"\nactive = false"),
    );
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    assert_eq!(h.offered(d).as_deref(), Some("a"));
    assert_eq!(h.answer("a", d), Err(RoutingError::LineInactive));
}

#[test]
fn the_bot_gets_the_dialog_first_and_hands_off_to_the_queue() {
    let text = config(
        "members = [\"a\"]",
        "[lines.bot]\noperator = \"bot\"\nhandoff_after = \"1m\"",
    ) + "[[operators]]\nid = \"bot\"\nname = \"Bot\"\nbot = true\n";
    // Operators must come before lines only by key, TOML does not care about order of tables.
    let mut h = Harness::new(&text);
    h.online(&["a", "bot"]);
    let d = h.client_says("l", "x");
    assert_eq!(h.holder(d), Some(Holder::Bot(h.op("bot"))));
    assert_eq!(
        h.answer("bot", d),
        Ok(Reply::OperatorMessage {
            dialog: d,
            msg_id: 2 << 8,
            seq: 2,
            duplicate: false,
            took: false
        })
    );
    h.advance(60_000);
    assert_eq!(
        h.offered(d).as_deref(),
        Some("a"),
        "hand-off after handoff_after"
    );
    assert_eq!(h.load("bot"), 0);
    assert_eq!(
        h.answer("bot", d),
        Ok(Reply::OperatorMessage {
            dialog: d,
            msg_id: 3 << 8,
            seq: 3,
            duplicate: false,
            took: false
        }),
        "the bot stays until taken"
    );
    h.accept("a", d).unwrap();
    assert!(h.take().contains(&Effect::BotLeft {
        dialog: d,
        op: h.op("bot")
    }));
    assert_eq!(h.answer("bot", d), Err(RoutingError::Forbidden));
}

const HOURS: &str = "[lines.hours]\ntimezone = \"UTC\"\nweek = { mon = \"09:00-18:00\", tue = \"09:00-18:00\" }\noff_hours_text = \"Closed\"";

#[test]
fn outside_working_hours_the_dialog_waits_for_the_opening() {
    let mut h = Harness::new(&config("members = [\"a\"]", HOURS));
    h.online(&["a"]);
    h.advance(9 * 3_600_000); // Monday 19:00 UTC: closed
    let d = h.client_says("l", "x");
    h.client_says("l", "x");
    assert_eq!(
        texts(&h.take()),
        vec![(AutoText::OffHours, "Closed".to_string())]
    );
    assert_eq!(h.holder(d), Some(Holder::Queued));
    h.advance(14 * 3_600_000); // Tuesday 09:00
    assert_eq!(h.offered(d).as_deref(), Some("a"));
}

#[test]
fn route_off_hours_routes_anyway_but_still_tells_the_client() {
    let mut h = Harness::new(&config(
        "members = [\"a\"]",
        &format!("{HOURS}\nroute_off_hours = true"),
    ));
    h.online(&["a"]);
    h.advance(9 * 3_600_000);
    let d = h.client_says("l", "x");
    assert_eq!(
        texts(&h.take()),
        vec![(AutoText::OffHours, "Closed".to_string())]
    );
    h.take();
    assert_eq!(h.offered(d).as_deref(), Some("a"));
}

#[test]
fn a_repeated_message_key_gets_its_first_ack_and_changes_nothing() {
    let mut h = Harness::new(&config(
        "members = [\"a\"]",
        "[lines.auto]\ngreeting_text = \"Hi!\"",
    ));
    h.online(&["a"]);
    let first = h.client_writes("l", "x", None, "k1", "hello").unwrap();
    let Reply::ClientMessage {
        dialog,
        msg_id,
        seq: 1,
        duplicate: false,
        created: true,
        ..
    } = first
    else {
        panic!("{first:?}")
    };
    h.take();
    // Even with a timer due, a repeat is answered before anything else happens.
    h.now += 3_600_000;
    assert_eq!(
        h.client_writes("l", "x", None, "k1", "hello again"),
        Ok(Reply::ClientMessage {
            dialog,
            msg_id,
            seq: 1,
            duplicate: true,
            created: false,
            audience: Vec::new(),
        })
    );
    assert_eq!(h.take(), Vec::new(), "a repeat has no effect");
    h.now -= 3_600_000;
    // The operator's key of the same text is another sender's: stored.
    let reply = h.operator_writes("a", dialog, "k1", "hi there").unwrap();
    assert!(
        matches!(
            reply,
            Reply::OperatorMessage {
                seq: 3,
                duplicate: false,
                took: true,
                ..
            }
        ),
        "{reply:?}"
    );
    let transcript = &h.router.dialog(dialog).unwrap().conversation.transcript;
    let said: Vec<(u64, &str)> = transcript
        .kept()
        .iter()
        .map(|m| (m.seq, &*m.text))
        .collect();
    assert_eq!(said, vec![(1, "hello"), (2, "Hi!"), (3, "hi there")]);
    assert_eq!(transcript.seen(Side::Client, "k1"), Some((msg_id, 1)));
}
