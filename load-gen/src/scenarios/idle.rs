//! `idle`: many idle widget connections. Reads the server's resident memory (when its pid is
//! known), opens `--widgets` connections (hello → welcome), waits a second for the server to
//! settle, reads the memory again, holds the connections for `--duration` and counts how many
//! are still open at the end.

use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::{connect_widgets, join_all, ScenarioError};
use crate::ctx::{Ctx, Phase};
use crate::measure::Counters;
use crate::procfs::rss_bytes;
use crate::report::Memory;
use crate::wire::{conn, frames, Received, Ws};

/// Pause between the last connection and the second memory reading.
const SETTLE: Duration = Duration::from_secs(1);

pub async fn run(ctx: &Arc<Ctx>) -> Result<Option<Memory>, ScenarioError> {
    let pid = ctx.endpoint.pid;
    let before = pid.and_then(rss_bytes);
    let widgets = connect_widgets(ctx, ctx.plan.widgets).await?;
    let connections = widgets.len();
    let tasks: Vec<_> = widgets
        .into_iter()
        .map(|(_, ws)| tokio::spawn(hold(ctx.clone(), ws)))
        .collect();
    tokio::time::sleep(SETTLE).await;
    let after = pid.and_then(rss_bytes);
    let start = ctx.clock.now_ns();
    ctx.set_load_window(start);
    let mut phase = ctx.watch_phase();
    ctx.advance(Phase::Load);
    tokio::select! {
        _ = tokio::time::sleep(ctx.plan.duration) => {}
        _ = Ctx::reached(&mut phase, Phase::Done) => {}
    }
    let alive = ctx.live_widgets.load(Ordering::Relaxed).max(0) as usize;
    ctx.advance(Phase::Done);
    join_all(tasks).await;
    if alive < connections {
        ctx.note(format!(
            "{} of {connections} idle connections were closed during the hold",
            connections - alive
        ));
    }
    Ok(Some(Memory::new(before, after, connections, alive)))
}

/// Holds one connection open, reading (and counting an unexpected close) until Done.
async fn hold(ctx: Arc<Ctx>, mut ws: Ws) {
    ctx.live_widgets.fetch_add(1, Ordering::Relaxed);
    let mut phase = ctx.watch_phase();
    loop {
        let next = tokio::select! {
            biased;
            _ = Ctx::reached(&mut phase, Phase::Done) => break,
            next = ws.next() => next,
        };
        match next.map(|m| m.map(frames::decode)) {
            Some(Ok(Ok(Received::Closed(code)))) => {
                Counters::one(&ctx.measures.counters.disconnects);
                ctx.measures.close_code(code);
                ctx.live_widgets.fetch_sub(1, Ordering::Relaxed);
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => {
                Counters::one(&ctx.measures.counters.disconnects);
                ctx.measures.close_code(None);
                ctx.live_widgets.fetch_sub(1, Ordering::Relaxed);
                return;
            }
        }
    }
    ctx.live_widgets.fetch_sub(1, Ordering::Relaxed);
    conn::close(ws, Duration::from_secs(2)).await;
}
