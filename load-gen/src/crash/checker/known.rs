//! The crash run's known clients as the export shows them: which contact each dialog's client is
//! linked to, and whether a decision offered it first to a responsible operator.

use serde_json::Value;
use std::collections::BTreeMap;

use super::{Truth, Verdict};

/// Whether a dialog's decisions (`[{ts, text}]`) include an offer to a responsible operator.
fn responsible_offer(decisions: &Value) -> bool {
    decisions.as_array().is_some_and(|list| {
        list.iter().any(|d| {
            d["text"]
                .as_str()
                .is_some_and(|t| t.contains(": responsible for contact"))
        })
    })
}

impl Truth {
    pub(super) fn note_client(&mut self, dialog: u64, client: &Value, decisions: &Value) {
        let client_id = client["client_id"].as_str().unwrap_or_default().to_string();
        let contact = client["contact_id"].as_u64();
        let offered = responsible_offer(decisions);
        let entry = self
            .clients
            .entry(dialog)
            .or_insert((client_id, contact, false));
        entry.2 |= offered;
    }

    /// Dialogs linked to a contact.
    pub fn known_dialogs(&self) -> usize {
        self.clients
            .values()
            .filter(|(_, contact, _)| contact.is_some())
            .count()
    }

    /// Dialogs whose decisions offered them first to a responsible operator.
    pub fn offered_to_responsible(&self) -> usize {
        self.clients
            .values()
            .filter(|(_, _, offered)| *offered)
            .count()
    }

    /// Every dialog of a known client is linked to that client's contact, and no other dialog
    /// is linked to anything (closed or still open, across every restart).
    pub fn known_clients_linked(&self, known: &BTreeMap<String, u64>) -> Verdict {
        let mut v = Verdict::new("every known client's dialog linked to its contact, no other");
        for (dialog, (client, contact, _)) in &self.clients {
            let expected = known.get(client).copied();
            v.look(*contact == expected, || {
                format!("dialog {dialog} of {client}: linked to {contact:?}, expected {expected:?}")
            });
        }
        v
    }
}
