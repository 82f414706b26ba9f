//! What a worker writes back to the store: delivery rows and the advancing cursor, queued and
//! submitted together (a submission wakes the store's writer, which the chat path waits for),
//! and the admin API's requests, answered once what they depend on is stored.

use std::time::Duration;

use super::{Control, State, Worker};
use crate::store::Record;
use crate::webhooks::delivery::Delivery;

/// Queued writes go to the store at most this often (ms)...
const WRITES_EVERY_MS: u64 = 10;
/// ...or as soon as this many are queued.
const WRITES_MAX: usize = 256;

impl Worker {
    /// The store row of `delivery` (event `seq` to this endpoint).
    pub(super) fn delivery_record(&self, seq: u64, delivery: &Delivery) -> Record {
        Record::WebhookDelivery {
            endpoint: self.endpoint.config.id.clone(),
            seq,
            bytes: delivery.encode(),
        }
    }

    /// Submits the queued delivery rows and cursor in one submission, without waiting (a lost
    /// write only means an event is sent again after a restart), once [`WRITES_EVERY_MS`] has
    /// passed since the last or [`WRITES_MAX`] are queued. Returns how soon to look again when
    /// some stay queued.
    pub(super) fn flush_writes(&self, st: &mut State) -> Option<Duration> {
        if st.writes.is_empty() {
            return None;
        }
        let now = self.clock.now_ms();
        // A wall clock set back leaves `writes_at_ms` far ahead: that counts as due.
        let due_in = st.writes_at_ms.saturating_sub(now);
        if due_in > 0 && due_in <= WRITES_EVERY_MS && st.writes.len() < WRITES_MAX {
            return Some(Duration::from_millis(due_in));
        }
        st.writes_at_ms = now + WRITES_EVERY_MS;
        let writes = std::mem::take(&mut st.writes);
        let _ = self.store.submit(writes, Box::new(|_| {}));
        None
    }

    /// Answers the admin API: a retry by hand once its mark is stored, the held deliveries once
    /// every queued outcome is.
    pub(super) fn on_control(&self, st: &mut State, control: Control) {
        match control {
            Control::Retry(seq, answer) => {
                if !self.retry(st, seq) {
                    let _ = answer.send(false);
                    return;
                }
                // Answered once the retry's mark is durable: an accepted retry survives a crash.
                let writes = std::mem::take(&mut st.writes);
                let done = Box::new(move |r: Result<u64, _>| {
                    let _ = answer.send(r.is_ok());
                });
                // A refused submission drops `answer`: the caller hears the task is not running.
                let _ = self.store.submit(writes, done);
            }
            Control::Pending(answer) => {
                let mut pending: Vec<(u64, Delivery)> = st
                    .held
                    .iter()
                    .map(|(seq, h)| (*seq, h.delivery.clone()))
                    .collect();
                pending.sort_by_key(|(seq, _)| *seq);
                // Answered once the queued rows are durable, so that the stored deliveries read
                // after it hold every outcome this task knew of when asked.
                let writes = std::mem::take(&mut st.writes);
                if writes.is_empty() {
                    let _ = answer.send(pending);
                    return;
                }
                let done = Box::new(move |_: Result<u64, _>| {
                    let _ = answer.send(pending);
                });
                // A refused submission drops `answer`: the caller hears the task is not running.
                let _ = self.store.submit(writes, done);
            }
        }
    }
}
