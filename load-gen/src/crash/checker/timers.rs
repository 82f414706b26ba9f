//! The crash run's timer check: every dialog arms an `unanswered` timer when it opens (the
//! crash line's config), and the export shows whether it fired, once, exactly when it should,
//! also when it fell due while the server was down.

use std::collections::BTreeMap;

use super::{Truth, Verdict};

/// The crash line's `unanswered_after`: a timer every dialog arms when it opens, due while
/// the server may well be down.
pub const UNANSWERED_AFTER_MS: u64 = 1_500;
/// The crash line's `unanswered_text`: what the timer leaves in the dialog when it fires.
pub const UNANSWERED_TEXT: &str = "Still waiting for an operator";

impl Truth {
    /// Dialogs whose `unanswered` timer fell due inside one of the `down` windows (Unix ms,
    /// from the kill to listening again) and that were still unanswered then.
    pub fn timers_due_while_down(&self, down: &[(u64, u64)]) -> usize {
        self.messages
            .values()
            .filter(|messages| {
                let Some(opened) = messages.get(&1).filter(|m| m.author == "client") else {
                    return false;
                };
                let due = opened.ts + UNANSWERED_AFTER_MS;
                let answered_before = messages
                    .values()
                    .any(|m| m.author == "operator" && m.ts < due);
                !answered_before && down.iter().any(|(from, to)| (*from..*to).contains(&due))
            })
            .count()
    }
}

/// The `unanswered` timer of every dialog fired exactly once when it fell due before the first
/// operator answer (also when it fell due while the server was down: it fires at the restart),
/// and never when an answer came first or the run ended before it fell due. The server stamps
/// both with one clock and fires a due timer before handling a command at the same instant, so
/// the timestamps decide it exactly.
pub(super) fn timeouts_fired_once(truth: &Truth) -> Verdict {
    let mut v = Verdict::new("every timeout that fell due fired once (also while down)");
    let last_ts = truth
        .messages
        .values()
        .flat_map(BTreeMap::values)
        .map(|m| m.ts)
        .max()
        .unwrap_or(0);
    for (dialog, messages) in &truth.messages {
        let Some(opened) = messages.get(&1).filter(|m| m.author == "client") else {
            continue;
        };
        let due = opened.ts + UNANSWERED_AFTER_MS;
        let answered = messages.values().find(|m| m.author == "operator");
        let fired = messages
            .values()
            .filter(|m| m.author == "system" && m.text == UNANSWERED_TEXT)
            .count();
        let expected = match answered {
            Some(answer) => usize::from(answer.ts >= due),
            // Unanswered to the end: due well before the server's last write means it fired.
            None if due + 5_000 <= last_ts => 1,
            None => fired.min(1),
        };
        v.look(fired == expected, || {
            format!(
                "dialog {dialog}: the unanswered timer fired {fired} times, expected {expected}"
            )
        });
    }
    v
}
