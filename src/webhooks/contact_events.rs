//! Which contact registry writes are webhook events: a live record for an id that was not live
//! is `contact.created`, one for a live id `contact.updated`, a merge pointer
//! `contact.merged` (`{contact_id, into}`), a deletion `contact.deleted`. Events of one contact
//! share an ordering key. Pure: the caller says whether the id was live before the write.

use serde_json::json;

use super::event::EventKind;
use super::outlet::Outlet;
use crate::contacts::model::Stored;
use crate::store::Record;

/// The outbox record for writing `stored` under `id`, or `None` when no endpoint wants it.
pub fn of_write(outlet: &Outlet, id: u64, stored: &Stored, was_live: bool) -> Option<Record> {
    let (kind, data) = match stored {
        Stored::Live(contact) if was_live => (
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
}
