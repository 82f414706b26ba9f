//! Semantic checks of a parsed [`Config`]: every rule that serde cannot express. Each finding
//! names its key path (`lines[0].queue.transfer_after`) and the reason; all findings are
//! collected, not just the first, so `switchboard check-config` can list every problem at once.
//!
//! Server, operators, departments and quick answers are checked here; one line's own rules
//! (texts, hours, queue, automatic actions) in `line`.

mod line;

use super::duration::Dur;
use super::model::{Config, OperatorConfig};
use super::ConfigError;
use line::check_line;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

/// The channel kinds a line may attach.
pub const CHANNEL_KINDS: &[&str] = &[
    "online_chat",
    "telegram",
    "whatsapp",
    "viber",
    "facebook",
    "instagram",
    "vk",
    "email",
    "sms",
    "imessage",
    "wechat",
    "avito",
    "livechat",
];

/// Languages with built-in texts.
pub const LANGS: &[&str] = &["en", "de", "ru"];

/// The shortest step any timed rule may take.
const STEP_MIN: Dur = Dur::from_secs(1);

/// Collects findings under key paths.
struct Findings(Vec<ConfigError>);

impl Findings {
    fn add(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.0.push(ConfigError {
            key: key.into(),
            reason: reason.into(),
        });
    }

    fn range(&mut self, key: String, value: Dur, min: Dur, max: Option<Dur>) {
        if value < min {
            self.add(key, format!("{value} is below the minimum of {min}"));
        } else if let Some(max) = max.filter(|max| value > *max) {
            self.add(key, format!("{value} is above the maximum of {max}"));
        }
    }
}

/// Returns every problem found in `config`; empty means valid.
pub fn validate(config: &Config) -> Vec<ConfigError> {
    let mut f = Findings(Vec::new());
    check_server(config, &mut f);
    let operators = check_operators(config, &mut f);
    let departments = check_departments(config, &operators, &mut f);
    let known = Known {
        operators,
        departments,
        quick_lists: config.quick_answers.iter().map(|q| q.id.as_str()).collect(),
    };
    check_quick_answers(config, &mut f);
    let mut line_ids = HashSet::new();
    let mut channel_owner: HashMap<&str, usize> = HashMap::new();
    for (i, line) in config.lines.iter().enumerate() {
        let at = format!("lines[{i}]");
        check_slug(&mut f, &format!("{at}.id"), &line.id);
        if !line_ids.insert(line.id.as_str()) {
            f.add(
                format!("{at}.id"),
                format!("duplicate line id \"{}\"", line.id),
            );
        }
        for (c, channel) in line.channels.iter().enumerate() {
            let key = format!("{at}.channels[{c}]");
            if !CHANNEL_KINDS.contains(&channel.as_str()) {
                f.add(
                    key,
                    format!(
                        "unknown channel kind \"{channel}\" (known: {})",
                        CHANNEL_KINDS.join(", ")
                    ),
                );
            } else if let Some(owner) = channel_owner.insert(channel, i) {
                f.add(
                    key,
                    format!("channel \"{channel}\" is already attached to lines[{owner}]"),
                );
            }
        }
        check_line(line, &at, &known, &mut f);
    }
    f.0.extend(super::webhooks::validate(config));
    f.0
}

/// Ids the lines may refer to.
struct Known<'a> {
    operators: HashMap<&'a str, &'a OperatorConfig>,
    departments: HashSet<&'a str>,
    quick_lists: HashSet<&'a str>,
}

impl Known<'_> {
    fn check_member(&self, f: &mut Findings, key: String, member: &str) {
        match member.strip_prefix("dept:") {
            Some(dept) if !self.departments.contains(dept) => {
                f.add(key, format!("unknown department \"{dept}\""));
            }
            Some(_) => {}
            None if !self.operators.contains_key(member) => {
                f.add(
                    key,
                    format!(
                        "unknown operator \"{member}\" (departments are written \"dept:<id>\")"
                    ),
                );
            }
            None => {}
        }
    }

    fn check_operator(&self, f: &mut Findings, key: String, id: &str) {
        if !self.operators.contains_key(id) {
            f.add(key, format!("unknown operator \"{id}\""));
        }
    }
}

fn check_slug(f: &mut Findings, key: &str, id: &str) {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        f.add(
            key,
            format!("\"{id}\" is not an id: use 1 to 64 of a-z, 0-9, '-' and '_'"),
        );
    }
}

fn check_sha256(f: &mut Findings, key: String, hex: &str) {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        f.add(key, "is not a SHA-256 hash (64 hex digits)");
    }
}

