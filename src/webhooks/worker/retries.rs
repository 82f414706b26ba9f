//! Deliveries retried by hand: held again in a lane of their own and marked in the store until
//! they settle, so a restart resumes them although the endpoint's cursor is past them.

use super::{Held, State, Worker, RETRY_LANE};
use crate::store::Record;
use crate::webhooks::delivery::{Delivery, Status};
use crate::webhooks::event::OutboxEvent;

impl Worker {
    /// Holds again the deliveries retried by hand that had not settled before a restart (the
    /// cursor is past them); forgets the marks of those whose event is gone.
    pub(super) fn resume_retries(&self, st: &mut State) {
        let id = &self.endpoint.config.id;
        for seq in self.store.webhook_retries(id).unwrap_or_default() {
            if !self.retry(st, seq) {
                st.writes.push(self.retry_mark(seq, false));
            }
        }
    }

    pub(super) fn retry_mark(&self, seq: u64, pending: bool) -> Record {
        Record::WebhookRetry {
            endpoint: self.endpoint.config.id.clone(),
            seq,
            pending,
        }
    }

    /// Holds a failed delivery again, due now (in its own lane, after what is held), marked in
    /// the store until it settles.
    pub(super) fn retry(&self, st: &mut State, seq: u64) -> bool {
        if st.held.contains_key(&seq) {
            return true;
        }
        let id = &self.endpoint.config.id;
        let stored = self.store.webhook_delivery(id, seq).ok().flatten();
        let Some(mut delivery) = stored.as_deref().and_then(Delivery::decode) else {
            return false;
        };
        let event = self.store.webhook_event(seq).ok().flatten();
        let Some(event) = event.as_deref().and_then(OutboxEvent::decode) else {
            return false;
        };
        delivery.status = Status::Pending;
        delivery.next_at_ms = Some(self.clock.now_ms());
        delivery.reason = None;
        let lane = format!("{RETRY_LANE}{seq}");
        st.writes.push(self.retry_mark(seq, true));
        st.writes.push(self.delivery_record(seq, &delivery));
        st.lanes.entry(lane.clone()).or_default().push_back(seq);
        st.due.insert((self.clock.now_ms(), seq));
        st.held.insert(
            seq,
            Held {
                body: event.body.into(),
                // A manual retry gets a full max_age from now.
                created_ms: self.clock.now_ms(),
                lane,
                delivery,
            },
        );
        true
    }
}
