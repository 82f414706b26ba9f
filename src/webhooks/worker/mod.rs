//! One endpoint's delivery task: takes the events published as they become durable (and reads
//! the outbox after the endpoint's cursor for what it missed or had no room for), keeps the events
//! it wants in lanes by ordering key (one dialog = one lane), sends each lane's head (at most
//! `concurrency` requests at once), retries with backoff, and writes every outcome and the
//! advancing cursor back to the store (`writes`: together, every few milliseconds).
//!
//! Invariants: within a lane, an event is not sent before the one ahead of it is settled
//! (delivered or failed), so one endpoint gets a dialog's events in order; a lane waiting for a
//! retry holds up only itself. The cursor only moves past settled events, so after a restart
//! every unsettled event is read again (at-least-once). This task never blocks a shard: it only
//! reads the store and submits without waiting.

mod retries;
mod writes;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::client::{self, Attempt, Message};
use super::delivery::{Delivery, Status};
use super::event::OutboxEvent;
use super::outlet::EventBatch;
use super::retry::{classify, next_try_ms, Verdict};
use super::stats::EndpointStats;
use super::Endpoint;
use crate::clock::Clock;
use crate::store::{Record, Store};

use crate::config::bounds::WEBHOOK_HELD_EVENTS_MAX as HELD_EVENTS_MAX;
/// Events read from the outbox per read.
const READ_BATCH: usize = 512;
/// How often the outbox depth and oldest age are recomputed.
const STATS_EVERY_MS: u64 = 250;
/// The lane of a delivery retried by hand is this and its event seq.
const RETRY_LANE: &str = "retry:";
/// How often the outbox is looked at while the database lacks events already published.
const CATCH_UP_POLL: Duration = Duration::from_millis(2);
/// The longest wait without looking at the outbox or the clock.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// What the admin API asks of a running worker.
pub enum Control {
    /// Try a failed delivery again; answers whether the event was still there.
    Retry(u64, oneshot::Sender<bool>),
    /// The deliveries held (pending), by event seq; answered once every outcome known so far is
    /// stored.
    Pending(oneshot::Sender<Vec<(u64, Delivery)>>),
}

/// An event held for delivery.
struct Held {
    body: Arc<[u8]>,
    created_ms: u64,
    lane: String,
    delivery: Delivery,
}

pub(super) struct Worker {
    pub endpoint: Arc<Endpoint>,
    pub store: Store,
    pub client: reqwest::Client,
    pub clock: Arc<dyn Clock>,
    pub stats: Arc<EndpointStats>,
    /// Durable events as the store numbers them, straight from the commit.
    pub commits: mpsc::Receiver<EventBatch>,
    pub control: mpsc::UnboundedReceiver<Control>,
    /// Where to start, if the caller knew it (else read, or set, at the task's start).
    pub start: Option<u64>,
}

struct State {
    /// The outbox's random id, for `webhook-id`s.
    instance: u64,
    read_upto: u64,
    /// The newest event published to this task (it may have skipped some: a gap, no room).
    published_upto: u64,
    /// The newest event when this task started: only events up to it can have delivery rows
    /// from before (later ones are this task's own).
    recovered_upto: u64,
    /// Store records (delivery rows, the cursor) to submit together, at `writes_at_ms`.
    writes: Vec<Record>,
    /// When queued writes go to the store at the latest.
    writes_at_ms: u64,
    /// When the outbox figures were last updated (they cost a pass over the held events).
    stats_at_ms: u64,
    /// When the outbox is looked at next whatever else happens (events missed in memory are
    /// read then at the latest).
    look_at_ms: u64,
    cursor: u64,
    unsettled: BTreeSet<u64>,
    lanes: HashMap<String, VecDeque<u64>>,
    /// Lane heads not in flight, by when they are due: `(due ms, seq)`.
    due: BTreeSet<(u64, u64)>,
    /// New events may be in the outbox (a commit was announced, time passed, room was made).
    outbox_dirty: bool,
    held: HashMap<u64, Held>,
    in_flight: usize,
    results: mpsc::UnboundedSender<(u64, Attempt)>,
}

