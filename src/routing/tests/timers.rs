//! Per-step timeouts driven by the hand-moved clock: unanswered, idle close, operator silence,
//! KPI alerts, escalation, reassignment on going offline, pause after missed offers, and that
//! obsolete timers are cancelled rather than left to fire.

use super::harness::*;
use crate::routing::*;

#[test]
fn unanswered_marks_and_tells_the_client_once_and_keeps_circulating() {
    let extra = "[lines.auto]\nunanswered_after = \"10m\"\nunanswered_text = \"Still here\"";
    let mut h = Harness::new(&config(
        "members = [\"a\", \"b\"]\nmode = \"strict\"\ntransfer_after = \"4m\"",
        extra,
    ));
    h.online(&["a", "b"]);
    let d = h.client_says("l", "x");
    h.advance(599_999);
    assert!(!h
        .take()
        .iter()
        .any(|e| matches!(e, Effect::MarkedUnanswered { .. })));
    h.advance(1);
    let effects = h.take();
    assert!(effects.contains(&Effect::MarkedUnanswered { dialog: d }));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Text {
            kind: AutoText::Unanswered,
            ..
        }
    )));
    assert!(h.offered(d).is_some(), "still circulating");
    h.advance(3_600_000);
    assert!(
        !h.take()
            .iter()
            .any(|e| matches!(e, Effect::MarkedUnanswered { .. })),
        "once"
    );
}

#[test]
fn an_answer_cancels_the_unanswered_and_silence_timers() {
    let extra = "[lines.auto]\nunanswered_after = \"10m\"";
    let mut h = Harness::new(&config("members = [\"a\"]", extra));
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    let shard = &h.router.shards()[0];
    assert!(shard.timer_deadline(d, TimerKind::Unanswered).is_some());
    assert_eq!(
        shard.timer_deadline(d, TimerKind::OperatorSilence),
        Some(T0 + 30 * 86_400_000)
    );
    h.answer("a", d).unwrap();
    let shard = &h.router.shards()[0];
    for kind in [
        TimerKind::Unanswered,
        TimerKind::OperatorSilence,
        TimerKind::Transfer,
    ] {
        assert_eq!(shard.timer_deadline(d, kind), None, "{kind:?} cancelled");
    }
    h.advance(31 * 86_400_000);
    assert!(!h
        .take()
        .iter()
        .any(|e| matches!(e, Effect::MarkedUnanswered { .. } | Effect::Closed { .. })));
}

#[test]
fn operator_silence_closes_a_dialog_nobody_answered_after_thirty_days() {
    let mut h = Harness::new(&config("members = [\"a\"]", ""));
    let d = h.client_says("l", "x");
    h.advance(30 * 86_400_000);
    assert!(h.take().iter().any(|e| matches!(e, Effect::Closed { dialog, reason: CloseReason::OperatorSilence, .. } if *dialog == d)));
    assert_eq!(h.router.shards()[0].timers_armed(), 0);
}

#[test]
fn client_idle_close_sends_the_text_then_closes_and_a_client_reply_cancels_it() {
    let extra =
        "[lines.auto]\nclient_idle_close = { after = \"1h\", action = \"text\", text = \"Bye\" }";
    let mut h = Harness::new(&config("members = [\"a\"]", extra));
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    h.answer("a", d).unwrap();
    h.advance(3_000_000);
    h.client_says("l", "x");
    h.advance(3_000_000);
    assert!(
        !h.take().iter().any(|e| matches!(e, Effect::Closed { .. })),
        "the client replied: no idle close"
    );
    h.answer("a", d).unwrap();
    h.advance(3_600_000);
    let effects = h.take();
    let text_at = effects.iter().position(|e| {
        matches!(
            e,
            Effect::Text {
                kind: AutoText::IdleClose,
                ..
            }
        )
    });
    let closed_at = effects.iter().position(|e| {
        matches!(e, Effect::Closed { dialog, reason: CloseReason::ClientIdle, .. } if *dialog == d)
    });
    assert!(text_at.unwrap() < closed_at.unwrap());
    assert_eq!(h.load("a"), 0);
}

