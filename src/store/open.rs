//! Opening the file: refuse what must not be touched, before anything writes to it.
//!
//! Order matters. An existing file is first opened read-only, which never writes: a file from a
//! newer format, a foreign redb file, or one redb cannot parse is refused there and left byte for
//! byte as it was. Only then is it opened for writing (which repairs it after a crash, and with
//! `check_integrity_on_open` verifies every page), checked again, and given the format version
//! if it is new. Nothing here ever deletes, truncates or recreates an existing file.
//!
//! Then the journal's frames after the newest batch the file contains are replayed, in one
//! durable commit, and the journal is emptied: what was acknowledged before a crash is in the
//! database before anything reads it.
//!
//! The dialogs table may be missing from a version-1 file (it came later): that is fine, and open
//! does not add it. A table of that name with other key or value types is refused as damaged.

use std::path::Path;

use redb::{Builder, Database, DatabaseError, ReadTransaction, ReadableDatabase, TableError};

use super::apply::{self, Commit};
use super::error::{guarded, io, translate};
use super::journal::{Frame, Journal, JOURNAL_FILE_NAME};
use super::schema::{
    self, FORMAT_VERSION, KEY_FORMAT_VERSION, KEY_JOURNAL_APPLIED, KEY_LAST_POSITION, META,
};
use super::webhooks::KEY_WEBHOOK_EVENT_SEQ;
use super::{StoreError, StoreOptions};

/// An open database and the writer's starting state.
pub(super) struct Opened {
    pub db: Database,
    pub state: State,
    /// Without segments: what they held is replayed into the database.
    pub journal: Journal,
    /// The number the next journal frame gets.
    pub next_batch: u64,
}

/// What the writer must know of the file to go on.
pub(super) struct State {
    pub last_position: u64,
    pub snapshot_covers: u64,
    /// The newest webhook event number given (events are numbered in journal order).
    pub webhook_seq: u64,
}

/// Opens (creating if absent) the store file at `path` inside `data_dir`.
pub(super) fn open(
    data_dir: &Path,
    path: &Path,
    options: &StoreOptions,
) -> Result<Opened, StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|e| io(data_dir, e))?;
    let has_content = match std::fs::metadata(path) {
        Ok(metadata) => metadata.len() > 0,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io(path, e)),
    };
    if has_content {
        guarded(path, || precheck(path, options))?;
    }
    let db = guarded(path, || {
        let mut builder = Builder::new();
        builder
            .set_cache_size(options.cache_bytes_max)
            .set_check_integrity_on_open(options.check_integrity_on_open);
        match &options.faults {
            None => builder.create(path).map_err(|e| open_error(path, e)),
            Some(switch) => {
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(path)
                    .map_err(|e| io(path, e))?;
                let backend = super::faults::FaultyBackend::new(file, switch.clone())
                    .map_err(|e| io(path, e))?;
                builder
                    .create_with_backend(backend)
                    .map_err(|e| open_error(path, e))
            }
        }
    })?;
    guarded(path, || initialize(path, &db))?;
    let mut state = guarded(path, || load_state(path, &db))?;
    let journal_path = data_dir.join(JOURNAL_FILE_NAME);
    let (mut journal, frames) =
        Journal::open(data_dir, options.faults.clone()).map_err(|e| io(data_dir, e))?;
    let applied = guarded(path, || journal_applied(path, &db))?;
    let next_batch = frames.last().map_or(applied, |f| f.batch.max(applied)) + 1;
    let replay: Vec<Frame> = frames.into_iter().filter(|f| f.batch > applied).collect();
    if !replay.is_empty() {
        check_sequence(&journal_path, applied, &replay)?;
        guarded(path, || replay_frames(path, &db, &state, &replay))?;
        state = guarded(path, || load_state(path, &db))?;
    }
    journal.clear().map_err(|e| io(data_dir, e))?;
    guarded(path, || {
        super::webhooks::ensure_instance(&db).map_err(|e| translate(path, e))
    })?;
    Ok(Opened {
        db,
        state,
        journal,
        next_batch,
    })
}

/// The newest journal batch the file's durable state contains (0: none).
fn journal_applied(path: &Path, db: &Database) -> Result<u64, StoreError> {
    let read = || -> Result<u64, redb::Error> {
        let txn = db.begin_read()?;
        let meta = txn.open_table(META)?;
        Ok(schema::meta_get(&meta, KEY_JOURNAL_APPLIED)?.unwrap_or(0))
    };
    read().map_err(|e| translate(path, e))
}

/// Refuses a journal whose frames to replay do not follow the database's newest batch one by
/// one (a frame missing in between would lose what it held).
fn check_sequence(journal: &Path, applied: u64, frames: &[Frame]) -> Result<(), StoreError> {
    for (frame, expected) in frames.iter().zip(applied + 1..) {
        if frame.batch != expected {
            return Err(StoreError::Damaged {
                path: journal.to_path_buf(),
                message: format!(
                    "journal batch {} where {expected} was expected (the database has up to \
                     {applied})",
                    frame.batch
                ),
            });
        }
    }
    Ok(())
}

