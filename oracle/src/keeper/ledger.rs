//! The ledger the keeper holds: SQLite on one host ([`Store`]), or PostgreSQL shared by keepers
//! on several hosts ([`PgStore`]). Both keep the same rules (compare-and-set moves, artifacts
//! stored with their move, leases that run out); `[store] backend` in `keeper.toml` chooses.

use std::path::PathBuf;

use super::{
    config::Secret,
    pg::{self, PgStore},
    store::{Changes, EpochRecord, EpochState, Lease, Store, StoreResult},
};

/// Where the ledger lives, from `[store]`.
#[derive(Clone, Debug)]
pub enum LedgerConfig {
    /// An SQLite file (relative paths resolved against the configuration file).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (it may hold a password: never printed).
    Postgres(Secret),
}

impl LedgerConfig {
    /// What logs and `keeper check` show: the file, or the server without credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => {
                pg::describe_url(url).unwrap_or_else(|_| "postgres (unparsable URL)".into())
            }
        }
    }
}

/// An open ledger.
#[derive(Debug)]
pub enum Ledger {
    /// On one host.
    Sqlite(Store),
    /// Shared by hosts (boxed: a connection's configuration is large).
    Postgres(Box<PgStore>),
}

macro_rules! each {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Self::Sqlite(s) => s.$method($($arg),*),
            Self::Postgres(p) => p.$method($($arg),*).await,
        }
    };
}

impl Ledger {
    /// Opens (creating when missing) the ledger `config` names.
    ///
    /// # Errors
    /// See [`Store::open`] and [`PgStore::open`].
    pub async fn open(config: &LedgerConfig) -> StoreResult<Self> {
        Ok(match config {
            LedgerConfig::Sqlite(path) => Self::Sqlite(Store::open(path)?),
            LedgerConfig::Postgres(url) => Self::Postgres(Box::new(PgStore::open(url).await?)),
        })
    }

    /// The file, or the server without credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(s) => s.path().display().to_string(),
            Self::Postgres(p) => p.target().to_string(),
        }
    }

    /// See [`Store::plan`].
    pub async fn plan(
        &self,
        feed: &str,
        epoch: u64,
        data_block: u64,
        data_time: u64,
    ) -> StoreResult<bool> {
        each!(self.plan(feed, epoch, data_block, data_time))
    }

    /// See [`Store::get`].
    pub async fn get(&self, feed: &str, epoch: u64) -> StoreResult<Option<EpochRecord>> {
        each!(self.get(feed, epoch))
    }

    /// See [`Store::epochs`].
    pub async fn epochs(&self, feed: Option<&str>) -> StoreResult<Vec<EpochRecord>> {
        each!(self.epochs(feed))
    }

    /// Epochs of `feed` that are not final: what a restarted keeper must finish first.
    pub async fn unfinished(&self, feed: &str) -> StoreResult<Vec<EpochRecord>> {
        Ok(self.epochs(Some(feed)).await?.into_iter().filter(|e| !e.state.is_final()).collect())
    }

    /// See [`Store::transition`].
    pub async fn transition(
        &self,
        feed: &str,
        epoch: u64,
        from: EpochState,
        to: EpochState,
        changes: &Changes,
    ) -> StoreResult<()> {
        each!(self.transition(feed, epoch, from, to, changes))
    }

    /// See [`Store::artifact`].
    pub async fn artifact(
        &self,
        feed: &str,
        epoch: u64,
        kind: &str,
    ) -> StoreResult<Option<String>> {
        each!(self.artifact(feed, epoch, kind))
    }

    /// See [`Store::record_failure`].
    pub async fn record_failure(&self, feed: &str, epoch: u64, error: &str) -> StoreResult<u32> {
        each!(self.record_failure(feed, epoch, error))
    }

    /// See [`Store::acquire_lease`].
    pub async fn acquire_lease(
        &self,
        key: &str,
        holder: &str,
        ttl_seconds: u64,
    ) -> StoreResult<bool> {
        each!(self.acquire_lease(key, holder, ttl_seconds))
    }

    /// See [`Store::release_lease`].
    pub async fn release_lease(&self, key: &str, holder: &str) -> StoreResult<()> {
        each!(self.release_lease(key, holder))
    }

    /// See [`Store::leases`].
    pub async fn leases(&self) -> StoreResult<Vec<Lease>> {
        each!(self.leases())
    }

    /// See [`Store::last_nonce`].
    pub async fn last_nonce(&self) -> StoreResult<Option<u64>> {
        each!(self.last_nonce())
    }
}
