//! `connect`: connection churn. New widget connections start on a timetable (`--rate` per
//! second); each does TCP + WebSocket + hello → welcome and closes. Setup latency counts from
//! the due time, so a backlog (more than `--widgets` in flight) shows up as latency.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

use super::{failure_name, open_widget_due, ScenarioError};
use crate::ctx::{Ctx, Phase};
use crate::measure::Counters;
use crate::schedule::Timetable;
use crate::wire::conn;

pub async fn run(ctx: &Arc<Ctx>) -> Result<(), ScenarioError> {
    let in_flight = ctx.plan.widgets;
    let permits = Arc::new(Semaphore::new(in_flight));
    let url = ctx.endpoint.widget_url();
    let start = ctx.clock.now_ns() + super::chat::LEAD_IN.as_nanos() as u64;
    ctx.set_load_window(start);
    let (_, end) = ctx.load_window();
    let timetable = Timetable::share(start, end, ctx.plan.rate, 1, 0);
    let mut phase = ctx.watch_phase();
    ctx.advance(Phase::Load);
    let mut i = 0u64;
    let mut alarm = ctx.pacer.alarm();
    while let Some(due) = timetable.due(i) {
        let permit = tokio::select! {
            biased;
            _ = Ctx::reached(&mut phase, Phase::Done) => break,
            _ = alarm.until(&ctx.clock, due) => {
                // At the cap, wait for a slot: the wait is part of the measured latency.
                match tokio::select! {
                    p = permits.clone().acquire_owned() => p.ok(),
                    _ = Ctx::reached(&mut phase, Phase::Done) => None,
                } {
                    Some(p) => p,
                    None => break,
                }
            }
        };
        let ctx = ctx.clone();
        let url = url.clone();
        let index = i as usize;
        tokio::spawn(async move {
            match open_widget_due(&ctx, &url, index, due).await {
                Ok(ws) => {
                    Counters::one(&ctx.measures.counters.churned);
                    conn::close(ws, Duration::from_secs(1)).await;
                }
                Err(e) => {
                    Counters::one(&ctx.measures.counters.connect_failures);
                    if ctx.phase() < Phase::Done {
                        ctx.measures.failure(&failure_name(&e));
                    }
                }
            }
            drop(permit);
        });
        i += 1;
    }
    ctx.advance(Phase::Drain);
    // Every connection gets at most one io timeout to finish its setup, plus its close.
    let wait = ctx.plan.io_timeout * 2 + Duration::from_secs(1);
    let all = permits.acquire_many(in_flight as u32);
    if tokio::time::timeout(wait, all).await.is_err() {
        ctx.note("some connections were still being set up when the run ended");
    }
    ctx.advance(Phase::Done);
    if Counters::get(&ctx.measures.counters.churned) == 0 && i > 0 {
        return Err(ScenarioError::NoWidgets(format!(
            "none of {i} connections was set up (see errors)"
        )));
    }
    Ok(())
}
