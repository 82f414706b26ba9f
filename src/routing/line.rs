//! One line as its shard owns it: the resolved rules (durations in ms, members as operator
//! indexes, working hours ready to query), each member's per-line counters, and the FIFO of
//! waiting dialogs.
//!
//! The candidate *pool* is the queue members in order followed by the members each escalation
//! step adds; a dialog at escalation level `k` may go to `pool[..pool_end(k)]`. Members outside
//! the pool (a transfer target, the bot) still get counters, kept after the pool.

use super::dialog::Slot;
use super::ids::{DialogId, LineIdx, OpIdx};
use super::reserve::Need;
use crate::config::{CountMode, QueueMode};
use crate::schedule::WorkingHours;
use crate::timers::TimerKey;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A KPI target rule.
#[derive(Clone, Debug)]
pub struct KpiRule {
    pub target_ms: u64,
    pub notify: Vec<OpIdx>,
    pub text: Arc<str>,
}

/// The line's bot.
#[derive(Clone, Debug)]
pub struct BotRule {
    pub op: OpIdx,
    pub first_contact_only: bool,
    pub handoff_ms: u64,
}

/// Everything configured for a line, resolved for routing.
#[derive(Clone, Debug)]
pub struct LineRules {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub active: bool,
    pub mode: QueueMode,
    pub transfer_after_ms: u64,
    pub check_availability: bool,
    pub workday_tracking: bool,
    /// `limit.max`, or `u32::MAX` when the line has no limit.
    pub limit_max: u32,
    pub count: CountMode,
    pub pause_after_missed: Option<u32>,
    /// Queue members, then escalation additions, in order; no duplicates.
    pub pool: Vec<OpIdx>,
    /// `pool_ends[k]`: how much of the pool a dialog at escalation level `k` may use.
    pub pool_ends: Vec<usize>,
    /// `escalation_after_ms[k]`: wait before level `k + 1`.
    pub escalation_after_ms: Vec<u64>,
    pub reassign_after_ms: Option<u64>,
    pub reassign_text: Arc<str>,
    pub greeting: Option<Arc<str>>,
    pub no_operators_text: Option<Arc<str>>,
    pub off_hours_text: Option<Arc<str>>,
    pub unanswered_after_ms: Option<u64>,
    pub unanswered_text: Option<Arc<str>>,
    pub rating_enabled: bool,
    pub close_on_rating: bool,
    pub rating_wait_ms: u64,
    /// `client_idle_close`: after, and the text sent first (if any).
    pub idle_close: Option<(u64, Option<Arc<str>>)>,
    pub silence_close_ms: u64,
    pub hours: Option<WorkingHours>,
    pub route_off_hours: bool,
    pub kpi_first: Option<KpiRule>,
    pub kpi_response: Option<KpiRule>,
    pub bot: Option<BotRule>,
}

impl LineRules {
    /// The availability an operator must have to be offered a dialog on this line.
    pub fn need(&self) -> Need {
        match (self.check_availability, self.workday_tracking) {
            (false, _) => Need::Any,
            (true, true) => Need::Working,
            (true, false) => Need::Online,
        }
    }

    /// Pool size usable at escalation level `level`.
    pub fn pool_end(&self, level: u8) -> usize {
        let level = usize::from(level).min(self.pool_ends.len() - 1);
        self.pool_ends[level]
    }

    /// Whether the line routes at `now_ms` (working hours or `route_off_hours`); with the next
    /// opening when it does not.
    pub fn routes_at(&self, now_ms: u64) -> Result<(), Option<u64>> {
        match &self.hours {
            Some(hours) if !self.route_off_hours && !hours.is_open(now_ms as i64) => {
                Err(hours.next_change(now_ms as i64).map(|t| t.max(0) as u64))
            }
            _ => Ok(()),
        }
    }

    /// Whether the line is inside working hours (always, without hours).
    pub fn is_open(&self, now_ms: u64) -> bool {
        self.hours.as_ref().is_none_or(|h| h.is_open(now_ms as i64))
    }
}

/// An operator's standing on one line.
#[derive(Clone, Debug)]
pub struct Member {
    pub op: OpIdx,
    /// Dialogs held on this line, by [`Slot`].
    pub slots: [u32; Slot::COUNT],
    /// When this operator was last given a dialog on this line (a line-local counter; 0 never).
    pub last_given: u64,
}

