//! The journal: append-only segment files next to the database that make a batch durable with
//! one sequential write and one `fdatasync`, so the database itself can be brought up to date in
//! cheap non-durable commits behind it and made durable only at checkpoints.
//!
//! Layout: segment files `switchboard.journal.<first batch, 20 digits>`, each a run of frames
//! `magic u32 | payload length u32 | CRC-32 of the payload u32 | payload`, all little-endian; a
//! payload is `batch number u64 | record count u32 | records` (MessagePack, one after another).
//! Batch numbers rise by one per frame and never restart: the database's `meta` keeps the newest
//! one a durable commit contains (`journal_applied`), so recovery replays exactly the frames
//! after it, in order.
//!
//! A frame is complete or it is not there: reading stops at the first frame that is short, has
//! the wrong magic or fails its CRC (a write torn by a crash). An append that fails is cut back,
//! so a later append never follows a torn frame. After a checkpoint the segment being written is
//! closed (the next append starts a new one), and segments whose every batch a durable commit
//! contains are deleted, except one kept as the spare (`switchboard.journal.spare`): the next
//! segment is the spare renamed, written over from its start. Writing over blocks a file
//! already has leaves its size alone, so each `fdatasync` flushes the frame's data without the
//! file's inode: one disk write per batch instead of two. The spare's old frames after the new
//! ones are never read: a segment's frames end at the first whose batch number is below the
//! segment's first or not above the frame before it (old frames hold older batches).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{FaultSwitch, Record};

/// The journal's segment files are named this, a dot, and their first batch number.
pub const JOURNAL_FILE_NAME: &str = "switchboard.journal";
/// The spare segment's name after [`JOURNAL_FILE_NAME`] and a dot.
const SPARE: &str = "spare";

const MAGIC: u32 = 0x5342_4a31; // "SBJ1"
const HEADER_BYTES: usize = 12;

/// One batch read back from the journal.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub batch: u64,
    pub records: Vec<Record>,
}

/// A segment file and the batches in it.
struct Segment {
    path: PathBuf,
    last: u64,
    bytes: u64,
}

/// The segment being appended to.
struct Current {
    file: File,
    first: u64,
    segment: Segment,
}

/// The journal's segments in a data directory.
pub struct Journal {
    dir: PathBuf,
    current: Option<Current>,
    /// Closed segments, oldest first.
    closed: VecDeque<Segment>,
    /// A checkpointed segment kept to be written over by the next one.
    spare: Option<PathBuf>,
    faults: Option<Arc<FaultSwitch>>,
    /// Reused for each frame's bytes.
    buffer: Vec<u8>,
}

impl Journal {
    /// Reads every segment in `dir` (oldest first) and returns their complete frames, in order;
    /// the segments stay until [`Journal::clear`] or [`Journal::collect`] deletes them.
    pub fn open(
        dir: &Path,
        faults: Option<Arc<FaultSwitch>>,
    ) -> std::io::Result<(Journal, Vec<Frame>)> {
        let mut segments = Vec::new();
        let mut spare = None;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let suffix = name
                .to_str()
                .and_then(|n| n.strip_prefix(JOURNAL_FILE_NAME))
                .and_then(|n| n.strip_prefix('.'));
            match suffix {
                Some(SPARE) => spare = Some(entry.path()),
                Some(first) => {
                    if let Ok(first) = first.parse::<u64>() {
                        segments.push((first, entry.path()));
                    }
                }
                None => {}
            }
        }
        segments.sort();
        let mut frames = Vec::new();
        let mut closed = VecDeque::new();
        for (first, path) in segments {
            let mut bytes = Vec::new();
            File::open(&path)?.read_to_end(&mut bytes)?;
            let (mut read, len) = decode_frames(&bytes, first);
            let last = read.last().map_or(0, |f| f.batch);
            frames.append(&mut read);
            closed.push_back(Segment {
                path,
                last,
                bytes: len,
            });
        }
        let journal = Journal {
            dir: dir.to_path_buf(),
            current: None,
            closed,
            spare,
            faults,
            buffer: Vec::new(),
        };
        Ok((journal, frames))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes of frames in every segment.
    pub fn len(&self) -> u64 {
        let current = self.current.as_ref().map_or(0, |c| c.segment.bytes);
        current + self.closed.iter().map(|s| s.bytes).sum::<u64>()
    }

