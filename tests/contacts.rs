//! The contact registry end to end against the real binary, over the admin API: every search
//! form (`Sm?th`, `O*`, `"phrase"`, `Smiht~`, `muller` for Müller), filters and paging,
//! malformed queries, field errors, the concurrent-edit conflict, merge (links moved, merged
//! ids pointing to the survivor), delete, import with bad rows, photo limits, and everything
//! surviving SIGKILL (with the search index deleted too, so it is rebuilt from the store).

mod common;

use common::*;
use serde_json::{json, Value};

fn config() -> Config {
    Config::new()
        .admin()
        .operators(&["anna", "boris"])
        .raw("[contacts]\ndefault_region = \"DE\"")
}

async fn post(http: &Http, path: &str, body: &Value) -> Answer {
    http.send("POST", path, Some(&body.to_string())).await
}

async fn create(http: &Http, body: Value) -> Value {
    let answer = post(http, "/api/v1/contacts", &body).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body
}

fn ids(body: &Value) -> Vec<u64> {
    body["contacts"]
        .as_array()
        .unwrap_or_else(|| panic!("no contacts in {body}"))
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect()
}

/// The ids `q` finds (admin view), in order.
async fn find(http: &Http, q: &str) -> Vec<u64> {
    let path = format!("/api/v1/contacts?q={}", urlencode(q));
    ids(&http.get_ok(&path).await)
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Smith, Smyth, Smithers, Hans Müller at Acme Corp, Olga Orlova, Oak Industries (company).
async fn people(http: &Http) -> [u64; 6] {
    let smith = create(
        http,
        json!({"kind": "person", "first_name": "John", "last_name": "Smith",
        "emails": [{"value": "John.Smith@Example.com", "primary": true}],
        "phones": [{"value": "030 1234 5678"}], "tags": ["VIP"], "type": "hot",
        "responsible": "anna"}),
    )
    .await;
    let smyth = create(
        http,
        json!({"kind": "person", "first_name": "Jane", "last_name": "Smyth",
        "tags": ["vip", "lead"], "type": "warm"}),
    )
    .await;
    let smithers = create(http, json!({"kind": "person", "last_name": "Smithers"})).await;
    let muller = create(
        http,
        json!({"kind": "person", "first_name": "Hans", "last_name": "Müller",
        "company_name": "Acme Corp", "position": "Sales Director"}),
    )
    .await;
    let olga = create(
        http,
        json!({"kind": "person", "first_name": "Olga", "last_name": "Orlova",
        "description": "met at the fair"}),
    )
    .await;
    let oak = create(
        http,
        json!({"kind": "company", "company_name": "Oak Industries",
        "responsible": "anna"}),
    )
    .await;
    [smith, smyth, smithers, muller, olga, oak].map(|c| c["id"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_search_form_filter_and_page() {
    let server = Server::start("contacts-search", &config());
    let http = Http::admin(&server);
    let [smith, smyth, smithers, muller, olga, oak] = people(&http).await;

    assert_eq!(find(&http, "Sm?th").await, vec![smith, smyth]);
    assert_eq!(find(&http, "O*").await, vec![olga, oak]);
    assert_eq!(find(&http, "smith*").await, vec![smith, smithers]);
    assert_eq!(find(&http, "\"acme corp\"").await, vec![muller]);
    assert_eq!(find(&http, "\"corp acme\"").await, Vec::<u64>::new());
    assert!(find(&http, "Smiht~").await.contains(&smith));
    assert!(!find(&http, "Smiht~").await.contains(&smithers));
    // An exact spelling ranks before similar ones.
    assert_eq!(find(&http, "smyth~").await.first(), Some(&smyth));
    assert_eq!(find(&http, "muller").await, vec![muller]);
    assert_eq!(find(&http, "MÜLLER").await, vec![muller]);
    assert_eq!(find(&http, "john smith").await, vec![smith]);
    assert_eq!(find(&http, "john jane").await, Vec::<u64>::new());
    assert_eq!(find(&http, " john.smith@EXAMPLE.com ").await, vec![smith]);
    assert_eq!(find(&http, "+493012345678").await, vec![smith]);
    assert_eq!(find(&http, "fair").await, vec![olga]);

    let filtered = |q: &'static str| {
        let http = &http;
        async move { ids(&http.get_ok(&format!("/api/v1/contacts?{q}")).await) }
    };
    assert_eq!(filtered("kind=company").await, vec![oak]);
    assert_eq!(filtered("type=hot").await, vec![smith]);
    assert_eq!(filtered("tag=vip").await, vec![smith, smyth]);
    assert_eq!(filtered("tag=vip&tag=lead").await, vec![smyth]);
    assert_eq!(filtered("responsible=anna").await, vec![smith, oak]);
    assert_eq!(filtered("q=sm*&responsible=anna").await, vec![smith]);
    assert_eq!(filtered("q=sm*&kind=company").await, Vec::<u64>::new());
    let after = http.get_ok(&format!("/api/v1/contacts/{olga}")).await["updated_ts"].clone();
    let later = filtered_after(&http, after.as_u64().unwrap()).await;
    assert!(later.iter().all(|id| *id > olga), "{later:?}");

    // Stable paging: three pages of two, no repeats, nothing skipped.
    let mut seen = Vec::new();
    let mut path = "/api/v1/contacts?limit=2".to_string();
    loop {
        let page = http.get_ok(&path).await;
        seen.extend(ids(&page));
        match page["next_after"].as_str() {
            Some(next) => path = format!("/api/v1/contacts?limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, vec![smith, smyth, smithers, muller, olga, oak]);
    let first = http.get_ok("/api/v1/contacts?q=sm*&limit=1").await;
    let next = first["next_after"]
        .as_str()
        .expect("a next page")
        .to_string();
    let second = http
        .get_ok(&format!("/api/v1/contacts?q=sm*&limit=5&after={next}"))
        .await;
    assert_eq!(ids(&first), vec![smith]);
    assert_eq!(ids(&second), vec![smyth, smithers]);

    let tags = http.get_ok("/api/v1/contacts/tags").await;
    assert_eq!(
        tags["tags"],
        json!([{"tag": "lead", "count": 1}, {"tag": "vip", "count": 2}])
    );
}

async fn filtered_after(http: &Http, ts: u64) -> Vec<u64> {
    ids(&http
        .get_ok(&format!("/api/v1/contacts?updated_after={ts}"))
        .await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_and_bodies_are_refused_naming_the_problem() {
    let server = Server::start("contacts-refusals", &config());
    let http = Http::admin(&server);
    let refused = [
        ("q=%22acme+corp", "unbalanced quote"),
        ("q=smith+~", "lone ~"),
        ("q=*", "match everything"),
        ("q=%3F*%3F", "match everything"),
        ("q=*a", "starts with a wildcard"),
        ("colour=red", "`colour`"),
        ("limit=0", "`limit`"),
        ("kind=robot", "`kind`"),
        ("after=x", "`after`"),
    ];
    for (query, mentions) in refused {
        let answer = http.get(&format!("/api/v1/contacts?{query}")).await;
        answer.assert_error(400, "bad_request", mentions);
    }
    let bodies = [
        (json!({"first_name": "A"}), "kind"),
        (json!({"kind": "person"}), "first_name"),
        (json!({"kind": "company"}), "company_name"),
        (
            json!({"kind": "person", "last_name": "X", "emails": [{"value": "nope"}]}),
            "emails[0].value",
        ),
        (
            json!({"kind": "person", "last_name": "X", "type": "lukewarm"}),
            "cold, warm, hot",
        ),
        (
            json!({"kind": "person", "last_name": "X", "responsible": "zed"}),
            "responsible",
        ),
        (
            json!({"kind": "person", "last_name": "X", "shoe_size": 9}),
            "shoe_size",
        ),
        (
            json!({"kind": "person", "last_name": "X", "emails":
            [{"value": "a@b.c", "primary": true}, {"value": "c@d.e", "primary": true}]}),
            "primary",
        ),
        (
            json!({"kind": "person", "last_name": "X", "company_id": 999}),
            "company_id",
        ),
    ];
    for (body, mentions) in bodies {
        post(&http, "/api/v1/contacts", &body)
            .await
            .assert_error(400, "bad_request", mentions);
    }
    http.get("/api/v1/contacts/999")
        .await
        .assert_error(404, "not_found", "999");
    http.get("/api/v1/contacts/abc")
        .await
        .assert_error(400, "bad_request", "abc");
    // An unparsable phone is kept as text and reported.
    let kept = create(&http, json!({"kind": "person", "last_name": "Text",
        "phones": [{"value": "call the front desk"}, {"value": "+1 650 253 0000", "primary": true}]}))
        .await;
    assert_eq!(kept["phones"][0]["value"], "call the front desk", "{kept}");
    assert_eq!(kept["phones"][0]["unparsed"], true, "{kept}");
    assert_eq!(kept["phones"][1]["value"], "+16502530000", "{kept}");
    assert!(
        kept["warnings"][0]
            .as_str()
            .unwrap()
            .contains("phones[0].value"),
        "{kept}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_edit_gets_conflict_not_a_silent_overwrite() {
    let server = Server::start("contacts-conflict", &config());
    let http = Http::admin(&server);
    let contact = create(&http, json!({"kind": "person", "last_name": "Smith"})).await;
    let id = contact["id"].as_u64().unwrap();
    assert_eq!(contact["version"], 1);
    let path = format!("/api/v1/contacts/{id}");
    let patch = |body: Value| {
        let (http, path) = (&http, &path);
        async move { http.send("PATCH", path, Some(&body.to_string())).await }
    };
    let (a, b) = tokio::join!(
        patch(json!({"version": 1, "position": "CEO"})),
        patch(json!({"version": 1, "position": "CTO"}))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", a.text, b.text);
    let loser = if a.status == 409 { &a } else { &b };
    loser.assert_error(409, "conflict", "version 1");
    assert_eq!(loser.body["error"]["version"], 2, "{}", loser.text);
    let winner = if a.status == 200 { &a } else { &b };
    let now = http.get_ok(&path).await;
    assert_eq!(now["position"], winner.body["position"]);
    assert_eq!(now["version"], 2);
    patch(json!({"position": "X"}))
        .await
        .assert_error(400, "bad_request", "version");
    let cleared = patch(json!({"version": 2, "position": null, "tags": ["a"]})).await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert!(cleared.body.get("position").is_none(), "{}", cleared.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_merge_and_delete() {
    let server = Server::start("contacts-merge", &config());
    let http = Http::admin(&server);
    let acme = create(&http, json!({"kind": "company", "company_name": "Acme"})).await["id"]
        .as_u64()
        .unwrap();
    let acme2 = create(
        &http,
        json!({"kind": "company", "company_name": "ACME", "emails": [{"value": "info@acme.test"}]}),
    )
    .await["id"]
        .as_u64()
        .unwrap();
    let a = create(
        &http,
        json!({"kind": "person", "last_name": "Smith",
        "emails": [{"value": "js@x.test", "primary": true}], "tags": ["a"]}),
    )
    .await["id"]
        .as_u64()
        .unwrap();
    let b = create(
        &http,
        json!({"kind": "person", "first_name": "John", "last_name": "Smith",
        "emails": [{"value": " JS@X.test"}, {"value": "john@y.test", "primary": true}],
        "phones": [{"value": "+49 30 1234 5678"}], "tags": ["b"], "company_id": acme2}),
    )
    .await["id"]
        .as_u64()
        .unwrap();

    let groups = http.get_ok("/api/v1/contacts/duplicates").await;
    let groups = groups["groups"].as_array().unwrap().clone();
    assert!(
        groups.contains(&json!({"reason": "email", "key": "js@x.test", "ids": [a, b]})),
        "{groups:?}"
    );
    assert!(
        groups.contains(&json!({"reason": "name", "key": "acme", "ids": [acme, acme2]})),
        "{groups:?}"
    );

    let merged = post(
        &http,
        &format!("/api/v1/contacts/{a}/merge"),
        &json!({"from": [b]}),
    )
    .await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    let survivor = &merged.body;
    assert_eq!(survivor["first_name"], "John", "{survivor}");
    assert_eq!(
        survivor["emails"],
        json!([{"value": "js@x.test", "primary": true}, {"value": "john@y.test"}])
    );
    assert_eq!(survivor["phones"][0]["value"], "+493012345678");
    assert_eq!(survivor["tags"], json!(["a", "b"]));
    assert_eq!(survivor["company_id"], acme2);
    http.get(&format!("/api/v1/contacts/{b}"))
        .await
        .assert_error(404, "merged", &a.to_string());
    assert_eq!(
        http.get(&format!("/api/v1/contacts/{b}")).await.body["error"]["merged_into"],
        a
    );
    assert_eq!(find(&http, "john").await, vec![a]);

    // Merging the companies moves the person's link to the survivor.
    post(
        &http,
        &format!("/api/v1/contacts/{acme}/merge"),
        &json!({"from": [acme2]}),
    )
    .await;
    assert_eq!(
        http.get_ok(&format!("/api/v1/contacts/{a}")).await["company_id"],
        acme
    );
    post(
        &http,
        &format!("/api/v1/contacts/{acme}/merge"),
        &json!({"from": [a]}),
    )
    .await
    .assert_error(400, "bad_request", "from[0]");

    // Delete is irreversible and cuts links to the deleted company.
    let deleted = http
        .delete(&format!("/api/v1/contacts/{acme}?erase=true"))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body["irreversible"], true);
    http.get(&format!("/api/v1/contacts/{acme}"))
        .await
        .assert_error(404, "not_found", "deleted");
    assert!(http
        .get_ok(&format!("/api/v1/contacts/{a}"))
        .await
        .get("company_id")
        .is_none());
    assert_eq!(find(&http, "acme").await, Vec::<u64>::new());
    http.delete(&format!("/api/v1/contacts/{acme}"))
        .await
        .assert_error(404, "not_found", "deleted");
}

const CSV: &str = "kind,first_name,last_name,emails,phones,tags,type\n\
person,Ann,Lee,ann@x.test,030 1234 5678,a;b,hot\n\
person,,,nobody@x.test,,,\n\
company,,,,,,\n\
person,Bo,Berg,bo@x.test;bo2@x.test,,,\n\
person,Cy,Cole,not-an-email,,,\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reports_bad_rows_and_export_gives_them_back() {
    let server = Server::start("contacts-import", &config());
    let http = Http::admin(&server);
    let all = http
        .send(
            "POST",
            "/api/v1/contacts/import?format=csv&all_or_nothing=true",
            Some(CSV),
        )
        .await;
    assert_eq!(all.status, 400, "{}", all.text);
    assert_eq!(
        ids(&http.get_ok("/api/v1/contacts").await),
        Vec::<u64>::new()
    );

    let report = http
        .send("POST", "/api/v1/contacts/import?format=csv", Some(CSV))
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!(report.body["imported"], 2, "{}", report.text);
    let errors = report.body["errors"].as_array().unwrap();
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![3, 4, 6], "{}", report.text);
    assert!(errors[2]["reason"]
        .as_str()
        .unwrap()
        .contains("emails[0].value"));
    let lee = find(&http, "lee").await;
    let lee = http.get_ok(&format!("/api/v1/contacts/{}", lee[0])).await;
    assert_eq!(lee["phones"][0]["value"], "+493012345678", "{lee}");
    assert_eq!(lee["source"], "import");
    assert_eq!(lee["emails"][0]["primary"], true);

    let jsonl =
        "{\"kind\":\"person\",\"last_name\":\"Dee\"}\n\n{\"kind\":\"person\",\"last_name\":7}\n";
    let report = http
        .send("POST", "/api/v1/contacts/import", Some(jsonl))
        .await;
    assert_eq!(report.body["imported"], 1, "{}", report.text);
    assert_eq!(report.body["errors"][0]["line"], 3, "{}", report.text);
    assert!(report.body["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("last_name"));

    let csv = http.get("/api/v1/contacts/export?format=csv").await;
    assert_eq!(csv.status, 200);
    assert!(csv.text.starts_with("id,kind,first_name"), "{}", csv.text);
    assert!(csv.text.contains("bo@x.test;bo2@x.test"), "{}", csv.text);
    let jsonl = http.get("/api/v1/contacts/export?format=jsonl").await;
    assert_eq!(jsonl.text.lines().count(), 3, "{}", jsonl.text);
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 7])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn put_bytes(server: &Server, path: &str, bytes: Vec<u8>) -> (u16, Vec<u8>) {
    let answer = reqwest::Client::new()
        .put(format!("http://{}{path}", server.addr))
        .bearer_auth(ADMIN_TOKEN)
        .body(bytes)
        .send()
        .await
        .unwrap();
    (
        answer.status().as_u16(),
        answer.bytes().await.unwrap().to_vec(),
    )
}

async fn get_bytes(server: &Server, path: &str) -> (u16, Vec<u8>) {
    let answer = reqwest::Client::new()
        .get(format!("http://{}{path}", server.addr))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    (
        answer.status().as_u16(),
        answer.bytes().await.unwrap().to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_are_scaled_and_limits_named() {
    let server = Server::start("contacts-photo", &config());
    let http = Http::admin(&server);
    let id = create(&http, json!({"kind": "person", "last_name": "Pic"})).await["id"]
        .as_u64()
        .unwrap();
    let path = format!("/api/v1/contacts/{id}/photo");
    assert_eq!(get_bytes(&server, &path).await.0, 404);
    let (status, body) = put_bytes(&server, &path, vec![0xFF; 1_500_000]).await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("1 MB"));
    let (status, body) = put_bytes(&server, &path, b"GIF89a not really".to_vec()).await;
    assert_eq!(status, 415, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("JPEG or PNG"));
    let (status, body) = put_bytes(&server, &path, png(800, 400)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, stored) = get_bytes(&server, &path).await;
    assert_eq!(status, 200);
    let back = image::load_from_memory(&stored).unwrap();
    assert_eq!((back.width(), back.height()), (200, 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_sigkill_and_a_lost_index() {
    let mut server = Server::start("contacts-kill", &config());
    let http = Http::admin(&server);
    let [smith, smyth, _, muller, _, oak] = people(&http).await;
    let patched = http
        .send(
            "PATCH",
            &format!("/api/v1/contacts/{smith}"),
            Some(&json!({"version": 1, "position": "Chief"}).to_string()),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    post(
        &http,
        &format!("/api/v1/contacts/{smith}/merge"),
        &json!({"from": [smyth]}),
    )
    .await;
    http.delete(&format!("/api/v1/contacts/{oak}")).await;
    put_bytes(
        &server,
        &format!("/api/v1/contacts/{muller}/photo"),
        png(10, 10),
    )
    .await;
    let before = http.get_ok("/api/v1/contacts?limit=100").await;
    let import = http
        .send("POST", "/api/v1/contacts/import?format=csv", Some(CSV))
        .await;
    assert_eq!(import.body["imported"], 2);

    for lose_index in [false, true] {
        server.kill9();
        if lose_index {
            std::fs::remove_dir_all(server.dir.join("data").join("contacts-index")).unwrap();
        }
        server.restart();
        let http = Http::admin(&server);
        let now = http
            .get_ok(&format!("/api/v1/contacts?limit={}", 100))
            .await;
        assert_eq!(
            now["contacts"].as_array().unwrap()[..before["contacts"].as_array().unwrap().len()],
            before["contacts"].as_array().unwrap()[..],
            "lose_index={lose_index}"
        );
        assert_eq!(ids(&now).len(), 6 + usize::from(lose_index), "{now}");
        assert_eq!(
            http.get_ok(&format!("/api/v1/contacts/{smith}")).await["position"],
            "Chief"
        );
        assert_eq!(
            http.get(&format!("/api/v1/contacts/{smyth}")).await.body["error"]["merged_into"],
            smith
        );
        http.get(&format!("/api/v1/contacts/{oak}"))
            .await
            .assert_error(404, "not_found", "deleted");
        assert_eq!(
            get_bytes(&server, &format!("/api/v1/contacts/{muller}/photo"))
                .await
                .0,
            200
        );
        assert_eq!(find(&http, "Sm?th").await, vec![smith]);
        assert_eq!(find(&http, "lead").await, vec![smith]);
        assert_eq!(find(&http, "muller").await, vec![muller]);
        assert_eq!(find(&http, "lee").await.len(), 1);
        // A new contact after the restart gets a fresh id.
        let fresh = create(
            &http,
            json!({"kind": "person", "last_name": format!("New{lose_index}")}),
        )
        .await;
        assert!(fresh["id"].as_u64().unwrap() > oak);
    }
}
