//! The rules of the control plane, with no transport: given the state and a command from an
//! authenticated caller, apply it or refuse it with a [`DomainError`]. Every ownership rule
//! lives here, so it is tested without a network.

pub mod agent;
pub mod catalogue;
pub mod control_plane;
pub mod desk;
pub mod error;
pub mod events;
pub mod paging;
pub mod presence;
pub mod principal;
pub mod provider;
pub mod slug;
pub mod tab;
pub mod toasts;
pub mod tracked;
pub mod validate;

pub use control_plane::{ControlPlane, Settings};
pub use error::{DomainError, DomainResult, ErrorClass, Reason};
pub use principal::{CredentialHash, Principal, Role};
