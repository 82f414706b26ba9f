//! Property: compaction never changes what a log replays to. Random change sequences over small
//! id pools (including ids missing from the base, bots, channels that collide, lists that do not
//! exist yet) are first reduced to what the service would have logged, the changes that applied
//! in order, then compacted; both lists must replay to the same config, and the compacted one
//! may skip nothing but deletes of objects that are already gone.
//! Reproduce a failure with `PROPTEST_RNG_SEED=<seed>`; proptest prints the shrunk input.

use super::tests::BASE;
use super::*;
use crate::config::model::{
    BotConfig, Config, EscalationStepConfig, KpiConfig, KpiTargetConfig, QueueConfig,
};
use crate::config::{DisplayOverride, Dur};
use proptest::prelude::*;
use std::collections::BTreeMap;

const LINES: [&str; 3] = ["support", "sales", "vip"];
const OPERATORS: [&str; 4] = ["anna", "boris", "helper", "x"];
const MEMBERS: [&str; 5] = ["anna", "boris", "helper", "x", "dept:sales"];
const LISTS: [&str; 2] = ["common", "promo"];
const CHANNELS: [&str; 2] = ["online_chat", "telegram"];

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(pool).prop_map(str::to_string)
}

fn subset(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(pool, 0..=2).prop_map(|s| s.into_iter().map(String::from).collect())
}

/// Mostly nothing, sometimes one or two: most generated lines should apply.
fn few(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    prop_oneof![2 => Just(Vec::new()), 1 => subset(pool)]
}

fn line_change() -> impl Strategy<Value = Change> {
    (
        (
            pick(&LINES),
            prop::sample::subsequence(&MEMBERS[..], 1..=2),
            few(&CHANNELS),
        ),
        (
            prop::option::weighted(0.25, pick(&OPERATORS)),
            prop::option::of(pick(&LISTS)),
            few(&OPERATORS),
            few(&OPERATORS),
            few(&MEMBERS),
        ),
    )
        .prop_map(
            |((id, members, channels), (bot, list, overrides, notify, escalate))| {
                let members = members.into_iter().map(String::from).collect();
                let base = Config::from_toml_str(BASE).unwrap();
                let mut line = base.lines[0].clone();
                line.id = id;
                line.channels = channels;
                line.quick_answers = list;
                line.queue = QueueConfig {
                    members,
                    escalation: vec![EscalationStepConfig {
                        after: Dur::from_secs(60),
                        add: escalate,
                    }]
                    .into_iter()
                    .filter(|s| !s.add.is_empty())
                    .collect(),
                    ..QueueConfig::default()
                };
                line.display_overrides = overrides
                    .into_iter()
                    .map(|o| (o, DisplayOverride::default()))
                    .collect::<BTreeMap<_, _>>();
                line.kpi = KpiConfig {
                    first_response: Some(KpiTargetConfig {
                        target: Dur::from_secs(60),
                        notify,
                        text: None,
                    }),
                    response: None,
                };
                line.bot = bot.map(|operator| BotConfig {
                    operator,
                    when: Default::default(),
                    handoff_after: Dur::from_secs(60),
                });
                Change::PutLine(Box::new(line))
            },
        )
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => line_change(),
        1 => pick(&LINES).prop_map(|id| Change::DeleteLine { id }),
        2 => (pick(&OPERATORS), any::<bool>(), 1u32..3).prop_map(|(id, bot, capacity)| {
            let base = Config::from_toml_str(BASE).unwrap();
            let mut op = base.operators[0].clone();
            op.id = id;
            op.bot = bot;
            op.capacity = capacity;
            Change::PutOperator(Box::new(op))
        }),
        1 => pick(&OPERATORS).prop_map(|id| Change::DeleteOperator { id }),
        1 => (pick(&LISTS), subset(&["a", "b", "c"])).prop_map(|(id, items)| {
            Change::PutQuickAnswers(QuickAnswerListConfig { id, items })
        }),
    ]
}

/// What the service would have logged: the changes that applied, in order.
fn logged(base: &Config, changes: Vec<Change>) -> Vec<Change> {
    let mut config = base.clone();
    let mut log = Vec::new();
    for change in changes {
        if let Ok(next) = apply(&config, &change) {
            config = next;
            log.push(change);
        }
    }
    log
}

fn json(config: &Config) -> serde_json::Value {
    serde_json::to_value(config).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn compaction_replays_to_the_same_config(
        changes in prop::collection::vec(change(), 0..24),
        drop_line in any::<bool>(),
    ) {
        let mut base = Config::from_toml_str(BASE).unwrap();
        if drop_line {
            base.lines.pop();
        }
        let log = logged(&base, changes);
        let mut compacted = log.clone();
        compact(&mut compacted);
        prop_assert!(compacted.len() <= log.len());
        let (full, skipped) = replay(&base, &log);
        prop_assert!(skipped.is_empty());
        let (again, skipped) = replay(&base, &compacted);
        prop_assert_eq!(json(&again), json(&full), "compacted: {:#?}", compacted);
        for (i, e) in &skipped {
            prop_assert_eq!(e.kind, ChangeErrorKind::NotFound, "{}: {}", i, e);
        }
    }
}
