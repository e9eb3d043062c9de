//! The control plane: the domain's parts (the registry, the desks, the toasts, the template
//! catalogue) and the commands that span them. Commands take the authenticated caller and
//! validated input, check what the caller may see, then the state, then limits, in that
//! order, and either apply completely or change nothing. What they do is recorded as events,
//! each with the providers that hear it, decided here in one place.

mod admission;
mod agent_commands;
mod click_to_act;
mod desk_commands;
mod persistence;
mod plane;
mod reads;
mod reconcile;
mod registry_commands;
mod session_changes;
mod session_commands;
mod tab_commands;
mod toast_commands;
mod widget_credentials;
mod widgets;

pub use crate::domain::desks::PanelChange;
pub use crate::domain::paging::Page;
pub use persistence::{Changes, Records, StoredAgent};
pub use plane::{ControlPlane, Effects, Settings};
pub use reads::{DeskView, SessionFilter, SessionView};
pub use reconcile::{Declaration, Declared, DeclaredAgent};
pub use session_changes::Marked;
pub use session_commands::{FocusedSession, NewSession};

#[cfg(test)]
mod admission_tests;
#[cfg(test)]
mod desk_tests;
#[cfg(test)]
mod reconcile_tests;
#[cfg(test)]
mod template_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod widget_tests;
