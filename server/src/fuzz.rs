//! Fuzz targets, each a plain `fn(&[u8])` in the normal build: `cargo test` replays the
//! committed corpus and every crash found (`fuzz/corpus`, `fuzz/artifacts`), and libFuzzer
//! drives them through `fuzz/` (see its README). Whatever the bytes, none may panic.

use std::path::Path;

pub use crate::api::fuzzing::{page_token, request};
pub use crate::store::fuzzing::{record as store_record, state as store_state};

/// `data` as a template text: checked, filled and truncated as titles are.
pub fn slug(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::domain::slug::check(&text);
    let _ = crate::domain::slug::has_slugs(&text);
    let filled = crate::domain::slug::fill(&text, |name| (name.len() % 2 == 0).then_some("é"));
    let _ = crate::domain::slug::truncate(filled, 7);
}

/// `data` as the configuration file: its settings and its declarations.
pub fn config_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::config::settings_in(Path::new("fuzz.toml"), &text);
    let _ = crate::config::parse_declarations("fuzz.toml", &text);
}

/// A fuzz target.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/corpus` names their folders.
pub const TARGETS: &[(&str, Target)] = &[
    ("request", request),
    ("slug", slug),
    ("config_file", config_file),
    ("page_token", page_token),
    ("store_record", store_record),
    ("store_state", store_state),
];
