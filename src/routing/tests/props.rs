//! Property tests: random streams of presence changes, client messages, accepts, declines,
//! answers, closes, transfers and clock advances over several lines on two shards. After every
//! step the invariants are recomputed from scratch (independently of the shard's counters):
//! no capacity or line limit exceeded, counters equal a recount, no offer to an ineligible
//! operator, and no dialog left queued while an operator is free and eligible for it.
//!
//! Messages are checked against a reference model ([`Model`]): clients and operators draw keys
//! from a small common set, so repeats and equal keys on both sides are frequent. Each dialog's
//! seqs are 1, 2, 3… with no gap; a repeated `(side, key)` answers with its first
//! `(msg_id, seq)` and stores nothing; a client key never answers for an operator's (or the
//! reverse); a msg id names one message only; `since(n)` is exactly the messages after `n`.
//! Dialogs that move between the two shards are found through `routing::placement`, the
//! forwarding rules the server's hub uses too.

use super::harness::*;
use super::message_model::{stored, Model};
use crate::config::CountMode;
use crate::routing::*;
use proptest::prelude::*;
use std::collections::HashMap;

/// Keys senders draw from (shared by clients and operators).
const KEYS: u8 = 4;

const CONFIG: &str = r#"
[[operators]]
id = "a"
name = "A"
capacity = 2
[[operators]]
id = "b"
name = "B"
capacity = 2
[[operators]]
id = "c"
name = "C"
capacity = 3
[[operators]]
id = "d"
name = "D"
capacity = 1

[[lines]]
id = "strict"
name = "Strict"
[lines.queue]
members = ["a", "b", "c"]
mode = "strict"
transfer_after = "10s"
limit = { max = 1, count = "all" }

[[lines]]
id = "even"
name = "Even"
[lines.queue]
members = ["b", "c", "d"]
mode = "even"
transfer_after = "20s"
limit = { max = 2, count = "exclude_closed" }
[lines.auto]
rating_wait = "1m"
[lines.rating]
enabled = true

[[lines]]
id = "all"
name = "All"
[lines.queue]
members = ["a", "d"]
mode = "all"
transfer_after = "10s"
limit = { max = 1, count = "all" }

[[lines]]
id = "balanced"
name = "Balanced"
[lines.queue]
members = ["a", "b", "c", "d"]
mode = "balanced"
transfer_after = "15s"
limit = { max = 2, count = "all" }
escalation = [{ after = "30s", add = ["a"] }]
"#;

const OPS: [&str; 4] = ["a", "b", "c", "d"];
const LINES: [&str; 4] = ["strict", "even", "all", "balanced"];

#[derive(Clone, Debug)]
enum Step {
    Presence(usize, u8),
    /// A client on a line writes with one of [`KEYS`]; a new dialog goes first to the
    /// contact's responsible operator (any of `a`..`d`, in the queue or not) when there is one.
    Client(usize, u8, u8, Option<&'static str>),
    Accept(usize, usize),
    Decline(usize, usize),
    /// An operator writes in a dialog with one of [`KEYS`].
    Answer(usize, usize, u8),
    Close(usize, usize),
    ClientClose(usize),
    TransferToOp(usize, usize, usize),
    TransferToLine(usize, usize, usize),
    Advance(u64),
}

fn step() -> impl Strategy<Value = Step> {
    let op = 0..OPS.len();
    let line = 0..LINES.len();
    let pick = 0..64usize;
    prop_oneof![
        3 => (op.clone(), 0..3u8).prop_map(|(o, p)| Step::Presence(o, p)),
        4 => (line.clone(), 0..8u8, 0..KEYS, prop::option::of(prop::sample::select(vec!["a", "b", "c", "d"])))
            .prop_map(|(l, c, k, r)| Step::Client(l, c, k, r)),
        3 => (op.clone(), pick.clone()).prop_map(|(o, d)| Step::Accept(o, d)),
        1 => (op.clone(), pick.clone()).prop_map(|(o, d)| Step::Decline(o, d)),
        3 => (op.clone(), pick.clone(), 0..KEYS).prop_map(|(o, d, k)| Step::Answer(o, d, k)),
        2 => (op.clone(), pick.clone()).prop_map(|(o, d)| Step::Close(o, d)),
        1 => pick.clone().prop_map(Step::ClientClose),
        1 => (op.clone(), pick.clone(), op.clone()).prop_map(|(o, d, t)| Step::TransferToOp(o, d, t)),
        1 => (op, pick, line).prop_map(|(o, d, l)| Step::TransferToLine(o, d, l)),
        3 => prop_oneof![Just(1u64), Just(5_000), Just(10_000), Just(30_000), Just(60_000)].prop_map(Step::Advance),
    ]
}

struct World {
    h: Harness,
    /// Dialogs seen, with their client, for picking.
    dialogs: Vec<(DialogId, String)>,
    model: Model,
}

impl World {
    fn new() -> Self {
        World {
            h: Harness::with_shards(CONFIG, 2),
            dialogs: Vec::new(),
            model: Model::default(),
        }
    }

