//! Erasing a deleted contact's chats for a data-protection request (`DELETE
//! /contacts/{id}?erase=true`): the client's name, email and phone and the rating comment are
//! cleared from every closed chat in the contact's log (its own and that of every id merged
//! into it), the chats' messages are deleted, and the log itself goes. All of it is written in
//! the commit that deletes the contact, so an erasure is never half done; the deletion record
//! says how many chats were erased.
//!
//! Open chats of the contact are not touched (their data is erased when they close only if the
//! contact is deleted again; see docs/contacts.md).

use super::interactions::{family, Interaction};
use super::registry::Registry;
use super::view::View;
use super::ContactError;
use crate::store::records::ClosedDialog;
use crate::store::Record;

/// Entries of one contact's log read for an erasure at most.
const LOG_ENTRIES_MAX: usize = 1_000_000;

impl Registry {
    /// The records that erase the chats and the log of contact `id`, and how many chats.
    pub(super) fn erasure(
        &self,
        view: &View<'_>,
        id: u64,
    ) -> Result<(Vec<Record>, u64), ContactError> {
        let mut records = Vec::new();
        let mut chats = 0;
        for owner in family(view, id)? {
            for ((ts, nonce), bytes) in view.read().interactions(owner, None, LOG_ENTRIES_MAX)? {
                records.push(Record::ContactInteraction {
                    contact: owner,
                    ts,
                    nonce,
                    bytes: None,
                });
                let Some(chat) = Interaction::decode(&bytes).and_then(|i| i.chat) else {
                    continue;
                };
                if let Some(summary) = self.store.dialog(chat.dialog_id)? {
                    let Ok(mut summary) = rmp_serde::from_slice::<ClosedDialog>(&summary) else {
                        continue;
                    };
                    summary.client.name = None;
                    summary.client.email = None;
                    summary.client.phone = None;
                    summary.client.contact = None;
                    summary.comment = None;
                    summary.messages_deleted = true;
                    records.push(Record::ForgetDialog {
                        dialog: chat.dialog_id,
                    });
                    records.push(Record::Dialog {
                        dialog: chat.dialog_id,
                        bytes: crate::store::records::encode(&summary),
                    });
                    chats += 1;
                }
            }
        }
        Ok((records, chats))
    }
}
