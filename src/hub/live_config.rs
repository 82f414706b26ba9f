//! The configuration as it is now: the file's, with the admin API's changes on top.
//!
//! Changes are durable (a `Config` log record, committed before the change takes effect) and
//! replayed over the file at every start; a change that no longer applies to an edited file is
//! skipped with a warning. Lines and operators keep their index for the whole run: a deleted one
//! stays as a retired slot (a line closed to new dialogs with no members, an operator dismissed
//! with no token) so indexes held by shards and sessions never shift. Operators keep their
//! shared cell (load, presence) across changes.

use crate::config::changes::{self, Change, ChangeError};
use crate::config::{Config, LineConfig, OperatorConfig, QuickAnswerListConfig};
use crate::hub::directory::{quick_answers, Directory};
use crate::hub::Hub;
use crate::routing::{setup, LineIdx, OpIdx, Presence};
use crate::shard::requests::ShardRequest;
use crate::store::records::{self, LogEvent};
use crate::store::Record;
use std::collections::HashMap;
use std::sync::Arc;

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeFailure {
    /// The change itself is wrong (bad body, invalid, unknown id, conflict).
    #[error(transparent)]
    Refused(#[from] ChangeError),
    /// It could not be made durable.
    #[error("the change could not be stored: {0}")]
    Store(crate::store::StoreError),
}

/// The live configuration and the stable slots of lines and operators.
pub struct LiveConfig {
    pub config: Config,
    /// Every change since the file, as stored (compacted when a snapshot is written).
    pub changes: Vec<Change>,
    line_slots: Vec<String>,
    op_slots: Vec<String>,
    /// The last settings of deleted lines and operators (their slots stay, retired).
    retired_lines: HashMap<String, LineConfig>,
    retired_ops: HashMap<String, OperatorConfig>,
}

impl LiveConfig {
    /// The file's config with the stored changes replayed over it; warnings name the changes
    /// that were skipped (they are dropped from the list).
    pub fn replay(file: &Config, stored: Vec<Change>) -> (LiveConfig, Vec<String>) {
        let (config, skipped) = changes::replay(file, &stored);
        let warnings = skipped
            .iter()
            .map(|(i, e)| format!("stored admin change #{} no longer applies: {e}", i + 1))
            .collect();
        let mut changes: Vec<Change> = stored
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !skipped.iter().any(|(s, _)| s == i))
            .map(|(_, c)| c)
            .collect();
        changes::compact(&mut changes);
        let live = LiveConfig {
            line_slots: config.lines.iter().map(|l| l.id.clone()).collect(),
            op_slots: config.operators.iter().map(|o| o.id.clone()).collect(),
            config,
            changes,
            retired_lines: HashMap::new(),
            retired_ops: HashMap::new(),
        };
        (live, warnings)
    }

    /// Takes `next` as the live config: new ids get new slots at the end, vanished ones retire,
    /// and a re-created id takes its old slot back.
    fn adopt(&mut self, next: Config) {
        for line in &self.config.lines {
            if !next.lines.iter().any(|l| l.id == line.id) {
                self.retired_lines.insert(line.id.clone(), line.clone());
            }
        }
        for op in &self.config.operators {
            if !next.operators.iter().any(|o| o.id == op.id) {
                self.retired_ops.insert(op.id.clone(), op.clone());
            }
        }
        for line in &next.lines {
            self.retired_lines.remove(&line.id);
            if !self.line_slots.contains(&line.id) {
                self.line_slots.push(line.id.clone());
            }
        }
        for op in &next.operators {
            self.retired_ops.remove(&op.id);
            if !self.op_slots.contains(&op.id) {
                self.op_slots.push(op.id.clone());
            }
        }
        self.config = next;
    }

    /// The config with lines and operators in slot order, retired ones as inert stand-ins.
    pub fn slotted(&self) -> Config {
        let mut config = self.config.clone();
        config.lines = self
            .line_slots
            .iter()
            .filter_map(|id| {
                let live = self.config.lines.iter().find(|l| &l.id == id).cloned();
                live.or_else(|| self.retired_lines.get(id).map(retired_line))
            })
            .collect();
        config.operators = self
            .op_slots
            .iter()
            .filter_map(|id| {
                let live = self.config.operators.iter().find(|o| &o.id == id).cloned();
                live.or_else(|| self.retired_ops.get(id).map(retired_operator))
            })
            .collect();
        config
    }

    fn retired_line_indexes(&self) -> Vec<LineIdx> {
        self.line_slots
            .iter()
            .enumerate()
            .filter(|(_, id)| self.retired_lines.contains_key(*id))
            .map(|(i, _)| LineIdx(i as u32))
            .collect()
    }

    fn retired_op_indexes(&self) -> Vec<OpIdx> {
        self.op_slots
            .iter()
            .enumerate()
            .filter(|(_, id)| self.retired_ops.contains_key(*id))
            .map(|(i, _)| OpIdx(i as u32))
            .collect()
    }

    /// Routing and session directories for the slotted config; retired ids are not findable.
    pub fn directories(&self, shards: usize) -> (setup::Directory, Directory) {
        let slotted = self.slotted();
        let mut routing = setup::Directory::build(&slotted);
        for id in self.retired_lines.keys() {
            routing.line_index.remove(id.as_str());
        }
        for id in self.retired_ops.keys() {
            routing.operator_index.remove(id.as_str());
        }
        let mut directory = Directory::new(&slotted, &routing, shards);
        for line in &mut directory.lines {
            line.retired = self.retired_lines.contains_key(&*line.id);
        }
        (routing, directory)
    }
}