    /// Appends batch `batch` (the records of `submissions`, in order) and waits for it to be on
    /// disk. On failure the segment is cut back to the frames before it.
    pub fn append<'a>(
        &mut self,
        batch: u64,
        submissions: impl Iterator<Item = &'a [Record]> + Clone,
    ) -> std::io::Result<()> {
        encode_frame(&mut self.buffer, batch, submissions)?;
        self.check()?;
        if self.current.is_none() {
            self.current = Some(self.create(batch)?);
        }
        let Some(current) = self.current.as_mut() else {
            return Err(std::io::Error::other("no journal segment"));
        };
        let written = current
            .file
            .write_all(&self.buffer)
            .and_then(|()| current.file.sync_data());
        match written {
            Ok(()) => {
                current.segment.bytes += self.buffer.len() as u64;
                current.segment.last = batch;
                Ok(())
            }
            Err(e) => {
                // Best effort: if the cut fails too, the next append fails the same way, and a
                // reader stops at the torn frame anyway.
                let _ = current.file.set_len(current.segment.bytes);
                let _ = current.file.seek(SeekFrom::Start(current.segment.bytes));
                Err(e)
            }
        }
    }

    /// A new segment starting at `batch` (the spare renamed, when there is one, written over
    /// from its start), its directory entry made durable.
    fn create(&mut self, batch: u64) -> std::io::Result<Current> {
        let path = self.dir.join(format!("{JOURNAL_FILE_NAME}.{batch:020}"));
        let file = match self.spare.take() {
            Some(spare) => {
                std::fs::rename(&spare, &path)?;
                OpenOptions::new().write(true).open(&path)?
            }
            None => OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)?,
        };
        File::open(&self.dir)?.sync_all()?;
        Ok(Current {
            file,
            first: batch,
            segment: Segment {
                path,
                last: batch.saturating_sub(1),
                bytes: 0,
            },
        })
    }

    /// A durable database commit contains every batch up to `checkpointed`: closes the segment
    /// being written if it holds any of them, and deletes the segments that hold only those.
    pub fn collect(&mut self, checkpointed: u64) -> std::io::Result<()> {
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.first <= checkpointed)
        {
            if let Some(current) = self.current.take() {
                self.closed.push_back(current.segment);
            }
        }
        while self.closed.front().is_some_and(|s| s.last <= checkpointed) {
            if let Some(segment) = self.closed.pop_front() {
                self.check()?;
                let gone = match &self.spare {
                    Some(_) => std::fs::remove_file(&segment.path),
                    None => {
                        let spare = self.dir.join(format!("{JOURNAL_FILE_NAME}.{SPARE}"));
                        std::fs::rename(&segment.path, &spare).map(|()| self.spare = Some(spare))
                    }
                };
                match gone {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        self.closed.push_front(segment);
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes every segment and the spare (a durable database commit contains all they hold).
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.close(u64::MAX)
    }

    /// At a clean stop: [`Journal::collect`], and when no segment is left, the spare goes too,
    /// so a clean stop leaves no journal file.
    pub fn close(&mut self, checkpointed: u64) -> std::io::Result<()> {
        self.collect(checkpointed)?;
        if self.current.is_some() || !self.closed.is_empty() {
            return Ok(());
        }
        if let Some(spare) = self.spare.take() {
            self.check()?;
            match std::fs::remove_file(&spare) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    self.spare = Some(spare);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn check(&self) -> std::io::Result<()> {
        match &self.faults {
            Some(switch) => switch.check(),
            None => Ok(()),
        }
    }
}

/// Writes one frame of `submissions` into `out` (cleared first).
fn encode_frame<'a>(
    out: &mut Vec<u8>,
    batch: u64,
    submissions: impl Iterator<Item = &'a [Record]> + Clone,
) -> std::io::Result<()> {
    out.clear();
    out.resize(HEADER_BYTES, 0);
    out.extend_from_slice(&batch.to_le_bytes());
    let count: usize = submissions.clone().map(<[Record]>::len).sum();
    let count = u32::try_from(count).map_err(std::io::Error::other)?;
    out.extend_from_slice(&count.to_le_bytes());
    for record in submissions.flatten() {
        rmp_serde::encode::write(out, record).map_err(std::io::Error::other)?;
    }
    let payload = &out[HEADER_BYTES..];
    let len = u32::try_from(payload.len()).map_err(std::io::Error::other)?;
    let crc = crc32fast::hash(payload);
    out[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    out[4..8].copy_from_slice(&len.to_le_bytes());
    out[8..12].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// The complete frames at the start of `bytes` (a segment whose first batch is `first`), and
/// how many bytes they take. Frames end at one whose batch is below `first` or not above the
/// one before it: what follows was written before the segment was reused.
fn decode_frames(bytes: &[u8], first: u64) -> (Vec<Frame>, u64) {
    let mut frames: Vec<Frame> = Vec::new();
    let mut at = 0usize;
    while let Some((frame, next)) = decode_frame(bytes, at) {
        let after = frames.last().map_or(first, |f| f.batch + 1);
        if frame.batch < after {
            break;
        }
        frames.push(frame);
        at = next;
    }
    (frames, at as u64)
}

/// The frame starting at `at` and where the next one starts, or `None` if it is not complete.
fn decode_frame(bytes: &[u8], at: usize) -> Option<(Frame, usize)> {
    let header = bytes.get(at..at.checked_add(HEADER_BYTES)?)?;
    let word = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().unwrap_or_default());
    if word(0) != MAGIC {
        return None;
    }
    let start = at + HEADER_BYTES;
    let end = start.checked_add(word(4) as usize)?;
    let payload = bytes.get(start..end)?;
    if crc32fast::hash(payload) != word(8) || payload.len() < 12 {
        return None;
    }
    let batch = u64::from_le_bytes(payload[0..8].try_into().ok()?);
    let count = u32::from_le_bytes(payload[8..12].try_into().ok()?);
    let mut reader = &payload[12..];
    let mut records = Vec::with_capacity(count.min(65_536) as usize);
    for _ in 0..count {
        records.push(rmp_serde::decode::from_read(&mut reader).ok()?);
    }
    Some((Frame { batch, records }, end))
}

#[cfg(test)]
mod tests;
