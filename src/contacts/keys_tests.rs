//! The lookup keys and counters kept in the store against a reference computed from the
//! records themselves: after random creates, changes, deletes and merges, after a reopen, and
//! after a forced rebuild of the keys (a store written before they existed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;

use super::input::{ChannelInput, ContactInput};
use super::keys::{KEYS_VERSION_COUNTER, LIVE_COUNTER};
use super::normalize;
use super::{Kind, Registry, Settings};
use crate::clock::SystemClock;
use crate::store::{Record, Store, StoreOptions};

#[derive(Clone, Debug)]
enum Step {
    Create {
        person: bool,
        email: u8,
        phone: u8,
        tags: Vec<u8>,
        company: Option<u8>,
    },
    Change {
        pick: u8,
        email: u8,
        tags: Vec<u8>,
    },
    Delete {
        pick: u8,
    },
    Merge {
        pick: u8,
        from: u8,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let tags = || prop::collection::vec(0u8..4, 0..3);
    prop_oneof![
        4 => (any::<bool>(), 0u8..6, 0u8..6, tags(), prop::option::of(any::<u8>())).prop_map(
            |(person, email, phone, tags, company)| Step::Create { person, email, phone, tags, company }
        ),
        2 => (any::<u8>(), 0u8..6, tags()).prop_map(|(pick, email, tags)| Step::Change { pick, email, tags }),
        1 => any::<u8>().prop_map(|pick| Step::Delete { pick }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(pick, from)| Step::Merge { pick, from }),
    ]
}

fn open(dir: &std::path::Path) -> Registry {
    let store = Store::open(dir, StoreOptions::default()).unwrap();
    Registry::open(
        store,
        dir,
        Settings::default(),
        Arc::new(SystemClock),
        Arc::new(|_: &str| true),
    )
    .unwrap()
}

fn channel(value: String) -> Option<Vec<ChannelInput>> {
    Some(vec![ChannelInput {
        value,
        primary: true,
    }])
}

fn tag_names(tags: &[u8]) -> Option<Vec<String>> {
    Some(tags.iter().map(|t| format!("t{t}")).collect())
}

async fn run(registry: &Registry, step: &Step, live: &[(u64, Kind)]) {
    let pick = |n: u8| live.get(usize::from(n) % live.len().max(1)).copied();
    match step {
        Step::Create {
            person,
            email,
            phone,
            tags,
            company,
        } => {
            let company_id = company
                .and_then(pick)
                .filter(|(_, kind)| *person && *kind == Kind::Company)
                .map(|(id, _)| id);
            let input = ContactInput {
                kind: Some(if *person { Kind::Person } else { Kind::Company }),
                first_name: Some(Some("Anna".into())),
                company_name: Some(Some("Acme".into())),
                company_id: company_id.map(Some),
                emails: channel(format!(" User{email}@Example.test ")),
                phones: channel(format!("+49 30 1234{phone:03}")),
                tags: tag_names(tags),
                ..ContactInput::default()
            };
            registry.create(&input, "manual").await.unwrap();
        }
        Step::Change {
            pick: p,
            email,
            tags,
        } => {
            let Some((id, _)) = pick(*p) else { return };
            let current = registry.get(id, &super::Viewer::Admin).unwrap();
            let input = ContactInput {
                emails: channel(format!("user{email}@example.test")),
                tags: tag_names(tags),
                version: Some(current.version),
                ..ContactInput::default()
            };
            registry
                .update(id, &input, &super::Viewer::Admin)
                .await
                .unwrap();
        }
        Step::Delete { pick: p } => {
            if let Some((id, _)) = pick(*p) {
                registry.delete(id, false).await.unwrap();
            }
        }
        Step::Merge { pick: p, from } => {
            let (Some((into, a)), Some((other, b))) = (pick(*p), pick(*from)) else {
                return;
            };
            if into != other && a == b {
                registry.merge(into, &[other]).await.unwrap();
            }
        }
    }
}

/// Checks every lookup and counter against the live records; returns the live ids and kinds.
fn check(registry: &Registry) -> Vec<(u64, Kind)> {
    let view = registry.view().unwrap();
    let mut contacts = Vec::new();
    view.walk(0, |c| {
        contacts.push(c);
        true
    })
    .unwrap();
    let mut emails: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let mut tags: BTreeMap<String, u64> = BTreeMap::new();
    for c in &contacts {
        for e in &c.emails {
            emails
                .entry(normalize::email_key(&e.value))
                .or_default()
                .insert(c.id);
        }
        for p in &c.phones {
            let found = registry.by_phone(&p.value).unwrap();
            assert!(
                found.contains(&c.id),
                "phone {} of {} not found",
                p.value,
                c.id
            );
        }
        for t in &c.tags {
            *tags.entry(t.clone()).or_default() += 1;
        }
        if let Some(company) = c.company_id {
            let persons = view.persons_of(company).unwrap();
            assert!(
                persons.iter().any(|p| p.id == c.id),
                "{} not filed under {company}",
                c.id
            );
        }
    }
    for n in 0..6 {
        let key = format!("user{n}@example.test");
        let found: BTreeSet<u64> = registry.by_email(&key).unwrap().into_iter().collect();
        assert_eq!(
            found,
            emails.get(&key).cloned().unwrap_or_default(),
            "email {key}"
        );
    }
    assert_eq!(registry.tags(), tags.into_iter().collect::<Vec<_>>());
    assert_eq!(registry.len(), contacts.len());
    assert_eq!(
        view.read().count(LIVE_COUNTER).unwrap(),
        contacts.len() as u64
    );
    let shared: Vec<Vec<u64>> = registry
        .duplicates()
        .unwrap()
        .into_iter()
        .filter(|g| g.reason == "email")
        .map(|g| g.ids)
        .collect();
    let expected: Vec<Vec<u64>> = emails
        .values()
        .filter(|ids| ids.len() > 1)
        .map(|ids| ids.iter().copied().collect())
        .collect();
    assert_eq!(shared, expected);
    contacts.iter().map(|c| (c.id, c.kind)).collect()
}

/// Makes the store look as if it was written before the keys existed: every key taken out and
/// the layout version cleared.
fn forget_keys(registry: Registry) {
    let view = registry.view().unwrap();
    let mut records = Vec::new();
    view.walk(0, |c| {
        let id = c.id;
        for key in super::keys::of(Some(&super::Stored::Live(Box::new(c)))) {
            records.push(Record::ContactKey {
                key,
                id,
                present: false,
            });
        }
        true
    })
    .unwrap();
    drop(view);
    records.push(Record::ContactCount {
        name: KEYS_VERSION_COUNTER.into(),
        count: 0,
    });
    records.push(Record::ContactCount {
        name: LIVE_COUNTER.into(),
        count: 0,
    });
    super::registry::write_durably_blocking(&registry.store, records).unwrap();
}

static CASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn keys_and_counters_match_the_records(steps in prop::collection::vec(step(), 1..40)) {
        let n = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sb-contact-keys-{}-{n}", std::process::id()));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let registry = open(&dir);
        let mut live = Vec::new();
        for step in &steps {
            runtime.block_on(run(&registry, step, &live));
            live = check(&registry);
        }
        drop(registry);
        let registry = open(&dir);
        prop_assert_eq!(check(&registry), live.clone());
        forget_keys(registry);
        let registry = open(&dir);
        prop_assert_eq!(check(&registry), live);
        drop(registry);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
