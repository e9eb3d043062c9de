//! The one state every front door and timer shares: the core behind a lock.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::core::Core;

/// The state every handler shares.
pub type SharedCore = Arc<RwLock<Core>>;

/// Reads the state. A panic in another handler cannot leave it half-changed (commands check
/// everything before they change anything), so a poisoned lock is still good to use.
pub fn read(state: &SharedCore) -> RwLockReadGuard<'_, Core> {
    state
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Changes the state; see [`read`] on poisoning.
pub fn write(state: &SharedCore) -> RwLockWriteGuard<'_, Core> {
    state
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
