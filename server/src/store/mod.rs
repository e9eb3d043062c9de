//! Implementations of the application's store trait (`app::Store`): the embedded SQLite
//! store, the default for one machine.

pub(crate) mod encoding;
pub(crate) mod sqlite;

pub use sqlite::SqliteStore;

#[cfg(test)]
mod tests;
