//! The README's "Five minutes with grpcurl" block cannot rot: it runs as written, with bash
//! (`set -euo pipefail`), in a scratch directory (it writes files), with the built cifd on a
//! free port instead of `cargo run` on the README's port, and it must tell what it says.

use std::time::Duration;

use cif_e2e::{cifd_binary, grpcurl_binary, repository, run_bash};
use serde_json::Value;

/// The shell block of the README's grpcurl section, exactly as written.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let section = readme
        .split_once("## Five minutes with grpcurl\n")
        .expect("the README's grpcurl section")
        .1;
    let body = section
        .split_once("```sh\n")
        .expect("a shell block in the section")
        .1;
    body.split_once("```").expect("a closed block").0.to_owned()
}

/// A port nobody listens on now (the kernel does not hand it out again at once).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The top-level JSON objects grpcurl printed (each from a "{" line to a "}" line).
fn objects(output: &str) -> Vec<Value> {
    let mut objects = Vec::new();
    let mut current: Option<String> = None;
    for line in output.lines() {
        if line == "{" {
            current = Some(String::new());
        }
        if let Some(text) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
        if line == "}"
            && let Some(text) = current.take()
        {
            objects.push(serde_json::from_str(&text).expect("grpcurl prints JSON"));
        }
    }
    objects
}

#[test]
fn the_readme_grpcurl_walkthrough_runs_as_written() {
    let script = format!("set -euo pipefail\n{}", walkthrough());
    let dir = std::env::temp_dir().join(format!("cifd-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = format!(
        "{}:{}",
        grpcurl_binary().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [
        ("PATH", path),
        ("CIF", format!("127.0.0.1:{}", free_port())),
        // The block splits the command into words: a path without spaces.
        ("CIFD_CMD", cifd_binary().display().to_string()),
        // Its data directory (mktemp) goes into the scratch directory too.
        ("TMPDIR", dir.display().to_string()),
    ];
    // It takes seconds; this only bounds a hung run.
    let ran = run_bash(&script, &dir, env, Duration::from_secs(120));
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    let (toast, desk_before) = (read("toast.json"), read("desk.json"));
    let _ = std::fs::remove_dir_all(&dir);
    ran.assert_success("the walkthrough");

    let shown = ran.shown();
    assert!(
        toast.contains("NOTIFICATION_OUTCOME_ACCEPTED"),
        "the toast was accepted: {toast}\n{shown}"
    );
    assert!(ran.stdout.contains("the same answer"), "a retry: {shown}");
    assert!(
        ran.stderr.contains("VERSION_MISMATCH"),
        "the lost update is refused: {shown}"
    );
    assert!(ran.stderr.contains("SESSION_NOT_FOUND"), "{shown}");
    // After the restart the desk still has the chat (retitled just before), under the same log.
    let log_id = serde_json::from_str::<Value>(&desk_before).expect("desk.json")["logId"].clone();
    let desk_after = objects(&ran.stdout)
        .into_iter()
        .find(|answer| {
            answer["desk"]["sessions"]
                .as_array()
                .is_some_and(|sessions| {
                    sessions
                        .iter()
                        .any(|session| session["title"] == "Chat with Maria")
                })
        })
        .unwrap_or_else(|| panic!("no desk with the chat after the restart\n{shown}"));
    assert_eq!(
        desk_after["logId"], log_id,
        "the same log after the restart"
    );
}