impl Worker {
    /// Runs until aborted.
    pub async fn run(mut self) {
        let start = match self.start {
            Some(cursor) => Some(cursor),
            None => self.start_cursor().await,
        };
        let Some(cursor) = start else {
            return;
        };
        let (results, mut finished) = mpsc::unbounded_channel();
        self.stats.set_cursor(cursor);
        let recovered_upto = self.store.webhook_last_seq().unwrap_or(u64::MAX);
        let mut st = State {
            // Set when the store was opened (0 only if this read fails; `refill` tries again).
            instance: self.store.webhook_instance().unwrap_or(0),
            read_upto: cursor,
            published_upto: cursor,
            recovered_upto,
            writes: Vec::new(),
            writes_at_ms: 0,
            stats_at_ms: 0,
            look_at_ms: 0,
            cursor,
            unsettled: BTreeSet::new(),
            lanes: HashMap::new(),
            due: BTreeSet::new(),
            outbox_dirty: true,
            held: HashMap::new(),
            in_flight: 0,
            results,
        };
        self.resume_retries(&mut st);
        loop {
            // However busy the other branches keep this loop, the outbox is looked at every
            // IDLE_WAIT.
            let now = self.clock.now_ms();
            if now >= st.look_at_ms {
                st.outbox_dirty = true;
                st.look_at_ms = now + IDLE_WAIT.as_millis() as u64;
            }
            // The outbox is read without waiting for the database to catch up with the journal
            // (a checkpoint never blocks this thread); events published but not in the database
            // yet are read again shortly.
            let catching_up = std::mem::take(&mut st.outbox_dirty) && self.refill(&mut st);
            st.outbox_dirty |= catching_up;
            self.advance_cursor(&mut st);
            let mut wait = self.launch(&mut st);
            if catching_up {
                wait = wait.min(CATCH_UP_POLL);
            }
            if let Some(due_in) = self.flush_writes(&mut st) {
                wait = wait.min(due_in);
            }
            tokio::select! {
                Some((seq, attempt)) = finished.recv() => {
                    self.finish(&mut st, seq, attempt);
                    // Every other result already in: one pass for all of them.
                    while let Ok((seq, attempt)) = finished.try_recv() {
                        self.finish(&mut st, seq, attempt);
                    }
                }
                batch = self.commits.recv() => {
                    let Some(batch) = batch else {
                        return;
                    };
                    self.take_published(&mut st, &batch);
                    while let Ok(batch) = self.commits.try_recv() {
                        self.take_published(&mut st, &batch);
                    }
                }
                Some(control) = self.control.recv() => self.on_control(&mut st, control),
                _ = tokio::time::sleep(wait) => st.outbox_dirty = true,
            }
        }
    }

    /// The cursor to start from when the caller could not read it ([`initial_cursor`]): tried
    /// again every [`IDLE_WAIT`] until the store answers or stops.
    async fn start_cursor(&self) -> Option<u64> {
        let id = &self.endpoint.config.id;
        loop {
            if let Some(cursor) = initial_cursor(&self.store, id) {
                return Some(cursor);
            }
            eprintln!("switchboard: webhook {id}: cannot read the outbox's cursor");
            if self.store.health().is_err() {
                return None;
            }
            tokio::time::sleep(IDLE_WAIT).await;
        }
    }

    /// Reads events after `read_upto` while fewer than [`HELD_EVENTS_MAX`] are held. Returns
    /// whether events published to this task are still missing from the database (it has not
    /// applied them yet), with room to hold them.
    fn refill(&self, st: &mut State) -> bool {
        while st.held.len() < HELD_EVENTS_MAX {
            let events = match self
                .store
                .webhook_events_applied_after(st.read_upto, READ_BATCH)
            {
                Ok(events) => events,
                Err(_) => return false,
            };
            let count = events.len();
            if st.instance == 0 && count > 0 {
                // Set at the store's open: read again only if the read at start failed.
                st.instance = self.store.webhook_instance().unwrap_or(0);
            }
            for (seq, bytes) in events {
                st.read_upto = seq;
                if let Some(event) = OutboxEvent::decode(&bytes) {
                    self.take(st, seq, event);
                }
            }
            if count < READ_BATCH {
                return st.read_upto < st.published_upto && st.held.len() < HELD_EVENTS_MAX;
            }
        }
        false
    }

