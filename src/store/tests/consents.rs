//! Consent answers by line and client: upsert (the latest in a commit wins), surviving a
//! reopen, and paging one line's answers or all of them.

use super::helpers::{log, submit_wait, TempDir};
use crate::store::{ConsentEntry, Record, Store, StoreOptions};

/// Every stored consent answer as (line, client, bytes), in the store's order.
fn all_consents(store: &Store) -> Vec<(String, String, Vec<u8>)> {
    let mut all = Vec::new();
    store
        .for_each_consent(|line, client, bytes| {
            all.push((line.to_string(), client.to_string(), bytes.to_vec()))
        })
        .unwrap();
    all
}

fn consent(line: &str, client: &str, bytes: &str) -> Record {
    Record::Consent {
        line: line.to_string(),
        client: client.to_string(),
        bytes: bytes.as_bytes().to_vec(),
    }
}

#[test]
fn consents_upsert_survive_reopen_and_page_by_line() {
    let dir = TempDir::new("consents");
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    // A store that never had one reads as empty
    assert_eq!(store.consent("support", "c1").unwrap(), None);
    assert_eq!(store.consents_of_line("support", None, 10).unwrap(), vec![]);
    assert_eq!(all_consents(&store), vec![]);
    submit_wait(
        &store,
        vec![
            consent("support", "c2", "v1 declined"),
            consent("sales", "c1", "v1 accepted"),
            consent("support", "c1", "v1 accepted"),
            log("unrelated"),
        ],
    )
    .unwrap();
    // The same key again overwrites, the latest in a commit winning
    submit_wait(
        &store,
        vec![
            consent("support", "c2", "v2 declined"),
            consent("support", "c2", "v2 accepted"),
        ],
    )
    .unwrap();
    store.close().unwrap();

    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let text = |bytes: Option<Vec<u8>>| bytes.map(|b| String::from_utf8(b).unwrap());
    assert_eq!(
        text(store.consent("support", "c2").unwrap()).as_deref(),
        Some("v2 accepted")
    );
    assert_eq!(store.consent("support", "c3").unwrap(), None);
    let keys = |entries: Vec<ConsentEntry>| -> Vec<(String, String)> {
        entries.into_iter().map(|e| (e.line, e.client)).collect()
    };
    let pair = |l: &str, c: &str| (l.to_string(), c.to_string());
    // One line only, in client order, paged
    let first = store.consents_of_line("support", None, 1).unwrap();
    assert_eq!(keys(first.clone()), vec![pair("support", "c1")]);
    let rest = store
        .consents_of_line("support", Some(&first[0].client), 10)
        .unwrap();
    assert_eq!(keys(rest), vec![pair("support", "c2")]);
    assert_eq!(
        keys(store.consents_of_line("sales", None, 10).unwrap()),
        vec![pair("sales", "c1")]
    );
    assert_eq!(store.consents_of_line("nowhere", None, 10).unwrap(), vec![]);
    assert_eq!(store.inspect().unwrap().consents, 3);
    // Every line, by line then client
    let every: Vec<(String, String)> = all_consents(&store)
        .into_iter()
        .map(|(line, client, _)| (line, client))
        .collect();
    assert_eq!(
        every,
        vec![
            pair("sales", "c1"),
            pair("support", "c1"),
            pair("support", "c2")
        ]
    );
    store.close().unwrap();
}
