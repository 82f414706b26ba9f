//! Webhooks: lifecycle events POSTed to the systems around the contact center, signed the
//! Standard Webhooks way, durable until delivered.
//!
//! - `event`: type names and the outbox record (`{type, timestamp, data}` body).
//! - `outlet`: the emitting side; gives the store record to commit with the change it reports.
//! - `signing`: `whsec_` secrets and `v1,` signatures; `address`: the private-address guard.
//! - `client`: one signed attempt over HTTP; `retry`: verdicts, backoff, `Retry-After`.
//! - `delivery`: one event's delivery to one endpoint (state and attempts) as stored.
//! - `worker`: one task per enabled endpoint, reading the outbox; `stats`: its `/metrics`.
//! - `thread`: the lower-priority thread all of these tasks run on.
//!
//! Guarantees: an event is in the store's outbox table in the same transaction as the change it
//! reports, and no worker reads it before that transaction is committed (workers read committed
//! state only), so nothing is sent before its commit; every event is sent until delivered,
//! failed for good or older than `max_age`, across restarts (at-least-once, `webhook-id`
//! stable); one endpoint gets a dialog's events in order; endpoints never wait for each other
//! and shards never wait for any of them.

pub mod address;
pub mod client;
pub mod contact_events;
pub mod delivery;
pub mod dialog_events;
pub mod event;
pub mod outlet;
mod prune;
pub mod retry;
pub mod signing;
mod stats;
mod thread;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::config::{Config, WebhookConfig};
use crate::store::{Record, Store};
use crate::sync::Mutex;
use delivery::Delivery;
use event::{EventKind, OutboxEvent};
use signing::Secrets;
use stats::EndpointStats;
use thread::DeliveryThread;
use worker::{Control, Worker};

/// How long events are kept without a running endpoint (the default `max_age`).
const DEFAULT_KEEP_MS: u64 = 3 * 24 * 3600 * 1000;

/// The `webhook-id` of outbox event `seq` of the outbox with random id `instance`: the same for
/// every try, different for every event of every data directory (`msg_<instance hex>_<seq>`).
pub fn message_id(instance: u64, seq: u64) -> String {
    format!("msg_{instance:016x}_{seq}")
}

/// One configured endpoint, its secrets decoded.
pub struct Endpoint {
    pub config: WebhookConfig,
    pub secrets: Secrets,
    mask: u32,
}

impl Endpoint {
    /// `None` for a config whose secret does not parse (validation refuses those).
    pub fn new(config: WebhookConfig) -> Option<Endpoint> {
        let secrets = Secrets::parse(&config.secret).ok()?;
        let mask = config
            .events
            .iter()
            .filter_map(|e| EventKind::parse(e))
            .fold(0, |m, k| m | k.bit());
        Some(Endpoint {
            config,
            secrets,
            mask,
        })
    }

    /// Whether this endpoint takes `event` (its type, and its line if it filters lines).
    pub fn wants(&self, event: &OutboxEvent) -> bool {
        let Some(kind) = EventKind::parse(&event.kind) else {
            return false;
        };
        if self.mask & kind.bit() == 0 {
            return false;
        }
        match (&self.config.lines, &event.line) {
            (Some(lines), Some(line)) => lines.contains(line),
            _ => true,
        }
    }
}

