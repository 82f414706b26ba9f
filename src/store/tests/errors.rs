//! Files and options the store refuses: a newer format version, garbage, damaged pages (refused
//! or survived without a panic or wrong data), a foreign redb file, a file already open, and
//! invalid options. A refused file is named in the error and left exactly as it was.

use redb::{Database, ReadableDatabase};

use super::helpers::{
    message, open, open_refused_untouched, submit_wait, summary, test_seed, write_store_then_alter,
    Rng, TempDir,
};
use crate::store::schema::{KEY_FORMAT_VERSION, META};
use crate::store::{Record, Store, StoreError, StoreOptions, FILE_NAME};

#[test]
fn newer_format_version_is_refused_and_file_unchanged() {
    let dir = TempDir::new("newer");
    write_store_then_alter(&dir, |txn| {
        txn.open_table(META)
            .unwrap()
            .insert(KEY_FORMAT_VERSION, 99)
            .unwrap();
    });
    let error = open_refused_untouched(&dir);
    let text = error.to_string();
    assert!(
        matches!(
            error,
            StoreError::NewerFormat {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains(&dir.file().display().to_string()), "{text}");
    assert!(
        text.contains("format version 99 is newer than this build (1)"),
        "{text}"
    );
    // Still readable as it was
    let db = redb::Builder::new().open_read_only(dir.file()).unwrap();
    let txn = db.begin_read().unwrap();
    let version = txn
        .open_table(META)
        .unwrap()
        .get(KEY_FORMAT_VERSION)
        .unwrap();
    assert_eq!(version.map(|v| v.value()), Some(99));
}

#[test]
fn garbage_file_is_refused_and_never_emptied() {
    let mut rng = Rng(test_seed("garbage_file_is_refused_and_never_emptied"));
    for size in [1usize, 100, 4096, 70_000] {
        let dir = TempDir::new("garbage");
        let garbage: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        std::fs::write(dir.file(), &garbage).unwrap();
        let error = Store::open(dir.path(), StoreOptions::default())
            .err()
            .expect("refused");
        let text = error.to_string();
        assert!(matches!(error, StoreError::Damaged { .. }), "{text}");
        assert!(text.contains(&dir.file().display().to_string()), "{text}");
        assert_eq!(
            std::fs::read(dir.file()).unwrap(),
            garbage,
            "the file was changed"
        );
    }
}

#[test]
fn damaged_pages_are_refused_or_survived_without_panic() {
    let mut rng = Rng(test_seed(
        "damaged_pages_are_refused_or_survived_without_panic",
    ));
    let dir = TempDir::new("damaged-source");
    let store = open(&dir);
    for batch in 0..20u64 {
        let mut records: Vec<Record> = (0..50)
            .map(|i| message(batch, i, &"x".repeat(100 + (i as usize) * 7)))
            .collect();
        records.push(summary(batch, &"s".repeat(200)));
        submit_wait(&store, records).unwrap();
    }
    let mut expected = Vec::new();
    store
        .for_each_message(|dialog, seq, bytes| expected.push((dialog, seq, bytes.to_vec())))
        .unwrap();
    store.close().unwrap();
    let pristine = std::fs::read(dir.file()).unwrap();
    let (mut refused, mut opened) = (0, 0);
    for _ in 0..12 {
        let damaged_dir = TempDir::new("damaged");
        let mut bytes = pristine.clone();
        // Damage a run of bytes past the header, inside the pages
        let start = 4096 + rng.below(bytes.len() as u64 - 4096 - 64) as usize;
        for byte in &mut bytes[start..start + 1 + rng.below(63) as usize] {
            *byte ^= 1 + rng.below(255) as u8;
        }
        std::fs::write(damaged_dir.file(), &bytes).unwrap();
        match Store::open(damaged_dir.path(), StoreOptions::default()) {
            Err(error) => {
                let text = error.to_string();
                assert!(
                    text.contains(&damaged_dir.file().display().to_string()),
                    "{text}"
                );
                refused += 1;
            }
            Ok(store) => {
                // Damage in free pages is harmless; reads must not panic, nor return wrong data
                let _ = store.recover();
                let _ = store.inspect();
                let _ = store.dialog(3);
                let _ = store.dialogs_range(0, 100);
                let _ = store.for_each_dialog(|_, _| {});
                let mut found = Vec::new();
                let read = store.for_each_message(|d, s, b| found.push((d, s, b.to_vec())));
                if read.is_ok() {
                    assert!(found == expected, "a damaged file returned other messages");
                }
                let _ = store.close();
                opened += 1;
            }
        }
    }
    eprintln!("damaged files: {refused} refused, {opened} opened");
}

#[test]
fn foreign_redb_file_is_refused_untouched() {
    let dir = TempDir::new("foreign");
    {
        let db = Database::create(dir.file()).unwrap();
        let txn = db.begin_write().unwrap();
        let table: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("other");
        txn.open_table(table).unwrap().insert(1, 2).unwrap();
        txn.commit().unwrap();
    }
    let error = open_refused_untouched(&dir);
    assert!(matches!(error, StoreError::NotAStore { .. }), "{error}");
}

#[test]
fn second_open_of_the_same_file_is_refused() {
    let dir = TempDir::new("locked");
    let store = open(&dir);
    let error = Store::open(dir.path(), StoreOptions::default())
        .err()
        .expect("refused");
    assert!(matches!(error, StoreError::Locked { .. }), "{error}");
    assert!(error.to_string().contains(FILE_NAME));
    store.close().unwrap();
}

#[test]
fn options_are_validated() {
    let dir = TempDir::new("options");
    for options in [
        StoreOptions {
            batch_records_max: 0,
            ..StoreOptions::default()
        },
        StoreOptions {
            queue_records_max: 0,
            ..StoreOptions::default()
        },
        StoreOptions {
            record_bytes_max: 0,
            ..StoreOptions::default()
        },
    ] {
        let error = Store::open(dir.path(), options).err().expect("refused");
        assert!(
            matches!(error, StoreError::InvalidOptions { .. }),
            "{error}"
        );
    }
}