    fn pick(&self, i: usize) -> Option<(DialogId, String)> {
        if self.dialogs.is_empty() {
            return None;
        }
        Some(self.dialogs[i % self.dialogs.len()].clone())
    }

    fn apply(&mut self, step: &Step) {
        let h = &mut self.h;
        match *step {
            Step::Presence(o, p) => {
                let presence = [Presence::Online, Presence::Away, Presence::Offline][p as usize];
                h.presence(OPS[o], presence);
            }
            Step::Client(l, c, k, responsible) => {
                let client = format!("client{c}");
                let (key, text) = (format!("k{k}"), format!("from {client}, {}", h.fresh_key()));
                let before = (stored(&h.router), h.out.len());
                let reply = match responsible {
                    Some(r) => h.client_writes_to_responsible(LINES[l], &client, &key, &text, r),
                    None => h.client_writes(LINES[l], &client, None, &key, &text),
                };
                self.model
                    .message(h, Side::Client, &key, &text, before, &reply);
                let Ok(Reply::ClientMessage { dialog: d, .. }) = reply else {
                    panic!("a client can always write: {reply:?}")
                };
                if !self.dialogs.iter().any(|(id, _)| *id == d) {
                    self.dialogs.push((d, client));
                }
            }
            Step::Answer(o, i, k) => {
                let Some((d, _)) = self.pick(i) else { return };
                let h = &mut self.h;
                let (key, text) = (
                    format!("k{k}"),
                    format!("from {}, {}", OPS[o], h.fresh_key()),
                );
                let before = (stored(&h.router), h.out.len());
                let reply = h.operator_writes(OPS[o], d, &key, &text);
                let side = Side::Operator(h.op(OPS[o]));
                self.model.message(h, side, &key, &text, before, &reply);
            }
            Step::Accept(o, i) | Step::Decline(o, i) | Step::Close(o, i) => {
                let Some((d, _)) = self.pick(i) else { return };
                let op = self.h.op(OPS[o]);
                let command = match step {
                    Step::Accept(..) => Command::Accept { op, dialog: d },
                    Step::Decline(..) => Command::Decline { op, dialog: d },
                    _ => Command::Close { op, dialog: d },
                };
                let _ = self.h.run(command);
            }
            Step::ClientClose(i) => {
                let Some((d, client)) = self.pick(i) else {
                    return;
                };
                let _ = self.h.run(Command::ClientClose {
                    client: client.as_str().into(),
                    dialog: d,
                });
            }
            Step::TransferToOp(o, i, t) => {
                let Some((d, _)) = self.pick(i) else { return };
                let (op, to) = (self.h.op(OPS[o]), self.h.op(OPS[t]));
                let _ = self.h.run(Command::Transfer {
                    op,
                    dialog: d,
                    to: TransferTarget::Operator(to),
                });
            }
            Step::TransferToLine(o, i, l) => {
                let Some((d, _)) = self.pick(i) else { return };
                let (op, to) = (self.h.op(OPS[o]), self.h.line(LINES[l]));
                let _ = self.h.run(Command::Transfer {
                    op,
                    dialog: d,
                    to: TransferTarget::Line(to),
                });
            }
            Step::Advance(ms) => self.h.advance(ms),
        }
    }