/// A running endpoint task.
struct Running {
    endpoint: Arc<Endpoint>,
    control: mpsc::UnboundedSender<Control>,
    task: tokio::task::JoinHandle<()>,
    stats: Arc<EndpointStats>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why a request about an endpoint's deliveries could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook \"{0}\" is not running (unknown or disabled)")]
    NotRunning(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What [`Webhooks::start`] set up.
struct Started {
    store: Store,
    client: reqwest::Client,
    thread: DeliveryThread,
}

/// The outlet and every endpoint's delivery task.
pub struct Webhooks {
    pub outlet: Arc<outlet::Outlet>,
    clock: Arc<dyn Clock>,
    allow_private: bool,
    started: OnceLock<Started>,
    running: Mutex<HashMap<String, Running>>,
}

impl Webhooks {
    pub fn new(config: &Config, clock: Arc<dyn Clock>) -> Webhooks {
        Webhooks {
            outlet: Arc::new(outlet::Outlet::new(config, clock.clone())),
            clock,
            allow_private: config.server.webhooks_allow_private,
            started: OnceLock::new(),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Starts the delivery thread, a task on it per enabled endpoint of `config`, and the
    /// pruning of old events (until `self` is dropped).
    pub fn start(self: &Arc<Self>, store: Store, config: &Config) -> Result<(), String> {
        let client = client::build(self.allow_private).map_err(|e| e.to_string())?;
        let thread = DeliveryThread::start()
            .map_err(|e| format!("cannot start the webhook delivery thread: {e}"))?;
        let pruning = thread.handle().clone();
        let outlet = self.outlet.clone();
        store.listen_events(Arc::new(move |events| outlet.publish(events)));
        let started = Started {
            store,
            client,
            thread,
        };
        let _ = self.started.set(started);
        self.reconcile(config);
        let weak = Arc::downgrade(self);
        pruning.spawn(async move {
            loop {
                tokio::time::sleep(prune::PRUNE_EVERY).await;
                let Some(webhooks) = weak.upgrade() else {
                    return;
                };
                webhooks.prune_old();
            }
        });
        Ok(())
    }

    /// Deletes events every running endpoint has settled and older than the longest max_age.
    fn prune_old(&self) {
        let Some(Started { store, .. }) = self.started.get() else {
            return;
        };
        let (settled, keep_ms) = {
            let running = self.running.lock();
            let settled = running.values().map(|r| r.stats.cursor()).min();
            let keep = running
                .values()
                .map(|r| r.endpoint.config.max_age.as_ms())
                .max();
            (settled, keep)
        };
        let settled = match settled {
            Some(cursor) => cursor,
            // No endpoint runs: nothing will read what is there.
            None => store.webhook_last_seq().unwrap_or(0),
        };
        let cutoff = self
            .clock
            .now_ms()
            .saturating_sub(keep_ms.unwrap_or(DEFAULT_KEEP_MS));
        if let Some(seq) = prune::prunable(store, settled, cutoff) {
            prune::prune(store, seq);
        }
    }

    /// Takes `config`'s endpoints: new and changed ones (re)start, removed and disabled ones
    /// stop and forget their cursor (enabled again, they start from the newest event).
    pub fn reconfigure(&self, config: &Config) {
        self.outlet.reconfigure(config);
        self.reconcile(config);
    }

    fn reconcile(&self, config: &Config) {
        let Some(Started {
            store,
            client,
            thread,
        }) = self.started.get()
        else {
            return;
        };
        let mut running = self.running.lock();
        let wanted: HashMap<&str, &WebhookConfig> = config
            .webhooks
            .iter()
            .filter(|h| h.enabled)
            .map(|h| (h.id.as_str(), h))
            .collect();
        running.retain(|id, run| {
            let keep = wanted.get(id.as_str()) == Some(&&run.endpoint.config);
            if !wanted.contains_key(id.as_str()) {
                let forget = Record::WebhookCursor {
                    endpoint: id.clone(),
                    seq: None,
                };
                let _ = store.submit(vec![forget], Box::new(|_| {}));
            }
            keep
        });
        for (id, hook) in wanted {
            if running.contains_key(id) {
                continue;
            }
            let Some(endpoint) = Endpoint::new(hook.clone()) else {
                continue;
            };
            let endpoint = Arc::new(endpoint);
            let (control, receiver) = mpsc::unbounded_channel();
            let stats = Arc::new(EndpointStats::default());
            let worker = Worker {
                start: worker::initial_cursor(store, id),
                endpoint: endpoint.clone(),
                store: store.clone(),
                client: client.clone(),
                clock: self.clock.clone(),
                stats: stats.clone(),
                commits: self.outlet.subscribe(),
                control: receiver,
            };
            let task = thread.handle().spawn(worker.run());
            let run = Running {
                endpoint,
                control,
                task,
                stats,
            };
            running.insert(id.to_string(), run);
        }
    }

    fn control(&self, id: &str, control: Control) -> Result<(), WebhookError> {
        let running = self.running.lock();
        let run = running
            .get(id)
            .ok_or_else(|| WebhookError::NotRunning(id.into()))?;
        run.control
            .send(control)
            .map_err(|_| WebhookError::NotRunning(id.into()))
    }

    /// The deliveries held for `id` now (pending), by event seq.
    pub async fn pending(&self, id: &str) -> Result<Vec<(u64, Delivery)>, WebhookError> {
        let (tx, rx) = oneshot::channel();
        self.control(id, Control::Pending(tx))?;
        rx.await.map_err(|_| WebhookError::NotRunning(id.into()))
    }

    /// The outbox's random id (see [`message_id`]); 0 before the first event.
    pub fn instance(&self) -> u64 {
        match self.started.get() {
            Some(Started { store, .. }) => store.webhook_instance().unwrap_or(0),
            None => 0,
        }
    }

    /// Stored deliveries to `id` with seq below `before`, newest first.
    pub fn stored(
        &self,
        id: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Delivery)>, WebhookError> {
        let Some(Started { store, .. }) = self.started.get() else {
            return Ok(Vec::new());
        };
        let rows = store.webhook_deliveries(id, before, limit)?;
        Ok(rows
            .into_iter()
            .filter_map(|(seq, bytes)| Some((seq, Delivery::decode(&bytes)?)))
            .collect())
    }

    /// Tries the stored delivery `seq` to `id` again; `false` when there is no such delivery
    /// or its event is gone.
    pub async fn retry(&self, id: &str, seq: u64) -> Result<bool, WebhookError> {
        let (tx, rx) = oneshot::channel();
        self.control(id, Control::Retry(seq, tx))?;
        rx.await.map_err(|_| WebhookError::NotRunning(id.into()))
    }

    /// Sends a signed `webhook.test` event to `hook` now (not through the outbox) and returns
    /// the attempt.
    pub async fn test(&self, hook: &WebhookConfig) -> Result<client::Attempt, String> {
        let secrets = Secrets::parse(&hook.secret)?;
        let client = match self.started.get() {
            Some(started) => started.client.clone(),
            None => client::build(self.allow_private).map_err(|e| e.to_string())?,
        };
        let now = self.clock.now_ms();
        let body = serde_json::json!({
            "type": "webhook.test",
            "timestamp": event::timestamp(now),
            "data": {"webhook": hook.id},
        });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let id = format!("msg_test_{}", crate::hub::random_hex());
        let url = hook.url.clone();
        let timeout = Duration::from_millis(hook.timeout.as_ms());
        let send = async move {
            let message = client::Message {
                url: &url,
                id: &id,
                body: &body,
            };
            client::send(&client, &secrets, message, timeout, now).await
        };
        match self.started.get() {
            Some(started) => started
                .thread
                .handle()
                .spawn(send)
                .await
                .map_err(|e| format!("the test request did not finish: {e}")),
            None => Ok(send.await),
        }
    }

    /// Adds every running endpoint's figures to `scrape`.
    pub fn scrape(&self, scrape: &mut crate::metrics::Scrape) {
        let running = self.running.lock();
        let mut ids: Vec<&String> = running.keys().collect();
        ids.sort();
        for id in ids {
            running[id].stats.scrape(id, scrape);
        }
    }
}
