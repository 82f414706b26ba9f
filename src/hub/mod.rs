//! The hub: what every session and shard task shares, and nothing else. Shard inboxes (a
//! [`Mailbox`] and a wake-up each) with `post` / `ask` / `request`; which shard owns a line or a
//! dialog (decided by `routing::placement`, the forwarding rules the tests' `Router` follows
//! too; dialogs that moved are tracked apart); the [`Directory`] of operators and lines;
//! resume tokens; the live configuration (`live_config`); start-up from the store (`start`);
//! snapshots; history retention; consent answers; and the fail-stop switch ([`Hub::fail`]).
//!
//! A session never touches routing state: it posts a [`ShardRequest`] to the shard that owns the
//! line or dialog and awaits the answer. No lock here is taken per message: the inboxes are
//! lock-free, the directory is swapped whole (`arc_swap`), and the moved-dialog map is read only
//! while a dialog has moved. Must never: hold routing state, or wait on a socket.

pub mod consents;
pub mod directory;
pub mod disk_watch;
pub mod live_config;
pub mod login_guard;
mod resume_tokens;
mod retention;
mod start;

pub use directory::{sha256, Directory};
pub use start::StartError;

/// 128 random bits as hex.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

use crate::clock::Clock;
use crate::config::bounds::{SNAPSHOT_CHECK_INTERVAL, SNAPSHOT_EVERY_LOG_RECORDS};
use crate::config::{Config, Limits};
use crate::delivery::{ClientRegistry, OperatorFeeds};
use crate::metrics::Metrics;
use crate::routing::placement::{self, FollowUp, Placement};
use crate::routing::{DialogId, LineIdx, Mailbox, OpIdx};
use crate::shard::{Refusal, ShardRequest};
use crate::store::records;
use crate::store::{Record, Store, StoreError};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{oneshot, Notify};

/// Submits `records` as one submission and waits until they are durable; returns the log
/// position after them, or why they are not stored.
async fn write_durably(store: &Store, records: Vec<Record>) -> Result<u64, StoreError> {
    let (tx, rx) = oneshot::channel();
    store.submit(
        records,
        Box::new(move |result: Result<u64, crate::store::StoreError>| {
            let _ = tx.send(result);
        }),
    )?;
    rx.await.map_err(|_| StoreError::Stopped)?
}

use resume_tokens::ResumeTokens;

/// A shard task's inbox.
pub struct ShardInbox {
    pub(crate) mailbox: Mailbox<ShardRequest>,
    pub(crate) notify: Notify,
}

/// What every session and shard task shares.
pub struct Hub {
    /// Replaced whole when the admin API changes lines, operators or quick answers.
    directory: arc_swap::ArcSwap<Directory>,
    pub feeds: OperatorFeeds,
    pub clients: ClientRegistry,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    /// Quick-answer lists by id: the configured ones plus what operators saved.
    pub quick_answers: Mutex<HashMap<String, Vec<crate::protocol::QuickAnswer>>>,
    /// The configuration as changed at run time (admin API); held while a change is made.
    live: tokio::sync::Mutex<live_config::LiveConfig>,
    /// Server-wide counters and latency histograms (`/metrics`).
    pub metrics: Arc<Metrics>,
    /// The webhook outbox's emitting side and the endpoints' delivery tasks.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// Failed logins per source address (operator hello, admin API, console reads).
    pub logins: login_guard::LoginGuard,
    /// Free space of the data directory's disk; below the minimum, new messages are refused.
    pub disk: disk_watch::DiskWatch,
    inboxes: Vec<ShardInbox>,
    /// Where dialogs that moved to another shard's line are (`routing::placement`).
    placement: Mutex<Placement>,
    /// Dialogs in `placement` away from home, readable without its lock.
    moved_count: std::sync::atomic::AtomicUsize,
    /// Where state is made durable; `None` runs in memory only (tests of routing alone).
    pub store: Option<Store>,
    /// This run's boot epoch (operator event sequences start at `epoch << 32`).
    pub epoch: u64,
    resume: Mutex<ResumeTokens>,
    committed_position: AtomicU64,
    /// Set once, by the first failed commit: from then on nothing is released (see [`Hub::fail`]).
    failure: std::sync::OnceLock<crate::store::StoreError>,
    /// Wakes whoever waits in [`Hub::failed`].
    failure_notify: Notify,
    logged_since_snapshot: AtomicU64,
}

impl Hub {
    /// Recovers the state kept in `store` (if any), builds the routing state for `config` and
    /// starts one task per shard on the current tokio runtime.
    pub fn start(
        config: &Config,
        shards: usize,
        clock: Arc<dyn Clock>,
        store: Option<Store>,
    ) -> Result<Arc<Hub>, StartError> {
        start::start(config, shards, clock, store, Arc::default())
    }