    fn check(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let effects = self.h.take();
        let router = &self.h.router;
        // 6. Messages agree with the reference model.
        self.model.check(router, &effects)?;
        // 7. The placement (the server's forwarding rules) finds every open dialog where it is.
        for (index, shard) in router.shards().iter().enumerate() {
            for d in shard.dialogs() {
                prop_assert_eq!(router.shard_of(d.id), index, "{:?} after {:?}", d.id, step);
            }
        }
        let ops = router.operators();
        let dialogs: Vec<&Dialog> = router.shards().iter().flat_map(|s| s.dialogs()).collect();
        // 1. Capacity: the load equals a recount and never exceeds capacity.
        for (i, op) in ops.iter().enumerate() {
            let state = op.cell.state();
            let held = dialogs
                .iter()
                .filter(|d| {
                    d.slot()
                        .is_some_and(|(o, s)| o.0 as usize == i && s.holds_capacity())
                })
                .count() as u32;
            prop_assert_eq!(state.load, held, "load of {} after {:?}", op.id, step);
            prop_assert!(
                state.load <= state.capacity,
                "{} over capacity after {:?}",
                op.id,
                step
            );
        }
        for shard in router.shards() {
            for line in shard.lines() {
                // 2. Counters equal a recount.
                let mut recount: HashMap<OpIdx, [u32; Slot::COUNT]> = HashMap::new();
                for d in dialogs.iter().filter(|d| d.line == line.idx) {
                    if let Some((op, slot)) = d.slot() {
                        recount.entry(op).or_default()[slot as usize] += 1;
                    }
                }
                for member in &line.members {
                    let expected = recount.get(&member.op).copied().unwrap_or_default();
                    prop_assert_eq!(
                        member.slots,
                        expected,
                        "counters of {:?} on {} after {:?}",
                        member.op,
                        line.rules.id,
                        step
                    );
                    // 3. The limit holds (these count modes cannot be pushed up by clients).
                    if matches!(line.rules.count, CountMode::All | CountMode::ExcludeClosed) {
                        prop_assert!(
                            member.counted(line.rules.count) <= line.rules.limit_max,
                            "limit on {} after {:?}",
                            line.rules.id,
                            step
                        );
                    }
                }
                // 5. Nobody queued while someone free and eligible could take it.
                if line.rules.mode == crate::config::QueueMode::All {
                    continue;
                }
                for id in line.queue.values() {
                    let d = dialogs
                        .iter()
                        .find(|d| d.id == *id)
                        .expect("queued dialogs are live");
                    prop_assert_eq!(&d.holder, &Holder::Queued);
                    let end = line.rules.pool_end(d.escalation);
                    for member in &line.members[..end] {
                        let state = ops[member.op.0 as usize].cell.state();
                        let free = state.presence == Presence::Online
                            && member.counted(line.rules.count) < line.rules.limit_max
                            && state.load < state.capacity;
                        prop_assert!(
                            !free,
                            "dialog {} queued on {} while {} is free, after {:?}",
                            id,
                            line.rules.id,
                            ops[member.op.0 as usize].id,
                            step
                        );
                    }
                }
            }
        }
        // 4. Every offer still standing went to an eligible operator.
        for effect in &effects {
            if let Effect::Offered { dialog, op, .. } = effect {
                let standing = dialogs
                    .iter()
                    .any(|d| d.id == *dialog && d.is_offered_to(*op));
                if standing {
                    prop_assert_eq!(
                        ops[op.0 as usize].cell.state().presence,
                        Presence::Online,
                        "offer to an unavailable operator after {:?}",
                        step
                    );
                }
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_streams_keep_every_invariant(steps in prop::collection::vec(step(), 1..80)) {
        let mut world = World::new();
        for step in &steps {
            world.apply(step);
            world.check(step)?;
        }
    }
}

/// Line counters of every line, by line id and operator id.
fn counters(router: &Router) -> Vec<(String, String, [u32; Slot::COUNT])> {
    let ops = router.operators();
    let mut all: Vec<_> = router
        .shards()
        .iter()
        .flat_map(|s| s.lines())
        .flat_map(|l| {
            l.members.iter().filter(|m| m.holds_any()).map(move |m| {
                (
                    l.rules.id.to_string(),
                    ops[m.op.0 as usize].id.to_string(),
                    m.slots,
                )
            })
        })
        .collect();
    all.sort();
    all
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Exporting every open dialog and restoring into a fresh router rebuilds the same state:
    /// the same records (holders, rounds, flags, deadlines), conversations (transcripts and
    /// keys), operator loads and line counters; new dialog and message ids are never reused.
    #[test]
    fn restore_rebuilds_the_same_state(steps in prop::collection::vec(step(), 1..60)) {
        let mut world = World::new();
        for step in &steps {
            world.apply(step);
            let effects = world.h.take();
            world.model.check(&world.h.router, &effects)?;
        }
        let before = world.h.router.dialog_records();
        let config = crate::config::Config::from_toml_str(CONFIG).unwrap();
        let mut fresh = Router::new(&config, 2, world.h.now);
        for (old, new) in world.h.router.operators().iter().zip(fresh.operators()) {
            let state = old.cell.state();
            new.cell.set_presence(state.presence);
            new.cell.set_workday(state.workday);
        }
        let mut out = Vec::new();
        let restored = before.iter().map(|record| {
            let open = world.h.router.dialog(DialogId(record.id)).expect("open");
            let conversation = open.conversation.clone();
            RestoredDialog { record: record.clone(), conversation }
        });
        fresh.restore_dialogs(restored.collect(), &mut out);
        prop_assert_eq!(fresh.dialog_records(), before.clone());
        for record in &before {
            let id = DialogId(record.id);
            let (old, new) = (world.h.router.dialog(id).unwrap(), fresh.dialog(id).unwrap());
            prop_assert_eq!(&old.conversation, &new.conversation, "conversation of {:?}", id);
        }
        for (old, new) in world.h.router.operators().iter().zip(fresh.operators()) {
            prop_assert_eq!(old.cell.state().load, new.cell.state().load, "load of {}", old.id);
        }
        prop_assert_eq!(counters(&fresh), counters(&world.h.router));
        // And the restored router goes on working: a new dialog gets an id of its own.
        let line = fresh.line("strict").unwrap();
        let command = client_message(line, "newcomer", None, "k", "hi");
        let reply = fresh.handle(world.h.now, command, &mut out);
        let Ok(Reply::ClientMessage { dialog, msg_id, created: true, .. }) = reply else {
            panic!("{reply:?}")
        };
        prop_assert!(!before.iter().any(|r| r.id == dialog.0), "restored ids are not reused");
        // Only the messages of open dialogs are read back at a restore: those are not reused.
        let restored_ids = before.iter().flat_map(|r| {
            let d = world.h.router.dialog(DialogId(r.id)).unwrap();
            d.conversation.transcript.kept().iter().map(|m| m.msg_id).collect::<Vec<_>>()
        });
        let reused = restored_ids.into_iter().any(|id| id == msg_id);
        prop_assert!(!reused, "restored msg ids are not reused");
    }
}
