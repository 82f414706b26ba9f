//! Security promises (SECURITY.md) against the real binary: an address that presents too many
//! wrong tokens is refused for a while, even with the right token, and both are counted in
//! `/metrics` (that other addresses are not affected is tested in `src/hub/login_guard.rs`).

mod common;

use common::*;

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
