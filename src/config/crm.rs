//! `[lines.crm]`: how a line's chats meet the contact registry (the chat tracker) — whether
//! clients are identified, whether leads are created, routing to the responsible operator,
//! reassignment on transfer, and the secret that verifies identities passed by the site.
//! Every finding names its key (`lines[0].crm.identity_secret`).

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The shortest identity secret accepted.
pub const IDENTITY_SECRET_MIN: usize = 16;

/// What happens when a client who left an email or phone matches no contact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CreateLead {
    /// A new contact is created (its source is the line and channel).
    Auto,
    /// Operators create it from the chat.
    #[default]
    Manual,
    /// No contact is created from this line's chats.
    None,
}

/// `lines.crm`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrmConfig {
    /// Match clients against the registry (email, phone, returning client id, identity).
    pub identify: bool,
    pub create_lead: CreateLead,
    /// Offer an identified client's new dialog first to the contact's responsible operator.
    pub route_to_responsible: bool,
    /// A manual transfer makes the new operator responsible for contacts created from this
    /// line's chats.
    pub reassign_on_transfer: bool,
    /// The secret of verified identities: `hmac = hex(HMAC-SHA256(secret, external_id))`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_secret: Option<String>,
}

impl Default for CrmConfig {
    fn default() -> Self {
        CrmConfig {
            identify: true,
            create_lead: CreateLead::Manual,
            route_to_responsible: false,
            reassign_on_transfer: false,
            identity_secret: None,
        }
    }
}

/// Every problem with `lines[i].crm` (`at` is `lines[i]`).
pub(super) fn validate(at: &str, crm: &CrmConfig) -> Vec<ConfigError> {
    let mut found = Vec::new();
    if let Some(secret) = &crm.identity_secret {
        if secret.chars().count() < IDENTITY_SECRET_MIN {
            found.push(ConfigError {
                key: format!("{at}.crm.identity_secret"),
                reason: format!("at least {IDENTITY_SECRET_MIN} characters"),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn line(crm: &str) -> String {
        format!(
            "[[operators]]\nid = \"anna\"\nname = \"Anna\"\ntoken = \"t\"\n\
             [[lines]]\nid = \"sales\"\nname = \"Sales\"\n\
             [lines.queue]\nmembers = [\"anna\"]\n[lines.crm]\n{crm}\n"
        )
    }

    #[test]
    fn crm_settings_default_parse_and_errors_name_the_key() {
        let config = Config::from_toml_str(&line("")).unwrap();
        assert_eq!(config.lines[0].crm, CrmConfig::default());
        let config = Config::from_toml_str(&line(
            "create_lead = \"auto\"\nroute_to_responsible = true\nidentity_secret = \"0123456789abcdef\"",
        ))
        .unwrap();
        assert_eq!(config.lines[0].crm.create_lead, CreateLead::Auto);
        assert!(config.lines[0].crm.route_to_responsible);
        let short = Config::from_toml_str(&line("identity_secret = \"short\"")).unwrap_err();
        assert!(
            short
                .to_string()
                .contains("lines[0].crm.identity_secret: at least 16"),
            "{short}"
        );
        let bad = Config::from_toml_str(&line("create_lead = \"always\"")).unwrap_err();
        assert!(bad.to_string().contains("create_lead"), "{bad}");
        let unknown = Config::from_toml_str(&line("colour = 1")).unwrap_err();
        assert!(unknown.to_string().contains("colour"), "{unknown}");
    }
}
