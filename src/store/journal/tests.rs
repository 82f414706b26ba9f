//! The journal's own tests: frames, torn and damaged tails, segments, the spare.

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
    // The first segment is now the spare
    assert_eq!(segment_files(&dir), 2);
    assert!(dir.join(format!("{JOURNAL_FILE_NAME}.{SPARE}")).exists());
    journal.append(4, [one.as_slice()].into_iter()).unwrap();
    let (_, frames) = Journal::open(&dir, None).unwrap();
    assert_eq!(batches(&frames), [3, 4]);
    journal.clear().unwrap();
    assert_eq!(segment_files(&dir), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A checkpointed segment becomes the spare and the next segment is written over it: its
/// size stays, and its old frames after the new ones are never read, also after a restart
/// (which keeps using the spare).
#[test]
fn the_next_segment_is_written_over_the_spare() {
    let dir = dir();
    let (mut journal, _) = Journal::open(&dir, None).unwrap();
    let many: Vec<Record> = (0..50).flat_map(records).collect();
    for batch in 1..=3 {
        journal
            .append(batch, [many.as_slice()].into_iter())
            .unwrap();
    }
    let first = dir.join(format!("{JOURNAL_FILE_NAME}.{:020}", 1));
    let size = std::fs::metadata(&first).unwrap().len();
    journal.collect(3).unwrap();
    assert!(!first.exists());
    let small = records(9);
    journal.append(4, [small.as_slice()].into_iter()).unwrap();
    let fourth = dir.join(format!("{JOURNAL_FILE_NAME}.{:020}", 4));
    assert_eq!(std::fs::metadata(&fourth).unwrap().len(), size);
    assert_eq!(segment_files(&dir), 1);
    journal.append(5, [small.as_slice()].into_iter()).unwrap();
    drop(journal);
    let (mut journal, frames) = Journal::open(&dir, None).unwrap();
    assert_eq!(batches(&frames), [4, 5]);
    assert_eq!(frames[0].records, small);
    // After the restart: checkpointed, the segment is the spare again, then reused
    journal.collect(5).unwrap();
    assert!(dir.join(format!("{JOURNAL_FILE_NAME}.{SPARE}")).exists());
    drop(journal);
    let (mut journal, frames) = Journal::open(&dir, None).unwrap();
    assert!(frames.is_empty());
    journal.append(6, [small.as_slice()].into_iter()).unwrap();
    assert!(!dir.join(format!("{JOURNAL_FILE_NAME}.{SPARE}")).exists());
    drop(journal);
    let (mut journal, frames) = Journal::open(&dir, None).unwrap();
    assert_eq!(batches(&frames), [6]);
    journal.clear().unwrap();
    assert_eq!(segment_files(&dir), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Frames of a segment end at one whose batch does not follow on (left from before the
/// segment was reused), even when it is whole.
#[test]
fn frames_end_where_batches_stop_rising() {
    let mut bytes = Vec::new();
    for batch in [7, 8, 3, 9] {
        let one = records(batch);
        let mut frame = Vec::new();
        encode_frame(&mut frame, batch, [one.as_slice()].into_iter()).unwrap();
        bytes.extend_from_slice(&frame);
    }
    assert_eq!(batches(&decode_frames(&bytes, 7).0), [7, 8]);
    assert_eq!(batches(&decode_frames(&bytes, 8).0), Vec::<u64>::new());
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
