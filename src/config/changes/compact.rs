//! Compaction: shortens the stored list of changes without changing what it replays to.
//!
//! Precondition: the list replays *cleanly* over the base it is compacted for: every change
//! applies, except deletes of objects that are already gone (those change nothing). The service's
//! log has this shape as long as it records only changes that applied, and after a start whose
//! `replay` skipped some, it drops those before compacting. Under it,
//! `replay(base, compacted)` gives exactly the config `replay(base, full)` gives (same objects,
//! same order) and is itself clean. Over a base where later changes no longer apply, a compacted
//! list may differ from the full one: a skipped later put cannot fall back to an earlier value
//! that compaction removed.
//!
//! Rule: a change is merged with the *previous* change to the same object (kind and id) only
//! where that provably cannot alter the outcome of the changes in between (`between`):
//!
//! - put list ; put list → the later value in the earlier's place. Always.
//! - put line ; delete line → the delete in the put's place. Always: a line that is gone
//!   earlier holds no channels and names no operator, so nothing in between can fail for it.
//! - delete ; delete → the earlier delete. Always: the later one is a no-op.
//! - put line ; put line → the later value in the earlier's place, unless `between` puts or
//!   deletes an operator the later value names, or puts its quick-answer list, or changes any
//!   line while the later value has a channel the earlier one had not.
//! - put operator ; put operator → the later value in the earlier's place, unless the earlier
//!   value is a bot, the later is not, and `between` changes a line (which may have stopped
//!   using the bot).
//! - put operator ; delete operator → the delete alone, unless `between` puts a line that
//!   names the operator (it would not apply without them).
//! - delete ; put → both: the put appends the object at the end again.
//!
//! "In the earlier's place" keeps the order objects are appended in. Merges that cannot be shown
//! safe are left alone, so a list can keep more than one change per object; with the usual
//! edits (a line's channels kept, bots staying bots) it keeps one put per object, or a delete,
//! or a delete and a put.

use super::{Change, Object};
use crate::config::model::LineConfig;

/// Shortens `changes` in place; see the module documentation for the rule and its precondition.
pub fn compact(changes: &mut Vec<Change>) {
    loop {
        let before = changes.len();
        *changes = pass(std::mem::take(changes));
        if changes.len() == before {
            return;
        }
    }
}

/// One left-to-right pass: each change is settled against the previous change to its object.
fn pass(changes: Vec<Change>) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::with_capacity(changes.len());
    for change in changes {
        out.push(change);
        let mut at = out.len() - 1;
        while let Some(earlier) = previous_same(&out, at) {
            match merge(&out[earlier], &out[at], &out[earlier + 1..at]) {
                Merge::Keep => break,
                Merge::LaterInPlace => {
                    out[earlier] = out.remove(at);
                    at = earlier;
                }
                Merge::DropLater => {
                    out.remove(at);
                    break;
                }
                Merge::DropEarlier => {
                    out.remove(earlier);
                    at -= 1;
                }
            }
        }
    }
    out
}

fn previous_same(changes: &[Change], at: usize) -> Option<usize> {
    let target = changes[at].target();
    changes[..at].iter().rposition(|c| c.target() == target)
}

enum Merge {
    Keep,
    /// The later change replaces the earlier one in the earlier one's place.
    LaterInPlace,
    DropLater,
    DropEarlier,
}

fn merge(earlier: &Change, later: &Change, between: &[Change]) -> Merge {
    use Change::*;
    match (earlier, later) {
        (PutQuickAnswers(_), PutQuickAnswers(_)) | (PutLine(_), DeleteLine { .. }) => {
            Merge::LaterInPlace
        }
        (DeleteLine { .. }, DeleteLine { .. }) | (DeleteOperator { .. }, DeleteOperator { .. }) => {
            Merge::DropLater
        }
        (PutLine(old), PutLine(new)) if line_can_move(old, new, between) => Merge::LaterInPlace,
        (PutOperator(old), PutOperator(new))
            if new.bot || !old.bot || !between.iter().any(is_line_change) =>
        {
            Merge::LaterInPlace
        }
        (PutOperator(op), DeleteOperator { .. })
            if !between
                .iter()
                .any(|c| matches!(c, PutLine(line) if names_operator(line, &op.id))) =>
        {
            Merge::DropEarlier
        }
        _ => Merge::Keep,
    }
}

/// Whether `new` may take `old`'s place, earlier than `between`: everything `new` relies on
/// already held there, and nothing in `between` relied on `old` in a way `new` breaks.
fn line_can_move(old: &LineConfig, new: &LineConfig, between: &[Change]) -> bool {
    let channels_kept = new.channels.iter().all(|c| old.channels.contains(c));
    between.iter().all(|change| match change {
        Change::PutOperator(op) => !names_operator(new, &op.id),
        Change::DeleteOperator { id } => !names_operator(new, id),
        Change::PutQuickAnswers(list) => new.quick_answers.as_ref() != Some(&list.id),
        Change::PutLine(_) | Change::DeleteLine { .. } => channels_kept,
        Change::PutWebhook(_) | Change::DeleteWebhook { .. } => true,
    })
}

fn is_line_change(change: &Change) -> bool {
    change.target().0 == Object::Line
}

/// Whether `line` refers to operator `id` anywhere.
fn names_operator(line: &LineConfig, id: &str) -> bool {
    let q = &line.queue;
    let kpi = [&line.kpi.first_response, &line.kpi.response];
    q.members.iter().any(|m| m == id)
        || q.escalation.iter().any(|s| s.add.iter().any(|m| m == id))
        || line.display_overrides.contains_key(id)
        || kpi
            .into_iter()
            .flatten()
            .any(|k| k.notify.iter().any(|n| n == id))
        || line.bot.as_ref().is_some_and(|b| b.operator == id)
}
