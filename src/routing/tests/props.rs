//! Property tests: random streams of presence changes, client messages, accepts, declines,
//! answers, closes, transfers and clock advances over several lines on two shards. After every
//! step the invariants are recomputed from scratch (independently of the shard's counters):
//! no capacity or line limit exceeded, counters equal a recount, no offer to an ineligible
//! operator, and no dialog left queued while an operator is free and eligible for it.

use super::harness::*;
use crate::config::CountMode;
use crate::routing::*;
use proptest::prelude::*;
use std::collections::HashMap;

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
    Client(usize, u8),
    Accept(usize, usize),
    Decline(usize, usize),
    Answer(usize, usize),
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
        4 => (line.clone(), 0..8u8).prop_map(|(l, c)| Step::Client(l, c)),
        3 => (op.clone(), pick.clone()).prop_map(|(o, d)| Step::Accept(o, d)),
        1 => (op.clone(), pick.clone()).prop_map(|(o, d)| Step::Decline(o, d)),
        3 => (op.clone(), pick.clone()).prop_map(|(o, d)| Step::Answer(o, d)),
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
}

impl World {
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
            Step::Client(l, c) => {
                let client = format!("client{c}");
                let d = h.client_says(LINES[l], &client);
                if !self.dialogs.iter().any(|(id, _)| *id == d) {
                    self.dialogs.push((d, client));
                }
            }
            Step::Accept(o, i) | Step::Decline(o, i) | Step::Answer(o, i) | Step::Close(o, i) => {
                let Some((d, _)) = self.pick(i) else { return };
                let op = self.h.op(OPS[o]);
                let command = match step {
                    Step::Accept(..) => Command::Accept { op, dialog: d },
                    Step::Decline(..) => Command::Decline { op, dialog: d },
                    Step::Answer(..) => Command::OperatorMessage { op, dialog: d },
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
        let mut world = World { h: Harness::with_shards(CONFIG, 2), dialogs: Vec::new() };
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
    /// the same records (holders, rounds, flags, deadlines), operator loads and line counters.
    #[test]
    fn restore_rebuilds_the_same_state(steps in prop::collection::vec(step(), 1..60)) {
        let mut world = World { h: Harness::with_shards(CONFIG, 2), dialogs: Vec::new() };
        for step in &steps {
            world.apply(step);
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
        fresh.restore(before.clone(), &mut out);
        prop_assert_eq!(fresh.dialog_records(), before.clone());
        for (old, new) in world.h.router.operators().iter().zip(fresh.operators()) {
            prop_assert_eq!(old.cell.state().load, new.cell.state().load, "load of {}", old.id);
        }
        prop_assert_eq!(counters(&fresh), counters(&world.h.router));
        // And the restored router goes on working: a new dialog gets an id of its own.
        let line = fresh.line("strict").unwrap();
        let reply = fresh.handle(world.h.now, Command::ClientMessage { line, client: "newcomer".into(), dialog: None }, &mut out);
        let Ok(Reply::ClientMessage { dialog, created: true, .. }) = reply else { panic!("{reply:?}") };
        prop_assert!(!before.iter().any(|r| r.id == dialog.0), "restored ids are not reused");
    }
}
