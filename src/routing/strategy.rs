//! Choosing who gets a dialog: one pass over the line's candidate pool that applies eligibility
//! (dismissed, vacation, presence or workday), the line limit and the operator's capacity, then
//! picks by the line's mode:
//!
//! - `even`: least recently given a dialog on this line (never-given first, then pool order);
//! - `balanced`: fewest counted dialogs on this line, ties to the least recently given;
//! - `strict`: the first free operator after the one offered last, wrapping around;
//! - `all`: every free operator not already offered.
//!
//! Operators who declined or let the offer time out in this round are skipped until every free
//! operator was tried; then a new round starts. Pure: reads state, changes nothing, allocates
//! only for `all` mode and the bounded skip log.

use super::decision::{Skip, SkipLog};
use super::dialog::Dialog;
use super::ids::OpIdx;
use super::line::Line;
use super::operator::Operator;
use super::time::earliest;
use crate::config::QueueMode;

/// The result of one scan.
#[derive(Debug, Default)]
pub struct Pick {
    /// Chosen operators with their pool positions (one, or several in `all` mode).
    pub chosen: Vec<(usize, OpIdx)>,
    /// Every free operator was already tried this round: the caller starts a new round.
    pub new_round: bool,
    /// How many pool members are available at all (presence/workday), ignoring limits.
    pub available: usize,
    /// How many pool members could take a dialog now (available, below limit and capacity),
    /// including those already tried or offered this dialog.
    pub free: usize,
    /// The earliest instant a skipped member's vacation ends.
    pub vacation_ends_ms: Option<u64>,
}

type Key = (u64, u64, u64);

/// Scans the pool for `dialog` at `now_ms`, logging every operator passed over.
pub fn pick(
    line: &Line,
    ops: &[Operator],
    dialog: &Dialog,
    now_ms: u64,
    log: &mut SkipLog,
) -> Pick {
    let rules = &line.rules;
    let need = rules.need();
    let pool_end = rules.pool_end(dialog.escalation);
    let start = dialog.cursor.map_or(0, |c| c + 1);
    let mut result = Pick::default();
    let mut best: Option<(Key, usize)> = None;
    let mut best_tried: Option<(Key, usize)> = None;
    for (pos, member) in line.members[..pool_end].iter().enumerate() {
        let op = member.op;
        let operator = &ops[op.0 as usize];
        let state = operator.cell.state();
        if let Some(skip) = operator.unavailable(&state, need, now_ms) {
            if skip == Skip::OnVacation {
                let end = operator.vacation_end(now_ms);
                result.vacation_ends_ms = earliest(result.vacation_ends_ms, end);
            }
            log.push(op, skip);
            continue;
        }
        result.available += 1;
        let count = member.counted(rules.count);
        if count >= rules.limit_max {
            log.push(
                op,
                Skip::AtLimit {
                    count,
                    max: rules.limit_max,
                },
            );
            continue;
        }
        if state.load >= state.capacity {
            log.push(
                op,
                Skip::AtCapacity {
                    load: state.load,
                    capacity: state.capacity,
                },
            );
            continue;
        }
        result.free += 1;
        if dialog.is_offered_to(op) {
            continue;
        }
        let key: Key = match rules.mode {
            QueueMode::Strict => (
                ((pos + pool_end - start % pool_end.max(1)) % pool_end.max(1)) as u64,
                0,
                0,
            ),
            QueueMode::Even | QueueMode::All => (member.last_given, pos as u64, 0),
            QueueMode::Balanced => (u64::from(count), member.last_given, pos as u64),
        };
        if dialog.tried.contains(&op) {
            log.push(op, Skip::TriedThisRound);
            if best_tried.is_none_or(|(k, _)| key < k) {
                best_tried = Some((key, pos));
            }
            continue;
        }
        if rules.mode == QueueMode::All {
            result.chosen.push((pos, op));
        } else if best.is_none_or(|(k, _)| key < k) {
            best = Some((key, pos));
        }
    }
    if rules.mode == QueueMode::All {
        return result;
    }
    let winner = match (best, best_tried) {
        (Some((_, pos)), _) => Some(pos),
        (None, Some((_, pos))) => {
            result.new_round = true;
            Some(pos)
        }
        (None, None) => None,
    };
    if let Some(pos) = winner {
        result.chosen.push((pos, line.members[pos].op));
    }
    result
}

/// Whether `op` could take a dialog of `line` now outside the pool's order (the operator
/// responsible for the client's contact, who need not be a member): available, below the line
/// limit (counted like a member when they are one) and below capacity; the reason when not.
pub fn could_take(line: &Line, ops: &[Operator], op: OpIdx, now_ms: u64) -> Result<(), Skip> {
    let Some(operator) = ops.get(op.0 as usize) else {
        return Err(Skip::Dismissed);
    };
    let rules = &line.rules;
    let state = operator.cell.state();
    if let Some(skip) = operator.unavailable(&state, rules.need(), now_ms) {
        return Err(skip);
    }
    let count = line.member(op).map_or(0, |m| m.counted(rules.count));
    if count >= rules.limit_max {
        return Err(Skip::AtLimit {
            count,
            max: rules.limit_max,
        });
    }
    if state.load >= state.capacity {
        return Err(Skip::AtCapacity {
            load: state.load,
            capacity: state.capacity,
        });
    }
    Ok(())
}
