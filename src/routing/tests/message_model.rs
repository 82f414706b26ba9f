//! The reference model the routing property tests check messages against: the first ack of
//! every `(dialog, side, key)` stored, and the one message each msg id was given to. After each
//! step it checks every transcript (open, closed or moved in that step) from scratch.

use super::harness::Harness;
use crate::routing::*;
use proptest::prelude::*;
use std::collections::HashMap;

/// The reference model of stored messages.
#[derive(Default)]
pub(super) struct Model {
    /// The first ack `(msg_id, seq)` of every key stored, by dialog and side.
    pub acks: HashMap<(DialogId, Side, String), (u64, u64)>,
    /// The message each msg id was given to: `(dialog, seq)`.
    pub ids: HashMap<u64, (DialogId, u64)>,
    /// What went wrong while applying a step (checked with the step).
    pub error: Option<String>,
}

/// Every message stored in open dialogs, in total.
pub(super) fn stored(router: &Router) -> usize {
    router
        .shards()
        .iter()
        .flat_map(|s| s.dialogs())
        .map(|d| d.conversation.transcript.len())
        .sum()
}

impl Model {
    /// Checks a message command's reply against the model; `text` is what was sent.
    pub(super) fn message(
        &mut self,
        h: &Harness,
        side: Side,
        key: &str,
        text: &str,
        before: (usize, usize),
        reply: &Result<Reply, RoutingError>,
    ) {
        let (dialog, msg_id, seq, duplicate) = match reply {
            Ok(Reply::ClientMessage {
                dialog,
                msg_id,
                seq,
                duplicate,
                ..
            })
            | Ok(Reply::OperatorMessage {
                dialog,
                msg_id,
                seq,
                duplicate,
                ..
            }) => (*dialog, *msg_id, *seq, *duplicate),
            _ => return,
        };
        let entry = (dialog, side, key.to_string());
        let after = (stored(&h.router), h.out.len());
        if duplicate {
            if self.acks.get(&entry) != Some(&(msg_id, seq)) {
                self.error = Some(format!(
                    "repeat of {entry:?} acked {:?}, first ack {:?}",
                    (msg_id, seq),
                    self.acks.get(&entry)
                ));
            } else if after != before {
                self.error = Some(format!(
                    "repeat of {entry:?} stored or did something: {before:?} -> {after:?}"
                ));
            }
            return;
        }
        if let Some(first) = self.acks.get(&entry) {
            self.error = Some(format!(
                "{entry:?} stored again as {:?} (first {first:?})",
                (msg_id, seq)
            ));
            return;
        }
        self.acks.insert(entry, (msg_id, seq));
        let message = h
            .router
            .dialog(dialog)
            .and_then(|d| d.conversation.transcript.get(seq).cloned());
        let expected = Some((msg_id, text.to_string(), Some((side, key.to_string()))));
        let found = message.map(|m| (m.msg_id, m.text.to_string(), m.key));
        if found != expected {
            self.error = Some(format!("stored {found:?}, expected {expected:?}"));
        }
    }

    /// Checks every transcript: open ones, and those that left with a close or a move.
    pub(super) fn check(
        &mut self,
        router: &Router,
        effects: &[Effect],
    ) -> Result<(), TestCaseError> {
        if let Some(error) = self.error.take() {
            return Err(TestCaseError::fail(error));
        }
        let open = router
            .shards()
            .iter()
            .flat_map(|s| s.dialogs())
            .map(|d| (d.id, &d.conversation.transcript));
        let left = effects.iter().filter_map(|e| match e {
            Effect::Closed { finished, .. } => {
                Some((finished.id, &finished.conversation.transcript))
            }
            Effect::MoveOut(moved) => Some((moved.id, &moved.conversation.transcript)),
            _ => None,
        });
        for (dialog, transcript) in open.chain(left) {
            let messages = transcript.kept();
            for (i, m) in messages.iter().enumerate() {
                prop_assert_eq!(m.seq, i as u64 + 1, "seq gap in {:?}", dialog);
                let owner = *self.ids.entry(m.msg_id).or_insert((dialog, m.seq));
                prop_assert_eq!(owner, (dialog, m.seq), "msg id {} given twice", m.msg_id);
                if let Some((side, key)) = &m.key {
                    prop_assert_eq!(
                        transcript.seen(*side, key).map(|(_, seq)| seq).is_some(),
                        true
                    );
                }
            }
            for n in 0..=transcript.last_seq() + 1 {
                let expected: Vec<&Message> = messages.iter().filter(|m| m.seq > n).collect();
                let since: Vec<&Message> = transcript.since(n).iter().collect();
                prop_assert_eq!(since, expected, "since({}) in {:?}", n, dialog);
            }
        }
        Ok(())
    }
}
