//! Turning a validated [`Config`] into routing state: operators interned to indexes with their
//! shared cells, departments expanded to members, durations in ms, working hours and vacations
//! resolved to instants, and lines assigned to shards.

use super::ids::{LineIdx, OpIdx};
use super::line::{BotRule, KpiRule, Line, LineRules};
use super::operator::Operator;
use super::reserve::OperatorCell;
use super::texts;
use crate::config::{Config, KpiTargetConfig, LineConfig};
use crate::schedule::WorkingHours;
use std::collections::HashMap;
use std::sync::Arc;

/// Operators and lines resolved from the config.
pub struct Directory {
    pub operators: Vec<Operator>,
    pub operator_index: HashMap<Arc<str>, OpIdx>,
    pub lines: Vec<LineRules>,
    pub line_index: HashMap<Arc<str>, LineIdx>,
}

impl Directory {
    /// Resolves a validated config.
    pub fn build(config: &Config) -> Directory {
        let operators: Vec<Operator> = config.operators.iter().map(resolve_operator).collect();
        let operator_index: HashMap<Arc<str>, OpIdx> = operators
            .iter()
            .enumerate()
            .map(|(i, op)| (op.id.clone(), OpIdx(i as u32)))
            .collect();
        let departments = department_members(config, &operator_index);
        let resolve = |member: &str| -> Vec<OpIdx> {
            match member.strip_prefix("dept:") {
                Some(dept) => departments.get(dept).cloned().unwrap_or_default(),
                None => operator_index.get(member).copied().into_iter().collect(),
            }
        };
        let lines = config
            .lines
            .iter()
            .map(|line| resolve_line(line, &resolve, &operator_index))
            .collect::<Vec<_>>();
        let line_index = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.id.clone(), LineIdx(i as u32)))
            .collect();
        Directory {
            operators,
            operator_index,
            lines,
            line_index,
        }
    }

    /// Builds the lines owned by shard `shard` of `shards` (round robin by line index).
    pub fn lines_for_shard(&self, shard: usize, shards: usize) -> Vec<Line> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(i, _)| super::placement::shard_of_line(*i, shards) == shard)
            .map(|(i, rules)| Line::new(LineIdx(i as u32), rules.clone()))
            .collect()
    }
}

