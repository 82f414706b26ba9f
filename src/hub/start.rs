//! Starting the hub: read back what the store holds (newest snapshot + the log after it),
//! rebuild every shard's open dialogs with their conversations, continue message ids, dialog ids
//! and operator event sequences past everything already handed out, and start the shard tasks.
//! Timers that fell due while the process was down fire at the shards' first tick; every
//! operator starts offline, so offers to them move on at once.

use super::resume_tokens::ResumeTokens;
use crate::clock::Clock;
use crate::config::bounds::OPERATOR_EVENTS_KEPT_MAX;
use crate::config::Config;
use crate::delivery::{ClientRegistry, OperatorFeeds};
use crate::hub::live_config::LiveConfig;
use crate::hub::{Directory, Hub, ShardInbox};
use crate::routing::{
    setup, transcript, DialogId, Mailbox, OpIdx, Placement, RestoredDialog, Shard,
};
use crate::shard::ShardTask;
use crate::store::records::{self, LogEvent, ReadError, State};
use crate::store::{Record, Store, StoreError};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::sync::Notify;

/// Why the hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What the store holds could not be read back (the store failed, or a record is corrupt).
    #[error("{}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: ReadError,
    },
}

/// What the hub is started with, besides the configuration.
struct Runtime {
    shards: usize,
    clock: Arc<dyn Clock>,
    store: Option<Store>,
    metrics: Arc<crate::metrics::Metrics>,
}

pub(super) fn start(
    config: &Config,
    shards: usize,
    clock: Arc<dyn Clock>,
    store: Option<Store>,
    metrics: Arc<crate::metrics::Metrics>,
) -> Result<Arc<Hub>, StartError> {
    let shards = shards.clamp(1, crate::routing::ids::SHARDS_MAX);
    let state = recover(store.as_ref())?;
    let epoch = state.epoch + 1;
    if let Some(store) = &store {
        store.submit(
            vec![Record::Log(records::encode(&LogEvent::Boot { epoch }))],
            Box::new(|_| {}),
        )?;
    }
    let (live, warnings) = LiveConfig::replay(config, state.changes.clone());
    for warning in warnings {
        eprintln!("switchboard: {warning}");
    }
    let (routing, directory) = live.directories(shards);
    let config = live.slotted();
    let runtime = Runtime {
        shards,
        clock,
        store,
        metrics,
    };
    let hub = new_hub(&config, live, directory, &routing, runtime, &state, epoch);
    let dialogs = restored_dialogs(&hub, &state).map_err(|source| read_error(&hub, source))?;
    let decisions: HashMap<u64, Vec<records::StoredDecision>> = state
        .dialogs
        .values()
        .map(|d| (d.record.id, d.decisions.clone()))
        .collect();
    start_shards(
        &hub,
        &routing,
        &config,
        dialogs,
        (state.dialog_seq_high, state.msg_seq_high, &decisions),
        &state.client_dialogs,
    );
    start_background(&hub, &config);
    Ok(hub)
}

/// The newest snapshot plus the log after it (nothing without a store).
fn recover(store: Option<&Store>) -> Result<State, StartError> {
    let Some(store) = store else {
        return Ok(State::default());
    };
    State::fold(&store.recover()?).map_err(|e| StartError::Read {
        path: store.path().to_path_buf(),
        source: e.into(),
    })
}

fn read_error(hub: &Hub, source: ReadError) -> StartError {
    let path = hub.store.as_ref().map(|s| s.path().to_path_buf());
    StartError::Read {
        path: path.unwrap_or_default(),
        source,
    }
}

