//! `[[webhooks]]`: the endpoints events are POSTed to, and their checks. Every finding names its
//! key (`webhooks[0].url`). Whether a URL may point at a private address depends on
//! `server.webhooks_allow_private`; names that need DNS are checked again at every connection
//! (`crate::webhooks::address`).

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

use super::duration::Dur;
use super::model::Config;
use super::ConfigError;
use crate::webhooks::address::{literal_is_private, UrlProblem};
use crate::webhooks::event::EventKind;
use crate::webhooks::signing::Secrets;

/// `[[webhooks]]`: one receiving endpoint.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub id: String,
    /// `http://` or `https://`; redirects are not followed.
    pub url: String,
    /// Event types sent (`dialog.created`, ...; `message.created` only when listed).
    pub events: Vec<String>,
    /// `whsec_<base64>`; several, space-separated, while a secret is rotated (each signs).
    pub secret: String,
    /// Only events of these lines (events without a line, such as contact changes, always go).
    #[serde(default)]
    pub lines: Option<Vec<String>>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How long one attempt may take.
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
    /// How long an event is retried before it counts as failed.
    #[serde(default = "default_max_age")]
    pub max_age: Dur,
    /// Requests in flight to this endpoint at most.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
}

fn yes() -> bool {
    true
}

fn default_timeout() -> Dur {
    Dur::from_secs(10)
}

fn default_max_age() -> Dur {
    Dur::from_secs(3 * 24 * 3600)
}

fn default_concurrency() -> u32 {
    4
}

/// Every problem with `[[webhooks]]`.
pub(super) fn validate(config: &Config) -> Vec<ConfigError> {
    let mut found = Vec::new();
    let mut ids = HashSet::new();
    let lines: HashSet<&str> = config.lines.iter().map(|l| l.id.as_str()).collect();
    for (i, hook) in config.webhooks.iter().enumerate() {
        let at = format!("webhooks[{i}]");
        let mut add = |key: &str, reason: String| {
            found.push(ConfigError {
                key: format!("{at}.{key}"),
                reason,
            })
        };
        let id_ok = !hook.id.is_empty()
            && hook.id.len() <= 64
            && hook
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            add(
                "id",
                format!(
                    "\"{}\" is not an id: use 1 to 64 of a-z, 0-9, '-' and '_'",
                    hook.id
                ),
            );
        } else if !ids.insert(hook.id.as_str()) {
            add("id", format!("duplicate webhook id \"{}\"", hook.id));
        }
        if let Err(problem) = check_url(&hook.url, config.server.webhooks_allow_private) {
            add("url", problem.to_string());
        }
        if hook.events.is_empty() {
            add("events", "at least one event type is needed".into());
        }
        for (e, name) in hook.events.iter().enumerate() {
            if EventKind::parse(name).is_none() {
                add(
                    &format!("events[{e}]"),
                    format!(
                        "unknown event type \"{name}\" (known: {})",
                        EventKind::names().join(", ")
                    ),
                );
            }
        }
        if let Err(reason) = Secrets::parse(&hook.secret) {
            add("secret", reason);
        }
        for (l, line) in hook.lines.iter().flatten().enumerate() {
            if !lines.contains(line.as_str()) {
                add(&format!("lines[{l}]"), format!("unknown line \"{line}\""));
            }
        }
        range(&mut add, "timeout", hook.timeout, 1, 120);
        range(&mut add, "max_age", hook.max_age, 60, 30 * 24 * 3600);
        if !(1..=64).contains(&hook.concurrency) {
            add(
                "concurrency",
                format!("{} is outside 1 to 64", hook.concurrency),
            );
        }
    }
    found
}

fn range(add: &mut impl FnMut(&str, String), key: &str, value: Dur, min_s: u64, max_s: u64) {
    let (min, max) = (Dur::from_secs(min_s), Dur::from_secs(max_s));
    if value < min {
        add(key, format!("{value} is below the minimum of {min}"));
    } else if value > max {
        add(key, format!("{value} is above the maximum of {max}"));
    }
}

/// The URL is `http`/`https` with a host, and (unless `allow_private`) not a literal private,
/// loopback or link-local address.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, UrlProblem> {
    let parsed = reqwest::Url::parse(url).map_err(|e| UrlProblem::Unparsable(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(UrlProblem::Scheme(parsed.scheme().to_string()));
    }
    let Some(host) = parsed.host() else {
        return Err(UrlProblem::NoHost);
    };
    if !allow_private && literal_is_private(&host) {
        return Err(UrlProblem::Private(host.to_string()));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn problems(server: &str, hook: &str) -> String {
        let text = format!(
            "[server]\n{server}\n[[operators]]\nid = \"anna\"\nname = \"A\"\n[[lines]]\n\
             id = \"support\"\nname = \"S\"\n[lines.queue]\nmembers = [\"anna\"]\n[[webhooks]]\n{hook}"
        );
        match Config::from_toml_str(&text) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn webhook_settings_default_and_errors_name_the_key() {
        let ok = format!("id = \"crm\"\nurl = \"https://example.com/h\"\nevents = [\"dialog.created\"]\nsecret = \"{SECRET}\"");
        assert_eq!(problems("", &ok), "");
        let config = Config::from_toml_str(&format!("[[webhooks]]\n{ok}")).unwrap();
        let hook = &config.webhooks[0];
        assert!(hook.enabled);
        assert_eq!((hook.timeout.as_ms(), hook.concurrency), (10_000, 4));
        assert_eq!(hook.max_age.as_ms(), 3 * 24 * 3600 * 1000);

        let private = ok.replace("https://example.com/h", "http://192.168.1.5/h");
        let found = problems("", &private);
        assert!(found.contains("webhooks[0].url: 192.168.1.5"), "{found}");
        assert_eq!(problems("webhooks_allow_private = true", &private), "");
        let found = problems("", &ok.replace("dialog.created", "dialog.exploded"));
        assert!(
            found.contains("webhooks[0].events[0]: unknown event type"),
            "{found}"
        );
        let found = problems("", &ok.replace(SECRET, "whsec_abc"));
        assert!(found.contains("webhooks[0].secret"), "{found}");
        let found = problems("", &format!("{ok}\nlines = [\"nope\"]"));
        assert!(
            found.contains("webhooks[0].lines[0]: unknown line \"nope\""),
            "{found}"
        );
        let found = problems("", &format!("{ok}\ntimeout = \"0s\"\nconcurrency = 0"));
        assert!(found.contains("webhooks[0].timeout"), "{found}");
        assert!(found.contains("webhooks[0].concurrency"), "{found}");
        let found = problems("", &format!("{ok}\ncolour = 1"));
        assert!(found.contains("colour"), "{found}");
        let found = problems("", &format!("{ok}\n[[webhooks]]\n{ok}"));
        assert!(found.contains("webhooks[1].id: duplicate"), "{found}");
    }
}
