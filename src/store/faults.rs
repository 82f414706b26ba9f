//! Disk faults on demand, for tests of what a failed commit does: a redb storage backend around
//! the real file that fails every write and sync while its [`FaultSwitch`] is on. Reads keep
//! working. Off (the default, and always in production: no switch, no wrapper) it only forwards.

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};
use std::fs::File;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Turns disk faults on and off for the store opened with it (`StoreOptions::faults`).
#[derive(Debug, Default)]
pub struct FaultSwitch {
    failing: AtomicBool,
}

impl FaultSwitch {
    /// From now on every write and sync of the file fails with an I/O error.
    pub fn fail(&self) {
        self.failing.store(true, Ordering::Release);
    }

    /// Writes and syncs reach the file again.
    pub fn heal(&self) {
        self.failing.store(false, Ordering::Release);
    }

    pub(super) fn check(&self) -> std::io::Result<()> {
        if self.failing.load(Ordering::Acquire) {
            return Err(std::io::Error::other("injected disk fault (FaultSwitch)"));
        }
        Ok(())
    }
}

/// The real file backend, failing writes and syncs while the switch is on.
#[derive(Debug)]
pub(super) struct FaultyBackend {
    file: FileBackend,
    switch: Arc<FaultSwitch>,
}

impl FaultyBackend {
    pub(super) fn new(file: File, switch: Arc<FaultSwitch>) -> std::io::Result<Self> {
        let file = FileBackend::new(file).map_err(std::io::Error::other)?;
        Ok(Self { file, switch })
    }
}

impl StorageBackend for FaultyBackend {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.file.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.file.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.switch.check()?;
        self.file.set_len(len)
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.switch.check()?;
        self.file.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.switch.check()?;
        self.file.write(offset, data)
    }

    fn close(&self) -> Result<(), std::io::Error> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}
