//! The agent desk in a browser: `web/bench/desk.mjs` (Node, playwright-core, Debian's
//! Chromium) against this build's cifd measures, from a provider's call to the page showing
//! its effect, p50 and p99 over changes made one at a time; the first render after sign-in of
//! a desk of 10 sessions with 3 tabs; and the page bundle's size.

use std::process::Command;

use serde_json::Value;

/// Why the desk cannot be measured on this machine, if it cannot: the page's packages or
/// Chromium (`CHROMIUM`, else Debian's `/usr/bin/chromium`) are missing.
pub fn missing() -> Option<String> {
    if !cif_e2e::repository().join("web/node_modules").exists() {
        return Some("web/node_modules is missing: run the test command, or npm ci in web/".into());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        return Some(format!(
            "{chromium} is missing: install Debian's chromium (the test command does) or set CHROMIUM"
        ));
    }
    None
}

/// What the desk script measured, or why it could not run.
pub fn run(events: usize) -> Result<Value, String> {
    let script = cif_e2e::repository().join("web/bench/desk.mjs");
    if let Some(why) = missing() {
        return Err(why);
    }
    let output = Command::new("node")
        .arg(&script)
        .env("CIFD_BIN", cif_e2e::cifd_binary())
        .env("EVENTS", events.to_string())
        .output()
        .map_err(|error| format!("cannot run node: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .last()
        .ok_or("the desk script printed nothing")?;
    serde_json::from_str(line).map_err(|error| format!("unexpected output {line:?}: {error}"))
}