#[test]
fn kpi_first_response_alerts_every_notified_operator_once_with_the_template_filled() {
    let extra = "[lines.kpi.first_response]\ntarget = \"3m\"\nnotify = [\"c\", \"d\"]\ntext = \"#OPERATOR# missed #DIALOG#\"";
    let mut h = Harness::new(&config(
        "members = [\"a\"]\ntransfer_after = \"10m\"",
        extra,
    ));
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    h.advance(180_000);
    let alerts: Vec<_> = h
        .take()
        .into_iter()
        .filter_map(|e| match e {
            Effect::KpiAlert {
                notify,
                kind: KpiKind::FirstResponse,
                text,
                ..
            } => Some((notify, text)),
            _ => None,
        })
        .collect();
    let expected_text = format!("a missed {d}");
    assert_eq!(
        alerts,
        vec![
            (h.op("c"), expected_text.clone()),
            (h.op("d"), expected_text)
        ]
    );
    h.advance(3_600_000);
    assert!(
        !h.take()
            .iter()
            .any(|e| matches!(e, Effect::KpiAlert { .. })),
        "one alert per miss"
    );
}

#[test]
fn a_missed_kpi_target_is_one_kpi_missed_before_its_alerts_whoever_is_notified() {
    for (notify, alerts) in [("", 0), ("notify = [\"c\", \"d\"]", 2)] {
        let extra = format!("[lines.kpi.first_response]\ntarget = \"3m\"\n{notify}");
        let mut h = Harness::new(&config("members = [\"a\"]", &extra));
        let d = h.client_says("l", "x");
        h.advance(180_000);
        let effects = h.take();
        let missed: Vec<usize> = (0..effects.len())
            .filter(|i| {
                effects[*i]
                    == Effect::KpiMissed {
                        dialog: d,
                        line: h.line("l"),
                        kind: KpiKind::FirstResponse,
                    }
            })
            .collect();
        assert_eq!(missed.len(), 1, "{notify}: {effects:?}");
        let alerted: Vec<usize> = (0..effects.len())
            .filter(|i| matches!(effects[*i], Effect::KpiAlert { .. }))
            .collect();
        assert_eq!(alerted.len(), alerts, "{notify}: {effects:?}");
        assert!(alerted.iter().all(|at| missed[0] < *at), "{effects:?}");
        h.advance(3_600_000);
        assert!(
            !h.take()
                .iter()
                .any(|e| matches!(e, Effect::KpiMissed { .. })),
            "a first-response target is missed once"
        );
    }
}

#[test]
fn kpi_response_alerts_when_a_later_client_message_waits_too_long() {
    let extra = "[lines.kpi.response]\ntarget = \"1m\"\nnotify = [\"c\"]";
    let mut h = Harness::new(&config("members = [\"a\"]", extra));
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    h.answer("a", d).unwrap();
    h.client_says("l", "x");
    h.advance(30_000);
    h.client_says("l", "x");
    h.advance(30_000);
    let effects = h.take();
    assert_eq!(
        effects
            .iter()
            .filter(|e| matches!(
                e,
                Effect::KpiAlert {
                    kind: KpiKind::Response,
                    ..
                }
            ))
            .count(),
        1
    );
    h.answer("a", d).unwrap();
    let answered = h.take().into_iter().find_map(|e| match e {
        Effect::Answered {
            first, response_ms, ..
        } => Some((first, response_ms)),
        _ => None,
    });
    assert_eq!(
        answered,
        Some((false, 60_000)),
        "response time counts from the first unanswered message"
    );
}

#[test]
fn escalation_widens_the_pool_after_the_wait() {
    let queue = "members = [\"a\"]\nescalation = [{ after = \"5m\", add = [\"b\"] }, { after = \"15m\", add = [\"c\"] }]";
    let mut h = Harness::new(&config(queue, ""));
    h.online(&["b", "c"]);
    let d = h.client_says("l", "x");
    assert_eq!(h.holder(d), Some(Holder::Queued));
    h.advance(299_999);
    assert_eq!(h.holder(d), Some(Holder::Queued));
    h.advance(1);
    assert_eq!(h.offered(d).as_deref(), Some("b"));
}

#[test]
fn going_offline_moves_offers_on_at_once_and_active_dialogs_after_the_grace() {
    let queue = "members = [\"a\", \"b\"]\nmode = \"strict\"\nreassign_on_offline = { after = \"2m\", text = \"Switching\" }";
    let mut h = Harness::new(&config(queue, ""));
    h.online(&["a"]);
    let active = h.client_says("l", "1");
    h.accept("a", active).unwrap();
    let offered = h.client_says("l", "2");
    assert_eq!(h.offered(offered).as_deref(), Some("a"));
    h.online(&["b"]);
    let a = h.op("a");
    h.presence("a", Presence::Offline);
    assert_eq!(
        h.offered(offered).as_deref(),
        Some("b"),
        "an offer moves on at once"
    );
    assert_eq!(
        h.holder(active),
        Some(Holder::Active(a)),
        "active dialogs wait for the grace period"
    );
    h.take();
    h.advance(120_000);
    let effects = h.take();
    assert!(effects.iter().any(|e| matches!(e, Effect::Text { kind: AutoText::Reassigned, text, .. } if &**text == "Switching")));
    assert!(effects.contains(&Effect::Revoked {
        dialog: active,
        op: a,
        reason: RevokeReason::Offline
    }));
    assert_eq!(h.offered(active).as_deref(), Some("b"));
    assert_eq!(h.load("a"), 0);
}

