//! The rules of the control plane, with no transport: given the state and a command from an
//! authenticated caller, apply it or refuse it with a [`DomainError`]. Every ownership rule
//! lives here, so it is tested without a network. The state is kept by parts that own it (the
//! registry, the desks, the toasts, the template catalogue); the control plane runs the
//! commands that span them.

pub mod audit;
pub mod catalogue;
pub mod control_plane;
pub mod desks;
pub mod error;
pub mod events;
pub mod paging;
pub mod principal;
pub mod registry;
pub mod sharing;
pub mod slug;
pub mod toasts;
pub mod tracked;
pub mod validate;

pub use control_plane::{ControlPlane, Settings};
pub use error::{DomainError, DomainResult, ErrorClass, QuotaExceeded, Reason};
pub use principal::{CredentialHash, Operator, Principal, Role};
pub use validate::UrlPolicy;