/// Applies the journal's frames after the database's newest batch, in one durable commit that
/// also records the newest batch applied.
fn replay_frames(
    path: &Path,
    db: &Database,
    state: &State,
    frames: &[Frame],
) -> Result<(), StoreError> {
    let last = frames.last().map_or(0, |f| f.batch);
    let commit = Commit {
        durability: redb::Durability::Immediate,
        journal_applied: Some(last),
        before_commit: || Ok(()),
    };
    let records = frames.iter().map(|f| f.records.as_slice());
    apply::write_batch(db, false, state.last_position, records, commit)
        .map(|_| ())
        .map_err(|e| translate(path, e))
}

fn open_error(path: &Path, error: DatabaseError) -> StoreError {
    match error {
        // redb reports a file it cannot parse as an I/O error of kind InvalidData
        DatabaseError::Storage(redb::StorageError::Io(e))
            if e.kind() == std::io::ErrorKind::InvalidData =>
        {
            StoreError::Damaged {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        }
        other => translate(path, other),
    }
}

/// Read-only look at an existing file: refuses newer, foreign and unreadable files untouched.
fn precheck(path: &Path, options: &StoreOptions) -> Result<(), StoreError> {
    let mut builder = Builder::new();
    builder.set_cache_size(options.cache_bytes_max.min(16 * 1024 * 1024));
    let db = match builder.open_read_only(path) {
        Ok(db) => db,
        // Not shut down cleanly: the writable open repairs it, then the version is checked
        Err(DatabaseError::RepairAborted) => return Ok(()),
        Err(e) => return Err(open_error(path, e)),
    };
    let txn = db.begin_read().map_err(|e| translate(path, e))?;
    check_version(path, &txn)?;
    schema::open_dialogs(&txn).map_err(|e| translate(path, e))?;
    drop(txn);
    db.close().map_err(|e| translate(path, e))
}

/// The file's format version, `None` for a new (empty) file; refuses newer and foreign files.
fn check_version(path: &Path, txn: &ReadTransaction) -> Result<Option<u64>, StoreError> {
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(TableError::TableDoesNotExist(_)) => {
            let tables = txn.list_tables().map_err(|e| translate(path, e))?;
            let multimaps = txn.list_multimap_tables().map_err(|e| translate(path, e))?;
            if tables.count() + multimaps.count() > 0 {
                return Err(StoreError::NotAStore {
                    path: path.to_path_buf(),
                });
            }
            return Ok(None);
        }
        Err(e) => return Err(translate(path, e)),
    };
    let version = schema::meta_get(&meta, KEY_FORMAT_VERSION).map_err(|e| translate(path, e))?;
    match version {
        None => Err(StoreError::NotAStore {
            path: path.to_path_buf(),
        }),
        Some(found) if found > u64::from(FORMAT_VERSION) => Err(StoreError::NewerFormat {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        }),
        Some(0) => Err(StoreError::Damaged {
            path: path.to_path_buf(),
            message: "format version 0".to_string(),
        }),
        Some(found) => Ok(Some(found)),
    }
}

/// Checks the version again (after a repair) and writes the schema into a new file.
fn initialize(path: &Path, db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_read().map_err(|e| translate(path, e))?;
    if check_version(path, &txn)?.is_some() {
        return Ok(());
    }
    drop(txn);
    let write = |db: &Database| -> Result<(), redb::Error> {
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert(KEY_FORMAT_VERSION, u64::from(FORMAT_VERSION))?;
            meta.insert(KEY_LAST_POSITION, 0)?;
            txn.open_table(schema::LOG)?;
            txn.open_table(schema::MESSAGES)?;
            txn.open_table(schema::SNAPSHOT)?;
            txn.open_table(schema::DIALOGS)?;
        }
        txn.commit()?;
        Ok(())
    };
    write(db).map_err(|e| translate(path, e))
}

/// The writer's starting state, from an initialized file.
fn load_state(path: &Path, db: &Database) -> Result<State, StoreError> {
    let read = || -> Result<State, redb::Error> {
        let txn = db.begin_read()?;
        let meta = txn.open_table(META)?;
        let log = txn.open_table(schema::LOG)?;
        let snapshot = txn.open_table(schema::SNAPSHOT)?;
        let covers = schema::snapshot_covers(&snapshot)?;
        // Only its types are checked (a file after a repair skipped the precheck)
        schema::open_dialogs(&txn)?;
        Ok(State {
            last_position: schema::last_position(&meta, &log, covers)?,
            snapshot_covers: covers,
            webhook_seq: schema::meta_get(&meta, KEY_WEBHOOK_EVENT_SEQ)?.unwrap_or(0),
        })
    };
    read().map_err(|e| translate(path, e))
}
