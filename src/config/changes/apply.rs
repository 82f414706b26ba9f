//! Applying changes: one [`Change`] → the new whole [`Config`], checked by the file's own
//! `validate` (no rule is repeated here). Existing objects keep their place in their vector; new
//! ones are appended. Problems are relabelled for the admin API: keys inside the changed object
//! lose their `lines[3].` prefix, keys elsewhere name their object by id (`lines[sales]`).

use super::{Change, ChangeError, ChangeErrorKind};
use crate::config::model::Config;
use crate::config::validate::validate;
use crate::config::ConfigError;
use std::fmt::Write as _;

/// Returns the whole config after `change`, or why it cannot be made.
///
/// Deleting an operator also removes them from every line's queue members, escalation steps
/// (a step left adding nobody is dropped), display overrides and KPI notify lists, and from
/// every department; it is refused (`Conflict`) while a line's `bot` is that operator, or when a
/// line would be left without members. Deleting or putting never touches open dialogs.
pub fn apply(config: &Config, change: &Change) -> Result<Config, ChangeError> {
    let mut next = config.clone();
    match change {
        Change::PutLine(line) => {
            let at = put(&mut next.lines, line.as_ref().clone(), |l| &l.id);
            check(&next, ChangeErrorKind::Invalid, Some(("lines", at)), "")?;
        }
        Change::DeleteLine { id } => {
            let at = find(&next.lines, id, |l| &l.id).ok_or_else(|| not_found("line", id))?;
            next.lines.remove(at);
            check(&next, ChangeErrorKind::Conflict, None, "")?;
        }
        Change::PutOperator(op) => {
            let at = put(&mut next.operators, op.as_ref().clone(), |o| &o.id);
            check(&next, ChangeErrorKind::Invalid, Some(("operators", at)), "")?;
        }
        Change::DeleteOperator { id } => {
            let at =
                find(&next.operators, id, |o| &o.id).ok_or_else(|| not_found("operator", id))?;
            refuse_if_bot(&next, id)?;
            next.operators.remove(at);
            strip_operator(&mut next, id);
            let after = format!(" (after removing operator \"{id}\")");
            check(&next, ChangeErrorKind::Conflict, None, &after)?;
        }
        Change::PutWebhook(hook) => {
            let at = put(&mut next.webhooks, hook.as_ref().clone(), |h| &h.id);
            check(&next, ChangeErrorKind::Invalid, Some(("webhooks", at)), "")?;
        }
        Change::DeleteWebhook { id } => {
            let at = find(&next.webhooks, id, |h| &h.id).ok_or_else(|| not_found("webhook", id))?;
            next.webhooks.remove(at);
        }
        Change::PutQuickAnswers(list) => {
            let at = put(&mut next.quick_answers, list.clone(), |q| &q.id);
            check(
                &next,
                ChangeErrorKind::Invalid,
                Some(("quick_answers", at)),
                "",
            )?;
        }
    }
    Ok(next)
}

/// Applies `changes` in order over `base` (the file's config). A change that no longer applies
/// (the file changed since it was made) is skipped and reported with its index; the others still
/// apply.
pub fn replay(base: &Config, changes: &[Change]) -> (Config, Vec<(usize, ChangeError)>) {
    let mut config = base.clone();
    let mut skipped = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        match apply(&config, change) {
            Ok(next) => config = next,
            Err(e) => skipped.push((i, e)),
        }
    }
    (config, skipped)
}

/// Replaces the item with `item`'s id in place, or appends it; returns its index.
fn put<T>(items: &mut Vec<T>, item: T, id: impl Fn(&T) -> &String) -> usize {
    match find(items, id(&item), &id) {
        Some(at) => {
            items[at] = item;
            at
        }
        None => {
            items.push(item);
            items.len() - 1
        }
    }
}

fn find<T>(items: &[T], wanted: &str, id: impl Fn(&T) -> &String) -> Option<usize> {
    items.iter().position(|item| id(item) == wanted)
}

fn not_found(what: &str, id: &str) -> ChangeError {
    ChangeError::one(ChangeErrorKind::NotFound, "", format!("no {what} \"{id}\""))
}

