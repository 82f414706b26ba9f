//! The crash run's verdicts: what every participant wrote down, held against what the server's
//! data file holds after the last round (`switchboard store export`). Each check counts what it
//! looked at and what broke the promise, with the first example. Pure. The timer check is in
//! `timers`, the known clients' links in `known`.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[cfg(test)]
use super::journal::Seen;
use super::journal::{Acked, OperatorJournal, WidgetJournal};

mod known;
mod timers;

pub use timers::{UNANSWERED_AFTER_MS, UNANSWERED_TEXT};

/// One promise checked.
#[derive(Debug)]
pub struct Verdict {
    pub check: &'static str,
    pub checked: usize,
    pub violations: usize,
    pub example: Option<String>,
}

impl Verdict {
    fn new(check: &'static str) -> Self {
        Verdict {
            check,
            checked: 0,
            violations: 0,
            example: None,
        }
    }

    fn look(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.checked += 1;
        if !ok {
            self.violations += 1;
            if self.example.is_none() {
                self.example = Some(what());
            }
        }
    }
}

/// A stored message.
#[derive(Clone, Debug)]
struct Stored {
    msg_id: u64,
    author: String,
    text: String,
    ts: u64,
}

/// The data file as the checker reads it.
#[derive(Default)]
pub struct Truth {
    /// dialog → seq → message.
    messages: BTreeMap<u64, BTreeMap<u64, Stored>>,
    /// Open dialogs → their holder's operator id when an operator holds them.
    holders: BTreeMap<u64, Option<String>>,
    /// Every dialog (open or closed) → its client id, linked contact, and whether a decision
    /// offered it to a responsible operator.
    clients: BTreeMap<u64, (String, Option<u64>, bool)>,
}

impl Truth {
    /// From the JSON lines of `switchboard store export`.
    pub fn from_export(lines: &[Value]) -> Truth {
        let mut truth = Truth::default();
        for line in lines {
            match line["kind"].as_str() {
                Some("message") => {
                    let m = &line["message"];
                    truth
                        .messages
                        .entry(line["dialog_id"].as_u64().unwrap_or(0))
                        .or_default()
                        .insert(
                            line["seq"].as_u64().unwrap_or(0),
                            Stored {
                                msg_id: m["msg_id"].as_u64().unwrap_or(0),
                                author: m["author"].as_str().unwrap_or_default().into(),
                                text: m["text"].as_str().unwrap_or_default().into(),
                                ts: m["ts"].as_u64().unwrap_or(0),
                            },
                        );
                }
                Some("dialog") => {
                    let record = &line["dialog"]["record"];
                    let holder = &record["holder"];
                    // Only an active dialog counts as held (`HolderRecord::Active { operator }`).
                    let op = (holder["state"] == "active")
                        .then(|| holder["operator"].as_str().map(str::to_string))
                        .flatten();
                    let id = record["id"].as_u64().unwrap_or(0);
                    truth.holders.insert(id, op);
                    let dialog = &line["dialog"];
                    truth.note_client(id, &dialog["client"], &dialog["decisions"]);
                }
                Some("closed_dialog") => {
                    let summary = &line["summary"];
                    let id = line["dialog_id"].as_u64().unwrap_or(0);
                    truth.note_client(id, &summary["client"], &summary["decisions"]);
                }
                _ => {}
            }
        }
        truth
    }

    pub fn messages(&self) -> usize {
        self.messages.values().map(BTreeMap::len).sum()
    }

    pub fn dialogs(&self) -> usize {
        self.messages.len()
    }
}

/// Every check, in the order the table shows them.
pub fn check(
    widgets: &[WidgetJournal],
    operators: &[OperatorJournal],
    truth: &Truth,
) -> Vec<Verdict> {
    let acked: Vec<&Acked> = widgets
        .iter()
        .flat_map(|w| &w.acked)
        .chain(operators.iter().flat_map(|o| &o.acked))
        .collect();
    let mut verdicts = vec![
        acknowledged_stored_once(&acked, truth),
        numbered_without_gaps(truth),
        nothing_unacknowledged_delivered(widgets, operators, truth),
    ];
    verdicts.extend(delivered_once_in_order(widgets, operators));
    verdicts.push(resumed_widgets_got_what_they_missed(widgets, truth));
    verdicts.push(events_numbered_upward(operators));
    verdicts.push(within_capacity(operators));
    verdicts.push(one_holder_per_dialog(operators, truth));
    verdicts.push(timers::timeouts_fired_once(truth));
    verdicts
}

