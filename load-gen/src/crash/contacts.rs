//! The crash run's known clients: before the load, one contact per identified widget (every
//! [`IDENTIFIED_EVERY`]th), each with an operator responsible for it, created over an operator
//! connection (`create_contact`); those widgets say hello with a signed identity, so their
//! dialogs are linked to their contact and offered first to its responsible operator while the
//! server is killed and restarted.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::BTreeMap;

use super::link::{Link, Signals};

/// Every this-many-th widget is a known client.
pub const IDENTIFIED_EVERY: usize = 4;
/// The crash line's `identity_secret`.
pub const IDENTITY_SECRET: &str = "crash-run-identity-secret";

/// The email of identified widget `index`.
fn email(index: usize) -> String {
    format!("client{index}@crash.test")
}

/// The signed identity identified widget `index` says hello with.
pub fn identity(index: usize) -> Option<Value> {
    if !index.is_multiple_of(IDENTIFIED_EVERY) {
        return None;
    }
    let external_id = format!("crash-client-{index}");
    let mut mac = Hmac::<Sha256>::new_from_slice(IDENTITY_SECRET.as_bytes()).ok()?;
    mac.update(external_id.as_bytes());
    let hmac = hex::encode(mac.finalize().into_bytes());
    Some(json!({"external_id": external_id, "email": email(index), "hmac": hmac}))
}

/// Creates the contacts of the identified widgets among `widgets` (responsible: operator
/// `op<index % operators>`), as operator `op0`; widget client id → contact id.
pub async fn create(
    signals: &Signals,
    widgets: usize,
    operators: usize,
) -> Result<BTreeMap<String, u64>, String> {
    let mut link = Link::open(signals, "/ws/operator")
        .await
        .ok_or("cannot connect to create contacts")?;
    if !link
        .send(&json!({"type": "hello", "token": "load-op0"}))
        .await
    {
        return Err("cannot say hello to create contacts".into());
    }
    link.expect("welcome").await.ok_or("no welcome")?;
    let mut contacts = BTreeMap::new();
    for index in (0..widgets).step_by(IDENTIFIED_EVERY) {
        let frame = json!({"type": "create_contact", "req": index + 1, "contact": {
            "kind": "person", "first_name": format!("Client {index}"),
            "emails": [{"value": email(index)}],
            "responsible": format!("op{}", (index / IDENTIFIED_EVERY) % operators.max(1)),
        }});
        if !link.send(&frame).await {
            return Err("lost the connection creating contacts".into());
        }
        let answer = link
            .expect("contact")
            .await
            .ok_or_else(|| format!("contact of widget {index} not created"))?;
        let id = answer["contact"]["id"]
            .as_u64()
            .ok_or("a contact without an id")?;
        contacts.insert(format!("crash-w{index}"), id);
    }
    link.close().await;
    Ok(contacts)
}
