//! One operator connection under load: a reader that measures client messages and offers and
//! decides what to do (accept, reply after the think time, close after the dialog's last
//! message), and a writer that works through those decisions in due order (an `Agenda`).
//!
//! A reply is due `think` after the client message arrived; its latency to the widget counts
//! from that due time, so a writer that falls behind shows in the figures. Nothing is sent for a
//! due time at or after the end of the load.

use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

use crate::ctx::{Ctx, Phase};
use crate::ledger::Delivery;
use crate::measure::{Counters, Metric};
use crate::pacer::SLACK_NS;
use crate::schedule::{Action, Agenda};
use crate::wire::{conn, frames, In, Kind, Out, Received, Sink, Stream, Ws};
use crate::wire::{
    message_text, parse_message_id, REQ_ACCEPT, REQ_CLOSE, REQ_KIND_MASK, REQ_OTHER,
};

/// Decisions queued from the reader to the writer.
const DECISIONS_QUEUED_MAX: usize = 4_096;
/// Dialogs one operator keeps count of (beyond, it stops closing them).
const DIALOGS_TRACKED_MAX: usize = 100_000;
/// Decisions one operator holds waiting for their due time (beyond, new ones are dropped and
/// counted as `generator_agenda_full`).
const AGENDA_MAX: usize = 1_000_000;

#[derive(Default)]
struct DialogState {
    client_messages: u32,
    closing: bool,
}

/// Runs the operator until the run is done (or its connection dies).
pub async fn drive(ctx: Arc<Ctx>, ws: Ws, index: usize) {
    ctx.live_operators.fetch_add(1, Ordering::Relaxed);
    let (mut sink, stream) = ws.split();
    let (tx, mut rx) = mpsc::channel(DECISIONS_QUEUED_MAX);
    let reader = tokio::spawn(read(ctx.clone(), stream, index, tx));
    write(&ctx, &mut sink, &mut rx).await;
    conn::close_sink(&mut sink, std::time::Duration::from_secs(2)).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), reader).await;
}