impl Member {
    fn new(op: OpIdx) -> Self {
        Self {
            op,
            slots: [0; Slot::COUNT],
            last_given: 0,
        }
    }

    /// Dialogs that count toward `limit.max` under `count`.
    pub fn counted(&self, count: CountMode) -> u32 {
        let [offered, unanswered, awaiting_op, awaiting_client, closing] = self.slots;
        match count {
            CountMode::All => offered + unanswered + awaiting_op + awaiting_client + closing,
            CountMode::ExcludeClosed => offered + unanswered + awaiting_op + awaiting_client,
            CountMode::ExcludeAwaitingClient => offered + unanswered + awaiting_op,
            CountMode::ExcludeAnswered => offered + unanswered,
        }
    }

    /// Whether the member holds anything on this line.
    pub fn holds_any(&self) -> bool {
        self.slots.iter().any(|n| *n > 0)
    }
}

/// A line's live state.
#[derive(Debug)]
pub struct Line {
    pub idx: LineIdx,
    pub rules: LineRules,
    /// `members[i]` for `i < rules.pool.len()` is `pool[i]`; extras follow.
    pub members: Vec<Member>,
    position: HashMap<OpIdx, usize>,
    /// Waiting dialogs by arrival.
    pub queue: BTreeMap<u64, DialogId>,
    arrivals: u64,
    given: u64,
    /// Line-level wake-up (working hours open, a vacation ends).
    pub wake: Option<(u64, TimerKey)>,
}

impl Line {
    /// A line with no dialogs.
    pub fn new(idx: LineIdx, rules: LineRules) -> Self {
        let members: Vec<Member> = rules.pool.iter().map(|op| Member::new(*op)).collect();
        let position = rules
            .pool
            .iter()
            .enumerate()
            .map(|(i, op)| (*op, i))
            .collect();
        Self {
            idx,
            rules,
            members,
            position,
            queue: BTreeMap::new(),
            arrivals: 0,
            given: 0,
            wake: None,
        }
    }

    /// Takes new rules: members are ordered by the new pool (their counters kept), members
    /// outside it stay after it while they hold dialogs or were given one.
    pub fn set_rules(&mut self, rules: LineRules) {
        let mut old: HashMap<OpIdx, Member> = self.members.drain(..).map(|m| (m.op, m)).collect();
        let mut members: Vec<Member> = rules
            .pool
            .iter()
            .map(|op| old.remove(op).unwrap_or_else(|| Member::new(*op)))
            .collect();
        let mut extras: Vec<Member> = old.into_values().filter(Member::holds_any).collect();
        extras.sort_by_key(|m| m.op);
        members.extend(extras);
        self.position = members.iter().enumerate().map(|(i, m)| (m.op, i)).collect();
        self.members = members;
        self.rules = rules;
    }

    /// The next arrival number (FIFO order).
    pub fn next_arrival(&mut self) -> u64 {
        self.arrivals += 1;
        self.arrivals
    }

    /// Makes later arrivals come after `arrival` (used when restoring).
    pub fn bump_arrivals(&mut self, arrival: u64) {
        self.arrivals = self.arrivals.max(arrival);
    }

    /// The member entry for `op`, created (outside the pool) if missing.
    pub fn member_mut(&mut self, op: OpIdx) -> &mut Member {
        let members = &mut self.members;
        let at = *self.position.entry(op).or_insert_with(|| {
            members.push(Member::new(op));
            members.len() - 1
        });
        &mut self.members[at]
    }

    /// The member entry for `op`, if it has one.
    pub fn member(&self, op: OpIdx) -> Option<&Member> {
        self.position.get(&op).map(|at| &self.members[*at])
    }

    /// Position of `op` in the pool, if it is in it.
    pub fn pool_position(&self, op: OpIdx) -> Option<usize> {
        self.position
            .get(&op)
            .copied()
            .filter(|at| *at < self.rules.pool.len())
    }

    /// Records that `op` was just given a dialog (for `even` / `balanced`).
    pub fn mark_given(&mut self, op: OpIdx) {
        self.given += 1;
        let given = self.given;
        self.member_mut(op).last_given = given;
    }

    /// `op`'s counted dialogs and whether one more would exceed the line limit.
    pub fn limit_check(&self, op: OpIdx) -> Result<(), (u32, u32)> {
        let count = self.member(op).map_or(0, |m| m.counted(self.rules.count));
        if count >= self.rules.limit_max {
            Err((count, self.rules.limit_max))
        } else {
            Ok(())
        }
    }
}
