//! The contact frames of the operator WebSocket against the real binary: `search_contacts`,
//! `contact`, `create_contact` and `update_contact`, with restricted access (a contact that
//! lists its operators is invisible to others and forbidden to open, and always visible to a
//! supervisor), the concurrent-edit `conflict`, and operator edits surviving SIGKILL.

mod common;

use common::*;
use serde_json::{json, Value};

fn config() -> Config {
    Config::new()
        .admin()
        .operators(&["anna", "boris"])
        .operator_raw("id = \"sue\"\nname = \"Sue\"\ntoken = \"sue-token\"\nsupervisor = true")
}

fn ids(frame: &Value) -> Vec<u64> {
    frame["contacts"]
        .as_array()
        .unwrap_or_else(|| panic!("no contacts in {frame}"))
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect()
}

async fn search(op: &mut Operator, q: &str) -> Vec<u64> {
    let reply = op.request(json!({"type": "search_contacts", "q": q})).await;
    assert_eq!(frame_type(&reply), "contacts", "{reply}");
    ids(&reply)
}

async fn create(op: &mut Operator, contact: Value) -> Value {
    let reply = op
        .request(json!({"type": "create_contact", "contact": contact}))
        .await;
    assert_eq!(frame_type(&reply), "contact", "{reply}");
    reply["contact"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_contacts_are_hidden_from_others_but_not_from_supervisors() {
    let server = Server::start("contacts-access", &config());
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut sue = Operator::connect(&server, "sue").await;
    let open = create(&mut anna, json!({"kind": "person", "last_name": "Smith"})).await;
    let secret = create(
        &mut anna,
        json!({"kind": "person", "first_name": "Sam", "last_name": "Smith",
               "allowed_operators": ["anna"]}),
    )
    .await;
    let (open, secret) = (open["id"].as_u64().unwrap(), secret["id"].as_u64().unwrap());

    assert_eq!(search(&mut anna, "smith").await, vec![open, secret]);
    assert_eq!(search(&mut boris, "smith").await, vec![open]);
    assert_eq!(search(&mut boris, "sam").await, Vec::<u64>::new());
    assert_eq!(search(&mut sue, "smith").await, vec![open, secret]);
    let listed = boris.request(json!({"type": "search_contacts"})).await;
    assert_eq!(ids(&listed), vec![open], "{listed}");

    let card = boris
        .request(json!({"type": "contact", "contact_id": secret}))
        .await;
    assert_error(&card, "forbidden");
    let edit = boris
        .request(
            json!({"type": "update_contact", "contact_id": secret, "version": 1,
                        "contact": {"position": "spy"}}),
        )
        .await;
    assert_error(&edit, "forbidden");
    let card = sue
        .request(json!({"type": "contact", "contact_id": secret}))
        .await;
    assert_eq!(card["contact"]["first_name"], "Sam", "{card}");
    let card = anna
        .request(json!({"type": "contact", "contact_id": secret}))
        .await;
    assert_eq!(card["contact"]["id"], secret, "{card}");
    let missing = anna
        .request(json!({"type": "contact", "contact_id": 999}))
        .await;
    assert_error(&missing, "not_found");
    let bad = anna
        .request(
            json!({"type": "create_contact", "contact": {"kind": "person", "last_name": "X",
                        "emails": [{"value": "nope"}]}}),
        )
        .await;
    assert_error(&bad, "bad_frame");
    assert!(
        bad["message"].as_str().unwrap().contains("emails[0].value"),
        "{bad}"
    );
    let bad = anna
        .request(json!({"type": "search_contacts", "q": "\"open"}))
        .await;
    assert_error(&bad, "bad_frame");
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("unbalanced quote"),
        "{bad}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_update_gets_conflict_and_edits_survive_sigkill() {
    let mut server = Server::start("contacts-op-conflict", &config());
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let contact = create(
        &mut anna,
        json!({"kind": "company", "company_name": "Acme",
        "tags": ["lead"]}),
    )
    .await;
    let id = contact["id"].as_u64().unwrap();
    let first = anna
        .request(
            json!({"type": "update_contact", "contact_id": id, "version": 1,
                        "contact": {"type": "warm"}}),
        )
        .await;
    assert_eq!(first["contact"]["version"], 2, "{first}");
    let stale = boris
        .request(
            json!({"type": "update_contact", "contact_id": id, "version": 1,
                        "contact": {"type": "cold"}}),
        )
        .await;
    assert_error(&stale, "conflict");
    assert!(
        stale["message"].as_str().unwrap().contains("version 2"),
        "{stale}"
    );
    let filtered = boris
        .request(json!({"type": "search_contacts", "contact_type": "warm", "tags": ["lead"]}))
        .await;
    assert_eq!(ids(&filtered), vec![id], "{filtered}");
    let filtered = boris
        .request(json!({"type": "search_contacts", "contact_type": "cold"}))
        .await;
    assert_eq!(ids(&filtered), Vec::<u64>::new(), "{filtered}");

    server.kill9();
    server.restart();
    let mut sue = Operator::connect(&server, "sue").await;
    let card = sue
        .request(json!({"type": "contact", "contact_id": id}))
        .await;
    assert_eq!(card["contact"]["type"], "warm", "{card}");
    assert_eq!(card["contact"]["version"], 2, "{card}");
    assert_eq!(search(&mut sue, "acme").await, vec![id]);
}