fn acknowledged_stored_once(acked: &[&Acked], truth: &Truth) -> Verdict {
    let mut v = Verdict::new("every acknowledged message stored once, at its seq");
    let mut ids = BTreeSet::new();
    for a in acked {
        let dialog = truth.messages.get(&a.dialog);
        let at_seq = dialog.and_then(|d| d.get(&a.seq));
        let copies = dialog.map_or(0, |d| d.values().filter(|m| m.text == a.text).count());
        let fresh = ids.insert(a.client_msg_id.clone());
        v.look(
            fresh
                && copies == 1
                && at_seq.is_some_and(|m| m.msg_id == a.msg_id && m.text == a.text),
            || {
                format!(
                    "{} acked as dialog {} seq {}: stored {copies} times, at that seq {at_seq:?}",
                    a.client_msg_id, a.dialog, a.seq
                )
            },
        );
    }
    v
}

fn numbered_without_gaps(truth: &Truth) -> Verdict {
    let mut v = Verdict::new("every dialog numbered 1, 2, 3… without a gap");
    for (dialog, messages) in &truth.messages {
        let seqs: Vec<u64> = messages.keys().copied().collect();
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        v.look(seqs == expected, || {
            format!("dialog {dialog} has seqs {seqs:?}")
        });
    }
    v
}

fn nothing_unacknowledged_delivered(
    widgets: &[WidgetJournal],
    operators: &[OperatorJournal],
    truth: &Truth,
) -> Verdict {
    let mut v = Verdict::new("nothing delivered that is not durable");
    let seen = widgets
        .iter()
        .flat_map(|w| &w.received)
        .chain(operators.iter().flat_map(|o| &o.received));
    for s in seen {
        let stored = truth.messages.get(&s.dialog).and_then(|d| d.get(&s.seq));
        v.look(
            stored
                .is_some_and(|m| m.msg_id == s.msg_id && m.text == s.text && m.author == s.author),
            || format!("delivered {s:?}, stored {stored:?}"),
        );
    }
    v
}

/// Deliveries of each participant: none twice, each dialog's in `seq` order.
fn delivered_once_in_order(
    widgets: &[WidgetJournal],
    operators: &[OperatorJournal],
) -> [Verdict; 2] {
    let mut once = Verdict::new("nothing delivered twice to anyone");
    let mut ordered = Verdict::new("each dialog delivered in seq order");
    let journals = widgets
        .iter()
        .map(|w| (w.client_id.as_str(), &w.received))
        .chain(operators.iter().map(|o| (o.id.as_str(), &o.received)));
    for (who, received) in journals {
        let mut count: HashMap<(u64, u64), u32> = HashMap::new();
        let mut last: HashMap<u64, u64> = HashMap::new();
        for s in received {
            let n = count.entry((s.dialog, s.seq)).or_default();
            *n += 1;
            once.look(*n == 1, || {
                format!("{who} got dialog {} seq {} twice", s.dialog, s.seq)
            });
            let before = last.insert(s.dialog, s.seq).unwrap_or(0);
            ordered.look(s.seq > before || *n > 1, || {
                format!(
                    "{who} got dialog {} seq {} after seq {before}",
                    s.dialog, s.seq
                )
            });
        }
    }
    [once, ordered]
}

fn resumed_widgets_got_what_they_missed(widgets: &[WidgetJournal], truth: &Truth) -> Verdict {
    let mut v = Verdict::new("every widget got every answer of its open dialog");
    for w in widgets {
        let Some(dialog) = w.open_dialog else {
            continue;
        };
        let got: BTreeSet<u64> = w
            .received
            .iter()
            .filter(|s| s.dialog == dialog)
            .map(|s| s.seq)
            .collect();
        for (seq, m) in truth.messages.get(&dialog).into_iter().flatten() {
            if m.author == "client" {
                continue;
            }
            v.look(got.contains(seq), || {
                format!(
                    "{} never got dialog {dialog} seq {seq} ({})",
                    w.client_id, m.text
                )
            });
        }
    }
    v
}

fn events_numbered_upward(operators: &[OperatorJournal]) -> Verdict {
    let mut v = Verdict::new("operator events numbered upward, none twice");
    for o in operators {
        for pair in o.event_seqs.windows(2) {
            v.look(pair[1] > pair[0], || {
                format!("{}: event {} after {}", o.id, pair[1], pair[0])
            });
        }
    }
    v
}

fn within_capacity(operators: &[OperatorJournal]) -> Verdict {
    let mut v = Verdict::new("no operator over capacity");
    for o in operators {
        v.look(o.most_held <= o.capacity, || {
            format!(
                "{} held {} dialogs, capacity {}",
                o.id, o.most_held, o.capacity
            )
        });
    }
    v
}

