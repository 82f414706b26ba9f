//! The hub's read side for the admin API: dialogs (open ones asked of their shards, closed
//! ones read from the store), one dialog with its decisions, its stored messages, and the
//! statistics of every shard merged.

use crate::admin::views::{
    state_name, DialogFilter, DialogView, ServerLatencies, ShardReport, StatsEntry, StatsView,
    OPEN_STATES,
};
use crate::hub::Hub;
use crate::protocol::{DialogState, MessageView};
use crate::routing::DialogId;
use crate::shard::requests::ShardRequest;
use crate::store::records::ClosedDialog;
use std::ops::ControlFlow;

pub use crate::store::records::ReadError;
use crate::store::StoreError;

impl Hub {
    /// Dialogs matching `filter` with ids above `after`, ascending, at most `limit`: open ones
    /// from the shards, closed ones from the store.
    pub async fn admin_dialogs(
        &self,
        filter: DialogFilter,
        after: u64,
        limit: usize,
    ) -> Result<Vec<DialogView>, ReadError> {
        let mut found = Vec::new();
        if filter.state != Some(DialogState::Closed) {
            found.extend(
                self.open_dialogs(filter)
                    .await
                    .into_iter()
                    .filter(|v| v.id > after),
            );
        }
        if filter.state.is_none() || filter.state == Some(DialogState::Closed) {
            found.extend(self.closed_dialogs(filter, after, limit)?);
        }
        found.sort_unstable_by_key(|v| v.id);
        found.truncate(limit);
        Ok(found)
    }

    /// Every open dialog matching `filter`, asked of every shard (without decisions).
    pub async fn open_dialogs(&self, filter: DialogFilter) -> Vec<DialogView> {
        let mut found = Vec::new();
        for shard in 0..self.shards() {
            found.extend(
                self.ask(shard, |reply| ShardRequest::AdminDialogs { filter, reply })
                    .await
                    .unwrap_or_default(),
            );
        }
        found
    }

