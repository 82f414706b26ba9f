//! Property test: random submissions against a simple in-memory model of the store, with a
//! reopen in the middle. Compares recovery, history ranges, dialog summaries and inspection
//! counts.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::helpers::{submit_wait, TempDir};
use crate::store::{Record, Store, StoreError, StoreOptions};

/// What the store should hold.
#[derive(Default)]
struct Model {
    last_position: u64,
    log: BTreeMap<u64, Vec<u8>>,
    snapshot: Option<(u64, Vec<u8>)>,
    messages: BTreeMap<(u64, u64), Vec<u8>>,
    dialogs: BTreeMap<u64, Vec<u8>>,
    consents: BTreeMap<(String, String), Vec<u8>>,
}

impl Model {
    /// Applies one submission, or refuses it whole as the store must.
    fn submit(&mut self, records: &[Record]) -> Result<u64, ()> {
        let mut position = self.last_position;
        let mut covers = self.snapshot.as_ref().map_or(0, |(c, _)| *c);
        for record in records {
            match record {
                Record::Log(_) => position += 1,
                Record::Snapshot {
                    covers: claimed, ..
                } => {
                    if *claimed > position || *claimed < covers {
                        return Err(());
                    }
                    covers = *claimed;
                }
                _ => {}
            }
        }
        for record in records {
            match record {
                Record::Log(bytes) => {
                    self.last_position += 1;
                    self.log.insert(self.last_position, bytes.clone());
                }
                Record::Message { dialog, seq, bytes } => {
                    self.messages.insert((*dialog, *seq), bytes.clone());
                }
                Record::Snapshot { covers, bytes } => {
                    self.snapshot = Some((*covers, bytes.clone()));
                    self.log.retain(|position, _| position > covers);
                }
                Record::ForgetDialog { dialog } => {
                    self.messages.retain(|(d, _), _| d != dialog);
                }
                Record::Dialog { dialog, bytes } => {
                    self.dialogs.insert(*dialog, bytes.clone());
                }
                Record::Consent {
                    line,
                    client,
                    bytes,
                } => {
                    self.consents
                        .insert((line.clone(), client.clone()), bytes.clone());
                }
                // Nor webhook records (`store::webhooks` tests cover them)
                Record::WebhookEvent(_)
                | Record::WebhookDelivery { .. }
                | Record::WebhookCursor { .. }
                | Record::WebhookRetry { .. }
                | Record::WebhookPrune { .. } => {}
                Record::Contact { .. }
                | Record::ContactPhoto { .. }
                | Record::ContactKey { .. }
                | Record::ContactCount { .. }
                | Record::ContactInteraction { .. } => {}
            }
        }
        Ok(self.last_position)
    }
}

/// A record; `Snapshot` covers an offset back from the current end (the model decides validity).
fn record() -> impl Strategy<Value = Record> {
    let bytes = || prop::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        4 => bytes().prop_map(Record::Log),
        4 => (0..4u64, 0..12u64, bytes()).prop_map(|(dialog, seq, bytes)| Record::Message { dialog, seq, bytes }),
        1 => (0..30u64, bytes()).prop_map(|(covers, bytes)| Record::Snapshot { covers, bytes }),
        1 => (0..4u64).prop_map(|dialog| Record::ForgetDialog { dialog }),
        2 => (0..6u64, bytes()).prop_map(|(dialog, bytes)| Record::Dialog { dialog, bytes }),
        2 => ("[ab]{1,2}", "[xy]{0,2}", bytes()).prop_map(|(line, client, bytes)| Record::Consent { line, client, bytes }),
    ]
}

