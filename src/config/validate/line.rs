//! The rules of one `[[lines]]` entry: its name and language, working hours, queue (mode,
//! members, transfer and escalation steps, limits) and automatic actions (unanswered, idle,
//! rating and silence timeouts). Each finding names its key path under `lines[i]`.

use super::{Findings, Known, LANGS, STEP_MIN};
use crate::config::duration::Dur;
use crate::config::model::{IdleAction, LineConfig};
use crate::schedule::WorkingHours;
use std::collections::HashSet;

const TRANSFER_AFTER_MIN: Dur = Dur::from_secs(1);
const TRANSFER_AFTER_MAX: Dur = Dur::from_secs(12 * 3_600);
const RATING_WAIT_MAX: Dur = Dur::from_secs(30 * 86_400);
const SILENCE_CLOSE_MIN: Dur = Dur::from_secs(60);

pub(super) fn check_line(line: &LineConfig, at: &str, known: &Known<'_>, f: &mut Findings) {
    if line.name.trim().is_empty() {
        f.add(format!("{at}.name"), "must not be empty");
    }
    if !LANGS.contains(&line.lang.as_str()) {
        f.add(
            format!("{at}.lang"),
            format!(
                "unsupported language \"{}\" (supported: {})",
                line.lang,
                LANGS.join(", ")
            ),
        );
    }
    if let Some(list) = &line.quick_answers {
        if !known.quick_lists.contains(list.as_str()) {
            f.add(
                format!("{at}.quick_answers"),
                format!("unknown quick-answer list \"{list}\""),
            );
        }
    }
    for id in line.display_overrides.keys() {
        known.check_operator(f, format!("{at}.display_overrides.{id}"), id);
    }
    for (i, origin) in line.allowed_origins.iter().enumerate() {
        if let Err(why) = check_origin(origin) {
            f.add(format!("{at}.allowed_origins[{i}]"), why);
        }
    }
    check_queue(line, at, known, f);
    check_auto(line, at, f);
    if line.rating.close_on_rating && !line.rating.enabled {
        f.add(
            format!("{at}.rating.close_on_rating"),
            "needs rating.enabled = true",
        );
    }
    if let Some(hours) = &line.hours {
        let week: Vec<(&str, &str)> = hours
            .week
            .iter()
            .map(|(d, v)| (d.as_str(), v.as_str()))
            .collect();
        let holidays: Vec<&str> = hours.holidays.iter().map(String::as_str).collect();
        if let Err(e) = WorkingHours::new(&hours.timezone, &week, &holidays) {
            f.add(format!("{at}.hours.{}", e.key()), e.to_string());
        }
    }
    for (name, target) in [
        ("first_response", &line.kpi.first_response),
        ("response", &line.kpi.response),
    ] {
        let Some(target) = target else { continue };
        f.range(
            format!("{at}.kpi.{name}.target"),
            target.target,
            STEP_MIN,
            None,
        );
        for (n, id) in target.notify.iter().enumerate() {
            known.check_operator(f, format!("{at}.kpi.{name}.notify[{n}]"), id);
        }
    }
    if let Some(bot) = &line.bot {
        match known.operators.get(bot.operator.as_str()) {
            None => f.add(
                format!("{at}.bot.operator"),
                format!("unknown operator \"{}\"", bot.operator),
            ),
            Some(op) if !op.bot => f.add(
                format!("{at}.bot.operator"),
                format!(
                    "operator \"{}\" is not a bot account (set bot = true on it)",
                    bot.operator
                ),
            ),
            Some(_) => {}
        }
        f.range(
            format!("{at}.bot.handoff_after"),
            bot.handoff_after,
            STEP_MIN,
            None,
        );
    }
    if let Some(consent) = &line.consent {
        if consent.text.trim().is_empty() {
            f.add(format!("{at}.consent.text"), "must not be empty");
        }
    }
}

