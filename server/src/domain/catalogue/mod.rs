//! The template catalogue (rule 15) and what is made from its templates.

mod entries;
mod fill;
mod template;

pub use entries::Catalogue;
pub use fill::{Dictionary, draft_tab, toast_content};
pub use template::{NotificationSpec, SessionSpec, TabSpec, Template, TemplateKind, TemplateSpec};
