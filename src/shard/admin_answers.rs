//! A shard task answering the admin API: its open dialogs (filtered, or one with its routing
//! decisions) and its statistics report. Read-only; answered in the shard's own loop, so no
//! state is shared or locked.

use crate::admin::views::{
    state_of, DecisionView, DialogFilter, DialogView, ShardReport, OPEN_STATES,
};
use crate::routing::{DialogId, Holder, OpIdx};
use crate::shard::ShardTask;

impl ShardTask {
    fn view(&self, id: DialogId) -> Option<DialogView> {
        let dir = self.hub.directory();
        let d = self.core.dialog(id)?;
        let op_id = |op: OpIdx| dir.operators[op.0 as usize].id.to_string();
        Some(DialogView::open(
            d,
            &dir.lines[d.line.0 as usize].id,
            &op_id,
        ))
    }

    /// Open dialogs matching `filter`, by id.
    pub(super) fn admin_dialogs(&self, filter: DialogFilter) -> Vec<DialogView> {
        let mut ids: Vec<DialogId> = self
            .core
            .dialogs()
            .filter(|d| filter.line.is_none_or(|l| d.line == l))
            .filter(|d| filter.state.is_none_or(|s| state_of(&d.holder) == s))
            .filter(|d| {
                filter.operator.is_none_or(|op| {
                    d.holder_op() == Some(op) || d.is_offered_to(op) || d.bot == Some(op)
                })
            })
            .map(|d| d.id)
            .collect();
        ids.sort_unstable();
        ids.into_iter().filter_map(|id| self.view(id)).collect()
    }

    /// One open dialog with its recent routing decisions in words.
    pub(super) fn admin_dialog(&self, id: DialogId) -> Option<DialogView> {
        let mut view = self.view(id)?;
        let decisions = self.io.get(&id).map(|io| {
            io.decisions
                .iter()
                .map(|decision| DecisionView {
                    ts: decision.ts,
                    text: decision.text.clone(),
                })
                .collect()
        });
        view.decisions = Some(decisions.unwrap_or_default());
        Some(view)
    }

    /// This shard's statistics and open dialogs by line and state.
    pub(super) fn report(&self) -> ShardReport {
        let mut report = ShardReport {
            stats: self.stats.clone(),
            ..ShardReport::default()
        };
        for d in self.core.dialogs() {
            let state = state_of(&d.holder);
            if let Some(at) = OPEN_STATES.iter().position(|s| *s == state) {
                report.by_state.entry(d.line).or_default()[at] += 1;
            }
            if matches!(d.holder, Holder::Queued | Holder::OfferedAll(_)) {
                *report.queue_len.entry(d.line).or_default() += 1;
            }
        }
        for line in self.core.lines() {
            report.by_state.entry(line.idx).or_default();
            report.queue_len.entry(line.idx).or_default();
        }
        report
    }
}