async fn write(ctx: &Ctx, sink: &mut Sink, rx: &mut mpsc::Receiver<(u64, Action)>) {
    let mut phase = ctx.watch_phase();
    let mut agenda = Agenda::default();
    let mut requests = 0u64;
    let mut alarm = ctx.pacer.alarm();
    loop {
        let next = agenda.next_due();
        if let Some(due) = next {
            alarm.arm(due);
        }
        tokio::select! {
            biased;
            _ = Ctx::reached(&mut phase, Phase::Done) => return,
            decision = rx.recv() => match decision {
                Some((due, action)) if agenda.len() < AGENDA_MAX => agenda.push(due, action),
                Some(_) => ctx.measures.failure("generator_agenda_full"),
                None => return, // the reader ended: the connection is gone
            },
            _ = alarm.ring(), if next.is_some() => {
                let now = ctx.clock.now_ns() + SLACK_NS;
                while let Some((due, action)) = agenda.pop_due(now) {
                    requests += 1;
                    if perform(ctx, sink, due, action, requests).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

async fn perform(ctx: &Ctx, sink: &mut Sink, due: u64, action: Action, n: u64) -> Result<(), ()> {
    let counter = n & ((1 << 60) - 1);
    let (_, load_end) = ctx.load_window();
    let counters = &ctx.measures.counters;
    let frame_text;
    let client_msg_id;
    let frame = match action {
        Action::Accept { dialog_id } => {
            if ctx.phase() >= Phase::Drain {
                return Ok(());
            }
            Counters::one(&counters.accepts_sent);
            Out::Accept {
                req: REQ_ACCEPT | counter,
                dialog_id,
            }
        }
        Action::Reply { dialog_id } => {
            if due >= load_end || ctx.phase() >= Phase::Drain {
                return Ok(());
            }
            let Some(id) = ctx.o2w.alloc(due) else {
                ctx.measures.failure("generator_ledger_full");
                return Ok(());
            };
            frame_text = message_text('r', id, ctx.plan.text_bytes);
            client_msg_id = format!("o{id}");
            ctx.o2w.sent(id);
            Out::OperatorMessage {
                req: id,
                dialog_id,
                client_msg_id: &client_msg_id,
                text: &frame_text,
            }
        }
        Action::Close { dialog_id } => {
            if due >= load_end || ctx.phase() >= Phase::Drain {
                return Ok(());
            }
            Counters::one(&counters.closes_sent);
            Out::OperatorClose {
                req: REQ_CLOSE | counter,
                dialog_id,
            }
        }
    };
    match conn::send_frame(sink, ctx.plan.encoding, &frame, ctx.plan.io_timeout).await {
        Ok(()) => Ok(()),
        Err(e) => {
            if ctx.phase() < Phase::Done {
                ctx.measures.failure(match e {
                    conn::ConnError::Timeout(_) => "generator_send_timeout",
                    _ => "generator_send_failed",
                });
            }
            Err(())
        }
    }
}

async fn read(ctx: Arc<Ctx>, mut stream: Stream, index: usize, tx: mpsc::Sender<(u64, Action)>) {
    let mut phase = ctx.watch_phase();
    let mut dialogs: HashMap<u64, DialogState> = HashMap::new();
    loop {
        let next = tokio::select! {
            biased;
            _ = Ctx::reached(&mut phase, Phase::Done) => break,
            next = stream.next() => next,
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(_)) | None => {
                lost(&ctx, None);
                break;
            }
        };
        match frames::decode(message) {
            Ok(Received::Frame(frame)) => {
                for decision in on_frame(&ctx, &frame, index, &mut dialogs) {
                    // Bounded queue: a writer that is behind slows the reader down (and the
                    // lateness shows up in the latencies).
                    if tx.send(decision).await.is_err() {
                        break;
                    }
                }
            }
            Ok(Received::Closed(code)) => {
                lost(&ctx, Some(code));
                break;
            }
            Ok(Received::Nothing) => {}
            Err(_) => Counters::one(&ctx.measures.counters.undecodable),
        }
    }
    ctx.live_operators.fetch_sub(1, Ordering::Relaxed);
}

fn lost(ctx: &Ctx, close: Option<Option<u16>>) {
    if ctx.phase() < Phase::Done {
        Counters::one(&ctx.measures.counters.disconnects);
        ctx.measures.close_code(close.flatten());
    }
}

/// What the operator does about one frame: measures it, and returns the decisions it causes.
fn on_frame(
    ctx: &Ctx,
    frame: &In,
    index: usize,
    dialogs: &mut HashMap<u64, DialogState>,
) -> Vec<(u64, Action)> {
    let now = ctx.clock.now_ns();
    let counters = &ctx.measures.counters;
    let mut decisions = Vec::new();
    match frame.kind {
        Kind::DialogOffered => {
            Counters::one(&counters.offers);
            let Some(dialog_id) = frame.dialog_id else {
                return decisions;
            };
            decisions.push((
                now + ctx.plan.accept_delay.as_nanos() as u64,
                Action::Accept { dialog_id },
            ));
            let mut oldest: Option<u64> = None;
            for nested in &frame.last_messages {
                if nested.author.as_deref() != Some("client") {
                    continue;
                }
                let Some(id) = nested
                    .text
                    .as_deref()
                    .and_then(|t| parse_message_id('m', t))
                else {
                    continue;
                };
                if let Delivery::First { due_ns } = ctx.w2o.seen_in_history(id) {
                    oldest = Some(oldest.map_or(due_ns, |o| o.min(due_ns)));
                    client_message(ctx, dialog_id, id, now, dialogs, &mut decisions);
                }
            }
            if let Some(due) = oldest {
                ctx.record(Metric::Offer, index, due, now);
            }
        }
        Kind::Message if frame.author.as_deref() == Some("client") => {
            let id = frame.text.as_deref().and_then(|t| parse_message_id('m', t));
            if let (Some(id), Some(dialog_id)) = (id, frame.dialog_id) {
                if let Delivery::First { due_ns } = ctx.w2o.delivered(id) {
                    ctx.record(Metric::WidgetToOperator, index, due_ns, now);
                    client_message(ctx, dialog_id, id, now, dialogs, &mut decisions);
                }
            }
        }
        Kind::Ack => match frame.req {
            Some(req) if req & REQ_OTHER == 0 => {
                ctx.o2w.acked(req);
            }
            Some(req) if req & REQ_KIND_MASK == REQ_ACCEPT => {
                Counters::one(&counters.accepts_acked)
            }
            _ => {}
        },
        Kind::Error => {
            ctx.measures
                .error(frame.code.as_deref().unwrap_or("unknown"));
            if let Some(req) = frame.req.filter(|r| r & REQ_OTHER == 0) {
                ctx.o2w.rejected(req);
            }
        }
        Kind::DialogAssigned => Counters::one(&counters.assigned),
        Kind::DialogRevoked => {
            Counters::one(&counters.revoked);
            if let Some(id) = frame.dialog_id {
                dialogs.remove(&id);
            }
        }
        Kind::DialogClosed => {
            if let Some(id) = frame.dialog_id {
                dialogs.remove(&id);
            }
        }
        Kind::TypingPreview => Counters::one(&counters.previews_received),
        _ => {}
    }
    decisions
}

/// A client message arrived in `dialog_id`: maybe reply, maybe close after it.
fn client_message(
    ctx: &Ctx,
    dialog_id: u64,
    id: u64,
    now: u64,
    dialogs: &mut HashMap<u64, DialogState>,
    decisions: &mut Vec<(u64, Action)>,
) {
    let due = now + ctx.plan.think.as_nanos() as u64;
    if replies_to(id, ctx.plan.reply_ratio) {
        decisions.push((due, Action::Reply { dialog_id }));
    }
    if !ctx.plan.operators_close() {
        return;
    }
    if dialogs.len() >= DIALOGS_TRACKED_MAX && !dialogs.contains_key(&dialog_id) {
        return;
    }
    let state = dialogs.entry(dialog_id).or_default();
    state.client_messages += 1;
    if state.client_messages >= ctx.plan.dialog_messages && !state.closing {
        state.closing = true;
        decisions.push((due, Action::Close { dialog_id }));
    }
}

/// Whether the operator answers message `id`: a fixed share `ratio` of the ids, spread evenly.
pub fn replies_to(id: u64, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    let hash = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    (hash as f64) < ratio * (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::replies_to;

    #[test]
    fn reply_share_is_close_to_the_ratio() {
        let n = 100_000;
        let replied = (0..n).filter(|&id| replies_to(id, 0.3)).count();
        assert!((29_000..31_000).contains(&replied), "{replied}");
        assert!((0..100).all(|id| replies_to(id, 1.0)));
        assert!((0..100).all(|id| !replies_to(id, 0.0)));
    }
}
