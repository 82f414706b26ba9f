//! Identifiers used by the routing core. Operators and lines are interned to small indexes at
//! setup; dialog ids are globally unique u64s whose low byte names the shard that created them.

use std::fmt;
use std::sync::Arc;

/// Index of an operator in the directory (stable for the life of the process).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpIdx(pub u32);

/// Index of a line within the whole router (stable for the life of the process).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LineIdx(pub u32);

/// A dialog id: `sequence << 8 | home shard`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId(pub u64);

/// Most shards a router may have (the home shard is one byte of the dialog id).
pub const SHARDS_MAX: usize = 256;

impl DialogId {
    /// The id for the `seq`-th dialog created by shard `shard`.
    pub fn new(shard: u8, seq: u64) -> Self {
        DialogId(seq << 8 | u64::from(shard))
    }

    /// The creating shard's sequence number of this dialog.
    pub fn seq(self) -> u64 {
        self.0 >> 8
    }

    /// The shard that created this dialog.
    pub fn home_shard(self) -> usize {
        (self.0 & 0xFF) as usize
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A widget client's stable id.
pub type ClientId = Arc<str>;
