//! The presences an operator configures (rule 13).

use crate::domain::error::DomainResult;
use crate::domain::error::Reason;
use crate::domain::validate::{Violations, limits};

/// The base statuses of CIF presences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PresenceStatus {
    Available,
    Busy,
    BusyDnd,
    Away,
    Offline,
}

/// A configured presence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Presence {
    pub id: String,
    pub text: String,
    pub base_status: PresenceStatus,
    pub color: String,
    /// Declared by the configuration file: it changes only with the file.
    #[serde(default)]
    pub managed: bool,
}

/// The colour of a presence created without one.
pub const DEFAULT_COLOR: &str = "#808080";

impl Presence {
    pub fn validate(&self) -> DomainResult<()> {
        let mut violations = Violations::new();
        violations.required_text("presence.presence_id", &self.id, limits::NAME);
        if !self
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            violations.add(
                "presence.presence_id",
                Reason::FieldMalformed,
                "presence.presence_id may hold only letters, digits, `_` and `-`",
            );
        }
        PresencePatch {
            text: Some(self.text.clone()),
            base_status: None,
            color: Some(self.color.clone()),
        }
        .check(&mut violations);
        violations.finish()
    }
}

/// Changes to a presence: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PresencePatch {
    pub text: Option<String>,
    pub base_status: Option<PresenceStatus>,
    pub color: Option<String>,
}

impl PresencePatch {
    pub fn validate(&self) -> DomainResult<()> {
        let mut violations = Violations::new();
        self.check(&mut violations);
        violations.finish()
    }

    fn check(&self, violations: &mut Violations) {
        if let Some(text) = &self.text {
            violations.required_text("presence.text", text, limits::NAME);
        }
        if let Some(color) = &self.color {
            let well_formed = color.len() == 7
                && color.starts_with('#')
                && color[1..].chars().all(|c| c.is_ascii_hexdigit());
            if !well_formed {
                violations.add(
                    "presence.color",
                    Reason::FieldMalformed,
                    format!("presence.color {color:?} is not a colour; write it as #RRGGBB, e.g. #2E7D32"),
                );
            }
        }
    }
}
