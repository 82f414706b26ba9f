//! Dialog summaries: upsert and overwrite, paging, surviving a reopen, and files from before the
//! `dialogs` table existed (read as none; the table appears with the first summary) or with a
//! `dialogs` table of other types (refused, untouched).

use redb::{Database, ReadableDatabase};

use super::helpers::{
    all_dialogs, log, message, open, open_refused_untouched, owned, submit_wait, summary,
    write_store_then_alter, TempDir,
};
use crate::store::schema::{
    DIALOGS, FORMAT_VERSION, KEY_FORMAT_VERSION, KEY_LAST_POSITION, LOG, MESSAGES, META, SNAPSHOT,
};
use crate::store::StoreError;

/// Whether the file has a table named `dialogs` (read with redb directly; the store is closed).
fn has_dialogs_table(dir: &TempDir) -> bool {
    use redb::TableHandle;
    let db = redb::Builder::new().open_read_only(dir.file()).unwrap();
    let txn = db.begin_read().unwrap();
    let mut tables = txn.list_tables().unwrap();
    tables.any(|table| table.name() == "dialogs")
}

#[test]
fn dialog_summaries_upsert_overwrite_and_page() {
    let dir = TempDir::new("dialogs");
    let store = open(&dir);
    assert_eq!(store.dialog(1).unwrap(), None);
    // Within one submission, and one commit, the later summary of an id wins
    let records = vec![
        summary(5, "5a"),
        log("e"),
        summary(2, "2a"),
        message(5, 1, "m"),
        summary(5, "5b"),
        summary(u64::MAX, "max"),
    ];
    assert_eq!(submit_wait(&store, records).unwrap(), 1);
    assert_eq!(store.dialog(5).unwrap(), Some(b"5b".to_vec()));
    assert_eq!(store.dialog(2).unwrap(), Some(b"2a".to_vec()));
    assert_eq!(store.dialog(3).unwrap(), None);
    // A later commit overwrites
    submit_wait(&store, vec![summary(2, "2b")]).unwrap();
    assert_eq!(store.dialog(2).unwrap(), Some(b"2b".to_vec()));
    assert_eq!(
        all_dialogs(&store),
        owned(&[(2, "2b"), (5, "5b"), (u64::MAX, "max")])
    );

    // Paging: ids > after, ascending, at most limit
    submit_wait(
        &store,
        (10..20).map(|d| summary(d, &d.to_string())).collect(),
    )
    .unwrap();
    let mut pages = Vec::new();
    let mut after = 0;
    loop {
        let page = store.dialogs_range(after, 4).unwrap();
        assert!(page.len() <= 4);
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        pages.push(page.iter().map(|(d, _)| *d).collect::<Vec<_>>());
    }
    let expect_ids: Vec<Vec<u64>> = vec![
        vec![2, 5, 10, 11],
        vec![12, 13, 14, 15],
        vec![16, 17, 18, 19],
        vec![u64::MAX],
    ];
    assert_eq!(pages, expect_ids);
    assert_eq!(
        store.dialogs_range(5, 2).unwrap(),
        owned(&[(10, "10"), (11, "11")])
    );
    assert_eq!(
        store.dialogs_range(19, 10).unwrap(),
        owned(&[(u64::MAX, "max")])
    );
    assert!(store.dialogs_range(u64::MAX, 10).unwrap().is_empty());
    assert!(store.dialogs_range(0, 0).unwrap().is_empty());
    assert_eq!(store.dialogs_range(0, usize::MAX).unwrap().len(), 13);
    store.close().unwrap();
}

#[test]
fn dialog_summaries_survive_reopen_and_are_counted() {
    let dir = TempDir::new("dialogs-reopen");
    let store = open(&dir);
    assert_eq!(store.inspect().unwrap().dialogs, 0);
    submit_wait(&store, vec![summary(1, "one"), summary(3, "three")]).unwrap();
    submit_wait(&store, vec![summary(1, "one again"), message(1, 1, "m")]).unwrap();
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.dialogs, inspect.dialogs_with_messages), (2, 1));
    store.close().unwrap();

    let store = open(&dir);
    assert_eq!(store.dialog(1).unwrap(), Some(b"one again".to_vec()));
    assert_eq!(
        all_dialogs(&store),
        owned(&[(1, "one again"), (3, "three")])
    );
    assert_eq!(store.inspect().unwrap().dialogs, 2);
    store.close().unwrap();
}

#[test]
fn fresh_store_without_summaries_reads_none() {
    let dir = TempDir::new("dialogs-fresh");
    let store = open(&dir);
    submit_wait(&store, vec![log("a"), message(1, 1, "m")]).unwrap();
    assert_eq!(store.dialog(1).unwrap(), None);
    assert!(all_dialogs(&store).is_empty());
    assert!(store.dialogs_range(0, 10).unwrap().is_empty());
    assert_eq!(store.inspect().unwrap().dialogs, 0);
    store.close().unwrap();
}

/// A version-1 file written before the dialogs table existed: exactly the tables it had then.
#[test]
fn file_from_before_the_dialogs_table_opens_and_reads_no_summaries() {
    let dir = TempDir::new("dialogs-old-file");
    {
        let db = Database::create(dir.file()).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(META).unwrap();
            meta.insert(KEY_FORMAT_VERSION, u64::from(FORMAT_VERSION))
                .unwrap();
            meta.insert(KEY_LAST_POSITION, 1).unwrap();
            txn.open_table(LOG)
                .unwrap()
                .insert(1, b"old".as_slice())
                .unwrap();
            txn.open_table(MESSAGES)
                .unwrap()
                .insert((4, 1), b"old message".as_slice())
                .unwrap();
            txn.open_table(SNAPSHOT).unwrap();
        }
        txn.commit().unwrap();
    }
    assert!(!has_dialogs_table(&dir));

    let store = open(&dir);
    assert_eq!(store.dialog(4).unwrap(), None);
    assert!(all_dialogs(&store).is_empty());
    assert!(store.dialogs_range(0, 10).unwrap().is_empty());
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.format_version, inspect.dialogs), (1, 0));
    assert_eq!((inspect.messages, inspect.last_position), (1, 1));
    assert_eq!(store.recover().unwrap().log, owned(&[(1, "old")]));
    // Commits without summaries leave the file without the table; open never adds it
    assert_eq!(submit_wait(&store, vec![log("new")]).unwrap(), 2);
    store.close().unwrap();
    assert!(!has_dialogs_table(&dir));

    // The first summary creates it
    let store = open(&dir);
    submit_wait(&store, vec![summary(4, "s")]).unwrap();
    assert_eq!(store.dialog(4).unwrap(), Some(b"s".to_vec()));
    store.close().unwrap();
    assert!(has_dialogs_table(&dir));
    let store = open(&dir);
    assert_eq!(all_dialogs(&store), owned(&[(4, "s")]));
    assert_eq!(
        store.messages(4, 0, 9, 9).unwrap(),
        owned(&[(1, "old message")])
    );
    store.close().unwrap();
}

#[test]
fn dialogs_table_of_other_types_is_refused_untouched() {
    let dir = TempDir::new("dialogs-wrong-type");
    write_store_then_alter(&dir, |txn| {
        txn.delete_table(DIALOGS).unwrap();
        let other: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("dialogs");
        txn.open_table(other).unwrap().insert(1, 2).unwrap();
    });
    let error = open_refused_untouched(&dir);
    let text = error.to_string();
    assert!(matches!(error, StoreError::Damaged { .. }), "{text}");
    assert!(text.contains(&dir.file().display().to_string()), "{text}");
}