fn one_holder_per_dialog(operators: &[OperatorJournal], truth: &Truth) -> Verdict {
    let mut v = Verdict::new("each dialog held by one operator, as stored");
    let mut holders: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for o in operators {
        for d in &o.held_at_end {
            holders.entry(*d).or_default().push(&o.id);
        }
    }
    for (dialog, ops) in &holders {
        let stored = truth.holders.get(dialog).cloned().flatten();
        v.look(ops.len() == 1 && stored.as_deref() == Some(ops[0]), || {
            format!("dialog {dialog} held by {ops:?}, stored holder {stored:?}")
        });
    }
    for (dialog, stored) in &truth.holders {
        if let Some(op) = stored {
            v.look(
                holders
                    .get(dialog)
                    .is_some_and(|o| o.contains(&op.as_str())),
                || format!("dialog {dialog} is stored as {op}'s, who does not know it"),
            );
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(dialog: u64, seq: u64, author: &str, text: &str) -> Value {
        json!({"kind": "message", "dialog_id": dialog, "seq": seq,
               "message": {"msg_id": dialog * 1000 + seq, "author": author, "text": text}})
    }

    fn seen(dialog: u64, seq: u64, author: &str, text: &str) -> Seen {
        Seen {
            dialog,
            seq,
            msg_id: dialog * 1000 + seq,
            author: author.into(),
            text: text.into(),
        }
    }

    fn failing(verdicts: &[Verdict]) -> Vec<&'static str> {
        verdicts
            .iter()
            .filter(|v| v.violations > 0)
            .map(|v| v.check)
            .collect()
    }

    #[test]
    fn a_clean_history_passes_and_each_fault_is_named() {
        let truth = Truth::from_export(&[
            stored(1, 1, "client", "w0-1"),
            stored(1, 2, "operator", "op0-1"),
        ]);
        let widget = WidgetJournal {
            client_id: "w0".into(),
            acked: vec![Acked {
                client_msg_id: "w0-1".into(),
                text: "w0-1".into(),
                dialog: 1,
                seq: 1,
                msg_id: 1001,
            }],
            received: vec![seen(1, 2, "operator", "op0-1")],
            open_dialog: Some(1),
            ..WidgetJournal::default()
        };
        let operator = OperatorJournal {
            id: "op0".into(),
            capacity: 1,
            event_seqs: vec![5, 6],
            ..OperatorJournal::default()
        };
        let verdicts = check(
            std::slice::from_ref(&widget),
            std::slice::from_ref(&operator),
            &truth,
        );
        assert_eq!(failing(&verdicts), Vec::<&str>::new());
        assert!(verdicts.iter().all(|v| v.checked > 0
            || v.check.contains("one operator")
            || v.check.contains("capacity")));

        // An acknowledged message the file does not hold.
        let mut lost = widget.clone();
        lost.acked[0].seq = 3;
        assert_eq!(
            failing(&check(&[lost], &[], &truth)),
            ["every acknowledged message stored once, at its seq"]
        );
        // A message delivered twice, and one the file never held.
        let mut doubled = widget.clone();
        doubled.received.push(seen(1, 2, "operator", "op0-1"));
        doubled.received.push(seen(1, 3, "operator", "ghost"));
        assert_eq!(
            failing(&check(&[doubled], &[], &truth)),
            [
                "nothing delivered that is not durable",
                "nothing delivered twice to anyone"
            ]
        );
        // A resumed widget that missed an answer.
        let mut missed = widget.clone();
        missed.received.clear();
        assert_eq!(
            failing(&check(&[missed], &[], &truth)),
            ["every widget got every answer of its open dialog"]
        );
        // A gap in a dialog's numbering, events going backwards, capacity exceeded.
        let gap = Truth::from_export(&[
            stored(1, 1, "client", "w0-1"),
            stored(1, 3, "operator", "x"),
        ]);
        let backwards = OperatorJournal {
            id: "op0".into(),
            capacity: 1,
            most_held: 2,
            event_seqs: vec![6, 5],
            ..OperatorJournal::default()
        };
        let names = failing(&check(&[], &[backwards], &gap));
        assert_eq!(
            names,
            [
                "every dialog numbered 1, 2, 3… without a gap",
                "operator events numbered upward, none twice",
                "no operator over capacity"
            ]
        );
    }

    #[test]
    fn a_dialog_held_by_two_operators_is_caught() {
        let truth = Truth::from_export(&[
            json!({"kind": "dialog", "dialog": {"record": {"id": 7, "holder": {"state": "active", "operator": "op0"}}}}),
        ]);
        let hold = |id: &str| OperatorJournal {
            id: id.into(),
            capacity: 5,
            held_at_end: [7].into(),
            ..OperatorJournal::default()
        };
        assert_eq!(
            failing(&check(&[], &[hold("op0")], &truth)),
            Vec::<&str>::new()
        );
        assert_eq!(
            failing(&check(&[], &[hold("op0"), hold("op1")], &truth)),
            ["each dialog held by one operator, as stored"]
        );
    }
}