/// The shared hub: inboxes, directory, feeds continuing this run's epoch, resume tokens.
fn new_hub(
    config: &Config,
    live: LiveConfig,
    directory: Directory,
    routing: &setup::Directory,
    runtime: Runtime,
    state: &State,
    epoch: u64,
) -> Arc<Hub> {
    let resume =
        ResumeTokens::from_entries(state.tokens.iter().map(|(hash, client, line)| {
            (*hash, Arc::from(client.as_str()), Arc::from(line.as_str()))
        }));
    let feeds = OperatorFeeds::new(
        routing.operators.len(),
        OPERATOR_EVENTS_KEPT_MAX,
        epoch << 32,
    );
    let inboxes = (0..runtime.shards)
        .map(|_| ShardInbox {
            mailbox: Mailbox::new(),
            notify: Notify::new(),
        })
        .collect();
    Arc::new(Hub {
        feeds,
        clients: ClientRegistry::default(),
        limits: config.server.limits.clone(),
        clock: runtime.clock.clone(),
        logins: super::login_guard::LoginGuard::new(runtime.metrics.clone()),
        disk: super::disk_watch::DiskWatch::new(config.server.limits.disk_free_min_bytes),
        metrics: runtime.metrics,
        webhooks: Arc::new(crate::webhooks::Webhooks::new(
            &live.config,
            runtime.clock.clone(),
        )),
        quick_answers: Mutex::new(crate::hub::directory::quick_answers(config)),
        live: tokio::sync::Mutex::new(live),
        inboxes,
        placement: Mutex::new(Placement::new(runtime.shards)),
        moved_count: std::sync::atomic::AtomicUsize::new(0),
        directory: arc_swap::ArcSwap::from_pointee(directory),
        store: runtime.store,
        epoch,
        resume: Mutex::new(resume),
        committed_position: AtomicU64::new(0),
        failure: Default::default(),
        failure_notify: Default::default(),
        logged_since_snapshot: AtomicU64::new(0),
    })
}

/// Every open dialog whose line still exists, with its conversation read from the store, by the
/// shard owning its line.
fn restored_dialogs(hub: &Hub, state: &State) -> Result<Vec<(usize, RestoredDialog)>, ReadError> {
    let dir = hub.directory();
    let mut restored = Vec::new();
    for d in state.dialogs.values() {
        let Some(line) = dir.line_index.get(d.record.line.as_str()) else {
            continue;
        };
        let id = DialogId(d.record.id);
        let messages = match &hub.store {
            Some(store) => store.messages(id.0, 0, u64::MAX, usize::MAX)?,
            None => Vec::new(),
        };
        let operator = d
            .operator
            .as_deref()
            .and_then(|o| dir.operator_index.get(o).copied());
        let mut conversation = records::rebuild_conversation(
            id,
            d.client.clone(),
            operator,
            messages,
            &dir.operator_index,
        )?;
        conversation.rating = d.rating;
        conversation.comment = d.comment.clone();
        conversation.supervisor_score = d.supervisor_score;
        let dialog = RestoredDialog {
            record: d.record.clone(),
            conversation,
        };
        restored.push((hub.shard_of_line(*line), dialog));
    }
    Ok(restored)
}

/// Builds each shard's routing core from its restored dialogs and spawns its task.
fn start_shards(
    hub: &Arc<Hub>,
    routing: &setup::Directory,
    config: &Config,
    dialogs: Vec<(usize, RestoredDialog)>,
    (dialog_seq_high, msg_seq_high, decisions): (
        u64,
        u64,
        &HashMap<u64, Vec<records::StoredDecision>>,
    ),
    client_dialogs: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, u32>>,
) {
    let shards = hub.shards();
    // A dialog that moved holds messages numbered by the shard it left: every shard continues
    // after its own ids in all of them.
    let msg_high: Vec<u64> = (0..shards)
        .map(|index| {
            let messages = dialogs
                .iter()
                .flat_map(|(_, d)| d.conversation.transcript.msg_ids());
            transcript::msg_seq_high(messages, index)
        })
        .collect();
    let mut per_shard: Vec<Vec<RestoredDialog>> = (0..shards).map(|_| Vec::new()).collect();
    for (shard, dialog) in dialogs {
        per_shard[shard].push(dialog);
    }
    for (index, mine) in per_shard.into_iter().enumerate() {
        let mut core = Shard::new(
            index as u8,
            routing.operators.clone(),
            routing.lines_for_shard(index, shards),
            routing.lines.len(),
            hub.clock.now_ms(),
            config.server.limits.decision_skips_max,
        );
        core.continue_ids_after(dialog_seq_high);
        core.continue_msg_ids_after(msg_high[index].max(msg_seq_high));
        let ids: Vec<DialogId> = mine.iter().map(|d| DialogId(d.record.id)).collect();
        let mut out = Vec::new();
        core.restore(mine, &mut out);
        for (line_id, clients) in client_dialogs {
            let Some(line) = routing.line_index.get(line_id.as_str()).copied() else {
                continue;
            };
            if hub.shard_of_line(line) == index {
                for (client, started) in clients {
                    core.restore_client_dialog_count(line, client.as_str().into(), *started);
                }
            }
        }
        for id in ids.into_iter().filter(|id| core.dialog(*id).is_some()) {
            hub.place(id, index);
        }
        let mut task = ShardTask::new(index, core, hub.clone());
        task.restore_decisions(decisions);
        task.out = out;
        tokio::spawn(task.run());
    }
}

