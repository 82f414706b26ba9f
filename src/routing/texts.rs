//! Built-in texts, by the line's `lang`.

/// Told to the client when their operator went offline and the dialog went back to the queue.
pub fn reassigned(lang: &str) -> &'static str {
    match lang {
        "de" => "Ihr Berater ist nicht mehr erreichbar. Wir verbinden Sie mit einem Kollegen.",
        "ru" => "Ваш оператор отключился. Мы передадим диалог другому оператору.",
        _ => "Your operator is no longer available. We are connecting you with a colleague.",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_supported_language_has_its_own_text() {
        let texts: Vec<_> = crate::config::LANGS
            .iter()
            .map(|l| super::reassigned(l))
            .collect();
        for (i, a) in texts.iter().enumerate() {
            for b in &texts[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
