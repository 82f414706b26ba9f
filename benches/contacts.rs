//! The contact registry at scale, on generated data: bulk import rate (durable), start-up with
//! the index present, lookup by normalized email and phone, and search latency per query form
//! (p50 / p99 over many different queries, printed as a table), plus criterion's figures for
//! lookups and one query of each form.
//!
//! `SB_CONTACTS_N` sets the number of contacts (default 1,000,000; the data directory is a
//! fresh temp dir, removed at the end unless `SB_CONTACTS_KEEP` is set; `SB_CONTACTS_DIR`
//! reuses a kept one without importing, `SB_CONTACTS_N` must then say how many it holds). Run: `cargo bench --bench contacts`. The figures are
//! indicative: the dev machine is a shared 2-core VM.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard::clock::SystemClock;
use switchboard::contacts::input::{ChannelInput, ContactInput};
use switchboard::contacts::search::{Ask, Filters, Viewer};
use switchboard::contacts::{Kind, Registry, Settings};
use switchboard::store::{Store, StoreOptions};

const SYLLABLES: &[&str] = &[
    "an", "be", "ca", "do", "el", "fi", "ga", "ha", "is", "jo", "ka", "li", "ma", "no", "ol", "pe",
    "ra", "si", "to", "ul", "va", "wi", "xe", "yo", "zu", "mü", "lé", "sch", "tt", "rk",
];
const TAGS: &[&str] = &[
    "vip", "lead", "partner", "press", "churned", "trial", "b2b", "b2c",
];

/// A deterministic pseudo-random sequence (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn name(&mut self) -> String {
        let parts = 2 + self.below(2);
        let mut name: String = (0..parts)
            .map(|_| SYLLABLES[self.below(SYLLABLES.len())])
            .collect();
        if let Some(first) = name.chars().next() {
            name.replace_range(..first.len_utf8(), &first.to_uppercase().to_string());
        }
        name
    }
}

fn email(i: u64) -> String {
    format!("user{i}@mail{}.test", i % 997)
}

fn phone(i: u64) -> String {
    format!("+49 30 {:08}", 10_000_000 + i)
}

fn row(rng: &mut Rng, i: u64) -> ContactInput {
    let first = rng.name();
    let last = rng.name();
    ContactInput {
        kind: Some(Kind::Person),
        first_name: Some(Some(first)),
        last_name: Some(Some(last)),
        company_name: Some(Some(format!(
            "{} {}",
            rng.name(),
            ["GmbH", "Ltd", "Inc"][rng.below(3)]
        ))),
        emails: Some(vec![ChannelInput {
            value: email(i),
            primary: true,
        }]),
        phones: Some(vec![ChannelInput {
            value: phone(i),
            primary: true,
        }]),
        tags: Some(vec![TAGS[rng.below(TAGS.len())].to_string()]),
        kind_type: Some(Some(["cold", "warm", "hot"][rng.below(3)].to_string())),
        description: Some(Some(format!(
            "{} {} {}",
            rng.name(),
            rng.name(),
            rng.name()
        ))),
        ..ContactInput::default()
    }
}

fn open(dir: &std::path::Path) -> Registry {
    let store = Store::open(dir, StoreOptions::default()).expect("store");
    Registry::open(
        store,
        dir,
        Settings::default(),
        Arc::new(SystemClock),
        Arc::new(|_: &str| true),
    )
    .expect("registry")
}

/// This process's resident memory (`VmRSS`), in MiB; 0 where /proc is not there.
fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// p50 and p99 of `samples`, in ms.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99))
}

fn queries(rng: &mut Rng, form: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let word = rng.name().to_lowercase();
            let chars: Vec<char> = word.chars().collect();
            match form {
                "word" => word,
                "two words" => format!("{word} {}", rng.name()),
                "phrase" => format!("\"{word} {}\"", ["gmbh", "ltd", "inc"][rng.below(3)]),
                "prefix*" => format!(
                    "{}*",
                    chars[..3.min(chars.len())].iter().collect::<String>()
                ),
                "?" => {
                    let mut c = chars.clone();
                    let at = rng.below(c.len());
                    c[at] = '?';
                    c.into_iter().collect()
                }
                _ => {
                    let mut c = chars.clone();
                    if c.len() > 2 {
                        c.swap(1, 2);
                    }
                    format!("{}~", c.into_iter().collect::<String>())
                }
            }
        })
        .collect()
}