/// After a start from a store: every operator offline, snapshots and history retention running.
fn start_background(hub: &Arc<Hub>, config: &Config) {
    if hub.store.is_none() {
        return;
    }
    // Everyone is offline after a start: offers to them move on, grace periods begin.
    for op in 0..hub.directory().operators.len() {
        hub.operator_changed(OpIdx(op as u32));
    }
    tokio::spawn(Hub::snapshot_when_due(Arc::downgrade(hub)));
    if let Some(retention) = config.server.history_retention {
        tokio::spawn(Hub::keep_history_retention(
            Arc::downgrade(hub),
            retention.as_ms(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::Router;
    use crate::store::records::{DurableDialog, PersistError};
    use crate::store::StoreOptions;

    const CONFIG: &str = r#"
[[operators]]
id = "a"
name = "A"

[[lines]]
id = "l"
name = "L"
[lines.queue]
members = ["a"]
"#;

    /// Submits `records` and waits until they are durable.
    fn write(store: &Store, records: Vec<Record>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let done = Box::new(move |result: Result<u64, StoreError>| {
            let _ = tx.send(result.map(|_| ()));
        });
        store.submit(records, done).unwrap();
        rx.recv().unwrap().unwrap();
    }

    /// A start that meets a stored message it cannot decode refuses with a typed cause naming
    /// the message (not a flattened string).
    #[tokio::test]
    async fn an_unreadable_message_refuses_the_start_naming_it() {
        let dir = std::env::temp_dir().join(format!("switchboard-start-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = Config::from_toml_str(CONFIG).unwrap();
        let mut router = Router::new(&config, 1, 1_000);
        let line = router.line("l").unwrap();
        let command = crate::routing::Command::ClientMessage {
            line,
            client: "x".into(),
            dialog: None,
            info: Default::default(),
            key: "k".into(),
            text: "hi".into(),
            responsible: None,
        };
        router.handle(1_000, command, &mut Vec::new()).unwrap();
        let record = router.dialog_records().remove(0);
        let dialog = record.id;
        let state = DurableDialog::new(record, Default::default(), None);
        let store = Store::open(&dir, StoreOptions::default()).unwrap();
        write(
            &store,
            vec![
                Record::Log(records::encode(&LogEvent::Dialog(Box::new(state)))),
                Record::Message {
                    dialog,
                    seq: 1,
                    bytes: vec![0xc1],
                },
            ],
        );
        let clock = Arc::new(crate::clock::ManualClock::new(2_000));
        let started = Hub::start(&config, 1, clock, Some(store));
        let error = started.err().expect("the start is refused");
        let StartError::Read { path, source } = &error else {
            panic!("{error}")
        };
        assert_eq!(path, &dir.join(crate::store::FILE_NAME));
        assert!(
            matches!(
                source,
                ReadError::Decode(PersistError::Message { dialog: d, seq: 1, .. }) if *d == dialog
            ),
            "{error}"
        );
        assert!(
            std::error::Error::source(source).is_some(),
            "the decoder's error is kept"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
