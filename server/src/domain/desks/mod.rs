//! Desks (rules 3, 6 to 10, 13, 14): sessions, tabs, focus, marks, the panel and the presence,
//! and the part that keeps them with their indexes.

mod desk;
mod entries;
mod session;
mod tab;

pub use desk::{Desk, PanelMode};
pub use entries::{Desks, FocusMark, PanelChange};
pub use session::{Context, Marks, Session, SessionKind};
pub use tab::{NewTab, PageKind, Tab, TabPage, tab_not_found, validate_title};
