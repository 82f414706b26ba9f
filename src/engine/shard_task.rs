//! One shard's task: drains its mailbox, applies each request to the sans-IO core at the clock's
//! time, keeps the messages of its open dialogs, and sleeps until the next request, timer or
//! typing-preview flush. The only code that mutates a shard.

use super::dialog_log::{DialogLog, Side};
use super::messages::{ClientState, OperatorAction, Refusal, ShardMsg, Stored};
use super::outbox::Outbox;
use super::persist::{self, DurableDialog, LogEvent, MessageRecord};
use super::stats::ShardStats;
use super::Engine;
use crate::protocol::{operator, widget, Author, DialogSummary, ErrorCode, OperatorOut, WidgetOut};
use crate::routing::FinishedDialog;
use crate::routing::{Command, DialogId, Effect, Holder, OpIdx, Park, Reply, Shard};
use crate::store::Record;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Requests handled per wake-up before timers get a turn.
const BATCH_MAX: usize = 256;
/// Messages sent with an offer.
const OFFER_MESSAGES_MAX: usize = 20;
/// The typing-preview window per dialog.
pub const TYPING_PREVIEW_INTERVAL_MS: u64 = 100;

pub struct ShardTask {
    pub(super) index: usize,
    pub(super) core: Shard,
    pub(super) logs: HashMap<DialogId, DialogLog>,
    pub(super) engine: Arc<Engine>,
    pub(super) out: Vec<Effect>,
    pub(super) typing_due: BTreeSet<(u64, DialogId)>,
    pub(super) pending_comment: Option<String>,
    pub(super) outbox: Outbox,
    /// Dialogs this batch changed: their records are written at the flush.
    pub(super) touched: BTreeSet<DialogId>,
    /// Dialogs this batch closed.
    pub(super) closed: Vec<DialogId>,
    /// Records already prepared for this batch (messages of dialogs that left).
    pub(super) pending: Vec<Record>,
    /// KPI statistics of this shard's lines and operators.
    pub(super) stats: ShardStats,
    /// A digest of the record last written per open dialog (unchanged records are skipped).
    pub(super) written: HashMap<DialogId, u64>,
    /// When this batch's client messages arrived (delivery latency, recorded at release).
    pub(super) arrivals: Vec<std::time::Instant>,
    /// The final figures of the dialog whose `Closed` effect comes next.
    pub(super) finishing: Option<Box<FinishedDialog>>,
    /// This shard's batches submitted to the store whose release has not run yet.
    in_flight: Arc<AtomicUsize>,
    next_msg: u64,
}

impl ShardTask {
    /// A shard task with restored dialog logs; message ids continue after `next_msg`.
    pub fn new(
        index: usize,
        core: Shard,
        engine: Arc<Engine>,
        logs: HashMap<DialogId, DialogLog>,
        next_msg: u64,
    ) -> Self {
        Self {
            index,
            core,
            logs,
            engine,
            out: Vec::new(),
            typing_due: BTreeSet::new(),
            pending_comment: None,
            outbox: Outbox::default(),
            touched: BTreeSet::new(),
            closed: Vec::new(),
            pending: Vec::new(),
            stats: ShardStats::default(),
            arrivals: Vec::new(),
            written: HashMap::new(),
            finishing: None,
            in_flight: Arc::default(),
            next_msg: next_msg.max(1),
        }
    }

