//! Why cifd cannot start.

/// Why cifd cannot start: bad flags, or a bad configuration file (the message names the file,
/// the line and what to do).
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Arguments(#[from] clap::Error),
    #[error("{0}")]
    Config(String),
}