    /// Up to `limit` closed dialogs matching `filter` with ids above `after`.
    fn closed_dialogs(
        &self,
        filter: DialogFilter,
        after: u64,
        limit: usize,
    ) -> Result<Vec<DialogView>, ReadError> {
        let dir = self.directory();
        let line = filter.line.map(|l| dir.lines[l.0 as usize].id.clone());
        let operator = filter
            .operator
            .map(|o| dir.operators[o.0 as usize].id.clone());
        let mut found = Vec::new();
        self.scan_closed(after, |_, closed| {
            let wanted = line.as_deref().is_none_or(|l| l == closed.line)
                && operator
                    .as_deref()
                    .is_none_or(|o| closed.operator.as_deref() == Some(o));
            if wanted {
                found.push(DialogView::closed(closed));
            }
            if found.len() >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        Ok(found)
    }

    /// Visits the stored summaries of closed dialogs with ids above `after`, ascending, a page
    /// at a time, until `each` breaks (unreadable summaries are skipped).
    pub(crate) fn scan_closed(
        &self,
        mut after: u64,
        mut each: impl FnMut(u64, ClosedDialog) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        const PAGE: usize = 512;
        let Some(store) = &self.store else {
            return Ok(());
        };
        loop {
            let page = store.dialogs_range(after, PAGE)?;
            let full = page.len() == PAGE;
            for (id, bytes) in page {
                after = id;
                if let Ok(closed) = rmp_serde::from_slice::<ClosedDialog>(&bytes) {
                    if each(id, closed).is_break() {
                        return Ok(());
                    }
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// One dialog: open (with its routing decisions) or closed.
    pub async fn admin_dialog(&self, id: u64) -> Result<Option<DialogView>, ReadError> {
        let dialog = DialogId(id);
        let shard = self.shard_of_dialog(dialog);
        if let Some(Some(view)) = self
            .ask(shard, |reply| ShardRequest::AdminDialog { dialog, reply })
            .await
        {
            return Ok(Some(view));
        }
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let bytes = store.dialog(id)?;
        Ok(bytes
            .and_then(|b| rmp_serde::from_slice::<ClosedDialog>(&b).ok())
            .map(DialogView::closed))
    }

    /// Stored messages of a dialog with `seq` below `before`, the newest `limit`, oldest first.
    pub fn admin_messages(
        &self,
        id: u64,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageView>, ReadError> {
        let Some(store) = &self.store else {
            return Ok(Vec::new());
        };
        crate::store::records::stored_page(store, id, before, limit)
    }

    /// Every shard's report merged.
    pub async fn report(&self) -> ShardReport {
        let mut report = ShardReport::default();
        for shard in 0..self.shards() {
            if let Some(part) = self
                .ask(shard, |reply| ShardRequest::Report { reply })
                .await
            {
                report.merge(&part);
            }
        }
        report
    }

    /// `GET /stats`: per line and per operator, in configuration order.
    pub async fn stats(&self) -> StatsView {
        let report = self.report().await;
        let dir = self.directory();
        let lines = dir
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let idx = crate::routing::LineIdx(i as u32);
                let counts = report.by_state.get(&idx).copied().unwrap_or_default();
                StatsEntry {
                    id: line.id.to_string(),
                    dialogs: Some(
                        OPEN_STATES
                            .iter()
                            .zip(counts)
                            .map(|(s, n)| (state_name(*s), n))
                            .collect(),
                    ),
                    queue_length: Some(report.queue_len.get(&idx).copied().unwrap_or_default()),
                    kpi: report
                        .stats
                        .lines
                        .get(&idx)
                        .cloned()
                        .unwrap_or_default()
                        .view(),
                }
            })
            .collect();
        let operators = dir
            .operators
            .iter()
            .enumerate()
            .map(|(i, op)| StatsEntry {
                id: op.id.to_string(),
                dialogs: None,
                queue_length: None,
                kpi: report
                    .stats
                    .operators
                    .get(&crate::routing::OpIdx(i as u32))
                    .cloned()
                    .unwrap_or_default()
                    .view(),
            })
            .collect();
        let m = &self.metrics;
        StatsView {
            lines,
            operators,
            server: ServerLatencies {
                dispatch_us: m.dispatch_us.snapshot(),
                delivery_us: m.delivery_us.snapshot(),
                ack_us: m.ack_us.snapshot(),
                group_commit_us: m.group_commit_us.snapshot(),
            },
        }
    }

    /// `GET /metrics`: the server's counters and latency histograms, dialogs by state, queue
    /// lengths, and response-time histograms per line and per operator.
    pub async fn metrics_text(&self) -> Result<String, std::fmt::Error> {
        use crate::metrics::prometheus::{
            DIALOGS, DISK_FREE, FIRST_RESPONSE, OPERATOR_FIRST_RESPONSE, OPERATOR_RESPONSE,
            QUEUE_LENGTH, READ_ONLY, RESPONSE,
        };
        use crate::metrics::{Scrape, TimeUnit};
        let report = self.report().await;
        let dir = self.directory();
        let mut scrape = Scrape::from_metrics(&self.metrics);
        if self.disk.free_bytes() < u64::MAX {
            scrape.gauge(DISK_FREE, &[], self.disk.free_bytes() as f64);
        }
        let read_only = self.disk.refusal().is_some();
        scrape.gauge(READ_ONLY, &[], if read_only { 1.0 } else { 0.0 });
        let mut totals = [0u64; OPEN_STATES.len()];
        for counts in report.by_state.values() {
            for (t, n) in totals.iter_mut().zip(counts) {
                *t += n;
            }
        }
        for (state, n) in OPEN_STATES.iter().zip(totals) {
            scrape.gauge(DIALOGS, &[("state", state_name(*state))], n as f64);
        }
        for (i, line) in dir.lines.iter().enumerate() {
            let idx = crate::routing::LineIdx(i as u32);
            let waiting = report.queue_len.get(&idx).copied().unwrap_or_default();
            scrape.gauge(QUEUE_LENGTH, &[("line", &line.id)], waiting as f64);
            if let Some(k) = report.stats.lines.get(&idx) {
                let labels = [("line", &*line.id)];
                scrape.histogram(
                    FIRST_RESPONSE,
                    TimeUnit::Millis,
                    &labels,
                    &k.first_response_ms,
                );
                scrape.histogram(RESPONSE, TimeUnit::Millis, &labels, &k.response_ms);
            }
        }
        for (i, op) in dir.operators.iter().enumerate() {
            if let Some(k) = report.stats.operators.get(&crate::routing::OpIdx(i as u32)) {
                let labels = [("operator", &*op.id)];
                scrape.histogram(
                    OPERATOR_FIRST_RESPONSE,
                    TimeUnit::Millis,
                    &labels,
                    &k.first_response_ms,
                );
                scrape.histogram(OPERATOR_RESPONSE, TimeUnit::Millis, &labels, &k.response_ms);
            }
        }
        self.webhooks.scrape(&mut scrape);
        scrape.render()
    }
}
