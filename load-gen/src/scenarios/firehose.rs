//! `firehose`: message throughput on established dialogs. Setup opens one dialog per widget
//! (its first message) and waits until an operator has joined each; then every widget writes
//! on its share of the total rate and the operators only read (unless `--reply-ratio`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::chat::LEAD_IN;
use super::widget::{self, WidgetPlan};
use super::{connect_widgets, join_all, load_then_drain, start_operators, ScenarioError};
use crate::ctx::{Ctx, Phase};

pub async fn run(ctx: &Arc<Ctx>) -> Result<(), ScenarioError> {
    let mut tasks = start_operators(ctx).await?;
    let widgets = connect_widgets(ctx, ctx.plan.widgets).await?;
    let of = widgets.len();
    for (slot, (index, ws)) in widgets.into_iter().enumerate() {
        let plan = WidgetPlan {
            index,
            slot,
            of,
            open_now: true,
        };
        tasks.push(tokio::spawn(widget::drive(ctx.clone(), ws, plan)));
    }
    wait_for_dialogs(ctx, of).await;
    let start = ctx.clock.now_ns() + LEAD_IN.as_nanos() as u64;
    ctx.set_load_window(start);
    load_then_drain(ctx).await;
    join_all(tasks).await;
    Ok(())
}

/// Waits until an operator joined every widget's dialog, or the setup time is over (noted).
async fn wait_for_dialogs(ctx: &Ctx, widgets: usize) {
    // The io timeout, plus 2 ms per dialog for a slow server.
    let limit = ctx.plan.io_timeout + Duration::from_millis(2 * widgets as u64);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let joined = ctx.joined.load(Ordering::Relaxed) as usize;
        if joined >= widgets || ctx.phase() >= Phase::Done {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            ctx.note(format!(
                "only {joined} of {widgets} dialogs were accepted within {limit:?}; the load \
                 started anyway"
            ));
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
