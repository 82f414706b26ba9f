//! Search against a simple reference matcher: random contacts (words from a small alphabet
//! with capitals and accents, so many words collide and nearly match) go into a real index,
//! random queries in every form, mostly built from the contacts' own words, are parsed, and the
//! ids the index finds must be exactly those the reference finds by walking every token of
//! every field. The reference is deliberately naive (a recursive glob, a textbook edit
//! distance); it exists only here.
//!
//! Proptest prints a failing case and keeps it in `proptest-regressions/`; set
//! `PROPTEST_CASES` for a longer run.

use proptest::prelude::*;

use super::search::index::{IndexError, SearchIndex};
use super::search::query::{self, Clause};

/// Folds the letters the generator uses, like the index's ASCII folding.
fn fold(c: char) -> char {
    match c {
        'ü' | 'Ü' => 'u',
        'é' | 'É' => 'e',
        'ö' | 'Ö' => 'o',
        c => c.to_ascii_lowercase(),
    }
}

/// A field's tokens the simple way: runs of letters and digits, folded.
fn reference_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().map(fold).collect())
        .collect()
}

fn glob(pattern: &[char], word: &[char]) -> bool {
    match (pattern.first(), word.first()) {
        (None, None) => true,
        (Some('*'), _) => {
            glob(&pattern[1..], word) || (!word.is_empty() && glob(pattern, &word[1..]))
        }
        (Some('?'), Some(_)) => glob(&pattern[1..], &word[1..]),
        (Some(p), Some(w)) if p == w => glob(&pattern[1..], &word[1..]),
        _ => false,
    }
}

/// Edit distance where a swap of two neighbours counts 1 (optimal string alignment).
fn distance(a: &[char], b: &[char]) -> usize {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

fn clause_matches(clause: &Clause, fields: &[Vec<String>]) -> bool {
    let chars = |s: &str| s.chars().collect::<Vec<_>>();
    let any_token = |f: &dyn Fn(&str) -> bool| fields.iter().flatten().any(|t| f(t));
    match clause {
        Clause::Word(w) => any_token(&|t| t == w),
        Clause::Phrase(words) => fields.iter().any(|field| {
            field
                .windows(words.len())
                .any(|win| win == words.as_slice())
        }),
        Clause::Wildcard(p) => any_token(&|t| glob(&chars(p), &chars(t))),
        Clause::Fuzzy(w, d) => any_token(&|t| distance(&chars(w), &chars(t)) <= *d as usize),
    }
}

fn word() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abeimostuyüéöAMSÜ]{1,7}").unwrap()
}

/// A contact: a few fields of one to three words.
fn contact() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop::collection::vec(word(), 1..4).prop_map(|w| w.join(" ")),
        1..4,
    )
}

/// One query part: which word of the contacts to start from, a form, and a random word.
type PartSeed = (usize, u8, usize, String);

fn part_seed() -> impl Strategy<Value = PartSeed> {
    (any::<usize>(), 0..9u8, any::<usize>(), word())
}

/// The query text of one part, made from the contacts' words (`fields`) and the seed.
fn part(fields: &[Vec<&str>], (pick, form, cut, random): &PartSeed) -> String {
    let words: Vec<&str> = fields.iter().flatten().copied().collect();
    let w = words[pick % words.len()];
    let chars: Vec<char> = w.chars().collect();
    let at = cut % chars.len();
    let (head, tail): (String, String) =
        (chars[..at].iter().collect(), chars[at..].iter().collect());
    match form {
        0 => w.to_string(),
        1 => format!("{w}~"),
        // A typo: one character changed, dropped or two swapped.
        2 => format!("{head}{}~", tail.chars().skip(1).collect::<String>()),
        3 if chars.len() > at + 1 => {
            let mut swapped = chars.clone();
            swapped.swap(at, at + 1);
            format!("{}~", swapped.iter().collect::<String>())
        }
        4 => format!("{head}?{}", tail.chars().skip(1).collect::<String>()),
        5 => format!("{head}*"),
        6 => {
            let field = &fields[pick % fields.len()];
            let i = cut % field.len();
            format!(
                "\"{}\"",
                field[i..]
                    .iter()
                    .take(2)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
        7 => format!("\"{w} {random}\""),
        _ => random.clone(),
    }
}

static CASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn search_finds_exactly_what_the_reference_finds(
        contacts in prop::collection::vec(contact(), 1..25),
        queries in prop::collection::vec(prop::collection::vec(part_seed(), 1..3), 1..16),
    ) {
        let n = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir()
            .join(format!("sb-contacts-prop-{}-{n}", std::process::id()));
        let index = SearchIndex::open(&dir).unwrap();
        index
            .rebuild(1, |add| {
                for (i, fields) in contacts.iter().enumerate() {
                    let texts: Vec<&str> = fields.iter().map(String::as_str).collect();
                    add(i as u64 + 1, &texts);
                }
                Ok::<_, IndexError>(())
            })
            .unwrap();
        let tokens: Vec<Vec<Vec<String>>> = contacts
            .iter()
            .map(|fields| fields.iter().map(|f| reference_tokens(f)).collect())
            .collect();
        let words: Vec<Vec<&str>> = contacts
            .iter()
            .flatten()
            .map(|f| f.split(' ').collect())
            .collect();
        for seeds in &queries {
            let q: Vec<String> = seeds.iter().map(|seed| part(&words, seed)).collect();
            let q = q.join(" ");
            let Ok(clauses) = query::parse(&q) else { continue };
            let mut found = index.search(&clauses).unwrap();
            found.sort_unstable();
            let expected: Vec<u64> = tokens
                .iter()
                .enumerate()
                .filter(|(_, fields)| clauses.iter().all(|c| clause_matches(c, fields)))
                .map(|(i, _)| i as u64 + 1)
                .collect();
            prop_assert_eq!(found, expected, "query {:?} = {:?} over {:?}", q, clauses, contacts);
        }
        drop(index);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn the_reference_agrees_with_the_issue_examples() {
    let fields = vec![
        reference_tokens("John Smith"),
        reference_tokens("Hans Müller"),
    ];
    let parsed = |q: &str| query::parse(q).unwrap();
    for q in [
        "Sm?th",
        "O*",
        "Smiht~",
        "muller",
        "\"hans muller\"",
        "john smith",
    ] {
        let expected = q != "O*";
        assert_eq!(
            parsed(q).iter().all(|c| clause_matches(c, &fields)),
            expected,
            "{q}"
        );
    }
}
