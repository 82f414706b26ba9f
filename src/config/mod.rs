//! Configuration: one TOML file, parsed with serde and validated at start.
//!
//! Owns the file format (`model`), durations (`duration`), bounds (`limits`), the semantic
//! checks (`validate`) and the runtime changes the admin API makes over the file (`changes`).
//! Every error names its key path and the reason, e.g.
//! `lines[0].queue.transfer_after: 0ms is below the minimum of 1s`. A syntax or type error stops
//! parsing at the first problem (serde cannot go on past it); semantic checks report all problems.

pub mod bounds;
pub mod changes;
mod contacts;
mod crm;
mod duration;
mod limits;
mod model;
mod validate;
pub mod webhooks;

#[cfg(test)]
mod tests;

pub use changes::{
    apply, parse_line_body, parse_operator_body, parse_quick_answers_body, parse_webhook_body,
    Change, ChangeError, ChangeErrorKind,
};
pub use contacts::ContactsConfig;
pub use crm::{CreateLead, CrmConfig};
pub use duration::Dur;
pub use limits::Limits;
pub use model::*;
pub use validate::{CHANNEL_KINDS, LANGS};
pub use webhooks::WebhookConfig;

use std::fmt;
use std::path::Path;

/// The example configuration shipped in `deploy/`, used by `serve` when no `--config` is given.
pub const EXAMPLE_CONFIG: &str = include_str!("../../deploy/switchboard.toml");

/// One problem with the configuration, at a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Where: `lines[0].queue.mode`; empty for problems with the file as a whole.
    pub key: String,
    /// What is wrong, in words.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.key, self.reason)
        }
    }
}

/// Every problem found; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Parses and validates TOML text.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigErrors> {
        let config = parse(text).map_err(|e| ConfigErrors(vec![e]))?;
        let mut problems = validate::validate(&config);
        problems.extend(contacts::validate(&config.contacts));
        for (i, line) in config.lines.iter().enumerate() {
            problems.extend(crm::validate(&format!("lines[{i}]"), &line.crm));
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(problems))
        }
    }

    /// Reads, parses and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                key: String::new(),
                reason: format!("cannot read {}: {e}", path.display()),
            }])
        })?;
        Self::from_toml_str(&text)
    }

    /// The example configuration from `deploy/switchboard.toml`.
    pub fn example() -> Config {
        Self::from_toml_str(EXAMPLE_CONFIG).expect("deploy/switchboard.toml is valid (tested)")
    }
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    let deserializer = toml::Deserializer::parse(text).map_err(|e| ConfigError {
        key: String::new(),
        reason: describe(text, &e),
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let reason = describe(text, e.inner());
        ConfigError {
            key: if key == "." { String::new() } else { key },
            reason,
        }
    })
}

/// toml's own message, with the line it refers to.
fn describe(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', "; ");
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("{message} (line {line})")
        }
        None => message,
    }
}