#[test]
fn coming_back_within_the_grace_keeps_the_dialog() {
    let mut h = Harness::new(&config(
        "members = [\"a\"]\nreassign_on_offline = { after = \"2m\" }",
        "",
    ));
    h.online(&["a"]);
    let d = h.client_says("l", "1");
    h.accept("a", d).unwrap();
    h.presence("a", Presence::Offline);
    h.advance(60_000);
    h.online(&["a"]);
    h.advance(120_000);
    assert_eq!(h.holder(d), Some(Holder::Active(h.op("a"))));
}

#[test]
fn pause_after_missed_sets_the_operator_away() {
    let queue = "members = [\"a\", \"b\"]\nmode = \"strict\"\ntransfer_after = \"10s\"\npause_after_missed = 2";
    let mut h = Harness::new(&config(queue, ""));
    h.online(&["a"]);
    let d = h.client_says("l", "x");
    h.advance(10_000);
    assert_eq!(
        h.offered(d).as_deref(),
        Some("a"),
        "only a is online: offered again"
    );
    h.advance(10_000);
    assert!(h.take().contains(&Effect::OperatorPaused {
        op: h.op("a"),
        missed: 2
    }));
    assert_eq!(
        h.router.operators()[0].cell.state().presence,
        Presence::Away
    );
    assert_eq!(h.holder(d), Some(Holder::Queued));
}

#[test]
fn a_timeout_that_fell_due_long_ago_fires_once_at_the_next_tick() {
    let mut h = Harness::new(&config(
        "members = [\"a\", \"b\"]\nmode = \"strict\"\ntransfer_after = \"10s\"",
        "",
    ));
    h.online(&["a", "b"]);
    let d = h.client_says("l", "x");
    h.advance(3_600_000);
    let revokes = h
        .take()
        .iter()
        .filter(|e| matches!(e, Effect::Revoked { .. }))
        .count();
    assert_eq!(revokes, 1, "one timeout, not one per 10 s of the hour");
    assert_eq!(h.offered(d).as_deref(), Some("b"));
}

/// Mon/Tue 09:00–18:00 UTC, with a 15-minute first-response target told to `c`.
const OFFICE_WITH_KPI: &str = "[lines.hours]\ntimezone = \"UTC\"\nweek = { mon = \"09:00-18:00\", tue = \"09:00-18:00\" }\n[lines.kpi.first_response]\ntarget = \"15m\"\nnotify = [\"c\"]";

#[test]
fn closed_hours_pause_the_kpi_clock_for_the_deadline_and_the_figures() {
    let mut h = Harness::new(&config("members = [\"a\"]", OFFICE_WITH_KPI));
    h.online(&["a"]);
    h.advance(7 * 3_600_000 + 50 * 60_000); // Monday 17:50: ten open minutes left
    let d = h.client_says("l", "x");
    h.accept("a", d).unwrap();
    // Tuesday 09:04:59.999: 14 min 59.999 s of open time have passed.
    h.advance(10 * 60_000 + 15 * 3_600_000 + 5 * 60_000 - 1);
    let alert = |e: &Effect| {
        matches!(
            e,
            Effect::KpiAlert {
                kind: KpiKind::FirstResponse,
                ..
            }
        )
    };
    assert!(
        !h.take().iter().any(alert),
        "no alert for time spent closed"
    );
    h.advance(1);
    assert_eq!(
        h.take().iter().filter(|e| alert(e)).count(),
        1,
        "alert at Tuesday 09:05"
    );
    h.answer("a", d).unwrap();
    let answered = h.take().into_iter().find_map(|e| match e {
        Effect::Answered { response_ms, .. } => Some(response_ms),
        _ => None,
    });
    assert_eq!(answered, Some(15 * 60_000), "only open minutes count");
    let kpi = h.router.dialog_records()[0].kpi;
    assert_eq!(kpi.first_response_ms, Some(15 * 60_000));
    assert_eq!((kpi.responses, kpi.max_response_ms), (1, 15 * 60_000));
    assert!(kpi.first_response_missed);
}
