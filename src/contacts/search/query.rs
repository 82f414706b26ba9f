//! The search syntax CRM users know, parsed into clauses that are all AND-ed:
//! a plain word, `?` one character and `*` any run inside a word, `"exact phrase"`, and
//! `word~` (similar spelling: edit distance 1 up to 4 characters, 2 beyond; a swap of two
//! neighbours counts 1). Words are normalized exactly like indexed text ([`tokens`]: split on
//! what is not a letter or digit, lower-cased, accents folded), so `muller` finds `Müller`.
//!
//! A malformed query is refused with a [`QueryError`] that says what is wrong; patterns that
//! would match (nearly) everything are refused up front so that no query can take long.
//! Pure: no index access.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};

/// Clauses in one query at most.
pub const CLAUSES_MAX: usize = 16;
/// Characters of a query at most.
pub const QUERY_CHARS_MAX: usize = 500;
/// Indexed tokens longer than this (in bytes) are dropped.
pub const TOKEN_BYTES_MAX: usize = 64;
/// Literal characters a pattern that starts with `?` or `*` needs at least (it cannot use the
/// term dictionary's order and walks all of it).
pub const LEADING_WILDCARD_LITERALS_MIN: usize = 2;

/// One AND-ed part of a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clause {
    /// One normalized token.
    Word(String),
    /// Tokens that must follow each other in one field (also a word that normalizes to
    /// several tokens, like an email address).
    Phrase(Vec<String>),
    /// A normalized pattern: literal characters, `?` and `*`.
    Wildcard(String),
    /// A normalized token and the edit distance allowed.
    Fuzzy(String, u8),
}

/// Why a query was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("unbalanced quote: the \" at character {0} is never closed")]
    UnbalancedQuote(usize),
    #[error("a lone ~ has no word to be similar to (write it right after a word: smith~)")]
    LoneTilde,
    #[error("\"{0}\": ~ goes at the end of a plain word")]
    MisplacedTilde(String),
    #[error("the pattern \"{0}\" has no letters or digits: it would match everything")]
    MatchesEverything(String),
    #[error("the pattern \"{0}\" starts with a wildcard and needs at least {LEADING_WILDCARD_LITERALS_MIN} letters or digits")]
    LeadingWildcard(String),
    #[error("the pattern \"{0}\" may hold only letters, digits, ? and *")]
    PatternCharacters(String),
    #[error("an empty phrase \"\"")]
    EmptyPhrase,
    #[error("more than {CLAUSES_MAX} words")]
    TooManyClauses,
    #[error("longer than {QUERY_CHARS_MAX} characters")]
    TooLong,
    #[error("no word to search for")]
    Empty,
}

/// The analyzer of indexed text and of query words (they must agree).
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(TOKEN_BYTES_MAX))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// `text` as the index sees it: normalized tokens in order.
pub fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// Parses `q` into AND-ed clauses.
pub fn parse(q: &str) -> Result<Vec<Clause>, QueryError> {
    if q.chars().count() > QUERY_CHARS_MAX {
        return Err(QueryError::TooLong);
    }
    let mut analyzer = analyzer();
    let mut clauses = Vec::new();
    for part in split(q)? {
        let clause = match part {
            Part::Phrase(text) => phrase(&mut analyzer, &text)?,
            Part::Word(word) => word_clause(&mut analyzer, &word)?,
        };
        clauses.extend(clause);
        if clauses.len() > CLAUSES_MAX {
            return Err(QueryError::TooManyClauses);
        }
    }
    if clauses.is_empty() {
        return Err(QueryError::Empty);
    }
    Ok(clauses)
}

enum Part {
    Word(String),
    Phrase(String),
}

