//! Desks (rules 3, 6 to 10, 13, 14, 20): sessions, tabs, focus, marks, the panel, the visible
//! widget and the presence, and the part that keeps them with their indexes.

mod consistency;
mod desk;
mod entries;
mod session;
mod tab;
mod widgets;

pub use consistency::contradiction;
pub use desk::{Desk, PanelMode};
pub use entries::{DeskChanges, Desks, FocusMark, PanelChange};
pub use session::{Context, Marks, Session, SessionKind};
pub use tab::{NewTab, PageKind, Tab, TabOrigin, TabPage, tab_not_found, validate_title};
pub use widgets::visible_provider;
