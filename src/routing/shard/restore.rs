//! Exporting open dialogs as [`DialogRecord`]s and rebuilding a shard from them.
//!
//! Restore re-derives everything that is not stored: line counters and capacity reservations
//! come from the holders (a holder whose reservation no longer fits, e.g. capacity lowered in
//! the config, is put back in the queue), queue places from arrival numbers, and timers are
//! re-armed at their recorded deadlines, so one that fell due while the process was down fires
//! at the first tick. Unknown operators or lines (removed from the config) degrade gracefully:
//! the dialog waits in the queue, or is dropped when its line is gone.

use super::Shard;
use crate::routing::api::Effect;
use crate::routing::dialog::{Dialog, Holder, Sent, TimerKind};
use crate::routing::ids::{DialogId, LineIdx, OpIdx};
use crate::routing::record::{DialogRecord, HolderRecord};
use crate::routing::reserve::Need;
use crate::routing::transcript::{msg_seq_high, Conversation};

/// An open dialog read back from the store: its routing record and its conversation (the
/// caller resolved operator ids in message keys and the last operator to indexes).
#[derive(Clone, Debug)]
pub struct RestoredDialog {
    pub record: DialogRecord,
    pub conversation: Conversation,
}

impl From<DialogRecord> for RestoredDialog {
    /// A record without messages or client details.
    fn from(record: DialogRecord) -> Self {
        Self {
            record,
            conversation: Conversation::default(),
        }
    }
}

impl Shard {
    fn op_id(&self, op: OpIdx) -> String {
        self.ops[op.0 as usize].id.to_string()
    }

    fn op_by_id(&self, id: &str) -> Option<OpIdx> {
        self.ops
            .iter()
            .position(|o| &*o.id == id)
            .map(|i| OpIdx(i as u32))
    }

    fn line_by_id(&self, id: &str) -> Option<LineIdx> {
        self.lines
            .iter()
            .flatten()
            .find(|l| &*l.rules.id == id)
            .map(|l| l.idx)
    }

    /// The record of one open dialog.
    pub fn dialog_record(&self, id: DialogId) -> Option<DialogRecord> {
        let d = self.dialogs.get(&id)?;
        let line_id = |idx: LineIdx| self.line_ref(idx).rules.id.to_string();
        let holder = match &d.holder {
            Holder::Queued => HolderRecord::Queued,
            Holder::Offered(op) => HolderRecord::Offered {
                operator: self.op_id(*op),
            },
            Holder::OfferedAll(ops) => HolderRecord::OfferedAll {
                operators: ops.iter().map(|o| self.op_id(*o)).collect(),
            },
            Holder::Bot(op) => HolderRecord::Bot {
                operator: self.op_id(*op),
            },
            Holder::Active(op) => HolderRecord::Active {
                operator: self.op_id(*op),
            },
            Holder::Closing(op) => HolderRecord::Closing {
                operator: self.op_id(*op),
            },
        };
        let timers = TimerKind::ALL
            .iter()
            .filter_map(|kind| Some((*kind as u8, self.wheel.deadline(d.timers[*kind as usize]?)?)))
            .collect();
        let started = self
            .clients
            .get(&(d.origin_line, d.client.clone()))
            .map_or(1, |e| e.dialogs_started);
        Some(DialogRecord {
            id: id.0,
            line: line_id(d.line),
            origin_line: self
                .line(d.origin_line)
                .map_or_else(|| line_id(d.line), |l| l.rules.id.to_string()),
            client: d.client.to_string(),
            holder,
            arrival: d.arrival,
            created_ms: d.created_ms,
            holder_answered: d.holder_answered,
            ever_answered: d.ever_answered,
            client_wrote_last: d.client_wrote_last,
            waiting_since_ms: d.waiting_since_ms,
            tried: d.tried.iter().map(|o| self.op_id(*o)).collect(),
            cursor: d.cursor,
            escalation: d.escalation,
            bot: d.bot.map(|o| self.op_id(o)),
            sent: [
                d.sent.no_operators,
                d.sent.off_hours,
                d.sent.unanswered,
                d.sent.queued_decision,
            ],
            timers,
            client_dialogs_started: started,
            kpi: d.kpi,
        })
    }

