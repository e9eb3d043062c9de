//! The control plane: the domain's parts (the registry, the desks, the toasts, the template
//! catalogue) and the commands that span them. Commands take the authenticated caller and
//! validated input, check what the caller may see, then the state, then limits, in that
//! order, and either apply completely or change nothing. What they do is recorded as events,
//! each with the providers that hear it, decided here in one place.

mod admission;
mod agent_commands;
mod declared;
mod desk_commands;
mod persistence;
mod plane;
mod providers_and_agents;
mod reads;
mod session_marks;
mod sessions;
mod tabs;
mod toasts;

pub use crate::domain::desks::PanelChange;
pub use crate::domain::paging::Page;
pub use declared::{Declaration, Declared, DeclaredAgent};
pub use persistence::{Changes, Records, StoredAgent};
pub use plane::{ControlPlane, Effects, Settings};
pub use reads::{DeskView, OwnerView, SessionFilter, SessionView};
pub use session_marks::Marked;
pub use sessions::{CanCreate, FocusedSession, NewSession};

#[cfg(test)]
mod admission_tests;
#[cfg(test)]
mod declared_tests;
#[cfg(test)]
mod desk_tests;
#[cfg(test)]
mod template_tests;
#[cfg(test)]
mod tests;
