//! Replays every fuzz target's committed corpus and every crash libFuzzer found (once fixed,
//! a crash stays as a regression test): no input may panic.

use std::path::PathBuf;

#[test]
fn every_corpus_input_and_every_crash_found_is_answered_without_a_panic() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    let mut panicked = Vec::new();
    for (name, target) in cifd::fuzz::TARGETS {
        let corpus = fuzz.join("corpus").join(name);
        assert!(corpus.is_dir(), "{} has no corpus", corpus.display());
        for folder in [corpus, fuzz.join("artifacts").join(name)] {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                // A libFuzzer run in the same folder replaces inputs as it shrinks them.
                let input = match std::fs::read(&path) {
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                    read => read.unwrap(),
                };
                if std::panic::catch_unwind(|| target(&input)).is_err() {
                    panicked.push(path.display().to_string());
                }
                replayed += 1;
            }
        }
    }
    assert!(panicked.is_empty(), "inputs that panic: {panicked:#?}");
    assert!(replayed > 0, "no input replayed");
}