    /// Records of every open dialog of this shard, by id.
    pub fn dialog_records(&self) -> Vec<DialogRecord> {
        let mut ids: Vec<DialogId> = self.dialogs.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| self.dialog_record(id))
            .collect()
    }

    /// Rebuilds open dialogs (into a shard that has none of them yet); new message ids continue
    /// after the restored ones this shard handed out. Effects of dialogs that could not keep
    /// their holder go to `out`.
    pub fn restore(&mut self, dialogs: Vec<RestoredDialog>, out: &mut Vec<Effect>) {
        for dialog in dialogs {
            let ids = dialog.conversation.transcript.msg_ids();
            self.continue_msg_ids_after(msg_seq_high(ids, usize::from(self.index)));
            self.restore_one(dialog.record, dialog.conversation, out);
        }
    }

    fn restore_one(&mut self, r: DialogRecord, conversation: Conversation, out: &mut Vec<Effect>) {
        let Some(line) = self.line_by_id(&r.line) else {
            return;
        };
        let origin = self.line_by_id(&r.origin_line).unwrap_or(line);
        let id = DialogId(r.id);
        let client: crate::routing::ClientId = r.client.as_str().into();
        let mut d = Dialog::new(id, line, client.clone(), r.arrival, r.created_ms);
        d.origin_line = origin;
        d.holder_answered = r.holder_answered;
        d.ever_answered = r.ever_answered;
        d.client_wrote_last = r.client_wrote_last;
        d.waiting_since_ms = r.waiting_since_ms;
        d.kpi = r.kpi;
        d.tried = r.tried.iter().filter_map(|o| self.op_by_id(o)).collect();
        d.cursor = r.cursor;
        d.escalation = r.escalation;
        d.bot = r.bot.as_deref().and_then(|o| self.op_by_id(o));
        d.conversation = conversation;
        let [no_operators, off_hours, unanswered, queued_decision] = r.sent;
        d.sent = Sent {
            no_operators,
            off_hours,
            unanswered,
            queued_decision,
        };
        self.dialogs.insert(id, d);
        if let Some(bot) = self.dialogs[&id].bot {
            self.by_op.entry(bot).or_default().insert(id);
        }
        let l = self.line_mut(line);
        l.bump_arrivals(r.arrival);
        let entry = self.clients.entry((origin, client)).or_default();
        entry.open = Some(id);
        entry.dialogs_started = entry.dialogs_started.max(r.client_dialogs_started);
        for (kind, deadline) in r.timers {
            if let Some(kind) = TimerKind::ALL.get(kind as usize) {
                self.arm(id, *kind, deadline);
            }
        }
        let op = |name: &str| self.op_by_id(name);
        let holder = match &r.holder {
            HolderRecord::Queued => None,
            HolderRecord::Offered { operator } => op(operator).map(Holder::Offered),
            HolderRecord::OfferedAll { operators } => Some(Holder::OfferedAll(
                operators.iter().filter_map(|o| op(o)).collect(),
            )),
            HolderRecord::Bot { operator } => op(operator).map(Holder::Bot),
            HolderRecord::Active { operator } => op(operator).map(Holder::Active),
            HolderRecord::Closing { operator } => op(operator).map(Holder::Closing),
        };
        // `transition` counts a new holder as not having answered; the record knows better.
        let answered = r.holder_answered;
        let restored = holder.is_some_and(|h| self.transition(id, h, Need::Any, out).is_ok());
        if restored && answered {
            self.retag(id, |d| d.holder_answered = true, out);
        }
        if !restored
            || matches!(
                self.dialogs[&id].holder,
                Holder::Queued | Holder::OfferedAll(_)
            )
        {
            self.line_mut(line).queue.insert(r.arrival, id);
            self.mark_dirty(line);
        }
    }
}
