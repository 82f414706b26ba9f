//! `[contacts]`: the contact registry's settings (the default phone region and the list of
//! contact types) and their checks. Every finding names its key (`contacts.default_region`).

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[contacts]`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactsConfig {
    /// ISO 3166 region (`"DE"`, `"US"`) for phone numbers written without a country code;
    /// without it such numbers are kept as text and reported as unparsable.
    pub default_region: Option<String>,
    /// The contact types a contact may have, in display order.
    pub types: Vec<String>,
    /// The kinds of interaction people add by hand (`chat` and `link` are the server's own).
    pub interaction_kinds: Vec<String>,
}

impl Default for ContactsConfig {
    fn default() -> Self {
        Self {
            default_region: None,
            types: ["cold", "warm", "hot"].map(String::from).to_vec(),
            interaction_kinds: ["call", "meeting", "email", "note"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// Every problem with `[contacts]`.
pub(super) fn validate(config: &ContactsConfig) -> Vec<ConfigError> {
    let mut found = Vec::new();
    let mut add = |key: String, reason: String| found.push(ConfigError { key, reason });
    if let Some(region) = &config.default_region {
        if region.parse::<phonenumber::country::Id>().is_err() {
            add(
                "contacts.default_region".into(),
                format!(
                    "\"{region}\" is not a region code (use two capital letters such as \"DE\")"
                ),
            );
        }
    }
    if config.types.is_empty() {
        add(
            "contacts.types".into(),
            "at least one type is needed".into(),
        );
    }
    names(&mut add, "contacts.types", "type", &config.types);
    names(
        &mut add,
        "contacts.interaction_kinds",
        "kind",
        &config.interaction_kinds,
    );
    for (i, kind) in config.interaction_kinds.iter().enumerate() {
        if kind == "chat" || kind == "link" {
            add(
                format!("contacts.interaction_kinds[{i}]"),
                format!("\"{kind}\" is the server's own kind"),
            );
        }
    }
    found
}

/// Checks a list of names: each 1 to 32 of a-z, 0-9, '-' and '_', none twice.
fn names(add: &mut impl FnMut(String, String), key: &str, what: &str, list: &[String]) {
    for (i, name) in list.iter().enumerate() {
        let ok = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            add(
                format!("{key}[{i}]"),
                format!("\"{name}\" is not a {what} name: use 1 to 32 of a-z, 0-9, '-' and '_'"),
            );
        } else if list[..i].contains(name) {
            add(
                format!("{key}[{i}]"),
                format!("duplicate {what} \"{name}\""),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn problems(toml: &str) -> String {
        match Config::from_toml_str(toml) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn contacts_settings_default_and_errors_name_the_key() {
        let config = Config::from_toml_str("").unwrap();
        assert_eq!(config.contacts.types, ["cold", "warm", "hot"]);
        assert_eq!(config.contacts.default_region, None);
        let ok = Config::from_toml_str("[contacts]\ndefault_region = \"DE\"\ntypes = [\"a\"]");
        assert!(ok.is_ok(), "{ok:?}");
        let found = problems("[contacts]\ndefault_region = \"XX\"");
        assert!(found.contains("contacts.default_region: \"XX\""), "{found}");
        let found = problems("[contacts]\ntypes = [\"warm\", \"warm\", \"Hot\"]");
        assert!(found.contains("contacts.types[1]: duplicate"), "{found}");
        assert!(found.contains("contacts.types[2]: \"Hot\""), "{found}");
        assert!(problems("[contacts]\ntypes = []").contains("contacts.types: at least one"));
        assert!(problems("[contacts]\ncolour = 1").contains("colour"));
        let found = problems("[contacts]\ninteraction_kinds = [\"call\", \"chat\", \"Visit\"]");
        assert!(
            found.contains("contacts.interaction_kinds[1]: \"chat\" is the server's own"),
            "{found}"
        );
        assert!(
            found.contains("contacts.interaction_kinds[2]: \"Visit\""),
            "{found}"
        );
    }
}
