//! The emitting side: what shards, consents and contacts call to put an event into the outbox.
//! [`Outlet::event`] gives the store record to submit with the change it reports (so it is
//! committed in the same transaction), or nothing when no enabled endpoint wants that type on
//! that line — no endpoint, no write. The store hands every durable batch's events, numbered, to
//! [`Outlet::publish`], which passes them to the delivery tasks in memory (a task that misses
//! some reads them from the outbox). Never blocks, never does I/O.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::mpsc;

use super::event::{EventKind, OutboxEvent};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Record;
use crate::sync::Mutex;

/// Durable events, numbered, in order, as the delivery tasks receive them.
pub use crate::store::Events as EventBatch;

/// Batches a delivery task may have waiting; beyond, it reads the outbox instead.
const SUBSCRIBER_BATCHES_MAX: usize = 4_096;

/// One enabled endpoint's filter.
#[derive(Debug, Default)]
struct Filter {
    mask: u32,
    lines: Option<Vec<String>>,
}

/// What the enabled endpoints subscribe to.
#[derive(Debug, Default)]
struct Subscriptions {
    /// Every type some endpoint wants.
    mask: u32,
    filters: Vec<Filter>,
}

impl Subscriptions {
    fn of(config: &Config) -> Subscriptions {
        let filters: Vec<Filter> = config
            .webhooks
            .iter()
            .filter(|h| h.enabled)
            .map(|h| Filter {
                mask: h
                    .events
                    .iter()
                    .filter_map(|e| EventKind::parse(e))
                    .fold(0, |m, k| m | k.bit()),
                lines: h.lines.clone(),
            })
            .collect();
        Subscriptions {
            mask: filters.iter().fold(0, |m, f| m | f.mask),
            filters,
        }
    }
}

/// Where events enter the outbox.
pub struct Outlet {
    subs: ArcSwap<Subscriptions>,
    subscribers: Mutex<Vec<mpsc::Sender<EventBatch>>>,
    clock: Arc<dyn Clock>,
}

impl Outlet {
    pub fn new(config: &Config, clock: Arc<dyn Clock>) -> Outlet {
        Outlet {
            subs: ArcSwap::from_pointee(Subscriptions::of(config)),
            subscribers: Mutex::new(Vec::new()),
            clock,
        }
    }

    /// Takes the subscriptions of `config` (after an admin change).
    pub fn reconfigure(&self, config: &Config) {
        self.subs.store(Arc::new(Subscriptions::of(config)));
    }

    /// Whether some enabled endpoint wants `kind` on some line, or (`None`) any type at all: a
    /// cheap first check before an event's data is made.
    pub fn wants_any(&self, kind: Option<EventKind>) -> bool {
        let mask = self.subs.load().mask;
        match kind {
            Some(kind) => mask & kind.bit() != 0,
            None => mask != 0,
        }
    }

    /// Whether some enabled endpoint wants `kind` on `line`.
    pub fn wants(&self, kind: EventKind, line: Option<&str>) -> bool {
        let subs = self.subs.load();
        if subs.mask & kind.bit() == 0 {
            return false;
        }
        subs.filters.iter().any(|f| {
            f.mask & kind.bit() != 0
                && match (&f.lines, line) {
                    (Some(lines), Some(line)) => lines.iter().any(|l| l == line),
                    _ => true,
                }
        })
    }

    /// The outbox record of event `kind` (ordered by `order`, data from `data`), or `None` when
    /// nobody wants it. Submit it with the change it reports: once that is durable, the store
    /// numbers it and hands it to [`Outlet::publish`].
    pub fn event<D: serde::Serialize>(
        &self,
        kind: EventKind,
        line: Option<&str>,
        order: Option<String>,
        data: impl FnOnce() -> D,
    ) -> Option<Record> {
        if !self.wants(kind, line) {
            return None;
        }
        let event = OutboxEvent::new(kind, line, order, self.clock.now_ms(), data());
        Some(Record::WebhookEvent(event.encode()))
    }

    /// Passes durable events (numbered, in order) to every delivery task, without waiting: a
    /// task whose queue is full misses them and reads them from the outbox.
    pub fn publish(&self, batch: &EventBatch) {
        let mut subscribers = self.subscribers.lock();
        subscribers.retain(|tx| !tx.is_closed());
        for tx in subscribers.iter() {
            let _ = tx.try_send(batch.clone());
        }
    }

    /// A queue of the durable events published from now on.
    pub fn subscribe(&self) -> mpsc::Receiver<EventBatch> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BATCHES_MAX);
        self.subscribers.lock().push(tx);
        rx
    }
}
