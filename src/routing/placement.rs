//! Which shard owns what, and what one shard's effects ask of the others: the single copy of
//! the forwarding rules, used by the server's hub (`hub::Hub`, shards on their own tasks) and by
//! the single-threaded [`Router`](super::Router) that tests, property tests and benches drive.
//!
//! A line belongs to shard `line % shards` ([`shard_of_line`]). A dialog lives on the shard that
//! created it (the low byte of its id) until it moves to a line of another shard; [`Placement`]
//! remembers those moves until the dialog closes. [`FollowUp::of`] reads one effect and says
//! what must happen elsewhere: a moved dialog is adopted by its new line's shard, an operator
//! freed or paused is re-read by every other shard, a closed dialog is forgotten.
//! Sans-IO: no lock, no channel; the callers deliver the follow-ups.

use super::api::Effect;
use super::ids::{DialogId, LineIdx, OpIdx};
use std::collections::HashMap;

/// The shard owning line index `line` among `shards`.
pub fn shard_of_line(line: usize, shards: usize) -> usize {
    line % shards.max(1)
}

/// The shard `dialog` was created on, among `shards`.
pub fn home_shard(dialog: DialogId, shards: usize) -> usize {
    dialog.home_shard() % shards.max(1)
}

/// What an effect of one shard asks of the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowUp {
    /// `dialog` left for a line of `shard`: forward the `MovedDialog` there as
    /// `Command::Adopt`; the dialog is found on `shard` from now on.
    Adopt { dialog: DialogId, shard: usize },
    /// `op`'s shared state changed: every shard but the source hears
    /// `Command::OperatorChanged`.
    OperatorChanged { op: OpIdx },
    /// `dialog` closed: it is no longer anywhere.
    Forget { dialog: DialogId },
}

impl FollowUp {
    /// What `effect` asks of other shards, if anything; `line_shard` names a line's shard.
    pub fn of(effect: &Effect, line_shard: impl Fn(LineIdx) -> usize) -> Option<FollowUp> {
        match effect {
            Effect::MoveOut(moved) => Some(FollowUp::Adopt {
                dialog: moved.id,
                shard: line_shard(moved.to_line),
            }),
            Effect::OperatorFreed { op } | Effect::OperatorPaused { op, .. } => {
                Some(FollowUp::OperatorChanged { op: *op })
            }
            Effect::Closed { dialog, .. } => Some(FollowUp::Forget { dialog: *dialog }),
            _ => None,
        }
    }
}

/// Where every dialog is: its home shard, or the shard it moved to.
#[derive(Clone, Debug, Default)]
pub struct Placement {
    shards: usize,
    moved: HashMap<DialogId, usize>,
}

impl Placement {
    /// No dialog moved yet, among `shards` shards.
    pub fn new(shards: usize) -> Self {
        Self {
            shards: shards.max(1),
            moved: HashMap::new(),
        }
    }

    /// The shard a dialog was created on.
    pub fn home_of(&self, dialog: DialogId) -> usize {
        home_shard(dialog, self.shards)
    }

    /// The shard holding `dialog` now.
    pub fn shard_of_dialog(&self, dialog: DialogId) -> usize {
        self.moved
            .get(&dialog)
            .copied()
            .unwrap_or_else(|| self.home_of(dialog))
    }

    /// Dialogs away from their home shard.
    pub fn moved(&self) -> usize {
        self.moved.len()
    }

    /// Notes that `dialog` is on `shard` (a restore, or a move).
    pub fn place(&mut self, dialog: DialogId, shard: usize) {
        if shard == self.home_of(dialog) {
            self.moved.remove(&dialog);
        } else {
            self.moved.insert(dialog, shard);
        }
    }

    /// Applies what `follow_up` changes about where dialogs are.
    pub fn apply(&mut self, follow_up: &FollowUp) {
        match *follow_up {
            FollowUp::Adopt { dialog, shard } => self.place(dialog, shard),
            FollowUp::Forget { dialog } => {
                self.moved.remove(&dialog);
            }
            FollowUp::OperatorChanged { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::api::{CloseReason, FinishedDialog, MovedDialog};

    fn moved(id: DialogId, to_line: LineIdx) -> Effect {
        Effect::MoveOut(Box::new(MovedDialog {
            id,
            to_line,
            client: "c".into(),
            created_ms: 0,
            waiting_since_ms: None,
            ever_answered: false,
            kpi: Default::default(),
            conversation: Default::default(),
        }))
    }

    #[test]
    fn a_moved_dialog_is_found_on_its_new_shard_until_it_closes() {
        let mut placement = Placement::new(3);
        let d = DialogId::new(1, 7);
        assert_eq!(placement.shard_of_dialog(d), 1);
        let follow_up = FollowUp::of(&moved(d, LineIdx(5)), |l| shard_of_line(l.0 as usize, 3));
        assert_eq!(
            follow_up,
            Some(FollowUp::Adopt {
                dialog: d,
                shard: 2
            })
        );
        placement.apply(&follow_up.unwrap());
        assert_eq!((placement.shard_of_dialog(d), placement.moved()), (2, 1));
        let closed = Effect::Closed {
            dialog: d,
            reason: CloseReason::Client,
            finished: Box::new(FinishedDialog {
                id: d,
                line: LineIdx(5),
                client: "c".into(),
                created_ms: 0,
                closed_ms: 1,
                ever_answered: false,
                holder: None,
                kpi: Default::default(),
                conversation: Default::default(),
            }),
        };
        let follow_up = FollowUp::of(&closed, |_| unreachable!("a close names no line"));
        assert_eq!(follow_up, Some(FollowUp::Forget { dialog: d }));
        placement.apply(&follow_up.unwrap());
        assert_eq!((placement.shard_of_dialog(d), placement.moved()), (1, 0));
    }

    #[test]
    fn operators_freed_or_paused_are_told_to_the_other_shards() {
        let op = OpIdx(4);
        for effect in [
            Effect::OperatorFreed { op },
            Effect::OperatorPaused { op, missed: 3 },
        ] {
            assert_eq!(
                FollowUp::of(&effect, |_| 0),
                Some(FollowUp::OperatorChanged { op })
            );
        }
        let text = Effect::MarkedUnanswered {
            dialog: DialogId(1),
        };
        assert_eq!(FollowUp::of(&text, |_| 0), None);
    }

    #[test]
    fn moving_back_home_is_not_a_move() {
        let mut placement = Placement::new(2);
        let d = DialogId::new(0, 1);
        placement.place(d, 1);
        placement.place(d, 0);
        assert_eq!((placement.shard_of_dialog(d), placement.moved()), (0, 0));
        assert_eq!(shard_of_line(5, 2), 1);
    }
}
