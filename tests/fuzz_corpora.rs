//! Replays the fuzzers' corpora (`fuzz/corpus/<target>/`) and the inputs that once crashed a
//! target (`fuzz/regressions/<target>/`) through the same entry points the fuzz targets call
//! (`switchboard::fuzzing`): none may panic. This is CI's short fuzz run; the long runs are
//! `cargo +nightly fuzz run <target>` (see fuzz/README.md).

use std::path::Path;

/// One fuzz target's entry point.
type Target = fn(&[u8]);

fn replay(target: &str, run: Target) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let data = std::fs::read(&path).expect("a corpus file");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target} panics on {}", path.display());
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn every_corpus_input_is_handled_without_a_panic() {
    use switchboard::fuzzing::*;
    let targets: [(&str, Target); 6] = [
        ("widget_frame", widget_frame),
        ("operator_frame", operator_frame),
        ("config_file", config_file),
        ("admin_body", admin_body),
        ("contact_query", contact_query),
        ("contact_body", contact_body),
    ];
    for (target, run) in targets {
        let replayed = replay(target, run);
        assert!(
            replayed >= 2,
            "{target}: only {replayed} corpus inputs found"
        );
    }
}