/// Imports `n` generated contacts in requests of 100,000 rows and prints the rate.
fn import(runtime: &tokio::runtime::Runtime, registry: &Registry, rng: &mut Rng, n: u64) {
    let began = Instant::now();
    let mut i = 0;
    while i < n {
        let chunk: Vec<_> = (i..n.min(i + 100_000))
            .map(|k| (k + 1, Ok(row(rng, k))))
            .collect();
        i += chunk.len() as u64;
        let report = runtime.block_on(registry.import(chunk, false)).unwrap();
        assert!(report.errors.is_empty(), "{:?}", &report.errors[..1]);
    }
    let took = began.elapsed();
    println!(
        "import: {n} contacts in {took:.1?} = {:.0} contacts/s (durable, indexed)",
        n as f64 / took.as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let n: u64 = std::env::var("SB_CONTACTS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let reuse = std::env::var_os("SB_CONTACTS_DIR").map(std::path::PathBuf::from);
    let dir = reuse.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("sb-contacts-bench-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rng = Rng(42);
    if reuse.is_none() {
        import(&runtime, &open(&dir), &mut rng, n);
    }
    let rss_before = resident_mib();
    let began = Instant::now();
    let registry = open(&dir);
    println!(
        "start-up with the index present: {:.2?} ({} contacts); resident {:.0} MiB before, {:.0} MiB after (the import, if any, ran in this process)",
        began.elapsed(),
        registry.len(),
        rss_before,
        resident_mib(),
    );

    let mut group = c.benchmark_group("contacts_lookup");
    let mut k = 0u64;
    group.bench_function("by_email", |b| {
        b.iter(|| {
            k = (k + 7919) % n;
            registry.by_email(&email(k)).unwrap()
        })
    });
    group.bench_function("by_phone_e164", |b| {
        b.iter(|| {
            k = (k + 7919) % n;
            registry
                .by_phone(&format!("+4930{:08}", 10_000_000 + k))
                .unwrap()
        })
    });
    group.bench_function("by_phone_as_typed", |b| {
        b.iter(|| {
            k = (k + 7919) % n;
            registry.by_phone(&phone(k)).unwrap()
        })
    });
    group.finish();

    let ask = Ask {
        filters: Filters::default(),
        viewer: Viewer::Admin,
        after: None,
        limit: 50,
    };
    println!("| form | queries | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for form in ["word", "two words", "phrase", "prefix*", "?", "similar~"] {
        let mut samples = Vec::new();
        for q in queries(&mut rng, form, 200) {
            let began = Instant::now();
            let _ = runtime.block_on(registry.search(Some(&q), &ask));
            samples.push(began.elapsed());
        }
        let (p50, p99) = percentiles(samples);
        println!("| {form} | 200 | {p50:.2} | {p99:.2} |");
    }
    let mut group = c.benchmark_group("contacts_search");
    group.sample_size(20);
    for (form, q) in [
        ("word", "mabe"),
        ("phrase", "\"gmbh\""),
        ("wildcard", "ma?e*"),
        ("fuzzy", "mbae~"),
    ] {
        group.bench_function(form, |b| {
            b.iter(|| runtime.block_on(registry.search(Some(q), &ask)))
        });
    }
    group.finish();
    let rss = resident_mib();
    println!(
        "resident after the lookups and searches: {rss:.0} MiB ({:.0} bytes per contact, {:.0} MiB before opening)",
        (rss - rss_before) * 1024.0 * 1024.0 / n as f64,
        rss_before
    );
    drop(registry);
    if reuse.is_some() || std::env::var_os("SB_CONTACTS_KEEP").is_some() {
        println!("data kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