fn refuse_if_bot(config: &Config, id: &str) -> Result<(), ChangeError> {
    let problems: Vec<ConfigError> = config
        .lines
        .iter()
        .filter(|line| line.bot.as_ref().is_some_and(|bot| bot.operator == id))
        .map(|line| ConfigError {
            key: format!("lines[{}].bot.operator", line.id),
            reason: format!(
                "line \"{}\" uses operator \"{id}\" as its bot; give the line another bot or \
                 none first",
                line.id
            ),
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ChangeError {
            kind: ChangeErrorKind::Conflict,
            problems,
        })
    }
}

/// Removes every reference to operator `id` from lines and departments.
fn strip_operator(config: &mut Config, id: &str) {
    for line in &mut config.lines {
        let queue = &mut line.queue;
        queue.members.retain(|m| m != id);
        queue.escalation.retain_mut(|step| {
            let before = step.add.len();
            step.add.retain(|m| m != id);
            step.add.len() == before || !step.add.is_empty()
        });
        line.display_overrides.remove(id);
        let kpi = &mut line.kpi;
        for target in [&mut kpi.first_response, &mut kpi.response]
            .into_iter()
            .flatten()
        {
            target.notify.retain(|n| n != id);
        }
    }
    for dept in &mut config.departments {
        dept.members.retain(|m| m != id);
    }
}

/// Validates `config`; problems get keys relative to `focus` (a collection and index) and the
/// `suffix` appended to their reasons.
fn check(
    config: &Config,
    kind: ChangeErrorKind,
    focus: Option<(&str, usize)>,
    suffix: &str,
) -> Result<(), ChangeError> {
    let problems = validate(config);
    if problems.is_empty() {
        return Ok(());
    }
    let problems = problems
        .into_iter()
        .map(|p| ConfigError {
            key: relabel_key(config, &p.key, focus),
            reason: format!("{}{suffix}", relabel_text(config, &p.reason)),
        })
        .collect();
    Err(ChangeError { kind, problems })
}

/// `lines[3].queue.mode` → `queue.mode` when line 3 is the focus, else `lines[sales].queue.mode`.
fn relabel_key(config: &Config, key: &str, focus: Option<(&str, usize)>) -> String {
    let Some((collection, index, rest)) = split_indexed(key) else {
        return key.to_string();
    };
    if focus == Some((collection, index)) {
        return rest.strip_prefix('.').unwrap_or(rest).to_string();
    }
    format!("{collection}[{}]{rest}", name(config, collection, index))
}

/// Replaces every `lines[3]` (and the like) in `text` by `lines[<id>]`.
fn relabel_text(config: &Config, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut word_before = false;
    'scan: while let Some(ch) = rest.chars().next() {
        for collection in COLLECTIONS.into_iter().filter(|_| !word_before) {
            let Some(after) = rest
                .strip_prefix(collection)
                .and_then(|r| r.strip_prefix('['))
            else {
                continue;
            };
            let end = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            let Ok(index) = after[..end].parse::<usize>() else {
                continue;
            };
            if let Some(tail) = after[end..].strip_prefix(']') {
                let _ = write!(out, "{collection}[{}]", name(config, collection, index));
                rest = tail;
                word_before = false;
                continue 'scan;
            }
        }
        out.push(ch);
        word_before = ch.is_alphanumeric() || ch == '_';
        rest = &rest[ch.len_utf8()..];
    }
    out
}

const COLLECTIONS: [&str; 4] = ["lines", "operators", "departments", "quick_answers"];

/// `("lines", 3, ".queue.mode")` from `lines[3].queue.mode`.
fn split_indexed(key: &str) -> Option<(&str, usize, &str)> {
    let (collection, rest) = key.split_once('[')?;
    let (index, rest) = rest.split_once(']')?;
    let collection = COLLECTIONS.into_iter().find(|c| *c == collection)?;
    Some((collection, index.parse().ok()?, rest))
}

/// The id of item `index` of `collection`, or the index itself when it has no usable id.
fn name(config: &Config, collection: &str, index: usize) -> String {
    let id = match collection {
        "lines" => config.lines.get(index).map(|l| &l.id),
        "operators" => config.operators.get(index).map(|o| &o.id),
        "departments" => config.departments.get(index).map(|d| &d.id),
        "quick_answers" => config.quick_answers.get(index).map(|q| &q.id),
        "webhooks" => config.webhooks.get(index).map(|h| &h.id),
        _ => None,
    };
    match id {
        Some(id) if !id.is_empty() && !id.contains(['[', ']', '.']) => id.clone(),
        _ => index.to_string(),
    }
}