    pub async fn run(mut self) {
        let engine = self.engine.clone();
        let inbox = &engine.inboxes[self.index];
        let mut batch = Vec::with_capacity(BATCH_MAX);
        loop {
            inbox.mailbox.drain_into(&mut batch, BATCH_MAX);
            let now = engine.clock.now_ms();
            let mut stop = false;
            for msg in batch.drain(..) {
                stop |= matches!(msg, ShardMsg::Stop);
                // One command through the routing core, decisions and effects included.
                let started = std::time::Instant::now();
                self.on_msg(now, msg);
                engine
                    .metrics
                    .dispatch_us
                    .record(started.elapsed().as_micros() as u64);
            }
            if stop {
                self.flush();
                return;
            }
            self.tick(now);
            self.flush();
            if !inbox.mailbox.is_empty() || inbox.mailbox.try_park() == Park::Again {
                continue;
            }
            let wake = [
                self.core.next_wake(),
                self.typing_due.first().map(|(at, _)| *at),
            ]
            .into_iter()
            .flatten()
            .min();
            match wake {
                Some(at) => {
                    let delay = at.saturating_sub(engine.clock.now_ms());
                    tokio::select! {
                        _ = inbox.notify.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(delay)) => {}
                    }
                }
                None => inbox.notify.notified().await,
            }
        }
    }

    pub(super) fn next_system_id(&mut self) -> u64 {
        self.next_msg_id()
    }

    /// Notes that `dialog` changed in this batch.
    pub(super) fn touch(&mut self, dialog: DialogId) {
        self.touched.insert(dialog);
    }

    /// Queues the messages of `dialog` not yet in the store.
    pub(super) fn save_messages(&mut self, dialog: DialogId) {
        let Some(log) = self.logs.get_mut(&dialog) else {
            return;
        };
        if self.engine.store.is_none() {
            log.saved = log.messages.len();
            return;
        }
        let dir = self.engine.directory();
        for m in &log.messages[log.saved..] {
            let record = MessageRecord::new(m, |op| dir.operators[op.0 as usize].id.to_string());
            self.pending.push(Record::Message {
                dialog: dialog.0,
                seq: m.seq,
                bytes: persist::encode(&record),
            });
        }
        log.saved = log.messages.len();
    }

    /// The durable state of an open dialog.
    pub(super) fn dialog_state(&self, id: DialogId) -> Option<DurableDialog> {
        let record = self.core.dialog_record(id)?;
        let log = self.logs.get(&id)?;
        Some(DurableDialog {
            record,
            client: log.info.clone(),
            operator: log.operator.map(|op| {
                self.engine.directory().operators[op.0 as usize]
                    .id
                    .to_string()
            }),
        })
    }

    /// Makes this batch durable, then releases what it produced (commit, then publish).
    fn flush(&mut self) {
        let touched = std::mem::take(&mut self.touched);
        let closed = std::mem::take(&mut self.closed);
        let arrivals = std::mem::take(&mut self.arrivals);
        let Some(store) = self.engine.store.clone() else {
            self.pending.clear();
            if !self.outbox.is_empty() {
                self.outbox.take().deliver(&self.engine);
            }
            record_delivery(&self.engine, &arrivals);
            return;
        };
        for id in &touched {
            self.save_messages(*id);
        }
        let mut records = std::mem::take(&mut self.pending);
        for id in touched {
            if let Some(state) = self.dialog_state(id) {
                let bytes = persist::encode(&LogEvent::Dialog(Box::new(state)));
                // A record equal to the one last written for this dialog adds nothing (e.g. a
                // client writing again while already waiting): skip it.
                let digest = digest(&bytes);
                if self.written.insert(id, digest) != Some(digest) {
                    records.push(Record::Log(bytes));
                }
            }
        }
        for id in &closed {
            self.written.remove(id);
        }
        for id in closed {
            records.push(Record::Log(persist::encode(&LogEvent::Closed {
                dialog: id.0,
            })));
        }
        if records.is_empty() && self.outbox.is_empty() {
            return;
        }
        // Nothing to write (e.g. only typing previews), and every earlier batch of this shard
        // is released already: what this batch publishes rests on durable state only, so it
        // goes out now instead of queueing behind other shards' commits
        if records.is_empty() && self.in_flight.load(Ordering::Acquire) == 0 {
            self.outbox.take().deliver(&self.engine);
            return;
        }
        let released = self.outbox.take();
        let engine = self.engine.clone();
        let in_flight = self.in_flight.clone();
        in_flight.fetch_add(1, Ordering::AcqRel);
        let logged = records
            .iter()
            .filter(|r| matches!(r, Record::Log(_)))
            .count() as u64;
        let done = Box::new(
            move |result: Result<u64, crate::store::StoreError>| match result {
                Ok(position) => {
                    engine.committed(position, logged);
                    released.deliver(&engine);
                    record_delivery(&engine, &arrivals);
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                }
                Err(e) => {
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                    eprintln!("switchboard: a commit failed, its acks are withheld: {e}")
                }
            },
        );
        if let Err(e) = store.submit(records, done) {
            // Its `done` never runs: not in flight
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            eprintln!("switchboard: the store refused a batch, its acks are withheld: {e}");
        }
    }

    fn next_msg_id(&mut self) -> u64 {
        let id = self.next_msg << 8 | self.index as u64;
        self.next_msg += 1;
        id
    }

    fn tick(&mut self, now: u64) {
        let _ = self.core.handle(now, Command::Tick, &mut self.out);
        self.apply_effects(now);
        while let Some(&(at, dialog)) = self.typing_due.first() {
            if at > now {
                break;
            }
            self.typing_due.remove(&(at, dialog));
            if let Some(text) = self
                .logs
                .get_mut(&dialog)
                .and_then(|l| l.typing.pending.take())
            {
                self.send_preview(now, dialog, text);
            }
        }
    }

    fn on_msg(&mut self, now: u64, msg: ShardMsg) {
        match msg {
            ShardMsg::ClientHello {
                line,
                client,
                last_seq,
                reply,
            } => {
                let answer = self.client_state(line, &client, last_seq);
                self.outbox.reply(reply, answer);
            }
            ShardMsg::ClientMessage {
                line,
                client,
                info,
                dialog,
                key,
                text,
                arrived,
                reply,
            } => {
                self.arrivals.push(arrived);
                let answer = self.client_message(now, line, client, info, dialog, key, text);
                self.outbox.reply(reply, answer);
            }
            ShardMsg::ClientTyping {
                client,
                dialog,
                text,
            } => self.client_typing(now, &client, dialog, text),
            ShardMsg::ClientClose {
                client,
                dialog,
                reply,
            } => {
                let result =
                    self.core
                        .handle(now, Command::ClientClose { client, dialog }, &mut self.out);
                self.apply_effects(now);
                let answer = result.map(|_| ()).map_err(Refusal::from);
                self.outbox.reply(reply, answer);
            }
            ShardMsg::ClientRate {
                client,
                dialog,
                like,
                comment,
                reply,
            } => {
                self.pending_comment = comment;
                let result = self.core.handle(
                    now,
                    Command::ClientRate {
                        client,
                        dialog,
                        like,
                    },
                    &mut self.out,
                );
                self.apply_effects(now);
                self.pending_comment = None;
                let answer = result.map(|_| ()).map_err(Refusal::from);
                self.outbox.reply(reply, answer);
            }
            ShardMsg::OperatorMessage {
                op,
                dialog,
                key,
                text,
                reply,
            } => {
                let answer = self.operator_message(now, op, dialog, key, text);
                self.outbox.reply(reply, answer);
            }
            ShardMsg::Operator {
                op,
                dialog,
                action,
                reply,
            } => {
                let answer = self.operator_action(now, op, dialog, action);
                self.outbox.reply(reply, answer);
            }
            ShardMsg::OperatorTyping { op, dialog } => {
                let holds = self
                    .core
                    .dialog(dialog)
                    .is_some_and(|d| d.holder_op() == Some(op));
                if let (true, Some(log)) = (holds, self.logs.get(&dialog)) {
                    let frame = WidgetOut::OperatorTyping(widget::OperatorTyping {
                        dialog_id: dialog.0,
                    });
                    self.outbox.send_client(&log.client, Arc::new(frame));
                }
            }
            ShardMsg::History {
                op,
                dialog,
                before,
                limit,
                reply,
            } => {
                let answer = self.history(op, dialog, before, limit);
                self.outbox.reply(reply, answer);
            }
            ShardMsg::OperatorDialogs { op, reply } => {
                let answer = self.operator_dialogs(op);
                self.outbox.reply(reply, answer);
            }
            ShardMsg::OperatorChanged { op } => {
                let _ = self
                    .core
                    .handle(now, Command::OperatorChanged { op }, &mut self.out);
                self.apply_effects(now);
            }
            ShardMsg::Stop => {}
            ShardMsg::Reconfigure {
                ops,
                lines,
                retired,
            } => {
                let shards = self.engine.shards();
                self.core
                    .reconfigure(now, ops, &lines, shards, &retired, &mut self.out);
                self.apply_effects(now);
            }
            ShardMsg::AdminDialogs { filter, reply } => {
                let _ = reply.send(self.admin_dialogs(filter));
            }
            ShardMsg::AdminDialog { dialog, reply } => {
                let _ = reply.send(self.admin_dialog(dialog));
            }
            ShardMsg::Report { reply } => {
                let _ = reply.send(self.report());
            }
            ShardMsg::Export { reply } => {
                let mut ids: Vec<DialogId> = self.logs.keys().copied().collect();
                ids.sort_unstable();
                let states = ids
                    .into_iter()
                    .filter_map(|id| self.dialog_state(id))
                    .collect();
                self.outbox
                    .reply(reply, (states, self.core.dialog_seq_high()));
            }
            ShardMsg::Adopt { moved, log } => {
                let id = moved.id;
                if let Some(mut log) = log {
                    log.line = moved.to_line;
                    self.logs.insert(id, *log);
                }
                let _ = self.core.handle(now, Command::Adopt(moved), &mut self.out);
                self.apply_effects(now);
            }
        }
    }

    fn client_state(
        &self,
        line: crate::routing::LineIdx,
        client: &crate::routing::ClientId,
        last_seq: Option<u64>,
    ) -> ClientState {
        let Some(dialog) = self.core.client_open(line, client) else {
            return ClientState::default();
        };
        let log = self.logs.get(&dialog);
        let operator = self.core.dialog(dialog).and_then(|d| match d.holder {
            Holder::Active(op) | Holder::Bot(op) | Holder::Closing(op) => {
                self.engine.directory().operator_view(line, op)
            }
            _ => None,
        });
        ClientState {
            dialog: Some(dialog),
            operator,
            missed: match (log, last_seq) {
                (Some(log), Some(last)) => log.since(last),
                _ => Vec::new(),
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn client_message(
        &mut self,
        now: u64,
        line: crate::routing::LineIdx,
        client: crate::routing::ClientId,
        info: crate::protocol::ClientInfo,
        hint: Option<DialogId>,
        key: String,
        text: String,
    ) -> Result<Stored, Refusal> {
        let open = hint
            .filter(|d| self.logs.get(d).is_some_and(|l| l.client == client))
            .or_else(|| self.core.client_open(line, &client));
        if let Some(log) = open.and_then(|d| self.logs.get(&d)) {
            if let Some((msg_id, seq)) = log.seen(Side::Client, &key) {
                return Ok(Stored {
                    dialog: log.id,
                    msg_id,
                    seq,
                });
            }
        }
        let reply = self.core.handle(
            now,
            Command::ClientMessage {
                line,
                client: client.clone(),
                dialog: hint,
            },
            &mut self.out,
        );
        let (dialog, audience) = match reply {
            Ok(Reply::ClientMessage {
                dialog, audience, ..
            }) => (dialog, audience),
            Ok(_) => unreachable!("a client message answers with its dialog"),
            Err(e) => {
                self.apply_effects(now);
                return Err(e.into());
            }
        };
        let msg_id = self.next_msg_id();
        let log = self
            .logs
            .entry(dialog)
            .or_insert_with(|| DialogLog::new(dialog, line, client.clone(), info));
        let view = log.append(
            msg_id,
            Author::Client,
            None,
            text.into(),
            now as i64,
            Some((Side::Client, key)),
        );
        self.touch(dialog);
        let result = Stored {
            dialog,
            msg_id,
            seq: view.seq,
        };
        for op in audience {
            self.outbox
                .publish(op, OperatorOut::Message(to_operator_message(view.clone())));
        }
        self.apply_effects(now);
        Ok(result)
    }

    fn client_typing(&mut self, now: u64, client: &str, dialog: DialogId, text: String) {
        let Some(log) = self.logs.get_mut(&dialog) else {
            return;
        };
        if &*log.client != client
            || !self.engine.directory().lines[log.line.0 as usize].typing_preview
        {
            return;
        }
        let due = log.typing.last_sent_ms + TYPING_PREVIEW_INTERVAL_MS;
        if now >= due {
            self.send_preview(now, dialog, text);
        } else {
            if log.typing.pending.replace(text).is_none() {
                self.typing_due.insert((due, dialog));
            }
        }
    }

    fn send_preview(&mut self, now: u64, dialog: DialogId, text: String) {
        let Some(log) = self.logs.get_mut(&dialog) else {
            return;
        };
        log.typing.last_sent_ms = now;
        let audience = self
            .core
            .dialog(dialog)
            .map(|d| d.audience())
            .unwrap_or_default();
        for op in audience {
            let frame = OperatorOut::TypingPreview(operator::TypingPreview {
                dialog_id: dialog.0,
                text: text.clone(),
            });
            self.outbox.publish_ephemeral(op, frame);
        }
    }

    fn operator_message(
        &mut self,
        now: u64,
        op: OpIdx,
        dialog: DialogId,
        key: String,
        text: String,
    ) -> Result<Stored, Refusal> {
        let log = self
            .logs
            .get(&dialog)
            .ok_or(Refusal::new(ErrorCode::NotFound, "no such dialog"))?;
        if let Some((msg_id, seq)) = log.seen(Side::Operator(op), &key) {
            return Ok(Stored {
                dialog,
                msg_id,
                seq,
            });
        }
        if let Err(e) =
            self.core
                .handle(now, Command::OperatorMessage { op, dialog }, &mut self.out)
        {
            self.apply_effects(now);
            return Err(e.into());
        }
        let info = &self.engine.directory().operators[op.0 as usize];
        let author = if info.bot {
            Author::Bot
        } else {
            Author::Operator
        };
        let name = Some(info.name.clone());
        let msg_id = self.next_msg_id();
        let log = self.logs.get_mut(&dialog).expect("checked above");
        let view = log.append(
            msg_id,
            author,
            name,
            text.into(),
            now as i64,
            Some((Side::Operator(op), key)),
        );
        self.touch(dialog);
        let stored = Stored {
            dialog,
            msg_id,
            seq: view.seq,
        };
        // Effects first, so the widget learns who joined before it sees their message.
        self.apply_effects(now);
        self.deliver(dialog, view, Some(op));
        Ok(stored)
    }

    fn operator_action(
        &mut self,
        now: u64,
        op: OpIdx,
        dialog: DialogId,
        action: OperatorAction,
    ) -> Result<(), Refusal> {
        let command = match action {
            OperatorAction::Accept => Command::Accept { op, dialog },
            OperatorAction::Decline => Command::Decline { op, dialog },
            OperatorAction::Close => Command::Close { op, dialog },
            OperatorAction::Transfer(to) => Command::Transfer { op, dialog, to },
            OperatorAction::SupervisorRate(score) => {
                if !self.engine.directory().operators[op.0 as usize].supervisor {
                    return Err(Refusal::new(
                        ErrorCode::Forbidden,
                        "only supervisors rate dialogs",
                    ));
                }
                let log = self
                    .logs
                    .get_mut(&dialog)
                    .ok_or(Refusal::new(ErrorCode::NotFound, "no such open dialog"))?;
                log.supervisor_score = Some(score);
                return Ok(());
            }
        };
        let result = self.core.handle(now, command, &mut self.out);
        self.apply_effects(now);
        result.map(|_| ()).map_err(Refusal::from)
    }

    fn history(
        &self,
        op: OpIdx,
        dialog: DialogId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<crate::protocol::MessageView>, Refusal> {
        let Some(log) = self.logs.get(&dialog) else {
            return self.stored_history(op, dialog, before, limit);
        };
        let sees = self
            .core
            .dialog(dialog)
            .is_some_and(|d| d.audience().contains(&op) || d.holder_op() == Some(op));
        if !sees && !self.engine.directory().operators[op.0 as usize].supervisor {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "this dialog is not yours",
            ));
        }
        Ok(log.page(before, limit))
    }

    /// History of a dialog that is no longer open, read from the store: for supervisors and for
    /// the operator who held it last (named in its stored summary).
    fn stored_history(
        &self,
        op: OpIdx,
        dialog: DialogId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<crate::protocol::MessageView>, Refusal> {
        let Some(store) = &self.engine.store else {
            return Err(Refusal::new(ErrorCode::NotFound, "no such open dialog"));
        };
        let dir = self.engine.directory();
        let me = &dir.operators[op.0 as usize];
        let held_it = || {
            store
                .dialog(dialog.0)
                .ok()
                .flatten()
                .and_then(|bytes| rmp_serde::from_slice::<persist::ClosedDialog>(&bytes).ok())
                .is_some_and(|closed| closed.operator.as_deref() == Some(&*me.id))
        };
        if !me.supervisor && !held_it() {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "the history of a closed dialog is for supervisors and its last operator",
            ));
        }
        let page = persist::stored_page(store, dialog.0, before, limit)
            .map_err(|_| Refusal::new(ErrorCode::Internal, "the history could not be read"))?;
        if page.is_empty() {
            return Err(Refusal::new(ErrorCode::NotFound, "no such dialog"));
        }
        Ok(page)
    }

    fn operator_dialogs(&self, op: OpIdx) -> Vec<DialogSummary> {
        let mut list: Vec<DialogSummary> = self
            .core
            .dialogs_of(op)
            .into_iter()
            .filter_map(|id| {
                let d = self.core.dialog(id)?;
                let log = self.logs.get(&id)?;
                let state = super::admin_view::state_of(&d.holder);
                Some(DialogSummary {
                    dialog_id: id.0,
                    line: self.engine.directory().lines[d.line.0 as usize]
                        .id
                        .to_string(),
                    state,
                    client: log.info.clone(),
                    last_seq: log.last_seq(),
                    deadline_ts: self
                        .core
                        .timer_deadline(id, crate::routing::TimerKind::Transfer)
                        .map(|t| t as i64),
                })
            })
            .collect();
        list.sort_by_key(|s| s.dialog_id);
        list
    }

    /// Sends a stored message to the widget and to the dialog's operators except `from`.
    pub(super) fn deliver(
        &mut self,
        dialog: DialogId,
        view: crate::protocol::MessageView,
        from: Option<OpIdx>,
    ) {
        let Some(log) = self.logs.get(&dialog) else {
            return;
        };
        let (client, line) = (log.client.clone(), log.line);
        let audience = self
            .core
            .dialog(dialog)
            .map(|d| d.audience())
            .unwrap_or_default();
        for op in audience.into_iter().filter(|op| Some(*op) != from) {
            self.outbox
                .publish(op, OperatorOut::Message(to_operator_message(view.clone())));
        }
        if view.author != Author::Client {
            let mut view = view;
            if matches!(view.author, Author::Operator | Author::Bot) {
                // The widget sees the name the line's operator_display allows.
                view.name = from
                    .and_then(|op| self.engine.directory().operator_view(line, op))
                    .map(|v| v.name);
            }
            self.outbox
                .send_client(&client, Arc::new(WidgetOut::Message(view)));
        }
    }

    /// The last messages to show with an offer.
    pub(super) fn offer_messages(&self, dialog: DialogId) -> Vec<crate::protocol::MessageView> {
        self.logs
            .get(&dialog)
            .map(|log| log.page(None, OFFER_MESSAGES_MAX))
            .unwrap_or_default()
    }
}

/// A stored message as an operator `message` frame.
pub(super) fn to_operator_message(view: crate::protocol::MessageView) -> operator::OperatorMessage {
    operator::OperatorMessage {
        dialog_id: view.dialog_id,
        dialog_seq: view.seq,
        msg_id: view.msg_id,
        author: view.author,
        name: view.name,
        text: view.text,
        ts: view.ts,
    }
}

/// Records how long each released client message took from arrival to delivery.
fn record_delivery(engine: &Engine, arrivals: &[std::time::Instant]) {
    for arrived in arrivals {
        engine
            .metrics
            .delivery_us
            .record(arrived.elapsed().as_micros() as u64);
    }
}

/// A digest of a record's bytes (to notice an unchanged record; not for security).
fn digest(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}