fn check_server(config: &Config, f: &mut Findings) {
    let s = &config.server;
    if s.listen.parse::<SocketAddr>().is_err() {
        f.add(
            "server.listen",
            format!("\"{}\" is not an address like 127.0.0.1:7878", s.listen),
        );
    }
    if s.admin_token.is_some() && s.admin_token_sha256.is_some() {
        f.add(
            "server.admin_token",
            "set admin_token or admin_token_sha256, not both",
        );
    }
    if let Some(hex) = &s.admin_token_sha256 {
        check_sha256(f, "server.admin_token_sha256".into(), hex);
    }
    if s.admin_token.as_deref() == Some("") {
        f.add("server.admin_token", "must not be empty");
    }
    if s.shards > 256 {
        f.add(
            "server.shards",
            format!("{} is above the maximum of 256", s.shards),
        );
    }
    if !(1..=65_536).contains(&s.store_cache_mib) {
        f.add(
            "server.store_cache_mib",
            format!("{} is outside 1..=65536", s.store_cache_mib),
        );
    }
    if let Some(retention) = s.history_retention {
        f.range(
            "server.history_retention".into(),
            retention,
            Dur::from_secs(1),
            None,
        );
    }
    let l = &s.limits;
    let at_least_one: [(&str, u64); 10] = [
        ("frame_bytes_max", l.frame_bytes_max as u64),
        ("text_chars_max", l.text_chars_max as u64),
        ("messages_per_sec", l.messages_per_sec as u64),
        ("messages_burst", l.messages_burst as u64),
        ("connections_max", l.connections_max as u64),
        (
            "handshakes_in_flight_max",
            l.handshakes_in_flight_max as u64,
        ),
        ("outbound_frames_max", l.outbound_frames_max as u64),
        (
            "decisions_per_dialog_max",
            l.decisions_per_dialog_max as u64,
        ),
        ("decision_skips_max", l.decision_skips_max as u64),
        (
            "half_open_per_source_max",
            l.half_open_per_source_max as u64,
        ),
    ];
    for (name, value) in at_least_one {
        if value == 0 {
            f.add(format!("server.limits.{name}"), "must be at least 1");
        }
    }
    if !(1_024..=16 * 1_048_576).contains(&l.frame_bytes_max) {
        f.add(
            "server.limits.frame_bytes_max",
            format!("{} is outside 1024 ..= 16777216", l.frame_bytes_max),
        );
    }
    if l.messages_burst < l.messages_per_sec {
        f.add(
            "server.limits.messages_burst",
            format!(
                "{} is below messages_per_sec ({})",
                l.messages_burst, l.messages_per_sec
            ),
        );
    }
    f.range(
        "server.limits.auth_timeout".into(),
        l.auth_timeout,
        STEP_MIN,
        Some(Dur::from_secs(300)),
    );
    f.range(
        "server.limits.request_head_timeout".into(),
        l.request_head_timeout,
        STEP_MIN,
        Some(Dur::from_secs(300)),
    );
}

fn check_operators<'a>(
    config: &'a Config,
    f: &mut Findings,
) -> HashMap<&'a str, &'a OperatorConfig> {
    let mut seen = HashMap::new();
    for (i, op) in config.operators.iter().enumerate() {
        let at = format!("operators[{i}]");
        check_slug(f, &format!("{at}.id"), &op.id);
        if seen.insert(op.id.as_str(), op).is_some() {
            f.add(
                format!("{at}.id"),
                format!("duplicate operator id \"{}\"", op.id),
            );
        }
        if op.name.trim().is_empty() {
            f.add(format!("{at}.name"), "must not be empty");
        }
        if op.token.is_some() && op.token_sha256.is_some() {
            f.add(format!("{at}.token"), "set token or token_sha256, not both");
        }
        if op.token.as_deref() == Some("") {
            f.add(format!("{at}.token"), "must not be empty");
        }
        if let Some(hex) = &op.token_sha256 {
            check_sha256(f, format!("{at}.token_sha256"), hex);
        }
        if op.capacity == 0 {
            f.add(format!("{at}.capacity"), "must be at least 1");
        }
        if let Some(tz) = &op.timezone {
            if jiff::tz::TimeZone::get(tz).is_err() {
                f.add(
                    format!("{at}.timezone"),
                    format!("unknown time zone \"{tz}\""),
                );
            }
        }
        for (v, range) in op.vacation.iter().enumerate() {
            let from = parse_date(f, format!("{at}.vacation[{v}].from"), &range.from);
            let to = parse_date(f, format!("{at}.vacation[{v}].to"), &range.to);
            if let (Some(from), Some(to)) = (from, to) {
                if to < from {
                    f.add(
                        format!("{at}.vacation[{v}]"),
                        format!("ends ({to}) before it starts ({from})"),
                    );
                }
            }
        }
    }
    seen
}

fn parse_date(f: &mut Findings, key: String, text: &str) -> Option<jiff::civil::Date> {
    match text.parse::<jiff::civil::Date>() {
        Ok(date) => Some(date),
        Err(_) => {
            f.add(key, format!("\"{text}\" is not a date YYYY-MM-DD"));
            None
        }
    }
}

fn check_departments<'a>(
    config: &'a Config,
    operators: &HashMap<&str, &OperatorConfig>,
    f: &mut Findings,
) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    for (i, dept) in config.departments.iter().enumerate() {
        let at = format!("departments[{i}]");
        check_slug(f, &format!("{at}.id"), &dept.id);
        if !seen.insert(dept.id.as_str()) {
            f.add(
                format!("{at}.id"),
                format!("duplicate department id \"{}\"", dept.id),
            );
        }
        for (m, member) in dept.members.iter().enumerate() {
            if !operators.contains_key(member.as_str()) {
                f.add(
                    format!("{at}.members[{m}]"),
                    format!("unknown operator \"{member}\""),
                );
            }
        }
    }
    for (i, op) in config.operators.iter().enumerate() {
        for (d, dept) in op.departments.iter().enumerate() {
            if !seen.contains(dept.as_str()) {
                f.add(
                    format!("operators[{i}].departments[{d}]"),
                    format!("unknown department \"{dept}\""),
                );
            }
        }
    }
    seen
}

fn check_quick_answers(config: &Config, f: &mut Findings) {
    let mut seen = HashSet::new();
    for (i, list) in config.quick_answers.iter().enumerate() {
        check_slug(f, &format!("quick_answers[{i}].id"), &list.id);
        if !seen.insert(list.id.as_str()) {
            f.add(
                format!("quick_answers[{i}].id"),
                format!("duplicate quick-answer list \"{}\"", list.id),
            );
        }
    }
}
