//! `chat`: realistic sessions. Widgets write on their timetables (the first message of each
//! dialog opens it), typing drafts in between; operators accept offers after `accept_ms`, reply
//! after `think_ms`, and close a dialog after its `dialog_messages`-th client message; clients
//! rate closed dialogs when asked, and their next message opens a new dialog.

use std::sync::Arc;
use std::time::Duration;

use super::widget::{self, WidgetPlan};
use super::{connect_widgets, join_all, load_then_drain, start_operators, ScenarioError};
use crate::ctx::Ctx;

/// Time between the end of setup and the first due message.
pub const LEAD_IN: Duration = Duration::from_millis(200);

pub async fn run(ctx: &Arc<Ctx>) -> Result<(), ScenarioError> {
    let mut tasks = start_operators(ctx).await?;
    let widgets = connect_widgets(ctx, ctx.plan.widgets).await?;
    let of = widgets.len();
    for (slot, (index, ws)) in widgets.into_iter().enumerate() {
        let plan = WidgetPlan {
            index,
            slot,
            of,
            open_now: false,
        };
        tasks.push(tokio::spawn(widget::drive(ctx.clone(), ws, plan)));
    }
    let start = ctx.clock.now_ns() + LEAD_IN.as_nanos() as u64;
    ctx.set_load_window(start);
    load_then_drain(ctx).await;
    join_all(tasks).await;
    Ok(())
}
