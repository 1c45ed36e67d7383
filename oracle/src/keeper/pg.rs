//! The keeper's epoch ledger in PostgreSQL: one ledger shared by keepers on several hosts.
//!
//! The rules are those of the SQLite ledger ([`super::store`]): every move is a compare-and-set
//! (`UPDATE … WHERE state = <expected>`), so of two keepers that try the same move exactly one
//! wins; the artifacts a move records are written in its transaction. Under PostgreSQL's default
//! isolation (read committed) a second `UPDATE` of the same row waits for the first to commit and
//! then re-checks its `WHERE` on the new row, which is what makes the compare-and-set hold across
//! connections and hosts.
//!
//! **Leader election.** A lease is a row `(key, holder, expires_at)` taken or renewed by one
//! `INSERT … ON CONFLICT DO UPDATE … WHERE holder = me OR expires_at <= now`, an atomic statement.
//! Expiry is read from the database server's clock, never the keeper's, so keepers whose clocks
//! disagree still agree on who leads. The keeper takes one lease per wallet (one writer of a
//! wallet's nonces); whoever holds it does the work, the others wait and take over when it runs out.
//!
//! **Faults.** A lost connection is opened again on the next call; a call that gets no answer in
//! [`CALL_TIMEOUT`] fails and drops the connection. The server ends a transaction left idle for
//! 30 s and a statement that waits for a lock for 10 s, so a keeper cut off mid-move cannot block
//! the others. A failed call changes nothing (each call is one statement or one transaction), and
//! the keeper retries on its next pass. Connections are plain TCP (no TLS): run the database on a
//! private network, or behind a TLS tunnel.
//!
//! **Nonces.** A unique index on the nonce refuses a second epoch signed with a nonce already
//! recorded for an epoch not skipped: a keeper that lost the lease without knowing it cannot record (and so cannot send) a
//! transaction that collides with the new leader's. One database serves one deployment (one chain,
//! oracle and wallet).
//!
//! The tables are `zkrisk_keeper_epochs`, `zkrisk_keeper_leases`, `zkrisk_keeper_artifacts` and
//! `zkrisk_keeper_meta` (the schema version), created on first use under an advisory lock.

use std::{str::FromStr, time::Duration};

use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::{Client, Config, NoTls, Row, config::Host};

use super::{
    config::Secret,
    store::{
        COLUMNS, Changes, EpochRecord, EpochState, Lease, SCHEMA_VERSION, StoreError, StoreResult,
        conflict, i, u,
    },
};

/// How long one call may wait for the server.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// The database clock in Unix seconds.
const NOW: &str = "floor(extract(epoch FROM clock_timestamp()))::BIGINT";

/// Serialises schema creation between keepers starting together.
const SCHEMA_LOCK: i64 = 0x7a6b_7269_736b_0001;

/// The ledger on a PostgreSQL server.
pub struct PgStore {
    config: Config,
    target: String,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("target", &self.target).finish_non_exhaustive()
    }
}

/// `user@host:port/dbname` of a connection URL, without the password: what logs may show.
///
/// # Errors
/// The URL does not parse (the message does not repeat it).
pub fn describe_url(url: &Secret) -> Result<String, String> {
    let config = Config::from_str(url.expose()).map_err(|e| e.to_string())?;
    Ok(describe(&config))
}

fn describe(c: &Config) -> String {
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(k, h)| {
            let host = match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            let port = c.get_ports().get(k).or_else(|| c.get_ports().first()).copied();
            format!("{host}:{}", port.unwrap_or(5432))
        })
        .collect();
    let user = c.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    format!("postgres://{user}{}/{}", hosts.join(","), c.get_dbname().unwrap_or(""))
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The message of a server error is in its source; `Display` of the outer error alone is
        // just "db error".
        let reason = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        };
        Self::Postgres { target: String::new(), reason }
    }
}

fn row(r: &Row) -> StoreResult<EpochRecord> {
    let state: String = r.try_get(2)?;
    Ok(EpochRecord {
        feed: r.try_get(0)?,
        epoch: u(r.try_get(1)?),
        state: EpochState::parse(&state).ok_or_else(|| StoreError::Postgres {
            target: String::new(),
            reason: format!("unknown epoch state `{state}`"),
        })?,
        data_block: u(r.try_get(3)?),
        proof_hash: r.try_get(4)?,
        tx_hash: r.try_get(5)?,
        nonce: r.try_get::<_, Option<i64>>(6)?.map(u),
        mined_block: r.try_get::<_, Option<i64>>(7)?.map(u),
        attempts: u32::try_from(r.try_get::<_, i32>(8)?).unwrap_or_default(),
        reason: r.try_get(9)?,
        updated_at: u(r.try_get(10)?),
        data_time: u(r.try_get(11)?),
    })
}

