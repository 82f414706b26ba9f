//! Security promises (SECURITY.md) against the real binary: an address that presents too many
//! wrong tokens is refused for a while, even with the right token, and both are counted in
//! `/metrics` (that other addresses are not affected is tested in `src/hub/login_guard.rs`).

mod common;

use common::*;
use serde_json::json;

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn too_many_wrong_admin_tokens_from_one_address_are_refused_for_a_while() {
    let server = Server::start(
        "logins",
        &Config::new()
            .admin()
            .operators(&["anna"])
            .line(line("support", "even", &["anna"], "30s")),
    );
    let wrong = Http::with_token(&server, Some("guess"));
    for _ in 0..10 {
        wrong
            .get("/api/v1/lines")
            .await
            .assert_error(401, "unauthorized", "wrong admin token");
    }
    // The right token from the same address now waits too.
    Http::admin(&server)
        .get("/api/v1/lines")
        .await
        .assert_error(429, "rate_limited", "too many wrong tokens");
    // So do the console's reads with a right operator token.
    Http::with_token(&server, Some(&token("anna")))
        .get("/api/v1/console/directory")
        .await
        .assert_error(429, "rate_limited", "too many wrong tokens");
    let text = Http::with_token(&server, None).get("/metrics").await.text;
    assert_eq!(metric(&text, "switchboard_login_failures_total"), 10);
    assert!(metric(&text, "switchboard_logins_refused_total") >= 2);
}

#[tokio::test]
async fn a_hello_with_someone_elses_client_id_and_no_token_starts_a_client_of_its_own() {
    let server = Server::start(
        "client-ids",
        &Config::new()
            .operators(&["anna"])
            .line(line("support", "even", &["anna"], "30s")),
    );
    let mut anna = Operator::connect(&server, "anna").await;
    let mut victim = Widget::join(&server, "support", "victim").await;
    let ack = victim.say("m1", "my card number is …").await;
    let dialog = field_u64(&ack, "dialog_id");
    anna.offered(dialog).await;
    anna.accept(dialog).await;

    // Someone who knows (or guesses) the id, without the victim's resume token.
    let mut intruder = Widget::connect(
        &server,
        json!({"type": "hello", "line": "support", "client_id": "victim", "last_seq": 0}),
        Enc::Json,
    )
    .await;
    assert_ne!(intruder.client_id(), "victim", "{}", intruder.welcome);
    assert!(
        intruder.welcome.get("dialog_id").is_none(),
        "the intruder must not see the victim's dialog: {}",
        intruder.welcome
    );
    anna.say(dialog, "a1", "your card is blocked").await;
    victim.operator_said("your card is blocked").await;
    intruder
        .assert_none_within(QUIET, "the victim's messages", |f| {
            frame_type(f) == "message"
        })
        .await;

    // The victim's own token still resumes the victim's dialog.
    let mut resumed = Widget::connect(
        &server,
        json!({"type": "hello", "line": "support", "resume_token": victim.resume_token(), "last_seq": 0}),
        Enc::Json,
    )
    .await;
    assert_eq!(resumed.client_id(), "victim");
    assert_eq!(resumed.welcome["dialog_id"], dialog);
    resumed.operator_said("your card is blocked").await;
}

#[tokio::test]
async fn too_many_wrong_operator_tokens_from_one_address_are_refused_for_a_while() {
    let server = Server::start(
        "operator-logins",
        &Config::new()
            .operators(&["anna"])
            .line(line("support", "even", &["anna"], "30s")),
    );
    for _ in 0..10 {
        let mut guess = Conn::open(&server, "/ws/operator", Enc::Json, "guess").await;
        guess.send(json!({"type": "hello", "token": "guess"})).await;
        assert_error(&guess.next().await, "unauthorized");
        assert_eq!(guess.expect_close().await, Some(1008));
    }
    let mut anna = Conn::open(&server, "/ws/operator", Enc::Json, "anna").await;
    anna.send(json!({"type": "hello", "token": token("anna")}))
        .await;
    let refused = anna.next().await;
    assert_error(&refused, "rate_limited");
    assert_eq!(anna.expect_close().await, Some(1008));
    let text = Http::with_token(&server, None).get("/metrics").await.text;
    assert_eq!(metric(&text, "switchboard_login_failures_total"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_can_never_act_on_a_dialog_that_is_not_theirs() {
    let server = Server::start(
        "not-theirs",
        &Config::new()
            .admin()
            .operators(&["anna", "boris"])
            .line(line("support", "even", &["anna"], "30s"))
            .line(line("sales", "even", &["boris"], "30s")),
    );
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "private").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;

    for (frame, codes) in [
        (
            json!({"type": "accept", "dialog_id": d}),
            &["invalid_state", "forbidden"][..],
        ),
        (
            json!({"type": "decline", "dialog_id": d}),
            &["invalid_state", "forbidden"][..],
        ),
        (
            json!({"type": "message", "dialog_id": d, "client_msg_id": "b1", "text": "hi"}),
            &["forbidden"][..],
        ),
        (json!({"type": "close", "dialog_id": d}), &["forbidden"][..]),
        (
            json!({"type": "transfer", "dialog_id": d, "to_operator": "boris"}),
            &["forbidden"][..],
        ),
        (
            json!({"type": "supervisor_rate", "dialog_id": d, "score": 1}),
            &["forbidden"][..],
        ),
        (
            json!({"type": "history", "dialog_id": d}),
            &["forbidden"][..],
        ),
    ] {
        let answer = boris.request(frame.clone()).await;
        assert_eq!(frame_type(&answer), "error", "{frame} → {answer}");
        let code = field_str(&answer, "code");
        assert!(codes.contains(&code), "{frame} → {answer}");
    }
    // Typing on someone else's dialog is dropped: the client sees nothing of it.
    boris.send(json!({"type": "typing", "dialog_id": d})).await;
    widget
        .assert_none_within(QUIET, "anything from boris", |f| {
            matches!(
                frame_type(f),
                "operator_typing" | "message" | "dialog_closed"
            )
        })
        .await;
    // Nothing changed: the dialog is still Anna's, with the client's one message.
    let stored = Http::admin(&server)
        .get_ok(&format!("/api/v1/dialogs/{d}"))
        .await;
    assert_eq!(stored["operator"], "anna", "{stored}");
    assert_eq!(stored["state"], "active", "{stored}");
    assert_eq!(stored["supervisor_score"], serde_json::Value::Null);
    let messages = Http::admin(&server)
        .get_ok(&format!("/api/v1/dialogs/{d}/messages"))
        .await;
    assert_eq!(
        messages["messages"].as_array().unwrap().len(),
        1,
        "{messages}"
    );
}
