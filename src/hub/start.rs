//! Starting the hub: read back what the store holds (newest snapshot + the log after it),
//! rebuild every shard's open dialogs and their message logs, continue message ids, dialog ids
//! and operator event sequences past everything already handed out, and start the shard tasks.
//! Timers that fell due while the process was down fire at the shards' first tick; every
//! operator starts offline, so offers to them move on at once.

use crate::clock::Clock;
use crate::config::bounds::OPERATOR_EVENTS_KEPT_MAX;
use crate::config::Config;
use crate::delivery::{ClientRegistry, OperatorFeeds};
use crate::hub::live_config::LiveConfig;
use crate::hub::{Hub, ShardInbox};
use crate::routing::{DialogId, LineIdx, Mailbox, OpIdx, Shard};
use crate::shard::dialog_log::DialogLog;
use crate::shard::ShardTask;
use crate::store::records::{self, LogEvent, PersistError, State};
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
    #[error("{path}: {source}")]
    Persist { path: String, source: PersistError },
}

pub(super) fn start(
    config: &Config,
    shards: usize,
    clock: Arc<dyn Clock>,
    store: Option<Store>,
    metrics: Arc<crate::metrics::Metrics>,
) -> Result<Arc<Hub>, StartError> {
    let shards = shards.clamp(1, crate::routing::ids::SHARDS_MAX);
    let path = store
        .as_ref()
        .map(|s| s.path().display().to_string())
        .unwrap_or_default();
    let persist_error = |source| StartError::Persist {
        path: path.clone(),
        source,
    };
    let state = match &store {
        Some(store) => State::fold(&store.recover()?).map_err(persist_error)?,
        None => State::default(),
    };
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
    let config = &live.slotted();
    let now = clock.now_ms();
    let resume = state
        .tokens
        .iter()
        .map(|(hash, client, line)| {
            (
                *hash,
                (
                    Arc::<str>::from(client.as_str()),
                    Arc::<str>::from(line.as_str()),
                ),
            )
        })
        .collect();
    let hub = Arc::new(Hub {
        feeds: OperatorFeeds::new(
            routing.operators.len(),
            OPERATOR_EVENTS_KEPT_MAX,
            epoch << 32,
        ),
        clients: ClientRegistry::default(),
        limits: config.server.limits.clone(),
        clock,
        logins: super::login_guard::LoginGuard::new(metrics.clone()),
        metrics,
        quick_answers: Mutex::new(crate::hub::directory::quick_answers(config)),
        live: tokio::sync::Mutex::new(live),
        inboxes: (0..shards)
            .map(|_| ShardInbox {
                mailbox: Mailbox::new(),
                notify: Notify::new(),
            })
            .collect(),
        moved: Mutex::new(HashMap::new()),
        moved_count: std::sync::atomic::AtomicUsize::new(0),
        directory: arc_swap::ArcSwap::from_pointee(directory),
        store,
        epoch,
        resume: Mutex::new(resume),
        committed_position: AtomicU64::new(0),
        failure: Default::default(),
        failure_notify: Default::default(),
        logged_since_snapshot: AtomicU64::new(0),
    });
    let line_count = routing.lines.len();
    for index in 0..shards {
        let mut core = Shard::new(
            index as u8,
            routing.operators.clone(),
            routing.lines_for_shard(index, shards),
            line_count,
            now,
            config.server.limits.decision_skips_max,
        );
        let mine: Vec<&records::DurableDialog> = state
            .dialogs
            .values()
            .filter(|d| {
                hub.directory()
                    .line_index
                    .get(d.record.line.as_str())
                    .is_some_and(|l| hub.shard_of_line(*l) == index)
            })
            .collect();
        core.continue_ids_after(state.dialog_seq_high);
        let mut out = Vec::new();
        core.restore(mine.iter().map(|d| d.record.clone()).collect(), &mut out);
        let (logs, next_msg) = restore_logs(&hub, &core, &mine, index).map_err(persist_error)?;
        for d in &mine {
            let id = DialogId(d.record.id);
            if DialogId(d.record.id).home_shard() % shards != index && core.dialog(id).is_some() {
                hub.note_moved(id, index);
            }
        }
        let mut task = ShardTask::new(index, core, hub.clone(), logs, next_msg);
        task.out = out;
        tokio::spawn(task.run());
    }
    if hub.store.is_some() {
        // Everyone is offline after a start: offers to them move on, grace periods begin.
        for op in 0..hub.directory().operators.len() {
            hub.operator_changed(OpIdx(op as u32));
        }
        tokio::spawn(Hub::snapshot_when_due(Arc::downgrade(&hub)));
        if let Some(retention) = config.server.history_retention {
            tokio::spawn(Hub::keep_history_retention(
                Arc::downgrade(&hub),
                retention.as_ms(),
            ));
        }
    }
    Ok(hub)
}

/// Message logs of the restored dialogs, and the next message id sequence for this shard.
fn restore_logs(
    hub: &Hub,
    core: &Shard,
    dialogs: &[&records::DurableDialog],
    index: usize,
) -> Result<(HashMap<DialogId, DialogLog>, u64), PersistError> {
    let mut logs = HashMap::new();
    let mut next_msg = 1;
    let Some(store) = &hub.store else {
        return Ok((logs, next_msg));
    };
    for d in dialogs {
        let id = DialogId(d.record.id);
        let Some(dialog) = core.dialog(id) else {
            continue;
        };
        let messages =
            store
                .messages(id.0, 0, u64::MAX, usize::MAX)
                .map_err(|e| PersistError::Message {
                    dialog: id.0,
                    seq: 0,
                    reason: e.to_string(),
                })?;
        for (_, bytes) in &messages {
            if let Ok(m) = rmp_serde::from_slice::<records::MessageRecord>(bytes) {
                if (m.msg_id & 0xFF) as usize == index {
                    next_msg = next_msg.max((m.msg_id >> 8) + 1);
                }
            }
        }
        let operator = d
            .operator
            .as_deref()
            .and_then(|o| hub.directory().operator_index.get(o).copied());
        let line: LineIdx = dialog.line;
        let log = records::rebuild_log(
            id,
            line,
            dialog.client.clone(),
            d.client.clone(),
            operator,
            messages,
            &hub.directory().operator_index,
        )?;
        logs.insert(id, log);
    }
    Ok((logs, next_msg))
}