impl PgStore {
    /// Connects to the server at `url`, creates the tables when missing and checks the schema
    /// version.
    ///
    /// # Errors
    /// The URL does not parse, the server cannot be reached or refuses the login, or the
    /// ledger's schema is of another version.
    pub async fn open(url: &Secret) -> StoreResult<Self> {
        let mut config = Config::from_str(url.expose()).map_err(|e| StoreError::Postgres {
            target: "(the URL)".into(),
            reason: format!("not a PostgreSQL connection URL: {e}"),
        })?;
        // The server gives up on its side too: a keeper cut off in the middle of a move must not
        // hold the epoch's row lock until TCP notices (hours), blocking the keeper that takes over.
        config
            .connect_timeout(CALL_TIMEOUT)
            .application_name("zkrisk-keeper")
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .options(
                "-c lock_timeout=10s -c statement_timeout=15s \
                 -c idle_in_transaction_session_timeout=30s",
            );
        let store = Self { target: describe(&config), config, client: Mutex::new(None) };
        let version = store
            .with(async |c| {
                c.batch_execute(&format!(
                    "BEGIN;
                     SELECT pg_advisory_xact_lock({SCHEMA_LOCK});
                     CREATE TABLE IF NOT EXISTS zkrisk_keeper_meta (
                         singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
                         schema_version INTEGER NOT NULL
                     );
                     CREATE TABLE IF NOT EXISTS zkrisk_keeper_epochs (
                         feed TEXT NOT NULL,
                         epoch BIGINT NOT NULL,
                         state TEXT NOT NULL CHECK (state IN
                             ('pending', 'proven', 'submitted', 'confirmed', 'skipped')),
                         data_block BIGINT NOT NULL,
                         proof_hash TEXT,
                         tx_hash TEXT,
                         nonce BIGINT,
                         mined_block BIGINT,
                         attempts INTEGER NOT NULL DEFAULT 0,
                         reason TEXT,
                         updated_at BIGINT NOT NULL,
                         data_time BIGINT NOT NULL DEFAULT 0,
                         PRIMARY KEY (feed, epoch)
                     );
                     CREATE TABLE IF NOT EXISTS zkrisk_keeper_leases (
                         key TEXT PRIMARY KEY,
                         holder TEXT NOT NULL,
                         expires_at BIGINT NOT NULL
                     );
                     CREATE TABLE IF NOT EXISTS zkrisk_keeper_artifacts (
                         feed TEXT NOT NULL,
                         epoch BIGINT NOT NULL,
                         kind TEXT NOT NULL,
                         body TEXT NOT NULL,
                         PRIMARY KEY (feed, epoch, kind),
                         FOREIGN KEY (feed, epoch) REFERENCES zkrisk_keeper_epochs ON DELETE CASCADE
                     );
                     CREATE UNIQUE INDEX IF NOT EXISTS zkrisk_keeper_epochs_nonce
                         ON zkrisk_keeper_epochs (nonce)
                         WHERE nonce IS NOT NULL AND state <> 'skipped';
                     INSERT INTO zkrisk_keeper_meta (schema_version) VALUES ({SCHEMA_VERSION})
                         ON CONFLICT DO NOTHING;
                     COMMIT;"
                ))
                .await?;
                let r = c.query_one("SELECT schema_version FROM zkrisk_keeper_meta", &[]).await?;
                Ok(i64::from(r.try_get::<_, i32>(0)?))
            })
            .await?;
        if version != SCHEMA_VERSION {
            return Err(StoreError::Postgres {
                target: store.target.clone(),
                reason: format!("schema version {version}; this keeper knows {SCHEMA_VERSION}"),
            });
        }
        Ok(store)
    }

    /// `postgres://user@host:port/dbname`, without the password.
    pub fn target(&self) -> &str {
        &self.target
    }

