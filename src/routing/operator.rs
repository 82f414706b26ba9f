//! A shard's view of one operator: the shared lock-free cell (load, presence, workday) plus the
//! profile facts routing needs (dismissed, vacations, bot, supervisor), copied into each shard
//! so the dispatch loop reads no shared lock.

use super::decision::Skip;
use super::reserve::{Need, OperatorCell, OperatorState, Presence};
use std::sync::Arc;

/// One operator as a shard sees it.
#[derive(Clone, Debug)]
pub struct Operator {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub cell: Arc<OperatorCell>,
    pub dismissed: bool,
    pub bot: bool,
    pub supervisor: bool,
    /// Vacations as half-open Unix-ms ranges `[start, end)`.
    pub vacations: Vec<(u64, u64)>,
}

impl Operator {
    /// The vacation covering `now_ms`, as its end instant.
    pub fn vacation_end(&self, now_ms: u64) -> Option<u64> {
        self.vacations
            .iter()
            .find(|(start, end)| *start <= now_ms && now_ms < *end)
            .map(|(_, end)| *end)
    }

    /// Why this operator cannot take a dialog needing `need` now, judged on the profile and on
    /// `state`; `None` when available (limits are checked separately).
    pub fn unavailable(&self, state: &OperatorState, need: Need, now_ms: u64) -> Option<Skip> {
        if self.dismissed {
            return Some(Skip::Dismissed);
        }
        if need != Need::Any && self.vacation_end(now_ms).is_some() {
            return Some(Skip::OnVacation);
        }
        if state.meets(need) {
            return None;
        }
        Some(match need {
            Need::Working => Skip::NotWorking(state.workday),
            _ if state.presence == Presence::Away => Skip::Away,
            _ => Skip::Offline,
        })
    }
}
