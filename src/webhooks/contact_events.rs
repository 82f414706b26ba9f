//! Which contact registry writes are webhook events: a live record for an id that was not live
//! is `contact.created`, one for a live id `contact.updated`, a merge pointer
//! `contact.merged` (`{contact_id, into}`), a deletion `contact.deleted`. Events of one contact
//! share an ordering key. Pure: the caller passes which ids were live before the write.

use serde_json::json;

use super::event::EventKind;
use super::outlet::Outlet;
use crate::contacts::model::Stored;
use crate::store::Record;

/// The outbox records for `writes` (id, what it is now), `was_live(id)` telling whether the id
/// was a live contact before; empty when no endpoint wants contact events.
pub fn of_writes(
    outlet: &Outlet,
    writes: &[(u64, Stored)],
    was_live: impl Fn(u64) -> bool,
) -> Vec<Record> {
    writes
        .iter()
        .filter_map(|(id, stored)| {
            let (kind, data) = match stored {
                Stored::Live(contact) if was_live(*id) => (
                    EventKind::ContactUpdated,
                    json!({"contact_id": id, "version": contact.version}),
                ),
                Stored::Live(contact) => (
                    EventKind::ContactCreated,
                    json!({"contact_id": id, "version": contact.version}),
                ),
                Stored::Merged { into, .. } => (
                    EventKind::ContactMerged,
                    json!({"contact_id": id, "into": into}),
                ),
                Stored::Deleted { .. } => (EventKind::ContactDeleted, json!({"contact_id": id})),
            };
            outlet.event(kind, None, Some(format!("contact:{id}")), || data)
        })
        .collect()
}