    /// [`Hub::start`] recording into `metrics` (shared with the store's commit observer).
    pub fn start_with_metrics(
        config: &Config,
        shards: usize,
        clock: Arc<dyn Clock>,
        store: Option<Store>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Hub>, StartError> {
        start::start(config, shards, clock, store, metrics)
    }

    /// The current directory (a cheap shared copy: hold it for one request, not forever).
    pub fn directory(&self) -> Arc<Directory> {
        self.directory.load_full()
    }

    /// Shard `shard`'s inbox, for its task to drain and sleep on.
    pub(crate) fn inbox(&self, shard: usize) -> &ShardInbox {
        &self.inboxes[shard]
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.inboxes.len()
    }

    /// The shard owning `line`.
    pub fn shard_of_line(&self, line: LineIdx) -> usize {
        self.directory().lines[line.0 as usize].shard
    }

    /// The shard holding `dialog` now.
    pub fn shard_of_dialog(&self, dialog: DialogId) -> usize {
        // Moves between shards are rare: skip the shared placement's lock while there are none.
        if self.moved_count.load(Ordering::Acquire) == 0 {
            return placement::home_shard(dialog, self.inboxes.len());
        }
        self.placement.lock().shard_of_dialog(dialog)
    }

    /// Notes that `dialog` is on `shard` (restored there).
    pub(crate) fn place(&self, dialog: DialogId, shard: usize) {
        let mut placement = self.placement.lock();
        placement.place(dialog, shard);
        self.moved_count.store(placement.moved(), Ordering::Release);
    }

    /// Applies what a shard's effect changes about where dialogs are (the shard task delivers
    /// the follow-up itself).
    pub(crate) fn follow(&self, follow_up: &FollowUp) {
        match follow_up {
            FollowUp::OperatorChanged { .. } => return,
            // Nothing moved: nothing to forget, and no lock taken per closed dialog.
            FollowUp::Forget { .. } if self.moved_count.load(Ordering::Acquire) == 0 => return,
            _ => {}
        }
        let mut placement = self.placement.lock();
        placement.apply(follow_up);
        self.moved_count.store(placement.moved(), Ordering::Release);
    }

    /// Posts `msg` to shard `shard`.
    pub fn post(&self, shard: usize, msg: ShardRequest) {
        let inbox = &self.inboxes[shard];
        if inbox.mailbox.push(msg) {
            inbox.notify.notify_one();
        }
    }

    /// Posts a request built around a reply channel and awaits the answer (None if the shard
    /// task is gone, which only happens at shutdown).
    pub async fn ask<T>(
        &self,
        shard: usize,
        make: impl FnOnce(oneshot::Sender<T>) -> ShardRequest,
    ) -> Option<T> {
        self.request(shard, make).await.ok()
    }

    /// Posts a request built around a reply channel now and returns where its answer will
    /// come (an error if the shard task is gone). A session uses it to send its next request
    /// before the answer to the previous one arrives; the shard still takes them in order.
    pub fn request<T>(
        &self,
        shard: usize,
        make: impl FnOnce(oneshot::Sender<T>) -> ShardRequest,
    ) -> oneshot::Receiver<T> {
        let (tx, rx) = oneshot::channel();
        self.post(shard, make(tx));
        rx
    }

    /// Notes a durable commit at log `position` that wrote `logged` log records.
    pub(crate) fn committed(&self, position: u64, logged: u64) {
        self.committed_position
            .fetch_max(position, Ordering::AcqRel);
        self.logged_since_snapshot
            .fetch_add(logged, Ordering::AcqRel);
    }

    /// A new random resume token for `client` on `line`, durable before it is returned; only its
    /// hash is kept.
    pub async fn issue_token(&self, client: &Arc<str>, line: &Arc<str>) -> Result<String, Refusal> {
        let token = random_hex();
        let hash = sha256(&token);
        self.resume
            .lock()
            .insert(hash, client.clone(), line.clone());
        if let Some(store) = &self.store {
            let event = records::LogEvent::Token {
                hash,
                client: client.to_string(),
                line: line.to_string(),
            };
            write_durably(store, vec![Record::Log(records::encode(&event))])
                .await
                .map_err(|_| {
                    // Not stored, so not kept: memory agrees with the disk.
                    self.resume.lock().remove(&hash);
                    Refusal::new(
                        crate::protocol::ErrorCode::Internal,
                        "the session could not be stored; try again",
                    )
                })?;
        }
        Ok(token)
    }

    /// The client and line of a resume token.
    pub fn redeem(&self, token: &str) -> Option<(Arc<str>, Arc<str>)> {
        self.resume.lock().get(&sha256(token))
    }

    /// Whether `client` has a resume token: a `hello` without one may not take its id.
    pub fn client_has_token(&self, client: &str) -> bool {
        self.resume.lock().knows(client)
    }

    /// Writes a snapshot when enough log records were committed since the last one; ends with
    /// the hub.
    async fn snapshot_when_due(hub: std::sync::Weak<Self>) {
        loop {
            tokio::time::sleep(SNAPSHOT_CHECK_INTERVAL).await;
            let Some(hub) = hub.upgrade() else {
                return;
            };
            if hub.logged_since_snapshot.load(Ordering::Acquire) >= SNAPSHOT_EVERY_LOG_RECORDS {
                if let Err(e) = hub.snapshot().await {
                    eprintln!("switchboard: snapshot failed: {e}");
                }
            }
        }
    }

    /// Folds every shard's open dialogs and every token into one snapshot covering everything
    /// committed so far. Shards answer after their pending batch commits, and the snapshot is
    /// queued behind it, so it never holds state that is not durable.
    pub async fn snapshot(&self) -> Result<u64, StoreError> {
        let Some(store) = &self.store else {
            return Ok(0);
        };
        // Holding the live config keeps admin changes out while `covers` is read: every change
        // is either in this snapshot's list or in the log after `covers`, never both.
        let live = self.live.lock().await;
        let covers = self.committed_position.load(Ordering::Acquire);
        let logged = self.logged_since_snapshot.load(Ordering::Acquire);
        let mut state = records::State {
            epoch: self.epoch,
            changes: live.changes.clone(),
            ..Default::default()
        };
        drop(live);
        for shard in 0..self.shards() {
            let (dialogs, (seq_high, msg_seq_high), counts) = self
                .ask(shard, |reply| ShardRequest::Export { reply })
                .await
                .ok_or(StoreError::Stopped)?;
            for (line, client, started) in counts {
                state.note_client_dialogs(&line, &client, started);
            }
            state.dialog_seq_high = state.dialog_seq_high.max(seq_high);
            state.msg_seq_high = state.msg_seq_high.max(msg_seq_high);
            state
                .dialogs
                .extend(dialogs.into_iter().map(|d| (d.record.id, d)));
        }
        state.tokens = self
            .resume
            .lock()
            .iter()
            .map(|(h, (c, l))| (*h, c.to_string(), l.to_string()))
            .collect();
        let snapshot = Record::Snapshot {
            covers,
            bytes: records::encode(&state),
        };
        write_durably(store, vec![snapshot]).await?;
        self.logged_since_snapshot
            .fetch_sub(logged, Ordering::AcqRel);
        Ok(covers)
    }

    /// A commit failed: the shards' memory now holds state the disk does not. The policy is
    /// fail-stop: nothing produced from here on is released (no ack, no event, no frame), and the
    /// server stops (the binary exits non-zero) so that a restart recovers from the disk, which
    /// is the truth. Batches already queued behind the failed one may still reach the disk; none
    /// of them was acknowledged. Only the first failure is kept.
    pub fn fail(&self, error: crate::store::StoreError) {
        if self.failure.set(error.clone()).is_ok() {
            eprintln!("switchboard: a commit failed, stopping (a restart recovers from the disk): {error}");
            self.failure_notify.notify_waiters();
        }
    }

    /// Whether a commit has failed (nothing may be released any more).
    pub fn has_failed(&self) -> bool {
        self.failure.get().is_some()
    }

    /// The first failed commit's error, if any.
    pub fn failure(&self) -> Option<crate::store::StoreError> {
        self.failure.get().cloned()
    }

    /// Waits for the first failed commit and returns its error.
    pub async fn failed(&self) -> crate::store::StoreError {
        loop {
            // Created before the check: a failure between the two still wakes it.
            let notified = self.failure_notify.notified();
            if let Some(error) = self.failure.get() {
                return error.clone();
            }
            notified.await;
        }
    }

    /// Ends every shard task (their last batches still go to the store).
    pub fn stop(&self) {
        for shard in 0..self.inboxes.len() {
            self.post(shard, ShardRequest::Stop);
        }
    }

    /// Tells every shard that `op`'s shared state changed.
    pub fn operator_changed(&self, op: OpIdx) {
        for shard in 0..self.inboxes.len() {
            self.post(shard, ShardRequest::OperatorChanged { op });
        }
    }

    /// Tells every shard but `except` that `op`'s shared state changed.
    pub(crate) fn operator_changed_elsewhere(&self, op: OpIdx, except: usize) {
        for shard in (0..self.inboxes.len()).filter(|s| *s != except) {
            self.post(shard, ShardRequest::OperatorChanged { op });
        }
    }
}