    /// Takes published events that follow what was read; a gap (events this task missed or has
    /// not read yet) or no room leaves the rest to a read of the outbox.
    fn take_published(&self, st: &mut State, batch: &[(u64, Arc<[u8]>)]) {
        if let Some((last, _)) = batch.last() {
            st.published_upto = st.published_upto.max(*last);
        }
        for (seq, bytes) in batch {
            if *seq <= st.read_upto {
                continue;
            }
            if *seq != st.read_upto + 1 || st.instance == 0 || st.held.len() >= HELD_EVENTS_MAX {
                st.outbox_dirty = true;
                return;
            }
            st.read_upto = *seq;
            if let Some(event) = OutboxEvent::decode(bytes) {
                self.take(st, *seq, event);
            }
        }
    }

    /// Holds `event` if this endpoint wants it and has not settled it before a restart.
    fn take(&self, st: &mut State, seq: u64, event: OutboxEvent) {
        if !self.endpoint.wants(&event) {
            return;
        }
        let id = &self.endpoint.config.id;
        let stored = match seq <= st.recovered_upto {
            true => self.store.webhook_delivery(id, seq).ok().flatten(),
            false => None,
        };
        let delivery = match stored.as_deref().and_then(Delivery::decode) {
            Some(d) if d.status != Status::Pending => return,
            Some(d) => d,
            None => Delivery::new(&event.kind, self.clock.now_ms()),
        };
        let lane = event
            .order
            .clone()
            .unwrap_or_else(|| format!("event:{seq}"));
        let queue = st.lanes.entry(lane.clone()).or_default();
        queue.push_back(seq);
        if queue.len() == 1 {
            st.due.insert((delivery.next_at_ms.unwrap_or(0), seq));
        }
        st.unsettled.insert(seq);
        st.held.insert(
            seq,
            Held {
                body: event.body.into(),
                created_ms: event.created_ms,
                lane,
                delivery,
            },
        );
    }

    /// Moves the cursor past every settled event and stores it (without waiting).
    fn advance_cursor(&self, st: &mut State) {
        let settled_upto = match st.unsettled.first() {
            Some(first) => first.saturating_sub(1),
            None => st.read_upto,
        };
        if settled_upto > st.cursor {
            st.cursor = settled_upto;
            self.stats.set_cursor(settled_upto);
            let record = Record::WebhookCursor {
                endpoint: self.endpoint.config.id.clone(),
                seq: Some(settled_upto),
            };
            st.writes.push(record);
        }
        let now = self.clock.now_ms();
        if now.saturating_sub(st.stats_at_ms) >= STATS_EVERY_MS {
            st.stats_at_ms = now;
            let oldest = st.held.values().map(|h| h.created_ms).min();
            self.stats
                .set_outbox(st.held.len(), oldest.map_or(0, |o| now.saturating_sub(o)));
        }
    }

    /// Starts due lane heads while below the concurrency bound; returns how long to wait for
    /// the next due one (or for a result, at the bound).
    fn launch(&self, st: &mut State) -> Duration {
        let now = self.clock.now_ms();
        let concurrency = self.endpoint.config.concurrency as usize;
        while st.in_flight < concurrency {
            let Some(&(at, seq)) = st.due.first() else {
                break;
            };
            if at > now {
                break;
            }
            st.due.pop_first();
            if let Some(h) = st.held.get(&seq) {
                st.in_flight += 1;
                let id = super::message_id(st.instance, seq);
                self.spawn_attempt(id, seq, h.body.clone(), now, st.results.clone());
            }
        }
        let idle = IDLE_WAIT.as_millis() as u64;
        let next_due = match st.due.first() {
            // At the bound, a result wakes the task.
            Some((at, _)) if st.in_flight < concurrency => at.saturating_sub(now).max(1),
            _ => idle,
        };
        Duration::from_millis(next_due.min(idle))
    }

