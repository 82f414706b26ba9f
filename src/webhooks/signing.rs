//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">`, keyed by the base64 part of a `whsec_…` secret. Several secrets
//! (space-separated, during a rotation) give several space-separated signatures, so a receiver
//! holding either secret verifies. Pure.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The decoded keys of one endpoint's `secret`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets(Vec<Vec<u8>>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} keys)", self.0.len())
    }
}

/// Shortest and longest key, in bytes (the Standard Webhooks range).
const KEY_BYTES_MIN: usize = 24;
const KEY_BYTES_MAX: usize = 64;

impl Secrets {
    /// Reads `whsec_<base64>` secrets separated by spaces; the reason names what is wrong.
    pub fn parse(text: &str) -> Result<Secrets, String> {
        let mut keys = Vec::new();
        for (i, part) in text.split_whitespace().enumerate() {
            let Some(encoded) = part.strip_prefix("whsec_") else {
                return Err(format!("secret {} does not start with \"whsec_\"", i + 1));
            };
            let key = STANDARD
                .decode(encoded)
                .map_err(|e| format!("secret {} is not base64 after \"whsec_\": {e}", i + 1))?;
            if !(KEY_BYTES_MIN..=KEY_BYTES_MAX).contains(&key.len()) {
                return Err(format!(
                    "secret {} is {} bytes; use {KEY_BYTES_MIN} to {KEY_BYTES_MAX}",
                    i + 1,
                    key.len()
                ));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err("at least one whsec_ secret is needed".into());
        }
        Ok(Secrets(keys))
    }

    /// The `webhook-signature` value for message `id` sent at `timestamp` (Unix seconds).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut out = String::new();
        for key in &self.0 {
            // HMAC takes a key of any length
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
                continue;
            };
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("v1,");
            out.push_str(&STANDARD.encode(mac.finalize().into_bytes()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification: this secret, id, timestamp and
    /// body give exactly this signature.
    #[test]
    fn the_specifications_example_signs_the_same() {
        let secrets = Secrets::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secrets.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_rotation_signs_with_every_secret_and_bad_secrets_are_named() {
        let a = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let b = "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ==";
        let both = Secrets::parse(&format!("{a} {b}"))
            .unwrap()
            .sign("x", 1, b"{}");
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], Secrets::parse(a).unwrap().sign("x", 1, b"{}"));
        assert_eq!(parts[1], Secrets::parse(b).unwrap().sign("x", 1, b"{}"));
        assert!(Secrets::parse("").unwrap_err().contains("at least one"));
        assert!(Secrets::parse("abc").unwrap_err().contains("whsec_"));
        assert!(Secrets::parse("whsec_!!").unwrap_err().contains("base64"));
        assert!(Secrets::parse("whsec_QUJD")
            .unwrap_err()
            .contains("3 bytes"));
    }
}