fn retired_line(line: &LineConfig) -> LineConfig {
    let mut line = line.clone();
    line.active = false;
    line.queue.members.clear();
    line.queue.escalation.clear();
    line.bot = None;
    line.channels.clear();
    line
}

fn retired_operator(op: &OperatorConfig) -> OperatorConfig {
    let mut op = op.clone();
    op.dismissed = true;
    op.token = None;
    op.token_sha256 = None;
    op.departments.clear();
    op
}

impl Hub {
    /// The live config (file + admin changes).
    pub async fn live_config(&self) -> Config {
        self.live.lock().await.config.clone()
    }

    /// Makes `change` durable, then applies it to routing and sessions at once; returns the new
    /// config. Changes are made one at a time.
    pub async fn change(&self, change: Change) -> Result<Config, ChangeFailure> {
        let mut live = self.live.lock().await;
        self.change_locked(&mut live, change).await
    }

    /// Appends an operator-saved answer to quick-answer list `list` (creating the list) as a
    /// change like the admin API's: durable before it is served, replayed after a restart, and
    /// numbered after the list's others like every listed answer.
    pub async fn save_quick_answer(&self, list: &str, text: String) -> Result<(), ChangeFailure> {
        let mut live = self.live.lock().await;
        let mut items = live
            .config
            .quick_answers
            .iter()
            .find(|l| l.id == list)
            .map(|l| l.items.clone())
            .unwrap_or_default();
        items.push(text);
        let change = Change::PutQuickAnswers(QuickAnswerListConfig {
            id: list.to_string(),
            items,
        });
        self.change_locked(&mut live, change).await.map(|_| ())
    }

    /// [`Hub::change`] with the live config already locked.
    async fn change_locked(
        &self,
        live: &mut LiveConfig,
        change: Change,
    ) -> Result<Config, ChangeFailure> {
        let next = changes::apply(&live.config, &change)?;
        if let Some(store) = &self.store {
            let record = Record::Log(records::encode(&LogEvent::Config(Box::new(change.clone()))));
            let position = crate::hub::write_durably(store, vec![record])
                .await
                .map_err(ChangeFailure::Store)?;
            self.committed(position, 1);
        }
        live.changes.push(change.clone());
        live.adopt(next);
        self.apply_live(live, &change);
        Ok(live.config.clone())
    }

    /// Swaps in directories built from `live` and tells every shard.
    fn apply_live(&self, live: &LiveConfig, change: &Change) {
        let (mut routing, directory) = live.directories(self.shards());
        let old = self.directory();
        // Operators keep their shared cells: load and presence carry over.
        for (i, op) in routing.operators.iter_mut().enumerate() {
            if let Some(kept) = old.operators.get(i) {
                kept.cell.set_capacity(op.cell.state().capacity);
                op.cell = kept.cell.clone();
            }
        }
        let mut directory = directory;
        for (info, op) in directory.operators.iter_mut().zip(&routing.operators) {
            info.cell = op.cell.clone();
        }
        self.feeds.ensure(routing.operators.len());
        self.directory.store(Arc::new(directory));
        // A deleted operator's connected clients are closed (their token already no longer
        // works for a new connection)
        if let Change::DeleteOperator { id } = change {
            if let Some(op) = old.operator_index.get(id.as_str()) {
                self.feeds.dismiss(*op);
            }
        }
        if let Change::PutQuickAnswers(list) = change {
            let fresh = quick_answers(&live.config);
            if let Some(items) = fresh.get(&list.id) {
                self.quick_answers
                    .lock()
                    .insert(list.id.clone(), items.clone());
            }
        }
        if matches!(change, Change::PutWebhook(_) | Change::DeleteWebhook { .. }) {
            self.webhooks.reconfigure(&live.config);
        }
        let retired_lines = live.retired_line_indexes();
        for shard in 0..self.shards() {
            self.post(
                shard,
                ShardRequest::Reconfigure {
                    ops: routing.operators.clone(),
                    lines: routing.lines.clone(),
                    retired: retired_lines.clone(),
                },
            );
        }
        for op in live.retired_op_indexes() {
            if let Some(operator) = routing.operators.get(op.0 as usize) {
                if operator.cell.state().presence != Presence::Offline {
                    operator.cell.set_presence(Presence::Offline);
                }
            }
            self.operator_changed(op);
        }
    }
}
