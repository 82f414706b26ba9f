//! Messages by dialog and seq: ranges and history pages, overwriting the same key, and
//! forgetting a dialog's messages (its summary stays).

use super::helpers::{all_dialogs, message, open, owned, submit_wait, summary, TempDir};
use crate::store::Record;

#[test]
fn messages_range_overwrite_and_forget() {
    let dir = TempDir::new("messages");
    let store = open(&dir);
    let mut records: Vec<Record> = (1..=10).map(|s| message(7, s, &format!("7/{s}"))).collect();
    records.extend((1..=3).map(|s| message(8, s, &format!("8/{s}"))));
    records.push(message(u64::MAX, u64::MAX, "max"));
    submit_wait(&store, records).unwrap();

    let got = store.messages(7, 3, 6, 100).unwrap();
    assert_eq!(got, owned(&[(3, "7/3"), (4, "7/4"), (5, "7/5")]));
    assert_eq!(store.messages(7, 3, 6, 2).unwrap().len(), 2);
    assert!(store.messages(7, 6, 3, 100).unwrap().is_empty());
    assert!(store.messages(9, 0, u64::MAX, 100).unwrap().is_empty());
    assert_eq!(store.messages(u64::MAX, 0, u64::MAX, 9).unwrap(), vec![]);
    // A history page: the newest before a seq, oldest first
    assert_eq!(
        store.newest_messages(7, 9, 3).unwrap(),
        owned(&[(6, "7/6"), (7, "7/7"), (8, "7/8")])
    );
    assert_eq!(
        store.newest_messages(7, 3, 10).unwrap(),
        owned(&[(1, "7/1"), (2, "7/2")])
    );
    assert!(store.newest_messages(7, 1, 10).unwrap().is_empty());
    assert!(store.newest_messages(7, 9, 0).unwrap().is_empty());
    assert!(store.newest_messages(9, u64::MAX, 10).unwrap().is_empty());

    // The same key again overwrites: still one message
    submit_wait(&store, vec![message(7, 4, "7/4 again")]).unwrap();
    submit_wait(&store, vec![message(7, 4, "7/4 again")]).unwrap();
    assert_eq!(
        store.messages(7, 4, 5, 10).unwrap(),
        owned(&[(4, "7/4 again")])
    );
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.messages, inspect.dialogs_with_messages), (14, 3));

    submit_wait(&store, vec![Record::ForgetDialog { dialog: 7 }]).unwrap();
    assert!(store.messages(7, 0, u64::MAX, 100).unwrap().is_empty());
    assert_eq!(store.messages(8, 0, u64::MAX, 100).unwrap().len(), 3);
    let mut all = Vec::new();
    store
        .for_each_message(|dialog, seq, bytes| all.push((dialog, seq, bytes.to_vec())))
        .unwrap();
    let keys: Vec<(u64, u64)> = all.iter().map(|(d, s, _)| (*d, *s)).collect();
    assert_eq!(keys, vec![(8, 1), (8, 2), (8, 3), (u64::MAX, u64::MAX)]);
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.messages, inspect.dialogs_with_messages), (4, 2));
    store.close().unwrap();
}

#[test]
fn forget_dialog_deletes_messages_but_keeps_the_summary() {
    let dir = TempDir::new("forget-keeps-summary");
    let store = open(&dir);
    let records = vec![
        message(7, 1, "a"),
        message(7, 2, "b"),
        summary(7, "closed"),
        message(8, 1, "c"),
    ];
    submit_wait(&store, records).unwrap();
    submit_wait(&store, vec![Record::ForgetDialog { dialog: 7 }]).unwrap();
    assert!(store.messages(7, 0, u64::MAX, 100).unwrap().is_empty());
    assert_eq!(store.messages(8, 0, u64::MAX, 100).unwrap().len(), 1);
    assert_eq!(store.dialog(7).unwrap(), Some(b"closed".to_vec()));
    // Also when the summary and the forget share a submission, in either order
    let records = vec![
        summary(8, "s8"),
        Record::ForgetDialog { dialog: 8 },
        Record::ForgetDialog { dialog: 9 },
        summary(9, "s9"),
    ];
    submit_wait(&store, records).unwrap();
    assert!(store.messages(8, 0, u64::MAX, 100).unwrap().is_empty());
    assert_eq!(
        all_dialogs(&store),
        owned(&[(7, "closed"), (8, "s8"), (9, "s9")])
    );
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.messages, inspect.dialogs), (0, 3));
    store.close().unwrap();
}
