//! The store's one error type, and the only translation of redb's errors into it.
//!
//! Every error about the file names its path. Errors are `Clone` because one failed commit is
//! reported to every `done` of its batch (redb's and the OS's own errors are shared behind an
//! `Arc`; only damage found by redb's checks, which it reports as text, is a message). The errors a busy caller meets on the hot path
//! (`Overloaded`, `Stopped`, `RecordTooLarge`, `SubmitTooLarge`) do not allocate.
//!
//! [`classify`] decides which redb failures are fatal (the writer stops) and which concern one
//! batch only (the writer keeps going).

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What went wrong in the store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The file was written by a newer build; it is left untouched.
    #[error("{}: format version {found} is newer than this build ({supported}); refusing to open", path.display())]
    NewerFormat {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
    /// redb reports the file as damaged, or it is not a database at all; it is left untouched.
    #[error("{}: the database is damaged: {message}", path.display())]
    Damaged { path: PathBuf, message: String },
    /// A redb database, but not a Switchboard store (it has tables and no format version).
    #[error("{}: not a switchboard store (redb tables without a format version); refusing to open", path.display())]
    NotAStore { path: PathBuf },
    /// Another process (or another `Store` in this one) has the file open.
    #[error("{}: the database is already open (another switchboard process?)", path.display())]
    Locked { path: PathBuf },
    /// An I/O error on the file or its directory.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// Any other redb failure (for one batch or one read), kept as redb reported it.
    #[error("{}: storage error: {source}", path.display())]
    Storage {
        path: PathBuf,
        #[source]
        source: Arc<redb::Error>,
    },
    /// The log's position counter would overflow: nothing more can be logged.
    #[error("{}: log positions exhausted", path.display())]
    LogPositionsExhausted { path: PathBuf },
    /// A `Snapshot` record claims a log position the log has not reached, or is older than the
    /// snapshot already stored: its whole submission is refused, the rest of the batch commits.
    #[error("{}: snapshot covering log position {covers} refused: the log ends at {last_position} and the stored snapshot covers {stored_covers}", path.display())]
    SnapshotRefused {
        path: PathBuf,
        covers: u64,
        last_position: u64,
        stored_covers: u64,
    },
    /// The submit queue holds `queue_records_max` records already; try again later.
    #[error("the store queue is full ({queue_records_max} records); try again later")]
    Overloaded { queue_records_max: usize },
    /// One submission has more records than the queue can ever hold.
    #[error("a submission of {records} records exceeds the queue limit of {queue_records_max}")]
    SubmitTooLarge {
        records: usize,
        queue_records_max: usize,
    },
    /// One record's bytes exceed `record_bytes_max`.
    #[error("a record of {bytes} bytes exceeds the limit of {record_bytes_max} bytes")]
    RecordTooLarge {
        bytes: usize,
        record_bytes_max: usize,
    },
    /// The writer thread has stopped (closed, or after a fatal error); nothing more is written.
    #[error("the writer stopped")]
    Stopped,
    /// `StoreOptions` failed validation.
    #[error("invalid store options: {reason}")]
    InvalidOptions { reason: &'static str },
}

/// A redb failure, translated, and whether the database is still usable after it.
pub(super) struct Classified {
    pub error: StoreError,
    pub fatal: bool,
}

/// Translates any redb error for the file at `path`.
pub(super) fn classify(path: &Path, error: redb::Error) -> Classified {
    let path = path.to_path_buf();
    let damaged = |path: PathBuf, message: String| Classified {
        error: StoreError::Damaged { path, message },
        fatal: true,
    };
    match error {
        redb::Error::Corrupted(message) => damaged(path, message),
        redb::Error::UpgradeRequired(version) => damaged(
            path,
            format!("redb file format {version} needs an upgrade this build cannot do"),
        ),
        redb::Error::RepairAborted => damaged(path, "the file needs a repair".to_string()),
        e @ (redb::Error::TableTypeMismatch { .. }
        | redb::Error::TypeDefinitionChanged { .. }
        | redb::Error::TableIsMultimap(_)
        | redb::Error::TableIsNotMultimap(_)) => damaged(path, format!("unexpected schema: {e}")),
        redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch => Classified {
            error: StoreError::Locked { path },
            fatal: true,
        },
        redb::Error::Io(source) => Classified {
            error: StoreError::Io {
                path,
                source: Arc::new(source),
            },
            fatal: true,
        },
        e @ (redb::Error::PreviousIo
        | redb::Error::DatabaseClosed
        | redb::Error::LockPoisoned(_)
        | redb::Error::Backend(_)) => Classified {
            error: StoreError::Storage {
                path,
                source: Arc::new(e),
            },
            fatal: true,
        },
        other => Classified {
            error: StoreError::Storage {
                path,
                source: Arc::new(other),
            },
            fatal: false,
        },
    }
}

/// Translates a redb error, dropping the fatality (for reads and open).
pub(super) fn translate(path: &Path, error: impl Into<redb::Error>) -> StoreError {
    classify(path, error.into()).error
}

/// An I/O error on `path`.
pub(super) fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source: Arc::new(source),
    }
}

/// A panic caught inside redb, reported as damage: redb panics only on files it cannot trust.
pub(super) fn panicked(path: &Path, payload: &(dyn std::any::Any + Send)) -> StoreError {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    StoreError::Damaged {
        path: path.to_path_buf(),
        message: format!("redb panicked: {detail}"),
    }
}

/// Runs `work`, turning a panic inside it (redb on a file it cannot trust) into `Damaged`.
pub(super) fn guarded<T>(
    path: &Path,
    work: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => Err(panicked(path, payload.as_ref())),
    }
}