/// Splits on whitespace, keeping quoted runs together.
fn split(q: &str) -> Result<Vec<Part>, QueryError> {
    let mut parts = Vec::new();
    let mut word = String::new();
    let mut chars = q.chars().enumerate();
    while let Some((at, c)) = chars.next() {
        if c == '"' {
            if !word.is_empty() {
                parts.push(Part::Word(std::mem::take(&mut word)));
            }
            let mut phrase = String::new();
            let mut closed = false;
            for (_, c) in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                phrase.push(c);
            }
            if !closed {
                return Err(QueryError::UnbalancedQuote(at + 1));
            }
            parts.push(Part::Phrase(phrase));
        } else if c.is_whitespace() {
            if !word.is_empty() {
                parts.push(Part::Word(std::mem::take(&mut word)));
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        parts.push(Part::Word(word));
    }
    Ok(parts)
}

fn phrase(analyzer: &mut TextAnalyzer, text: &str) -> Result<Option<Clause>, QueryError> {
    let mut tokens = tokens(analyzer, text);
    match tokens.len() {
        0 => Err(QueryError::EmptyPhrase),
        1 => Ok(tokens.pop().map(Clause::Word)),
        _ => Ok(Some(Clause::Phrase(tokens))),
    }
}

fn word_clause(analyzer: &mut TextAnalyzer, word: &str) -> Result<Option<Clause>, QueryError> {
    if let Some(stem) = word.strip_suffix('~') {
        if stem.is_empty() {
            return Err(QueryError::LoneTilde);
        }
        let mut tokens = tokens(analyzer, stem);
        if stem.contains(['~', '?', '*']) || tokens.len() != 1 {
            return Err(QueryError::MisplacedTilde(word.to_string()));
        }
        let token = tokens.pop().unwrap_or_default();
        let distance = if token.chars().count() <= 4 { 1 } else { 2 };
        return Ok(Some(Clause::Fuzzy(token, distance)));
    }
    if word.contains('~') {
        return Err(QueryError::MisplacedTilde(word.to_string()));
    }
    if word.contains(['?', '*']) {
        return wildcard(analyzer, word).map(Some);
    }
    let mut tokens = tokens(analyzer, word);
    Ok(match tokens.len() {
        0 => None,
        1 => tokens.pop().map(Clause::Word),
        _ => Some(Clause::Phrase(tokens)),
    })
}

/// A pattern with its literal runs normalized like indexed text.
fn wildcard(analyzer: &mut TextAnalyzer, word: &str) -> Result<Clause, QueryError> {
    let mut pattern = String::new();
    let mut literals = 0;
    let mut run = String::new();
    let mut flush = |run: &mut String, pattern: &mut String| -> Result<usize, QueryError> {
        if run.is_empty() {
            return Ok(0);
        }
        let mut tokens = tokens(analyzer, run);
        let token = match (tokens.pop(), tokens.is_empty()) {
            (Some(token), true) if run.chars().all(char::is_alphanumeric) => token,
            _ => return Err(QueryError::PatternCharacters(word.to_string())),
        };
        run.clear();
        pattern.push_str(&token);
        Ok(token.chars().count())
    };
    for c in word.chars() {
        if c == '?' || c == '*' {
            literals += flush(&mut run, &mut pattern)?;
            if !(c == '*' && pattern.ends_with('*')) {
                pattern.push(c);
            }
        } else {
            run.push(c);
        }
    }
    literals += flush(&mut run, &mut pattern)?;
    if literals == 0 {
        return Err(QueryError::MatchesEverything(word.to_string()));
    }
    if pattern.starts_with(['?', '*']) && literals < LEADING_WILDCARD_LITERALS_MIN {
        return Err(QueryError::LeadingWildcard(word.to_string()));
    }
    Ok(Clause::Wildcard(pattern))
}

/// `pattern` (literals, `?`, `*`) as a regular expression over whole terms. Literals are
/// letters and digits only, so nothing needs escaping.
pub fn wildcard_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    for c in pattern.chars() {
        match c {
            '?' => out.push('.'),
            '*' => out.push_str(".*"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(q: &str) -> Vec<Clause> {
        parse(q).unwrap()
    }

    #[test]
    fn every_form_parses_to_its_clause() {
        assert_eq!(words("Sm?th"), vec![Clause::Wildcard("sm?th".into())]);
        assert_eq!(words("O*"), vec![Clause::Wildcard("o*".into())]);
        assert_eq!(words("Smiht~"), vec![Clause::Fuzzy("smiht".into(), 2)]);
        assert_eq!(words("Lee~"), vec![Clause::Fuzzy("lee".into(), 1)]);
        assert_eq!(
            words("\"Acme  Corp\" Müller"),
            vec![
                Clause::Phrase(vec!["acme".into(), "corp".into()]),
                Clause::Word("muller".into())
            ]
        );
        assert_eq!(
            words("j.doe@x.org"),
            vec![Clause::Phrase(vec![
                "j".into(),
                "doe".into(),
                "x".into(),
                "org".into()
            ])]
        );
        assert_eq!(words("Mü*"), vec![Clause::Wildcard("mu*".into())]);
        assert_eq!(wildcard_regex("sm?th*"), "sm.th.*");
    }

    #[test]
    fn malformed_queries_are_refused_with_the_reason() {
        assert_eq!(parse("\"acme corp"), Err(QueryError::UnbalancedQuote(1)));
        assert_eq!(parse("smith ~"), Err(QueryError::LoneTilde));
        assert_eq!(
            parse("sm~ith"),
            Err(QueryError::MisplacedTilde("sm~ith".into()))
        );
        assert_eq!(parse("*"), Err(QueryError::MatchesEverything("*".into())));
        assert_eq!(
            parse("?*?"),
            Err(QueryError::MatchesEverything("?*?".into()))
        );
        assert_eq!(parse("*a"), Err(QueryError::LeadingWildcard("*a".into())));
        assert_eq!(
            parse("a-b*"),
            Err(QueryError::PatternCharacters("a-b*".into()))
        );
        assert_eq!(parse("\"\""), Err(QueryError::EmptyPhrase));
        assert_eq!(parse("   "), Err(QueryError::Empty));
        assert!(parse(&"a ".repeat(17)).is_err());
    }
}