    async fn connection(&self) -> StoreResult<MutexGuard<'_, Option<Client>>> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = None;
            let (client, connection) = self.config.connect(NoTls).await?;
            let target = self.target.clone();
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(ledger = %target, "ledger connection closed: {e}");
                }
            });
            *guard = Some(client);
        }
        Ok(guard)
    }

    /// Runs `f` on the connection (opened again if it was lost), within [`CALL_TIMEOUT`].
    async fn with<T>(&self, f: impl AsyncFnOnce(&mut Client) -> StoreResult<T>) -> StoreResult<T> {
        let named = |e: StoreError| match e {
            StoreError::Postgres { target, reason } if target.is_empty() => {
                StoreError::Postgres { target: self.target.clone(), reason }
            }
            e => e,
        };
        let call = async {
            let mut guard = self.connection().await?;
            let Some(client) = guard.as_mut() else { unreachable!("connection() leaves a client") };
            let out = f(client).await;
            if client.is_closed() {
                *guard = None;
            }
            out
        };
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(out) => out.map_err(named),
            Err(_) => {
                // The connection may be stuck mid-call: open a new one next time.
                if let Ok(mut guard) = self.client.try_lock() {
                    *guard = None;
                }
                Err(named(StoreError::Postgres {
                    target: String::new(),
                    reason: format!("no answer within {} s", CALL_TIMEOUT.as_secs()),
                }))
            }
        }
    }

    /// Plans an epoch; `false` when it already exists.
    pub async fn plan(
        &self,
        feed: &str,
        epoch: u64,
        data_block: u64,
        data_time: u64,
    ) -> StoreResult<bool> {
        self.with(async |c| {
            let n = c
                .execute(
                    &format!(
                        "INSERT INTO zkrisk_keeper_epochs
                             (feed, epoch, state, data_block, data_time, updated_at)
                         VALUES ($1, $2, 'pending', $3, $4, {NOW}) ON CONFLICT DO NOTHING"
                    ),
                    &[&feed, &i(epoch), &i(data_block), &i(data_time)],
                )
                .await?;
            Ok(n == 1)
        })
        .await
    }

    /// One epoch, if planned.
    pub async fn get(&self, feed: &str, epoch: u64) -> StoreResult<Option<EpochRecord>> {
        self.with(async |c| {
            c.query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM zkrisk_keeper_epochs WHERE feed = $1 AND epoch = $2"
                ),
                &[&feed, &i(epoch)],
            )
            .await?
            .as_ref()
            .map(row)
            .transpose()
        })
        .await
    }

    /// Every epoch of `feed` (all feeds when `None`), oldest first.
    pub async fn epochs(&self, feed: Option<&str>) -> StoreResult<Vec<EpochRecord>> {
        self.with(async |c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM zkrisk_keeper_epochs
                     WHERE $1::TEXT IS NULL OR feed = $1 ORDER BY feed, epoch"
                ),
                &[&feed],
            )
            .await?
            .iter()
            .map(row)
            .collect()
        })
        .await
    }

    /// Moves an epoch from `from` to `to` with `changes` and their artifacts, in one transaction;
    /// [`StoreError::Conflict`], storing nothing, when it is not in `from`.
    pub async fn transition(
        &self,
        feed: &str,
        epoch: u64,
        from: EpochState,
        to: EpochState,
        changes: &Changes,
    ) -> StoreResult<()> {
        self.with(async |c| {
            let tx = c.transaction().await?;
            let n = tx
                .execute(
                    &format!(
                        "UPDATE zkrisk_keeper_epochs SET state = $4,
                             proof_hash = COALESCE($5, proof_hash),
                             tx_hash = COALESCE($6, tx_hash),
                             nonce = COALESCE($7, nonce),
                             mined_block = COALESCE($8, mined_block),
                             reason = COALESCE($9, reason),
                             updated_at = {NOW}
                         WHERE feed = $1 AND epoch = $2 AND state = $3
                             AND ($10::TEXT IS NULL OR tx_hash = $10)"
                    ),
                    &[
                        &feed,
                        &i(epoch),
                        &from.as_str(),
                        &to.as_str(),
                        &changes.proof_hash,
                        &changes.tx_hash,
                        &changes.nonce.map(i),
                        &changes.mined_block.map(i),
                        &changes.reason,
                        &changes.if_tx_hash,
                    ],
                )
                .await?;
            if n != 1 {
                let found = tx
                    .query_opt(
                        "SELECT state, tx_hash FROM zkrisk_keeper_epochs
                         WHERE feed = $1 AND epoch = $2",
                        &[&feed, &i(epoch)],
                    )
                    .await?
                    .map(|r| Ok::<_, tokio_postgres::Error>((r.try_get(0)?, r.try_get(1)?)))
                    .transpose()?;
                return Err(conflict(feed, epoch, from, changes, found));
            }
            for (kind, body) in &changes.artifacts {
                tx.execute(
                    "INSERT INTO zkrisk_keeper_artifacts (feed, epoch, kind, body)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (feed, epoch, kind) DO UPDATE SET body = EXCLUDED.body",
                    &[&feed, &i(epoch), kind, body],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// The artifact `kind` of an epoch.
    pub async fn artifact(
        &self,
        feed: &str,
        epoch: u64,
        kind: &str,
    ) -> StoreResult<Option<String>> {
        self.with(async |c| {
            Ok(c.query_opt(
                "SELECT body FROM zkrisk_keeper_artifacts
                 WHERE feed = $1 AND epoch = $2 AND kind = $3",
                &[&feed, &i(epoch), &kind],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?)
        })
        .await
    }

    /// Counts a failed attempt and records the error; the attempts so far.
    pub async fn record_failure(&self, feed: &str, epoch: u64, error: &str) -> StoreResult<u32> {
        self.with(async |c| {
            let r = c
                .query_opt(
                    &format!(
                        "UPDATE zkrisk_keeper_epochs
                         SET attempts = attempts + 1, reason = $3, updated_at = {NOW}
                         WHERE feed = $1 AND epoch = $2 RETURNING attempts"
                    ),
                    &[&feed, &i(epoch), &error],
                )
                .await?;
            let Some(r) = r else {
                return Err(StoreError::Conflict {
                    feed: feed.to_string(),
                    epoch,
                    expected: "planned",
                    found: "missing".into(),
                });
            };
            Ok(u32::try_from(r.try_get::<_, i32>(0)?).unwrap_or_default())
        })
        .await
    }

    /// Takes or renews the lease `key` for `holder` until the server's now + `ttl_seconds`;
    /// `false` when another holder's lease has not run out.
    pub async fn acquire_lease(
        &self,
        key: &str,
        holder: &str,
        ttl_seconds: u64,
    ) -> StoreResult<bool> {
        self.with(async |c| {
            let n = c
                .execute(
                    &format!(
                        "INSERT INTO zkrisk_keeper_leases (key, holder, expires_at)
                         VALUES ($1, $2, {NOW} + $3)
                         ON CONFLICT (key) DO UPDATE
                             SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                         WHERE zkrisk_keeper_leases.holder = EXCLUDED.holder
                            OR zkrisk_keeper_leases.expires_at <= {NOW}"
                    ),
                    &[&key, &holder, &i(ttl_seconds)],
                )
                .await?;
            Ok(n == 1)
        })
        .await
    }

    /// Gives the lease back (only if `holder` holds it).
    pub async fn release_lease(&self, key: &str, holder: &str) -> StoreResult<()> {
        self.with(async |c| {
            c.execute(
                "DELETE FROM zkrisk_keeper_leases WHERE key = $1 AND holder = $2",
                &[&key, &holder],
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// Every lease, expired or not.
    pub async fn leases(&self) -> StoreResult<Vec<Lease>> {
        self.with(async |c| {
            c.query("SELECT key, holder, expires_at FROM zkrisk_keeper_leases ORDER BY key", &[])
                .await?
                .iter()
                .map(|r| {
                    Ok(Lease {
                        key: r.try_get(0)?,
                        holder: r.try_get(1)?,
                        expires_at: u(r.try_get(2)?),
                    })
                })
                .collect()
        })
        .await
    }

    /// The highest nonce any keeper of this ledger has used, skipped epochs aside (see
    /// [`super::store::Store::last_nonce`]).
    pub async fn last_nonce(&self) -> StoreResult<Option<u64>> {
        self.with(async |c| {
            let r = c
                .query_one(
                    "SELECT MAX(nonce) FROM zkrisk_keeper_epochs WHERE state <> 'skipped'",
                    &[],
                )
                .await?;
            Ok(r.try_get::<_, Option<i64>>(0)?.map(u))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_of_a_url_has_no_password() {
        let url =
            Secret::new("postgres://keeper:s3cret@db.internal:6432/risk?sslmode=disable".into());
        let d = describe_url(&url).unwrap();
        assert_eq!(d, "postgres://keeper@db.internal:6432/risk");
        let bad = describe_url(&Secret::new("postgres://keeper:s3cret@db:notaport/x".into()))
            .unwrap_err();
        assert!(!bad.contains("s3cret"), "{bad}");
    }
}
