//! One widget connection under load: a writer that follows its timetables (messages, typing
//! drafts) and rates dialogs when asked, and a reader that measures what comes back (acks,
//! operator messages) and counts the rest.
//!
//! Open model: a message due at T is stamped T in the ledger before it is written; if the
//! writer is late (a slow send, a busy core) it sends at once and the lateness is part of
//! every latency measured for that message. The writer never waits for an answer.

use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

use crate::ctx::{Ctx, Phase};
use crate::ledger::Delivery;
use crate::measure::{Counters, Metric};
use crate::pacer::is_due;
use crate::schedule::Timetable;
use crate::wire::{conn, frames, In, Kind, Out, Received, Sink, Stream, Ws};
use crate::wire::{message_text, parse_message_id, REQ_OTHER, REQ_RATE};

/// Dialogs waiting to be rated, per widget.
const RATINGS_QUEUED_MAX: usize = 16;

/// What one widget does.
#[derive(Clone, Copy, Debug)]
pub struct WidgetPlan {
    /// The widget's number (client id, line, histogram shard).
    pub index: usize,
    /// Its place among the `of` widgets sharing the total rates.
    pub slot: usize,
    pub of: usize,
    /// Send one message right away (firehose: open the dialog during setup).
    pub open_now: bool,
}

/// Runs the widget until the run is done (or its connection dies).
pub async fn drive(ctx: Arc<Ctx>, ws: Ws, plan: WidgetPlan) {
    ctx.live_widgets.fetch_add(1, Ordering::Relaxed);
    let (mut sink, stream) = ws.split();
    let (rate_tx, mut rate_rx) = mpsc::channel(RATINGS_QUEUED_MAX);
    let reader = tokio::spawn(read(ctx.clone(), stream, plan.index, rate_tx));
    write(&ctx, &mut sink, plan, &mut rate_rx).await;
    conn::close_sink(
        &mut sink,
        ctx.plan.io_timeout.min(std::time::Duration::from_secs(2)),
    )
    .await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), reader).await;
}

async fn write(ctx: &Ctx, sink: &mut Sink, plan: WidgetPlan, rate_rx: &mut mpsc::Receiver<u64>) {
    let mut phase = ctx.watch_phase();
    if plan.open_now && send_message(ctx, sink, ctx.clock.now_ns()).await.is_err() {
        return;
    }
    Ctx::reached(&mut phase, Phase::Load).await;
    if ctx.phase() >= Phase::Done {
        return;
    }
    let (start, end) = ctx.load_window();
    let messages = Timetable::share(start, end, ctx.plan.rate, plan.of, plan.slot);
    let typing = (ctx.plan.typing_rate > 0.0)
        .then(|| Timetable::share(start, end, ctx.plan.typing_rate, plan.of, plan.slot));
    let (mut m, mut t) = (0u64, 0u64);
    let mut alarm = ctx.pacer.alarm();
    loop {
        let next_message = messages.due(m);
        let next_typing = typing.and_then(|tt| tt.due(t));
        // Typing drafts go first when both are due at once (a client types, then sends).
        let (next, is_typing) = match (next_message, next_typing) {
            (Some(a), Some(b)) if b <= a => (Some(b), true),
            (Some(a), _) => (Some(a), false),
            (None, b) => (b, b.is_some()),
        };
        if let Some(due) = next {
            alarm.arm(due);
        }
        tokio::select! {
            biased;
            _ = Ctx::reached(&mut phase, Phase::Done) => return,
            dialog = rate_rx.recv() => {
                let Some(dialog_id) = dialog else { return };
                if send_rating(ctx, sink, dialog_id).await.is_err() {
                    return;
                }
            }
            _ = alarm.ring(), if next.is_some() => {
                let due = next.unwrap_or(0);
                if !is_due(&ctx.clock, due) {
                    continue; // an early wake-up: arm again
                }
                let sent = if is_typing {
                    t += 1;
                    send_typing(ctx, sink, t).await
                } else {
                    m += 1;
                    send_message(ctx, sink, due).await
                };
                if sent.is_err() {
                    return;
                }
            }
        }
    }
}

