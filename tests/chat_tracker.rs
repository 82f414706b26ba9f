//! The chat tracker end to end against the real binary: clients recognized by a verified
//! identity, a returning browser and an auto-created lead; a merely typed email only marks the
//! chat `unverified_match`; a bad identity signature is refused by name; operators link and
//! unlink chats; closed chats, operator notes, admin entries and segments enter the contact's
//! interaction log; merged contacts keep their logs; delete with `erase` clears the chats'
//! personal data; and all of it survives SIGKILL.

mod common;

use common::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "site-identity-secret-0123";

fn config() -> Config {
    Config::new().admin().operators(&["anna", "boris"]).line(
        line("sales", "even", &["anna"], "60s").section(&format!(
            "[lines.crm]\ncreate_lead = \"auto\"\nidentity_secret = \"{SECRET}\""
        )),
    )
}

fn signed(external_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(external_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn post(http: &Http, path: &str, body: &Value) -> Answer {
    http.send("POST", path, Some(&body.to_string())).await
}

/// A widget on `sales` with `extra` hello fields, its first message sent; the dialog id.
async fn chat(server: &Server, client_id: &str, extra: Value) -> (Widget, u64) {
    let mut hello = json!({"type": "hello", "line": "sales", "client_id": client_id});
    for (key, value) in extra.as_object().unwrap() {
        hello[key] = value.clone();
    }
    let mut widget = Widget::connect(server, hello, Enc::Json).await;
    let ack = widget.say(&format!("{client_id}-1"), "hello").await;
    let dialog = ack["dialog_id"].as_u64().unwrap();
    (widget, dialog)
}

fn client_of(offer: &Value) -> &Value {
    &offer["client"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_are_recognized_and_a_typed_email_is_only_a_candidate() {
    let server = Server::start("tracker-recognize", &config());
    let http = Http::admin(&server);
    let known = post(
        &http,
        "/api/v1/contacts",
        &json!({"kind": "person", "first_name": "Kim", "last_name": "Known",
                "emails": [{"value": "kim@example.test"}], "responsible": "anna",
                "tags": ["vip"], "type": "hot"}),
    )
    .await;
    assert_eq!(known.status, 201, "{}", known.text);
    let known = known.body["id"].as_u64().unwrap();
    let mut anna = Operator::connect(&server, "anna").await;

    // Anyone can type Kim's email: a candidate for the operator, never a link.
    let (_typed, d1) = chat(&server, "typed", json!({"email": " KIM@example.test "})).await;
    let offer = anna.offered(d1).await;
    assert_eq!(client_of(&offer)["unverified_match"], known, "{offer}");
    assert!(client_of(&offer).get("contact_id").is_none(), "{offer}");
    assert!(client_of(&offer).get("contact").is_none(), "{offer}");

    // The site vouches for Kim: linked, with the card.
    let identity = json!({"external_id": "u-77", "email": "kim@example.test",
                          "hmac": signed("u-77")});
    let (_kim, d2) = chat(&server, "kim-browser", json!({"identity": identity})).await;
    let offer = anna.offered(d2).await;
    assert_eq!(client_of(&offer)["contact_id"], known, "{offer}");
    let card = &client_of(&offer)["contact"];
    assert_eq!(card["name"], "Kim Known", "{offer}");
    assert_eq!(card["responsible"], "anna", "{offer}");
    assert_eq!(card["type"], "hot", "{offer}");
    assert_eq!(card["tags"], json!(["vip"]), "{offer}");
    let stored = http.get_ok(&format!("/api/v1/contacts/{known}")).await;
    assert_eq!(stored["external_ids"], json!(["u-77"]), "{stored}");

    // A forged signature is refused by name and the chat goes on unlinked.
    let forged = json!({"external_id": "u-77", "email": "kim@example.test",
                        "hmac": signed("someone-else")});
    let mut hello = json!({"type": "hello", "line": "sales", "client_id": "forger",
                           "identity": forged});
    hello["name"] = json!("Mallory");
    let mut forger = Widget::connect(&server, hello, Enc::Json).await;
    let refused = forger.expect("error").await;
    assert_eq!(refused["code"], "unauthorized", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("identity.hmac"),
        "{refused}"
    );
    let d3 = forger.say("forger-1", "hi").await["dialog_id"]
        .as_u64()
        .unwrap();
    let offer = anna.offered(d3).await;
    assert!(client_of(&offer).get("contact_id").is_none(), "{offer}");

    // Someone new who leaves an email becomes a lead from this line.
    let (mut lead, d4) = chat(
        &server,
        "newbie",
        json!({"name": "Nia New",
                                                        "email": "nia@example.test"}),
    )
    .await;
    let offer = anna.offered(d4).await;
    let nia = client_of(&offer)["contact_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no lead in {offer}"));
    let contact = http.get_ok(&format!("/api/v1/contacts/{nia}")).await;
    assert_eq!(contact["source"], "line:sales/widget", "{contact}");
    assert_eq!(contact["first_name"], "Nia New", "{contact}");
    assert_eq!(
        contact["client_ids"],
        json!([lead.client_id()]),
        "{contact}"
    );

    // Nia comes back in the same browser for a new chat: linked without typing anything.
    anna.accept(d4).await;
    anna.close_dialog(d4).await;
    lead.recv_until("dialog_closed").await;
    let token = lead.resume_token();
    drop(lead);
    let mut back = Widget::connect(
        &server,
        json!({"type": "hello", "line": "sales", "resume_token": token}),
        Enc::Json,
    )
    .await;
    let d5 = back.say("nia-2", "me again").await["dialog_id"]
        .as_u64()
        .unwrap();
    assert_ne!(d5, d4);
    let offer = anna.offered(d5).await;
    assert_eq!(client_of(&offer)["contact_id"], nia, "{offer}");

    // A line that does not identify leaves everyone alone.
    let quiet = Config::new().admin().operators(&["anna"]).line(
        line("sales", "even", &["anna"], "60s")
            .section("[lines.crm]\nidentify = false\ncreate_lead = \"auto\""),
    );
    drop(server);
    let server = Server::start("tracker-quiet", &quiet);
    let mut anna = Operator::connect(&server, "anna").await;
    let (_w, d) = chat(&server, "quiet", json!({"email": "q@example.test"})).await;
    let offer = anna.offered(d).await;
    assert!(client_of(&offer).get("contact_id").is_none(), "{offer}");
    let all = Http::admin(&server).get_ok("/api/v1/contacts").await;
    assert_eq!(all["contacts"], json!([]), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_interactions_merge_and_erase_survive_sigkill() {
    let mut server = Server::start("tracker-links", &config());
    let http = Http::admin(&server);
    let mut ids = Vec::new();
    for (name, email) in [
        ("Kim", "kim@example.test"),
        ("Kimberly", "kimberly@example.test"),
    ] {
        let created = post(
            &http,
            "/api/v1/contacts",
            &json!({"kind": "person", "first_name": name, "last_name": "Known",
                    "emails": [{"value": email}], "tags": ["lead"]}),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.text);
        ids.push(created.body["id"].as_u64().unwrap());
    }
    let (kim, kimberly) = (ids[0], ids[1]);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;

    // A typed email: anna confirms the candidate by linking the chat.
    let (mut widget, d1) = chat(&server, "kim-phone", json!({"email": "kim@example.test"})).await;
    let offer = anna.offered(d1).await;
    assert_eq!(client_of(&offer)["unverified_match"], kim, "{offer}");
    let refused = boris
        .request(json!({"type": "link_contact", "dialog_id": d1, "contact_id": kim}))
        .await;
    assert_error(&refused, "forbidden");
    anna.accept(d1).await;
    let missing = anna
        .request(json!({"type": "link_contact", "dialog_id": d1, "contact_id": 999}))
        .await;
    assert_error(&missing, "not_found");
    anna.ack(json!({"type": "link_contact", "dialog_id": d1, "contact_id": kim}))
        .await;
    let open = http.get_ok(&format!("/api/v1/dialogs/{d1}")).await;
    assert_eq!(open["client"]["contact_id"], kim, "{open}");
    assert!(open["client"].get("unverified_match").is_none(), "{open}");
    let decisions = open["decisions"].to_string();
    assert!(decisions.contains("linked to contact"), "{open}");
    anna.say(d1, "a-1", "hello Kim").await;
    anna.close_dialog(d1).await;
    widget.recv_until("dialog_closed").await;

    // The closed chat is in Kim's log, with an operator's note and an admin's call.
    let note = anna
        .request(
            json!({"type": "add_interaction", "contact_id": kim, "kind": "note",
                        "text": "prefers email"}),
        )
        .await;
    assert_eq!(frame_type(&note), "interactions", "{note}");
    let bad = anna
        .request(
            json!({"type": "add_interaction", "contact_id": kim, "kind": "visit",
                        "text": "x"}),
        )
        .await;
    assert_error(&bad, "bad_frame");
    assert!(bad["message"].as_str().unwrap().contains("kind"), "{bad}");
    let call = post(
        &http,
        &format!("/api/v1/contacts/{kimberly}/interactions"),
        &json!({"kind": "call", "text": "called back", "author": "boris"}),
    )
    .await;
    assert_eq!(call.status, 201, "{}", call.text);
    let unknown = post(
        &http,
        &format!("/api/v1/contacts/{kim}/interactions"),
        &json!({"kind": "call", "text": "x", "colour": 1}),
    )
    .await;
    unknown.assert_error(400, "bad_request", "colour");
    let segment = post(
        &http,
        "/api/v1/interactions",
        &json!({"q": "known", "tags": ["lead"], "kind": "email", "text": "newsletter"}),
    )
    .await;
    assert_eq!(segment.status, 200, "{}", segment.text);
    assert_eq!(segment.body["recorded"], 2, "{}", segment.text);

    // Everything so far survives a SIGKILL; the client's next chat follows the link.
    let token = widget.resume_token();
    drop(widget);
    server.kill9();
    server.restart();
    let http = Http::admin(&server);
    let mut anna = Operator::connect(&server, "anna").await;
    let log = http
        .get_ok(&format!("/api/v1/contacts/{kim}/interactions"))
        .await;
    let kinds: Vec<&str> = log["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["email", "note", "chat"], "{log}");
    let chat_entry = &log["interactions"][2];
    assert_eq!(chat_entry["chat"]["dialog_id"], d1, "{log}");
    assert_eq!(chat_entry["chat"]["messages"], 2, "{log}");
    assert_eq!(chat_entry["author"], "anna", "{log}");
    let dialogs = http
        .get_ok(&format!("/api/v1/contacts/{kim}/dialogs"))
        .await;
    assert_eq!(dialogs["dialogs"][0]["dialog_id"], d1, "{dialogs}");
    let mut widget = Widget::connect(
        &server,
        json!({"type": "hello", "line": "sales", "resume_token": token}),
        Enc::Json,
    )
    .await;
    let d2 = widget.say("kim-2", "back").await["dialog_id"]
        .as_u64()
        .unwrap();
    let offer = anna.offered(d2).await;
    assert_eq!(client_of(&offer)["contact_id"], kim, "{offer}");
    anna.accept(d2).await;
    anna.ack(json!({"type": "unlink_contact", "dialog_id": d2}))
        .await;
    let open = http.get_ok(&format!("/api/v1/dialogs/{d2}")).await;
    assert!(open["client"].get("contact_id").is_none(), "{open}");

    // Kimberly merged into Kim: Kim's log holds both.
    let merged = post(
        &http,
        &format!("/api/v1/contacts/{kim}/merge"),
        &json!({"from": [kimberly]}),
    )
    .await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    let log = http
        .get_ok(&format!("/api/v1/contacts/{kim}/interactions"))
        .await;
    let texts = log["interactions"].to_string();
    assert!(texts.contains("called back"), "{log}");
    assert_eq!(log["interactions"].as_array().unwrap().len(), 5, "{log}");

    // Deleted with erase: the chat keeps no personal data and no messages.
    let deleted = http
        .delete(&format!("/api/v1/contacts/{kim}?erase=true"))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body["erased_chats"], 1, "{}", deleted.text);
    server.kill9();
    server.restart();
    let http = Http::admin(&server);
    let closed = http.get_ok(&format!("/api/v1/dialogs/{d1}")).await;
    assert!(closed["client"].get("email").is_none(), "{closed}");
    let messages = http.get_ok(&format!("/api/v1/dialogs/{d1}/messages")).await;
    assert!(!messages.to_string().contains("hello Kim"), "{messages}");
    let gone = http
        .get(&format!("/api/v1/contacts/{kim}/interactions"))
        .await;
    gone.assert_error(404, "not_found", "deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_responsible_operator_is_offered_first_and_transfers_reassign_leads() {
    let config = Config::new()
        .admin()
        .operators(&["anna", "boris", "carl"])
        .line(line("sales", "even", &["anna"], "1s").section(&format!(
            "[lines.crm]\ncreate_lead = \"auto\"\nroute_to_responsible = true\n\
                 reassign_on_transfer = true\nidentity_secret = \"{SECRET}\""
        )));
    let server = Server::start("tracker-responsible", &config);
    let http = Http::admin(&server);
    let created = post(
        &http,
        "/api/v1/contacts",
        &json!({"kind": "person", "first_name": "Kim", "emails": [{"value": "kim@example.test"}],
                "responsible": "boris"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let kim = created.body["id"].as_u64().unwrap();
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut carl = Operator::connect(&server, "carl").await;
    let identity =
        |id: &str| json!({"external_id": id, "email": "kim@example.test", "hmac": signed(id)});

    // Boris is not in the queue but is Kim's responsible operator: he is offered first.
    let (_w1, d1) = chat(&server, "kim-1", json!({"identity": identity("k-1")})).await;
    let offer = boris.offered(d1).await;
    assert_eq!(client_of(&offer)["contact_id"], kim, "{offer}");
    let view = http.get_ok(&format!("/api/v1/dialogs/{d1}")).await;
    assert!(
        view["decisions"]
            .to_string()
            .contains(&format!("offered to boris: responsible for contact {kim}")),
        "{view}"
    );
    // He lets it pass: after transfer_after it goes to the queue.
    boris.revoked(d1).await;
    anna.offered(d1).await;
    anna.accept(d1).await;

    // Boris offline: the next chat goes straight to the queue.
    boris.status("offline").await;
    let (_w2, d2) = chat(&server, "kim-2", json!({"identity": identity("k-1")})).await;
    anna.offered(d2).await;

    // A transfer of Kim's chat to carl leaves a contact that existed before alone.
    anna.ack(json!({"type": "transfer", "dialog_id": d1, "to_operator": "carl"}))
        .await;
    carl.assigned(d1).await;
    let contact = http.get_ok(&format!("/api/v1/contacts/{kim}")).await;
    assert_eq!(contact["responsible"], "boris", "{contact}");

    // A lead this line created follows its chat to carl.
    let (_w3, d3) = chat(&server, "nia", json!({"email": "nia@example.test"})).await;
    let offer = anna.offered(d3).await;
    let nia = client_of(&offer)["contact_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no lead in {offer}: {}", server.stderr()));
    anna.accept(d3).await;
    anna.ack(json!({"type": "transfer", "dialog_id": d3, "to_operator": "carl"}))
        .await;
    carl.assigned(d3).await;
    let contact = http.get_ok(&format!("/api/v1/contacts/{nia}")).await;
    assert_eq!(contact["responsible"], "carl", "{contact}");
}
