//! Implementations of the application's store trait (`app::Store`): the embedded SQLite
//! store, the default for one machine, and PostgreSQL, for replicas sharing one database.

pub(crate) mod encoding;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod postgres;
mod rows;
pub(crate) mod sqlite;

pub use postgres::{PostgresStore, PostgresTarget};
pub use sqlite::SqliteStore;

#[cfg(test)]
mod tests;

/// Where the state is kept, as configured: a data directory (the embedded store) or a
/// PostgreSQL database.
#[derive(Debug, Clone)]
pub enum StoreLocation {
    DataDir(std::path::PathBuf),
    Postgres(PostgresTarget),
}

/// The store a server runs on.
pub enum AnyStore {
    Sqlite(SqliteStore),
    /// Boxed: it holds its prepared statements, and one store lives per process.
    Postgres(Box<PostgresStore>),
}

/// Runs `$call` on whichever store `$store` is.
macro_rules! on_either {
    ($any:expr, $store:ident => $call:expr) => {
        match $any {
            AnyStore::Sqlite($store) => $call,
            AnyStore::Postgres($store) => $call,
        }
    };
}

impl crate::app::Store for AnyStore {
    type Location = StoreLocation;

    fn open(
        at: &StoreLocation,
        retention: crate::app::Retention,
    ) -> Result<(Self, crate::app::Loaded), crate::app::StoreError> {
        Ok(match at {
            StoreLocation::DataDir(dir) => {
                let (store, loaded) = SqliteStore::open(dir, retention)?;
                (AnyStore::Sqlite(store), loaded)
            }
            StoreLocation::Postgres(target) => {
                let (store, loaded) = PostgresStore::open(target, retention)?;
                (AnyStore::Postgres(Box::new(store)), loaded)
            }
        })
    }

    fn commit(&mut self, batches: &[&crate::app::Batch]) -> Result<(), crate::app::StoreError> {
        on_either!(self, store => store.commit(batches))
    }

    fn set_operator_credential(
        &mut self,
        hash: &crate::domain::CredentialHash,
    ) -> Result<(), crate::app::StoreError> {
        on_either!(self, store => store.set_operator_credential(hash))
    }

    fn keep_alive_every(&self) -> Option<std::time::Duration> {
        on_either!(self, store => store.keep_alive_every())
    }

    fn keep_alive(&mut self) -> Result<(), crate::app::StoreError> {
        on_either!(self, store => store.keep_alive())
    }

    fn position(&self) -> u64 {
        on_either!(self, store => store.position())
    }

    fn read_after(
        &mut self,
        position: u64,
        sequence: u64,
        wait: std::time::Duration,
    ) -> Result<crate::app::Followed, crate::app::StoreError> {
        on_either!(self, store => store.read_after(position, sequence, wait))
    }

    fn take_over(&mut self) -> Result<bool, crate::app::StoreError> {
        on_either!(self, store => store.take_over())
    }

    fn announce_desks(&mut self, agents: &[String]) -> Result<Vec<String>, crate::app::StoreError> {
        on_either!(self, store => store.announce_desks(agents))
    }

    fn acknowledge_desks(&mut self, agents: &[String]) -> Result<(), crate::app::StoreError> {
        on_either!(self, store => store.acknowledge_desks(agents))
    }

    fn desks_elsewhere(&mut self) -> Result<Option<Vec<(String, bool)>>, crate::app::StoreError> {
        on_either!(self, store => store.desks_elsewhere())
    }

    fn desks_announced(&mut self) -> Result<bool, crate::app::StoreError> {
        on_either!(self, store => store.desks_announced())
    }

    fn load_requests(&mut self) -> Result<Vec<crate::app::RequestRecord>, crate::app::StoreError> {
        on_either!(self, store => store.load_requests())
    }

    fn backup(at: &StoreLocation, to: &std::path::Path) -> Result<(), crate::app::StoreError> {
        match at {
            StoreLocation::DataDir(dir) => SqliteStore::backup(dir, to),
            StoreLocation::Postgres(target) => PostgresStore::backup(target, to),
        }
    }

    fn restore(
        from: &std::path::Path,
        at: &StoreLocation,
    ) -> Result<uuid::Uuid, crate::app::StoreError> {
        match at {
            StoreLocation::DataDir(dir) => SqliteStore::restore(from, dir),
            StoreLocation::Postgres(target) => PostgresStore::restore(from, target),
        }
    }
}