/// Sends message due at `due_ns` (stamped in the ledger first).
async fn send_message(ctx: &Ctx, sink: &mut Sink, due_ns: u64) -> Result<(), ()> {
    let Some(id) = ctx.w2o.alloc(due_ns) else {
        ctx.measures.failure("generator_ledger_full");
        return Ok(());
    };
    let text = message_text('m', id, ctx.plan.text_bytes);
    let client_msg_id = format!("c{id}");
    let frame = Out::WidgetMessage {
        req: id,
        client_msg_id: &client_msg_id,
        text: &text,
    };
    ctx.w2o.sent(id);
    send(ctx, sink, &frame).await
}

async fn send_typing(ctx: &Ctx, sink: &mut Sink, n: u64) -> Result<(), ()> {
    let text = message_text('t', n, (ctx.plan.text_bytes / 2).max(8));
    Counters::one(&ctx.measures.counters.typing_sent);
    send(ctx, sink, &Out::WidgetTyping { text: &text }).await
}

async fn send_rating(ctx: &Ctx, sink: &mut Sink, dialog_id: u64) -> Result<(), ()> {
    Counters::one(&ctx.measures.counters.ratings_sent);
    let frame = Out::Rate {
        req: REQ_RATE | (dialog_id & ((1 << 60) - 1)),
        dialog_id,
        score: "like",
    };
    send(ctx, sink, &frame).await
}

async fn send(ctx: &Ctx, sink: &mut Sink, frame: &Out<'_>) -> Result<(), ()> {
    match conn::send_frame(sink, ctx.plan.encoding, frame, ctx.plan.io_timeout).await {
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

async fn read(ctx: Arc<Ctx>, mut stream: Stream, index: usize, rate_tx: mpsc::Sender<u64>) {
    let mut phase = ctx.watch_phase();
    let mut joined = false;
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
                on_frame(&ctx, &frame, index, &mut joined, &rate_tx);
            }
            Ok(Received::Closed(code)) => {
                lost(&ctx, Some(code));
                break;
            }
            Ok(Received::Nothing) => {}
            Err(_) => Counters::one(&ctx.measures.counters.undecodable),
        }
    }
    ctx.live_widgets.fetch_sub(1, Ordering::Relaxed);
}

/// The connection ended before the run did.
fn lost(ctx: &Ctx, close: Option<Option<u16>>) {
    if ctx.phase() < Phase::Done {
        Counters::one(&ctx.measures.counters.disconnects);
        ctx.measures.close_code(close.flatten());
    }
}

fn on_frame(ctx: &Ctx, frame: &In, index: usize, joined: &mut bool, rate_tx: &mpsc::Sender<u64>) {
    let now = ctx.clock.now_ns();
    match frame.kind {
        Kind::Ack => {
            if let Some(req) = frame.req.filter(|r| r & REQ_OTHER == 0) {
                if let Some(due) = ctx.w2o.acked(req) {
                    ctx.record(Metric::Ack, index, due, now);
                }
            }
        }
        Kind::Error => {
            ctx.measures
                .error(frame.code.as_deref().unwrap_or("unknown"));
            if let Some(req) = frame.req.filter(|r| r & REQ_OTHER == 0) {
                ctx.w2o.rejected(req);
            }
        }
        Kind::Message if frame.author.as_deref() == Some("operator") => {
            let id = frame.text.as_deref().and_then(|t| parse_message_id('r', t));
            if let Some(Delivery::First { due_ns }) = id.map(|id| ctx.o2w.delivered(id)) {
                ctx.record(Metric::OperatorToWidget, index, due_ns, now);
            }
        }
        Kind::OperatorJoined if !*joined => {
            *joined = true;
            ctx.joined.fetch_add(1, Ordering::Relaxed);
        }
        Kind::RatingRequest => {
            Counters::one(&ctx.measures.counters.rating_requests);
            if let (true, Some(dialog)) = (ctx.plan.rate_dialogs, frame.dialog_id) {
                if ctx.phase() < Phase::Drain && rate_tx.try_send(dialog).is_err() {
                    ctx.measures.failure("generator_rating_queue_full");
                }
            }
        }
        Kind::DialogClosed => Counters::one(&ctx.measures.counters.dialogs_closed),
        _ => {}
    }
}