fn resolve_operator(op: &crate::config::OperatorConfig) -> Operator {
    let tz = op
        .timezone
        .as_deref()
        .and_then(|name| jiff::tz::TimeZone::get(name).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let vacations = op
        .vacation
        .iter()
        .filter_map(|range| {
            let from: jiff::civil::Date = range.from.parse().ok()?;
            let to: jiff::civil::Date = range.to.parse().ok()?;
            let start = from.to_zoned(tz.clone()).ok()?.timestamp().as_millisecond();
            let end = to
                .tomorrow()
                .ok()?
                .to_zoned(tz.clone())
                .ok()?
                .timestamp()
                .as_millisecond();
            Some((start.max(0) as u64, end.max(0) as u64))
        })
        .collect();
    Operator {
        id: op.id.as_str().into(),
        name: op.name.as_str().into(),
        cell: Arc::new(OperatorCell::new(op.capacity)),
        dismissed: op.dismissed,
        bot: op.bot,
        supervisor: op.supervisor,
        vacations,
    }
}

fn department_members(
    config: &Config,
    operators: &HashMap<Arc<str>, OpIdx>,
) -> HashMap<String, Vec<OpIdx>> {
    let mut members: HashMap<String, Vec<OpIdx>> = HashMap::new();
    for dept in &config.departments {
        let list = members.entry(dept.id.clone()).or_default();
        for id in &dept.members {
            if let Some(op) = operators.get(id.as_str()) {
                if !list.contains(op) {
                    list.push(*op);
                }
            }
        }
    }
    for op in &config.operators {
        for dept in &op.departments {
            let list = members.entry(dept.clone()).or_default();
            if let Some(idx) = operators.get(op.id.as_str()) {
                if !list.contains(idx) {
                    list.push(*idx);
                }
            }
        }
    }
    members
}

fn resolve_kpi(
    kpi: &Option<KpiTargetConfig>,
    operators: &HashMap<Arc<str>, OpIdx>,
) -> Option<KpiRule> {
    kpi.as_ref().map(|k| KpiRule {
        target_ms: k.target.as_ms(),
        notify: k
            .notify
            .iter()
            .filter_map(|id| operators.get(id.as_str()).copied())
            .collect(),
        text: k
            .text
            .as_deref()
            .unwrap_or("#OPERATOR# has not answered dialog #DIALOG# in time")
            .into(),
    })
}

fn resolve_line(
    line: &LineConfig,
    resolve: &dyn Fn(&str) -> Vec<OpIdx>,
    operators: &HashMap<Arc<str>, OpIdx>,
) -> LineRules {
    let q = &line.queue;
    let mut pool: Vec<OpIdx> = Vec::new();
    let add = |members: &[String], pool: &mut Vec<OpIdx>| {
        for member in members {
            for op in resolve(member) {
                if !pool.contains(&op) {
                    pool.push(op);
                }
            }
        }
    };
    add(&q.members, &mut pool);
    let mut pool_ends = vec![pool.len()];
    for step in &q.escalation {
        add(&step.add, &mut pool);
        pool_ends.push(pool.len());
    }
    let hours = line.hours.as_ref().and_then(|h| {
        let week: Vec<(&str, &str)> = h
            .week
            .iter()
            .map(|(d, v)| (d.as_str(), v.as_str()))
            .collect();
        let holidays: Vec<&str> = h.holidays.iter().map(String::as_str).collect();
        WorkingHours::new(&h.timezone, &week, &holidays).ok()
    });
    let a = &line.auto;
    let text = |t: &Option<String>| t.as_deref().map(Arc::<str>::from);
    LineRules {
        id: line.id.as_str().into(),
        name: line.name.as_str().into(),
        active: line.active,
        mode: q.mode,
        transfer_after_ms: q.transfer_after.as_ms(),
        check_availability: q.check_availability,
        workday_tracking: q.workday_tracking,
        limit_max: q.limit.map_or(u32::MAX, |l| l.max),
        count: q.limit.map(|l| l.count).unwrap_or_default(),
        pause_after_missed: q.pause_after_missed,
        pool,
        pool_ends,
        escalation_after_ms: q.escalation.iter().map(|s| s.after.as_ms()).collect(),
        reassign_after_ms: q.reassign_on_offline.as_ref().map(|r| r.after.as_ms()),
        reassign_text: q
            .reassign_on_offline
            .as_ref()
            .and_then(|r| r.text.as_deref())
            .unwrap_or(texts::reassigned(&line.lang))
            .into(),
        greeting: text(&a.greeting_text),
        no_operators_text: text(&a.no_operators_text),
        off_hours_text: line.hours.as_ref().and_then(|h| text(&h.off_hours_text)),
        unanswered_after_ms: a.unanswered_after.map(|d| d.as_ms()),
        unanswered_text: text(&a.unanswered_text),
        rating_enabled: line.rating.enabled,
        close_on_rating: line.rating.close_on_rating,
        rating_wait_ms: a.rating_wait.as_ms(),
        idle_close: a.client_idle_close.as_ref().map(|i| {
            let text = match i.action {
                crate::config::IdleAction::Text => text(&i.text),
                crate::config::IdleAction::Close => None,
            };
            (i.after.as_ms(), text)
        }),
        silence_close_ms: a.operator_silence_close.as_ms(),
        hours,
        route_off_hours: line.hours.as_ref().is_some_and(|h| h.route_off_hours),
        kpi_first: resolve_kpi(&line.kpi.first_response, operators),
        kpi_response: resolve_kpi(&line.kpi.response, operators),
        bot: line.bot.as_ref().and_then(|b| {
            Some(BotRule {
                op: *operators.get(b.operator.as_str())?,
                first_contact_only: b.when == crate::config::BotWhen::FirstContact,
                handoff_ms: b.handoff_after.as_ms(),
            })
        }),
    }
}
