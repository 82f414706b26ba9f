//! Commit, then release: at the end of every batch the shard writes what changed (the records of
//! touched dialogs, their new messages, closings) as one store submission, and hands the batch's
//! outbox to the store's completion, so nothing is published or acknowledged before it is durable.

use super::dialog_io::DialogIo;
use super::ShardTask;
use crate::hub::Hub;
use crate::routing::{DialogId, LineIdx, Transcript};
use crate::store::records::{self, DurableDialog, LogEvent, MessageRecord};
use crate::store::{Record, StoreError};
use std::sync::atomic::Ordering;

impl ShardTask {
    /// Queues the messages of the open `dialog` not yet in the store, after letting those known
    /// durable leave memory.
    pub(super) fn save_messages(&mut self, dialog: DialogId) {
        if self.core.dialog(dialog).is_none() {
            return;
        }
        let io = self.io.entry(dialog).or_default();
        let durable = io.durable_after(self.committed.load(Ordering::Acquire));
        self.core.forget_messages(dialog, durable);
        let Some(d) = self.core.dialog(dialog) else {
            return;
        };
        let (at, transcript) = ((dialog, d.line), &d.conversation.transcript);
        let submission = self.submitted + 1;
        save_new_messages(&self.hub, &mut self.pending, at, io, transcript, submission);
    }

    /// The I/O state of a dialog leaving this shard (moved or closed), after queuing its
    /// messages not yet in the store with this batch.
    pub(super) fn take_leaving_io(
        &mut self,
        at: (DialogId, LineIdx),
        transcript: &Transcript,
    ) -> DialogIo {
        let mut io = self.io.remove(&at.0).unwrap_or_default();
        let submission = self.submitted + 1;
        save_new_messages(
            &self.hub,
            &mut self.pending,
            at,
            &mut io,
            transcript,
            submission,
        );
        self.touched.remove(&at.0);
        io
    }

    /// The durable state of an open dialog; its routing decisions only `with_decisions` (a
    /// snapshot), since the log gets them apart, when they change.
    pub(super) fn dialog_state(&self, id: DialogId, with_decisions: bool) -> Option<DurableDialog> {
        let record = self.core.dialog_record(id)?;
        let talk = &self.core.dialog(id)?.conversation;
        Some(DurableDialog {
            record,
            client: talk.client.clone(),
            operator: talk
                .operator
                .map(|op| self.hub.directory().operators[op.0 as usize].id.to_string()),
            rating: talk.rating,
            comment: talk.comment.clone(),
            supervisor_score: talk.supervisor_score,
            decisions: match self.io.get(&id) {
                Some(io) if with_decisions => io.decisions.iter().cloned().collect(),
                _ => Vec::new(),
            },
        })
    }

    /// Makes this batch durable, then releases what it produced (commit, then publish). After a
    /// failed commit nothing is released any more ([`Hub::fail`]).
    pub(super) fn flush(&mut self) {
        let arrivals = std::mem::take(&mut self.arrivals);
        let Some(store) = self.hub.store.clone() else {
            self.touched.clear();
            self.decided.clear();
            self.closed.clear();
            self.pending.clear();
            if !self.outbox.is_empty() {
                self.outbox.take().deliver(&self.hub);
            }
            record_delivery(&self.hub, &arrivals);
            return;
        };
        let records = self.batch_records();
        if records.is_empty() && self.outbox.is_empty() {
            return;
        }
        // Nothing to write (e.g. only typing previews), and every earlier batch of this shard
        // is released already: what this batch publishes rests on durable state only, so it
        // goes out now instead of queueing behind other shards' commits
        if records.is_empty() && self.in_flight.load(Ordering::Acquire) == 0 {
            self.outbox.take().deliver(&self.hub);
            return;
        }
        let released = self.outbox.take();
        let hub = self.hub.clone();
        let in_flight = self.in_flight.clone();
        in_flight.fetch_add(1, Ordering::AcqRel);
        self.submitted += 1;
        let committed = self.committed.clone();
        let logged = records
            .iter()
            .filter(|r| matches!(r, Record::Log(_)))
            .count() as u64;
        let done = Box::new(move |result: Result<u64, StoreError>| {
            match result {
                Ok(position) => {
                    committed.fetch_add(1, Ordering::AcqRel);
                    hub.committed(position, logged);
                    released.deliver(&hub);
                    record_delivery(&hub, &arrivals);
                }
                Err(e) => hub.fail(e),
            }
            in_flight.fetch_sub(1, Ordering::AcqRel);
        });
        if let Err(e) = store.submit(records, done) {
            // Its `done` never runs: not in flight
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.hub.fail(e);
        }
    }

    /// The records this batch writes: new messages, the state of every dialog it changed (unless
    /// equal to the one last written), and its closings.
    fn batch_records(&mut self) -> Vec<Record> {
        let touched = std::mem::take(&mut self.touched);
        let closed = std::mem::take(&mut self.closed);
        for id in &touched {
            self.save_messages(*id);
        }
        let mut records = std::mem::take(&mut self.pending);
        for id in touched {
            if let Some(state) = self.dialog_state(id, false) {
                let bytes = records::encode(&LogEvent::Dialog(Box::new(state)));
                // A record equal to the one last written for this dialog adds nothing (e.g. a
                // client writing again while already waiting): skip it.
                let digest = digest(&bytes);
                if self.written.insert(id, digest) != Some(digest) {
                    records.push(Record::Log(bytes));
                }
            }
        }
        // After the dialogs' records: a dialog new in this batch exists when its decisions apply.
        for id in std::mem::take(&mut self.decided) {
            if let Some(io) = self.io.get(&id) {
                let event = LogEvent::Decisions {
                    dialog: id.0,
                    decisions: io.decisions.iter().cloned().collect(),
                };
                records.push(Record::Log(records::encode(&event)));
            }
        }
        for id in closed {
            self.written.remove(&id);
            records.push(Record::Log(records::encode(&LogEvent::Closed {
                dialog: id.0,
                msg_seq_high: self.core.msg_seq_high(),
            })));
        }
        records
    }
}

/// Queues the messages of `transcript` (of `dialog`) after `io.saved` for the store with
/// submission `submission` (none without a store) and notes them saved.
/// Each message is followed by its `message.created` webhook event when an endpoint of its
/// line wants one.
fn save_new_messages(
    hub: &Hub,
    pending: &mut Vec<Record>,
    (dialog, line): (DialogId, LineIdx),
    io: &mut DialogIo,
    transcript: &Transcript,
    submission: u64,
) {
    let messages = transcript.since(io.saved);
    let Some(last) = messages.last() else {
        return;
    };
    if hub.store.is_some() {
        let dir = hub.directory();
        for m in messages {
            let record = MessageRecord::new(m, |op| dir.operators[op.0 as usize].id.to_string());
            let event = crate::webhooks::dialog_events::message_created(
                &hub.webhooks.outlet,
                &dir,
                (dialog, line),
                &record,
                m.seq,
            );
            pending.push(Record::Message {
                dialog: dialog.0,
                seq: m.seq,
                bytes: records::encode(&record),
            });
            pending.extend(event);
        }
    }
    io.queued(last.seq, submission);
}

/// Records how long each released client message took from arrival to delivery.
pub(super) fn record_delivery(hub: &Hub, arrivals: &[std::time::Instant]) {
    for arrived in arrivals {
        hub.metrics
            .delivery_us
            .record(arrived.elapsed().as_micros() as u64);
    }
}

/// A digest of a record's bytes (to notice an unchanged record; not for security).
pub(super) fn digest(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}
