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
//! contains are deleted.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{FaultSwitch, Record};

/// The journal's segment files are named this, a dot, and their first batch number.
pub const JOURNAL_FILE_NAME: &str = "switchboard.journal";

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
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let first = name
                .to_str()
                .and_then(|n| n.strip_prefix(JOURNAL_FILE_NAME))
                .and_then(|n| n.strip_prefix('.'))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(first) = first {
                segments.push((first, entry.path()));
            }
        }
        segments.sort();
        let mut frames = Vec::new();
        let mut closed = VecDeque::new();
        for (_, path) in segments {
            let mut bytes = Vec::new();
            File::open(&path)?.read_to_end(&mut bytes)?;
            let (mut read, len) = decode_frames(&bytes);
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

    /// A new segment starting at `batch`, its directory entry made durable.
    fn create(&self, batch: u64) -> std::io::Result<Current> {
        let path = self.dir.join(format!("{JOURNAL_FILE_NAME}.{batch:020}"));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
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
                match std::fs::remove_file(&segment.path) {
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

    /// Deletes every segment (a durable database commit contains all they hold).
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.collect(u64::MAX)
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

/// The complete frames at the start of `bytes`, and how many bytes they take.
fn decode_frames(bytes: &[u8]) -> (Vec<Frame>, u64) {
    let mut frames = Vec::new();
    let mut at = 0usize;
    while let Some((frame, next)) = decode_frame(bytes, at) {
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
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sb-journal-{}", crate::hub::random_hex()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn records(n: u64) -> Vec<Record> {
        vec![
            Record::Log(vec![n as u8; 3]),
            Record::Message {
                dialog: n,
                seq: n + 1,
                bytes: b"hello".to_vec(),
            },
            Record::ContactPhoto { id: n, bytes: None },
        ]
    }

    fn batches(frames: &[Frame]) -> Vec<u64> {
        frames.iter().map(|f| f.batch).collect()
    }

    fn segment_files(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    /// Frames come back in order with their records; a torn tail is left out.
    #[test]
    fn frames_round_trip_and_a_torn_tail_is_left_out() {
        let dir = dir();
        let (mut journal, frames) = Journal::open(&dir, None).unwrap();
        assert!(frames.is_empty());
        let (one, two) = (records(1), records(2));
        journal.append(1, [one.as_slice()].into_iter()).unwrap();
        journal
            .append(2, [two.as_slice(), one.as_slice()].into_iter())
            .unwrap();
        drop(journal);
        // A crash in the middle of a third frame.
        let path = dir.join(format!("{JOURNAL_FILE_NAME}.{:020}", 1));
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&MAGIC.to_le_bytes()).unwrap();
        file.write_all(&[200, 0, 0, 0, 1, 2]).unwrap();
        drop(file);
        let (_, frames) = Journal::open(&dir, None).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].batch, &frames[0].records), (1, &one));
        let both: Vec<Record> = two.iter().chain(&one).cloned().collect();
        assert_eq!((frames[1].batch, &frames[1].records), (2, &both));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A checkpoint closes the segment being written; segments are deleted once every batch in
    /// them is checkpointed, and the frames of the rest read back in order across segments.
    #[test]
    fn segments_rotate_at_checkpoints_and_go_once_checkpointed() {
        let dir = dir();
        let (mut journal, _) = Journal::open(&dir, None).unwrap();
        let one = records(1);
        journal.append(1, [one.as_slice()].into_iter()).unwrap();
        journal.append(2, [one.as_slice()].into_iter()).unwrap();
        // Batch 1 is checkpointed: the segment (1..=2) closes but must stay for batch 2.
        journal.collect(1).unwrap();
        journal.append(3, [one.as_slice()].into_iter()).unwrap();
        assert_eq!(segment_files(&dir), 2);
        let (_, frames) = Journal::open(&dir, None).unwrap();
        assert_eq!(batches(&frames), [1, 2, 3]);
        journal.collect(2).unwrap();
        assert_eq!(segment_files(&dir), 1);
        journal.append(4, [one.as_slice()].into_iter()).unwrap();
        let (_, frames) = Journal::open(&dir, None).unwrap();
        assert_eq!(batches(&frames), [3, 4]);
        journal.clear().unwrap();
        assert_eq!(segment_files(&dir), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A flipped byte inside a frame ends the journal there (its CRC fails).
    #[test]
    fn a_damaged_frame_ends_the_journal() {
        let dir = dir();
        let (mut journal, _) = Journal::open(&dir, None).unwrap();
        let one = records(1);
        journal.append(1, [one.as_slice()].into_iter()).unwrap();
        journal.append(2, [one.as_slice()].into_iter()).unwrap();
        drop(journal);
        let path = dir.join(format!("{JOURNAL_FILE_NAME}.{:020}", 1));
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, frames) = Journal::open(&dir, None).unwrap();
        assert_eq!(batches(&frames), [1]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// With the fault switch on, an append fails and leaves the frames before it.
    #[test]
    fn a_failed_append_leaves_the_frames_before_it() {
        let dir = dir();
        let switch = Arc::new(FaultSwitch::default());
        let (mut journal, _) = Journal::open(&dir, Some(switch.clone())).unwrap();
        let one = records(1);
        journal.append(1, [one.as_slice()].into_iter()).unwrap();
        switch.fail();
        assert!(journal.append(2, [one.as_slice()].into_iter()).is_err());
        switch.heal();
        journal.append(3, [one.as_slice()].into_iter()).unwrap();
        drop(journal);
        let (_, frames) = Journal::open(&dir, None).unwrap();
        assert_eq!(batches(&frames), [1, 3]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