fn check(store: &Store, model: &Model) {
    let recovered = store.recover().unwrap();
    assert_eq!(recovered.last_position, model.last_position);
    assert_eq!(recovered.snapshot, model.snapshot);
    let log: Vec<(u64, Vec<u8>)> = model.log.iter().map(|(p, b)| (*p, b.clone())).collect();
    assert_eq!(recovered.log, log);
    for dialog in 0..4 {
        let expect: Vec<(u64, Vec<u8>)> = model
            .messages
            .range((dialog, 2)..(dialog, 9))
            .map(|((_, seq), bytes)| (*seq, bytes.clone()))
            .take(5)
            .collect();
        assert_eq!(store.messages(dialog, 2, 9, 5).unwrap(), expect);
        let mut newest: Vec<(u64, Vec<u8>)> = model
            .messages
            .range((dialog, 0)..(dialog, 9))
            .rev()
            .take(3)
            .map(|((_, seq), bytes)| (*seq, bytes.clone()))
            .collect();
        newest.reverse();
        assert_eq!(store.newest_messages(dialog, 9, 3).unwrap(), newest);
    }
    let inspect = store.inspect().unwrap();
    assert_eq!(inspect.messages, model.messages.len() as u64);
    let dialogs: std::collections::BTreeSet<u64> = model.messages.keys().map(|(d, _)| *d).collect();
    assert_eq!(inspect.dialogs_with_messages, dialogs.len() as u64);
    assert_eq!(inspect.log_records, model.log.len() as u64);
    assert_eq!(inspect.dialogs, model.dialogs.len() as u64);
    assert_eq!(inspect.consents, model.consents.len() as u64);
    for dialog in 0..7 {
        assert_eq!(
            store.dialog(dialog).unwrap(),
            model.dialogs.get(&dialog).cloned()
        );
        let expect: Vec<(u64, Vec<u8>)> = model
            .dialogs
            .range(dialog + 1..)
            .map(|(d, b)| (*d, b.clone()))
            .take(2)
            .collect();
        assert_eq!(store.dialogs_range(dialog, 2).unwrap(), expect);
    }
    let mut all = Vec::new();
    store
        .for_each_dialog(|dialog, bytes| all.push((dialog, bytes.to_vec())))
        .unwrap();
    let expect: Vec<(u64, Vec<u8>)> = model.dialogs.iter().map(|(d, b)| (*d, b.clone())).collect();
    assert_eq!(all, expect);
    let entries = |entries: Vec<crate::store::ConsentEntry>| -> Vec<((String, String), Vec<u8>)> {
        entries
            .into_iter()
            .map(|e| ((e.line, e.client), e.bytes))
            .collect()
    };
    let expect: Vec<_> = model.consents.clone().into_iter().collect();
    let mut all = Vec::new();
    store
        .for_each_consent(|line, client, bytes| {
            all.push(((line.to_string(), client.to_string()), bytes.to_vec()))
        })
        .unwrap();
    assert_eq!(all, expect);
    for line in ["a", "b", "ab", "ba"] {
        let expect: Vec<_> = expect
            .iter()
            .filter(|((l, _), _)| l == line)
            .cloned()
            .collect();
        // Paged two at a time
        let mut got = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.consents_of_line(line, after.as_deref(), 2).unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.client.clone());
            got.extend(entries(page));
        }
        assert_eq!(got, expect, "line {line}");
        for ((l, c), bytes) in &expect {
            assert_eq!(store.consent(l, c).unwrap().as_ref(), Some(bytes));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn store_matches_model(
        submissions in prop::collection::vec(prop::collection::vec(record(), 0..6), 1..16),
        reopen_at in 0..16usize,
    ) {
        let dir = TempDir::new("model");
        let mut store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let mut model = Model::default();
        for (i, records) in submissions.iter().enumerate() {
            if i == reopen_at {
                store.close().unwrap();
                store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            }
            let got = submit_wait(&store, records.clone());
            match model.submit(records) {
                Ok(position) => prop_assert_eq!(got.unwrap(), position),
                Err(()) => {
                    let refused = matches!(got, Err(StoreError::SnapshotRefused { .. }));
                    prop_assert!(refused, "expected a refusal, got {:?}", got);
                }
            }
        }
        check(&store, &model);
        store.close().unwrap();
    }
}