fn check_queue(line: &LineConfig, at: &str, known: &Known<'_>, f: &mut Findings) {
    let q = &line.queue;
    if q.members.is_empty() && line.bot.is_none() {
        f.add(
            format!("{at}.queue.members"),
            "a line needs at least one member (or a bot)",
        );
    }
    let mut seen = HashSet::new();
    for (m, member) in q.members.iter().enumerate() {
        let key = format!("{at}.queue.members[{m}]");
        if !seen.insert(member.as_str()) {
            f.add(key.clone(), format!("\"{member}\" is listed twice"));
        }
        known.check_member(f, key, member);
    }
    f.range(
        format!("{at}.queue.transfer_after"),
        q.transfer_after,
        TRANSFER_AFTER_MIN,
        Some(TRANSFER_AFTER_MAX),
    );
    if let Some(limit) = &q.limit {
        if limit.max == 0 {
            f.add(format!("{at}.queue.limit.max"), "must be at least 1");
        }
    }
    if q.pause_after_missed == Some(0) {
        f.add(
            format!("{at}.queue.pause_after_missed"),
            "must be at least 1",
        );
    }
    let mut previous = Dur::from_ms(0);
    for (s, step) in q.escalation.iter().enumerate() {
        let key = format!("{at}.queue.escalation[{s}]");
        if step.after <= previous {
            f.add(
                format!("{key}.after"),
                format!(
                    "{} must be later than the step before ({previous})",
                    step.after
                ),
            );
        }
        previous = step.after;
        if step.add.is_empty() {
            f.add(format!("{key}.add"), "must name at least one member");
        }
        for (m, member) in step.add.iter().enumerate() {
            known.check_member(f, format!("{key}.add[{m}]"), member);
        }
    }
    if let Some(reassign) = &q.reassign_on_offline {
        f.range(
            format!("{at}.queue.reassign_on_offline.after"),
            reassign.after,
            Dur::from_ms(0),
            Some(RATING_WAIT_MAX),
        );
    }
}

fn check_auto(line: &LineConfig, at: &str, f: &mut Findings) {
    let a = &line.auto;
    if let Some(after) = a.unanswered_after {
        f.range(format!("{at}.auto.unanswered_after"), after, STEP_MIN, None);
    } else if a.unanswered_text.is_some() {
        f.add(
            format!("{at}.auto.unanswered_text"),
            "needs auto.unanswered_after",
        );
    }
    f.range(
        format!("{at}.auto.rating_wait"),
        a.rating_wait,
        Dur::from_ms(0),
        Some(RATING_WAIT_MAX),
    );
    if let Some(idle) = &a.client_idle_close {
        f.range(
            format!("{at}.auto.client_idle_close.after"),
            idle.after,
            STEP_MIN,
            None,
        );
        if idle.action == IdleAction::Text
            && idle.text.as_deref().is_none_or(|t| t.trim().is_empty())
        {
            f.add(
                format!("{at}.auto.client_idle_close.text"),
                "action = \"text\" needs a text",
            );
        }
    }
    f.range(
        format!("{at}.auto.operator_silence_close"),
        a.operator_silence_close,
        SILENCE_CLOSE_MIN,
        None,
    );
}

/// An origin as browsers send it: `http` or `https`, `://`, a host, an optional port, nothing
/// after (`*` allows every origin).
fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("\"{origin}\" must start with https:// or http://"))?;
    // A port follows the last `:` unless that `:` is inside an IPv6 address's brackets.
    let (host, port) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains(']') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!(
            "\"{origin}\" is not an origin (scheme://host[:port], no path, e.g. https://shop.example)"
        ))
    }
}

#[cfg(test)]
mod origin_tests {
    use super::check_origin;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for good in [
            "*",
            "https://shop.example",
            "http://localhost:8080",
            "http://127.0.0.1:1",
        ] {
            assert!(check_origin(good).is_ok(), "{good}");
        }
        for bad in [
            "shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "ftp://shop.example",
            "https://",
            "http://host:0",
            "http://host:99999",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }
}
