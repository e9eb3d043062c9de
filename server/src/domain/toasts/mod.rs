//! Toasts (rule 12): what a provider asks to show, and the part that keeps every desk's queue.

mod consistency;
mod queue;
mod toast;

pub use consistency::contradiction as toast_contradiction;

pub use queue::{ToastChanges, Toasts};
pub use toast::{
    Canceller, DEFAULT_COUNTDOWN, NewToast, Outcome, Raised, Resolution, Toast, ToastContent,
    ToastKey,
};
