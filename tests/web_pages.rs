//! The bundled pages over real HTTP, and the checks around them against the real binary: files
//! served with their types, ETags (304 on a match), brotli / gzip bodies and a CSP on pages;
//! the console's reads open to operator tokens only, the board to supervisors only; and a
//! widget page from an origin its line does not allow refused at `hello`.

mod common;

use common::*;
use reqwest::header;
use serde_json::json;

fn config() -> Config {
    Config::new()
        .admin()
        .operators(&["anna", "dana"])
        .operator_raw("id = \"sam\"\nname = \"Sam\"\ntoken = \"sam-token\"\nsupervisor = true")
        .line(
            line("support", "even", &["anna"], "30s")
                .top("allowed_origins = [\"https://shop.example\"]")
                .top("prechat = [\"name\", \"email\"]"),
        )
}

async fn fetch(server: &Server, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("http://{}{path}", server.addr));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("an HTTP answer")
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> String {
    response
        .headers()
        .get(&name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn pages_are_served_compressed_with_etags_and_a_csp() {
    let server = Server::start("pages", &config());
    let widget = fetch(&server, "/widget.js", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(widget.status(), 200);
    assert_eq!(
        header_of(&widget, header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(header_of(&widget, header::CONTENT_ENCODING), "br");
    assert_eq!(header_of(&widget, header::VARY), "Accept-Encoding");
    assert!(header_of(&widget, header::CACHE_CONTROL).contains("max-age"));
    let etag = header_of(&widget, header::ETAG);
    assert!(etag.starts_with('"') && etag.len() > 10, "ETag {etag}");
    let br = widget.bytes().await.unwrap();

    let plain = fetch(&server, "/widget.js", &[]).await;
    assert_eq!(header_of(&plain, header::CONTENT_ENCODING), "");
    let plain = plain.bytes().await.unwrap();
    assert!(plain.starts_with(b"/*! Switchboard chat widget"));
    assert!(br.len() * 2 < plain.len(), "brotli body is compressed");

    let gzip = fetch(&server, "/widget.js", &[("accept-encoding", "gzip")]).await;
    assert_eq!(header_of(&gzip, header::CONTENT_ENCODING), "gzip");

    let again = fetch(&server, "/widget.js", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());

    for page in ["/demo", "/console", "/console/"] {
        let answer = fetch(&server, page, &[]).await;
        assert_eq!(answer.status(), 200, "{page}");
        assert_eq!(
            header_of(&answer, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        let csp = header_of(&answer, header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("script-src 'self'"), "{page}: CSP {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: CSP {csp}");
    }
    let script = fetch(&server, "/console/console.js", &[]).await;
    assert_eq!(
        header_of(&script, header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    for missing in [
        "/console/nope.js",
        "/console/..%2Fwidget.js",
        "/web/widget.js",
    ] {
        let answer = fetch(&server, missing, &[]).await;
        assert_eq!(answer.status(), 404, "{missing}");
    }
}

#[tokio::test]
async fn the_console_reads_take_operator_tokens_and_the_board_is_for_supervisors() {
    let server = Server::start("console-api", &config());
    let nobody = Http::with_token(&server, None);
    nobody.get("/api/v1/console/directory").await.assert_error(
        401,
        "unauthorized",
        "Authorization",
    );
    // The admin token is not an operator's: it never goes to a browser.
    Http::admin(&server)
        .get("/api/v1/console/board")
        .await
        .assert_error(401, "unauthorized", "unknown operator token");

    let anna = Http::with_token(&server, Some(&token("anna")));
    let directory = anna.get_ok("/api/v1/console/directory").await;
    assert_eq!(directory["me"]["id"], "anna");
    assert_eq!(directory["me"]["supervisor"], false);
    assert_eq!(directory["lines"][0]["id"], "support");
    let ids: Vec<&str> = directory["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["anna", "dana", "sam"]);
    anna.get("/api/v1/console/board")
        .await
        .assert_error(403, "forbidden", "supervisors");

    // A waiting dialog shows on the board with its decisions.
    let mut widget = Widget::join(&server, "support", "c-1").await;
    widget.say("m1", "hello?").await;
    let sam = Http::with_token(&server, Some("sam-token"));
    let board = sam.get_ok("/api/v1/console/board").await;
    let support = &board["lines"][0];
    assert_eq!(support["id"], "support");
    assert_eq!(support["name"], "Support");
    assert_eq!(support["queue_length"], 1, "{board}");
    assert!(support["oldest_wait_ms"].is_u64());
    assert_eq!(board["operators"][0]["id"], "anna");
    assert_eq!(board["operators"][0]["presence"], "offline");
    assert!(board["operators"][0]["capacity"].as_u64().unwrap() > 0);
    let dialog = &board["dialogs"][0];
    assert_eq!(dialog["state"], "queued");
    assert!(
        dialog["decisions"][0]["text"]
            .as_str()
            .unwrap()
            .contains("anna"),
        "{dialog}"
    );
}

#[tokio::test]
async fn a_widget_page_from_an_origin_its_line_does_not_allow_is_refused() {
    let server = Server::start("origins", &config());
    let mut stranger =
        Conn::open_from(&server, "/ws/widget", "https://evil.example", "stranger").await;
    stranger
        .send(json!({"type": "hello", "line": "support"}))
        .await;
    let refused = stranger.next().await;
    assert_error(&refused, "forbidden");
    assert!(field_str(&refused, "message").contains("https://evil.example"));
    assert_eq!(stranger.expect_close().await, Some(1008));

    let mut shop = Conn::open_from(&server, "/ws/widget", "https://shop.example", "shop").await;
    shop.send(json!({"type": "hello", "line": "support"})).await;
    let welcome = shop.expect("welcome").await;
    assert_eq!(welcome["prechat"], json!(["name", "email"]));

    // Not a browser (no Origin header): nothing to check.
    Widget::join(&server, "support", "c-2").await;
}
