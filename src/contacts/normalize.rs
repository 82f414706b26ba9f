//! Normalized keys the registry matches on: an email trimmed and lower-cased, a phone in E.164
//! (parsed with the `phonenumber` crate, a configured default region for numbers without a
//! country code). Pure functions.

use phonenumber::country::Id as Region;
use phonenumber::Mode;

/// The key an email is matched by: trimmed and lower-cased.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Whether `email` looks like an address: one `@` with text on both sides and no spaces.
pub fn email_ok(email: &str) -> bool {
    let email = email.trim();
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// The default region for phone numbers without a country code, parsed from its code.
pub fn region(code: Option<&str>) -> Option<Region> {
    code.and_then(|code| code.parse().ok())
}

/// `text` in E.164 (`+4930123456`), or `None` when it is not a valid phone number (with
/// `region` for numbers written without a country code).
pub fn phone_e164(text: &str, region: Option<Region>) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let number = phonenumber::parse(region, text).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    Some(number.format().mode(Mode::E164).to_string())
}

/// The key a phone is matched by: E.164 when it parses, else its digits (a leading `+` kept).
/// Text already in the E.164 shape (`+` and 7 to 15 digits) is its own key without parsing:
/// parsing it would give the same text back, or fail and fall back to the same digits.
pub fn phone_key(text: &str, region: Option<Region>) -> String {
    let text = text.trim();
    if let Some(digits) = text.strip_prefix('+') {
        if (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            return text.to_string();
        }
    }
    phone_e164(text, region).unwrap_or_else(|| {
        let text = text.trim();
        let plus = if text.starts_with('+') { "+" } else { "" };
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        format!("{plus}{digits}")
    })
}

/// A tag as stored: trimmed and lower-cased.
pub fn tag(text: &str) -> String {
    text.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_match_trimmed_and_case_insensitively() {
        assert_eq!(
            email_key("  John.Smith@Example.COM "),
            "john.smith@example.com"
        );
        assert!(email_ok("a@b.c"));
        assert!(!email_ok("a b@c"));
        assert!(!email_ok("abc"));
        assert!(!email_ok("@c"));
    }

    #[test]
    fn phones_become_e164_with_the_default_region() {
        let de = region(Some("DE"));
        assert_eq!(
            phone_e164("030 1234 5678", de).as_deref(),
            Some("+493012345678")
        );
        assert_eq!(
            phone_e164("+1 (650) 253-0000", None).as_deref(),
            Some("+16502530000")
        );
        assert_eq!(phone_e164("030 1234 5678", None), None);
        assert_eq!(phone_e164("not a phone", de), None);
        assert_eq!(phone_key("12-34", None), "1234");
    }
}
