//! The store's limits and switches, with their defaults and validation.
//!
//! Every bound the store keeps is here, with its unit in its name. Memory held by the store is at
//! most `queue_records_max + batch_records_max` records of at most `record_bytes_max` bytes each,
//! plus redb's page cache of `cache_bytes_max`.

use super::StoreError;

/// Limits and switches of a [`Store`](super::Store).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Records written in one transaction at most (a single larger submission still goes alone).
    pub batch_records_max: usize,
    /// Records waiting for the writer at most; `submit` beyond it returns `Overloaded`.
    pub queue_records_max: usize,
    /// Bytes of one record at most; `submit` of a larger one returns `RecordTooLarge`.
    pub record_bytes_max: usize,
    /// redb's page cache, in bytes.
    pub cache_bytes_max: usize,
    /// Verify every page checksum when opening (cost: reading the whole file once per start), so
    /// a file damaged outside redb is refused with `Damaged` rather than trusted.
    pub check_integrity_on_open: bool,
    /// Commit with redb's quick-repair: two fsyncs per commit instead of one, but a restart
    /// after a crash does not walk the whole file to rebuild the allocator.
    pub quick_repair: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            batch_records_max: 4096,
            queue_records_max: 65536,
            record_bytes_max: 64 * 1024 * 1024,
            cache_bytes_max: 256 * 1024 * 1024,
            check_integrity_on_open: true,
            quick_repair: false,
        }
    }
}

/// redb refuses values over about 3 GiB; stay well below.
const RECORD_BYTES_LIMIT: usize = 1 << 30;

impl StoreOptions {
    /// Checks that every bound is usable.
    pub fn validate(&self) -> Result<(), StoreError> {
        let invalid = |reason| Err(StoreError::InvalidOptions { reason });
        if self.batch_records_max == 0 {
            return invalid("batch_records_max must be at least 1");
        }
        if self.queue_records_max == 0 {
            return invalid("queue_records_max must be at least 1");
        }
        if self.record_bytes_max == 0 || self.record_bytes_max > RECORD_BYTES_LIMIT {
            return invalid("record_bytes_max must be between 1 and 1 GiB");
        }
        if self.cache_bytes_max < 1024 * 1024 {
            return invalid("cache_bytes_max must be at least 1 MiB");
        }
        Ok(())
    }
}