    fn spawn_attempt(
        &self,
        id: String,
        seq: u64,
        body: Arc<[u8]>,
        now: u64,
        results: mpsc::UnboundedSender<(u64, Attempt)>,
    ) {
        let endpoint = self.endpoint.clone();
        let client = self.client.clone();
        tokio::spawn(async move {
            let message = Message {
                url: &endpoint.config.url,
                id: &id,
                body: &body,
            };
            let timeout = Duration::from_millis(endpoint.config.timeout.as_ms());
            let attempt = client::send(&client, &endpoint.secrets, message, timeout, now).await;
            let _ = results.send((seq, attempt));
        });
    }

    /// Notes an attempt's outcome: settles the event, or schedules its next try.
    fn finish(&self, st: &mut State, seq: u64, attempt: Attempt) {
        st.in_flight = st.in_flight.saturating_sub(1);
        let Some(h) = st.held.get_mut(&seq) else {
            return;
        };
        let now = self.clock.now_ms();
        let verdict = classify(attempt.status);
        self.stats.attempted(&attempt, verdict);
        let retry_after = attempt.retry_after_ms;
        let tries = h.delivery.tries.saturating_add(1);
        let what = describe(&attempt);
        h.delivery.record(attempt);
        let max_age = self.endpoint.config.max_age.as_ms();
        let next = match verdict {
            Verdict::Delivered => None,
            Verdict::Permanent => {
                h.delivery.reason = Some(format!("permanent failure: {what}"));
                None
            }
            Verdict::Retry => {
                let next = next_try_ms(now, h.created_ms, tries, retry_after, max_age, random());
                if next.is_none() {
                    h.delivery.reason = Some(format!("too old to retry; last: {what}"));
                }
                next
            }
        };
        h.delivery.next_at_ms = next;
        h.delivery.status = match (verdict, next) {
            (Verdict::Delivered, _) => Status::Delivered,
            (Verdict::Retry, Some(_)) => Status::Pending,
            _ => Status::Failed,
        };
        st.writes.push(self.delivery_record(seq, &h.delivery));
        match next {
            Some(at) if h.delivery.status == Status::Pending => {
                st.due.insert((at, seq));
            }
            _ => self.settle(st, seq),
        }
    }

    /// Forgets a settled event and makes the next of its lane due.
    fn settle(&self, st: &mut State, seq: u64) {
        let Some(h) = st.held.remove(&seq) else {
            return;
        };
        self.stats.settled(h.delivery.status);
        if h.lane.starts_with(RETRY_LANE) {
            st.writes.push(self.retry_mark(seq, false));
        }
        if st.held.len() + 1 >= HELD_EVENTS_MAX {
            // Room again: read on in the outbox.
            st.outbox_dirty = true;
        }
        st.unsettled.remove(&seq);
        let Some(queue) = st.lanes.get_mut(&h.lane) else {
            return;
        };
        queue.retain(|s| *s != seq);
        match queue.front() {
            Some(next) => {
                let at = st.held.get(next).and_then(|n| n.delivery.next_at_ms);
                st.due.insert((at.unwrap_or(0), *next));
            }
            None => {
                st.lanes.remove(&h.lane);
            }
        }
    }
}

/// An attempt's outcome in words.
fn describe(attempt: &Attempt) -> String {
    match (&attempt.status, &attempt.error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no response".into(),
    }
}

/// The cursor endpoint `id` starts from: its stored one, or (a new endpoint) the newest event
/// now, stored at once. Read before the task is spawned, so that an endpoint configured at start
/// misses no event committed while its task starts up (the cursor is queued for the store ahead
/// of them). `None` if the store cannot be read now.
pub(super) fn initial_cursor(store: &Store, id: &str) -> Option<u64> {
    match store.webhook_cursor(id) {
        Ok(Some(cursor)) => Some(cursor),
        Ok(None) => {
            let last = store.webhook_last_seq().ok()?;
            let record = Record::WebhookCursor {
                endpoint: id.to_string(),
                seq: Some(last),
            };
            store.submit(vec![record], Box::new(|_| {})).ok()?;
            Some(last)
        }
        Err(_) => None,
    }
}

/// A random number for jitter.
fn random() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}
