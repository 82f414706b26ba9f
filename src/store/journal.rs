//! The journal: an append-only file next to the database that makes a batch durable with one
//! sequential write and one `fdatasync`, so the database itself can be brought up to date in
//! cheap non-durable commits and made durable only at checkpoints.
//!
//! Layout: a run of frames, each `magic u32 | payload length u32 | CRC-32 of the payload u32 |
//! payload`, all little-endian; a payload is `batch number u64 | record count u32 | records`
//! (MessagePack, one after another). Batch numbers rise by one per frame and never restart: the
//! database's `meta` keeps the newest one a durable commit contains (`journal_applied`), so
//! recovery replays exactly the frames after it, in order.
//!
//! A frame is complete or it is not there: reading stops at the first frame that is short, has
//! the wrong magic or fails its CRC (a write torn by a crash), and the file is cut back to the
//! frames before it. An append that fails is cut back the same way, so a later append never
//! follows a torn frame. After a checkpoint the file is emptied.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{FaultSwitch, Record};

/// The journal's file name inside the data directory.
pub const JOURNAL_FILE_NAME: &str = "switchboard.journal";

const MAGIC: u32 = 0x5342_4a31; // "SBJ1"
const HEADER_BYTES: usize = 12;

/// One batch read back from the journal.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub batch: u64,
    pub records: Vec<Record>,
}

/// The open journal file, positioned at its end.
pub struct Journal {
    file: File,
    path: PathBuf,
    /// Bytes of complete frames in the file.
    len: u64,
    faults: Option<Arc<FaultSwitch>>,
    /// Reused for each frame's bytes.
    buffer: Vec<u8>,
}

impl Journal {
    /// Opens (creating if absent) the journal at `path` and reads its complete frames; a torn
    /// tail is cut off.
    pub fn open(
        path: &Path,
        faults: Option<Arc<FaultSwitch>>,
    ) -> std::io::Result<(Journal, Vec<Frame>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (frames, len) = decode_frames(&bytes);
        if len < bytes.len() as u64 {
            file.set_len(len)?;
            file.sync_data()?;
        }
        file.seek(SeekFrom::Start(len))?;
        let journal = Journal {
            file,
            path: path.to_path_buf(),
            len,
            faults,
            buffer: Vec::new(),
        };
        Ok((journal, frames))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of frames in the file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends batch `batch` (the records of `submissions`, in order) and waits for it to be on
    /// disk. On failure the file is cut back to the frames before it.
    pub fn append<'a>(
        &mut self,
        batch: u64,
        submissions: impl Iterator<Item = &'a [Record]> + Clone,
    ) -> std::io::Result<()> {
        encode_frame(&mut self.buffer, batch, submissions)?;
        let written = self.check().and_then(|()| {
            self.file.write_all(&self.buffer)?;
            self.file.sync_data()
        });
        match written {
            Ok(()) => {
                self.len += self.buffer.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Best effort: if the cut fails too, the next append fails the same way, and a
                // reader stops at the torn frame anyway.
                let _ = self.file.set_len(self.len);
                let _ = self.file.seek(SeekFrom::Start(self.len));
                Err(e)
            }
        }
    }

    /// Empties the file (everything in it is in a durable database commit).
    pub fn reset(&mut self) -> std::io::Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        self.check()?;
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.sync_data()?;
        self.len = 0;
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

    /// Frames come back in order with their records; a torn tail is cut off and the next
    /// append follows the last complete frame.
    #[test]
    fn frames_round_trip_and_a_torn_tail_is_cut() {
        let dir = dir();
        let path = dir.join(JOURNAL_FILE_NAME);
        let (mut journal, frames) = Journal::open(&path, None).unwrap();
        assert!(frames.is_empty());
        let (one, two) = (records(1), records(2));
        journal.append(1, [one.as_slice()].into_iter()).unwrap();
        journal
            .append(2, [two.as_slice(), one.as_slice()].into_iter())
            .unwrap();
        let complete = journal.len();
        drop(journal);
        // A crash in the middle of a third frame.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&MAGIC.to_le_bytes()).unwrap();
        file.write_all(&[200, 0, 0, 0, 1, 2]).unwrap();
        drop(file);
        let (mut journal, frames) = Journal::open(&path, None).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), complete);
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].batch, &frames[0].records), (1, &one));
        let both: Vec<Record> = two.iter().chain(&one).cloned().collect();
        assert_eq!((frames[1].batch, &frames[1].records), (2, &both));
        journal.append(3, [two.as_slice()].into_iter()).unwrap();
        drop(journal);
        let (mut journal, frames) = Journal::open(&path, None).unwrap();
        assert_eq!(
            frames.iter().map(|f| f.batch).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        journal.reset().unwrap();
        drop(journal);
        let (_, frames) = Journal::open(&path, None).unwrap();
        assert!(frames.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A flipped byte inside a frame ends the journal there (its CRC fails).
    #[test]
    fn a_damaged_frame_ends_the_journal() {
        let dir = dir();
        let path = dir.join(JOURNAL_FILE_NAME);
        let (mut journal, _) = Journal::open(&path, None).unwrap();
        let one = records(1);
        journal.append(1, [one.as_slice()].into_iter()).unwrap();
        let first = journal.len();
        journal.append(2, [one.as_slice()].into_iter()).unwrap();
        drop(journal);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (journal, frames) = Journal::open(&path, None).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(journal.len(), first);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// With the fault switch on, an append fails and leaves the file as it was.
    #[test]
    fn a_failed_append_leaves_the_frames_before_it() {
        let dir = dir();
        let path = dir.join(JOURNAL_FILE_NAME);
        let switch = Arc::new(FaultSwitch::default());
        let (mut journal, _) = Journal::open(&path, Some(switch.clone())).unwrap();
        let one = records(1);
        journal.append(1, [one.as_slice()].into_iter()).unwrap();
        switch.fail();
        assert!(journal.append(2, [one.as_slice()].into_iter()).is_err());
        switch.heal();
        journal.append(3, [one.as_slice()].into_iter()).unwrap();
        drop(journal);
        let (_, frames) = Journal::open(&path, None).unwrap();
        assert_eq!(frames.iter().map(|f| f.batch).collect::<Vec<_>>(), [1, 3]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
