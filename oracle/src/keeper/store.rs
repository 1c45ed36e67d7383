//! The keeper's epoch ledger in SQLite: what happened to every epoch of every feed, so that a
//! restart at any point neither skips an epoch nor submits one twice. (Keepers on several hosts
//! share a PostgreSQL ledger instead, with the same rules: [`super::pg`]; [`super::ledger`] is
//! what the keeper holds.)
//!
//! Every epoch moves through
//! `pending → proven → submitted → confirmed`, or ends `skipped` with a reason. A move is a
//! compare-and-set (`UPDATE … WHERE state = <expected>`) in one transaction: of two keepers (or two
//! tasks) that try the same move, exactly one wins and the other gets [`StoreError::Conflict`].
//! The on-chain epoch check of `RiskOracle` stays the last line of defence, not the first.
//!
//! Leases give one keeper at a time the right to work on a feed (two keepers with the same
//! configuration on one host share the file; SQLite's locking makes the lease atomic). A lease
//! expires unless renewed, so a crashed keeper's feed is picked up by the other.
//!
//! What a step needs to resume (the proof's calldata, the signed transaction) is stored with the
//! move that records it, in the same transaction ([`Changes::artifacts`]), so that whichever
//! keeper holds the lease next finds it in the ledger and not on another machine's disk.

use std::{
    path::{Path, PathBuf},
    sync::Mutex,
};

use rusqlite::{Connection, OptionalExtension, params};

/// Schema version stored in SQLite's `user_version` (and in PostgreSQL's `zkrisk_keeper_meta`).
/// Version 2 added `data_time` and the `artifacts` table; a version-1 file is migrated on open.
pub const SCHEMA_VERSION: i64 = 2;

/// Where an epoch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EpochState {
    /// Planned: data block fixed, nothing proven yet.
    Pending,
    /// A proof exists (its hash is recorded).
    Proven,
    /// A transaction was sent (hash and nonce recorded); not yet confirmed.
    Submitted,
    /// The update is on chain with enough confirmations. Final.
    Confirmed,
    /// Given up (the reason is recorded). Final.
    Skipped,
}

impl EpochState {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Proven => "proven",
            Self::Submitted => "submitted",
            Self::Confirmed => "confirmed",
            Self::Skipped => "skipped",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "proven" => Self::Proven,
            "submitted" => Self::Submitted,
            "confirmed" => Self::Confirmed,
            "skipped" => Self::Skipped,
            _ => return None,
        })
    }

    /// Whether nothing more can happen to the epoch.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Confirmed | Self::Skipped)
    }
}

/// One epoch of one feed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EpochRecord {
    /// Feed name.
    pub feed: String,
    /// Epoch number.
    pub epoch: u64,
    /// Current state.
    pub state: EpochState,
    /// Block the epoch's data was read at.
    pub data_block: u64,
    /// Timestamp of that block (Unix seconds); 0 when unknown (planned by a version-1 keeper, or
    /// recorded as skipped without data).
    pub data_time: u64,
    /// Hash of the proof, once proven.
    pub proof_hash: Option<String>,
    /// Transaction hash, once submitted (the last one, after replacements).
    pub tx_hash: Option<String>,
    /// Nonce of the submission.
    pub nonce: Option<u64>,
    /// Block the update was mined in, once confirmed.
    pub mined_block: Option<u64>,
    /// Attempts made (failures retried).
    pub attempts: u32,
    /// Why the epoch was skipped, or the last error.
    pub reason: Option<String>,
    /// Unix seconds of the last change.
    pub updated_at: u64,
}

/// What went wrong with the ledger.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file cannot be opened or is not a keeper ledger.
    #[error("keeper store {}: {reason}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Another keeper or task moved the epoch first (or it is not in the expected state).
    #[error("epoch {epoch} of feed `{feed}` is {found}, not {expected}")]
    Conflict {
        /// Feed.
        feed: String,
        /// Epoch.
        epoch: u64,
        /// The state the caller expected.
        expected: &'static str,
        /// The state found (`missing` when there is no such epoch).
        found: String,
    },
    /// An SQLite error.
    #[error("keeper store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A PostgreSQL error (unreachable server, lost connection, a failed statement).
    #[error("keeper ledger {target}: {reason}")]
    Postgres {
        /// The server and database, without credentials.
        target: String,
        /// What went wrong.
        reason: String,
    },
}

/// The [`StoreError::Conflict`] of a move that found the epoch as `found` (state, transaction).
pub(crate) fn conflict(
    feed: &str,
    epoch: u64,
    from: EpochState,
    changes: &Changes,
    found: Option<(String, Option<String>)>,
) -> StoreError {
    let found = match found {
        None => "missing".into(),
        Some((state, tx)) if state == from.as_str() && changes.if_tx_hash.is_some() => {
            format!("{state} with transaction {}", tx.unwrap_or_default())
        }
        Some((state, _)) => state,
    };
    StoreError::Conflict { feed: feed.to_string(), epoch, expected: from.as_str(), found }
}

/// Result alias of the ledger.
pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// Fields a transition may set; `None` leaves a column as it is.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// Proof hash.
    pub proof_hash: Option<String>,
    /// Transaction hash.
    pub tx_hash: Option<String>,
    /// Nonce.
    pub nonce: Option<u64>,
    /// Mined block.
    pub mined_block: Option<u64>,
    /// Reason or last error.
    pub reason: Option<String>,
    /// Artifacts stored with the move, `(kind, body)`, replacing those of the same kind.
    pub artifacts: Vec<(String, String)>,
    /// A condition, not a change: the move happens only while this is the recorded transaction
    /// (a replacement replaces the transaction its keeper saw, not one another keeper sent since).
    pub if_tx_hash: Option<String>,
}

/// Who holds a lease.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Lease {
    /// What the lease is on (`wallet:0x…`, or a feed).
    pub key: String,
    /// The keeper holding it.
    pub holder: String,
    /// Unix seconds it runs out unless renewed.
    pub expires_at: u64,
}

/// The ledger. Cheap to share behind an `Arc`; each call is one short SQLite transaction.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// The ledger of version 1; a new ledger is created as this, then migrated (run in the open's
/// transaction).
const CREATE_V1: &str = "CREATE TABLE IF NOT EXISTS epochs (
        feed TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        state TEXT NOT NULL,
        data_block INTEGER NOT NULL,
        proof_hash TEXT,
        tx_hash TEXT,
        nonce INTEGER,
        mined_block INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (feed, epoch)
    );
    CREATE TABLE IF NOT EXISTS leases (
        feed TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    PRAGMA user_version = 1;";

/// One live epoch per nonce (see [`Store::last_nonce`]).
const NONCE_INDEX: &str = "CREATE UNIQUE INDEX IF NOT EXISTS epochs_nonce ON epochs (nonce)
    WHERE nonce IS NOT NULL AND state <> 'skipped';";

/// Version 1 to 2 (in the open's transaction): epochs in flight keep their files in the work directory,
/// where [`super::runner::Runner`] still finds them.
const MIGRATE_V1_V2: &str = "ALTER TABLE epochs ADD COLUMN data_time INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE artifacts (
        feed TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (feed, epoch, kind)
    );
    PRAGMA user_version = 2;";

/// Live epochs that share a nonce, which [`NONCE_INDEX`] forbids (possible only in a ledger
/// written before it): `nonce N: feed/epoch, feed/epoch`.
fn shared_nonces(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<Vec<String>> {
    let mut stmt = tx.prepare(
        "SELECT nonce, group_concat(feed || '/' || epoch, ', ') FROM epochs
         WHERE nonce IS NOT NULL AND state <> 'skipped'
         GROUP BY nonce HAVING COUNT(*) > 1 ORDER BY nonce",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(format!("nonce {}: {}", r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    rows.collect()
}

/// The columns [`row`] reads (both backends).
pub(crate) const COLUMNS: &str =
    "feed, epoch, state, data_block, proof_hash, tx_hash, nonce, mined_block,
    attempts, reason, updated_at, data_time";

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A `u64` as the databases store it.
pub(crate) fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A stored integer back as a `u64` (never negative in a ledger the keeper wrote).
pub(crate) fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

impl Store {
    /// Opens (creating if needed) the ledger at `path`, in WAL mode with a busy timeout so that
    /// several keeper processes can share it.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let err = |reason: String| StoreError::Open { path: path.to_path_buf(), reason };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let mut conn = Connection::open(path).map_err(|e| err(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| err(e.to_string()))?;
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map_err(|e| err(format!("not an SQLite database ({e})")))?;
        conn.pragma_update(None, "journal_mode", "wal").map_err(|e| err(e.to_string()))?;
        // The version is read again under the write lock: of two keepers opening a version-1
        // file together, one migrates and the other finds version 2.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| err(e.to_string()))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| err(e.to_string()))?;
        match version {
            0 => tx
                .execute_batch(&format!("{CREATE_V1}\n{MIGRATE_V1_V2}"))
                .map_err(|e| err(e.to_string()))?,
            1 => tx.execute_batch(MIGRATE_V1_V2).map_err(|e| err(e.to_string()))?,
            // The nonce index came within version 2: a file of that version may lack it.
            SCHEMA_VERSION => {}
            v => {
                return Err(err(format!("schema version {v}; this keeper knows {SCHEMA_VERSION}")));
            }
        }
        let shared = shared_nonces(&tx).map_err(|e| err(e.to_string()))?;
        if !shared.is_empty() {
            // Dropping `tx` rolls the migration back: the file stays as it was.
            return Err(err(format!(
                "epochs in flight or confirmed share a nonce ({}); at most one of each can be on \
                 chain: mark the others skipped, then start again",
                shared.join("; ")
            )));
        }
        tx.execute_batch(NONCE_INDEX).map_err(|e| err(e.to_string()))?;
        tx.commit().map_err(|e| err(e.to_string()))?;
        Ok(Self { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    /// The file the ledger lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: SQLite rolls back an
        // unfinished transaction.
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Plans an epoch on the data of `data_block` (timestamp `data_time`); `false` when it
    /// already exists (in whatever state).
    pub fn plan(
        &self,
        feed: &str,
        epoch: u64,
        data_block: u64,
        data_time: u64,
    ) -> StoreResult<bool> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO epochs (feed, epoch, state, data_block, data_time, updated_at)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5)",
            params![feed, i(epoch), i(data_block), i(data_time), i(now())],
        )?;
        Ok(n == 1)
    }

    /// One epoch, if planned.
    pub fn get(&self, feed: &str, epoch: u64) -> StoreResult<Option<EpochRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM epochs WHERE feed = ?1 AND epoch = ?2"
        ))?;
        Ok(stmt.query_row(params![feed, i(epoch)], row).optional()?)
    }

    /// Every epoch of `feed` (all feeds when `None`), oldest first.
    pub fn epochs(&self, feed: Option<&str>) -> StoreResult<Vec<EpochRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM epochs WHERE ?1 IS NULL OR feed = ?1 ORDER BY feed, epoch"
        ))?;
        let rows = stmt.query_map(params![feed], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Moves an epoch from `from` to `to`, setting `changes` (its artifacts in the same
    /// transaction); fails with [`StoreError::Conflict`], storing nothing, if it is not in `from`
    /// (someone else moved it first).
    pub fn transition(
        &self,
        feed: &str,
        epoch: u64,
        from: EpochState,
        to: EpochState,
        changes: &Changes,
    ) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE epochs SET state = ?4,
                 proof_hash = COALESCE(?5, proof_hash),
                 tx_hash = COALESCE(?6, tx_hash),
                 nonce = COALESCE(?7, nonce),
                 mined_block = COALESCE(?8, mined_block),
                 reason = COALESCE(?9, reason),
                 updated_at = ?10
             WHERE feed = ?1 AND epoch = ?2 AND state = ?3
                 AND (?11 IS NULL OR tx_hash IS ?11)",
            params![
                feed,
                i(epoch),
                from.as_str(),
                to.as_str(),
                changes.proof_hash,
                changes.tx_hash,
                changes.nonce.map(i),
                changes.mined_block.map(i),
                changes.reason,
                i(now()),
                changes.if_tx_hash
            ],
        )?;
        if n != 1 {
            let found: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT state, tx_hash FROM epochs WHERE feed = ?1 AND epoch = ?2",
                    params![feed, i(epoch)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            return Err(conflict(feed, epoch, from, changes, found));
        }
        for (kind, body) in &changes.artifacts {
            tx.execute(
                "INSERT INTO artifacts (feed, epoch, kind, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(feed, epoch, kind) DO UPDATE SET body = excluded.body",
                params![feed, i(epoch), kind, body],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The artifact `kind` of an epoch, stored by a move.
    pub fn artifact(&self, feed: &str, epoch: u64, kind: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT body FROM artifacts WHERE feed = ?1 AND epoch = ?2 AND kind = ?3",
                params![feed, i(epoch), kind],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Counts a failed attempt and records the error, without changing the state.
    pub fn record_failure(&self, feed: &str, epoch: u64, error: &str) -> StoreResult<u32> {
        let conn = self.conn();
        conn.execute(
            "UPDATE epochs SET attempts = attempts + 1, reason = ?3, updated_at = ?4
             WHERE feed = ?1 AND epoch = ?2",
            params![feed, i(epoch), error, i(now())],
        )?;
        Ok(conn.query_row(
            "SELECT attempts FROM epochs WHERE feed = ?1 AND epoch = ?2",
            params![feed, i(epoch)],
            |r| r.get(0),
        )?)
    }

    /// Takes (or renews) the lease on `feed` for `holder` until `now + ttl_seconds`. Returns
    /// `false` when another holder's lease has not expired.
    pub fn acquire_lease(&self, feed: &str, holder: &str, ttl_seconds: u64) -> StoreResult<bool> {
        let t = now();
        let n = self.conn().execute(
            "INSERT INTO leases (feed, holder, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(feed) DO UPDATE SET holder = ?2, expires_at = ?3
             WHERE leases.holder = ?2 OR leases.expires_at <= ?4",
            params![feed, holder, i(t + ttl_seconds), i(t)],
        )?;
        Ok(n == 1)
    }

    /// Gives the lease back (only if `holder` holds it).
    pub fn release_lease(&self, feed: &str, holder: &str) -> StoreResult<()> {
        self.conn()
            .execute("DELETE FROM leases WHERE feed = ?1 AND holder = ?2", params![feed, holder])?;
        Ok(())
    }

    /// Every lease, expired or not.
    pub fn leases(&self) -> StoreResult<Vec<Lease>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT feed, holder, expires_at FROM leases ORDER BY feed")?;
        let rows = stmt.query_map([], |r| {
            Ok(Lease { key: r.get(0)?, holder: r.get(1)?, expires_at: u(r.get(2)?) })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The highest nonce this ledger has used for a submission that was not given up, if any (a
    /// restarted keeper continues from `max(this + 1, the chain's pending nonce)`). A skipped
    /// epoch's nonce does not count: its transaction was lost or mined (reverted), and in both
    /// cases the chain's pending nonce says what is free; counting it would leave a gap that no
    /// later transaction could be mined past.
    pub fn last_nonce(&self) -> StoreResult<Option<u64>> {
        let v: Option<i64> = self.conn().query_row(
            "SELECT MAX(nonce) FROM epochs WHERE state <> 'skipped'",
            [],
            |r| r.get(0),
        )?;
        Ok(v.and_then(|n| u64::try_from(n).ok()))
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EpochRecord> {
    let state: String = r.get(2)?;
    Ok(EpochRecord {
        feed: r.get(0)?,
        epoch: u(r.get(1)?),
        state: EpochState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown epoch state `{state}`").into(),
            )
        })?,
        data_block: u(r.get(3)?),
        proof_hash: r.get(4)?,
        tx_hash: r.get(5)?,
        nonce: r.get::<_, Option<i64>>(6)?.map(u),
        mined_block: r.get::<_, Option<i64>>(7)?.map(u),
        attempts: r.get(8)?,
        reason: r.get(9)?,
        updated_at: u(r.get(10)?),
        data_time: u(r.get(11)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use EpochState::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("keeper.sqlite")).unwrap();
        (dir, s)
    }

    #[test]
    fn an_epoch_walks_its_states_and_survives_a_reopen() {
        let (dir, s) = store();
        assert!(s.plan("weth", 7, 100, 1_700).unwrap());
        assert!(!s.plan("weth", 7, 999, 9).unwrap(), "planning twice keeps the first plan");
        let proof = Changes { proof_hash: Some("0xp".into()), ..Changes::default() };
        s.transition("weth", 7, Pending, Proven, &proof).unwrap();
        let sent = Changes { tx_hash: Some("0xt".into()), nonce: Some(3), ..Changes::default() };
        s.transition("weth", 7, Proven, Submitted, &sent).unwrap();
        drop(s);
        // A restart: the submitted epoch is still there, unfinished, with its nonce.
        let s = Store::open(&dir.path().join("keeper.sqlite")).unwrap();
        let open: Vec<_> =
            s.epochs(Some("weth")).unwrap().into_iter().filter(|e| !e.state.is_final()).collect();
        assert_eq!(open.len(), 1);
        let e = &open[0];
        assert_eq!((e.state, e.data_block, e.data_time, e.nonce), (Submitted, 100, 1_700, Some(3)));
        assert_eq!((e.proof_hash.as_deref(), e.tx_hash.as_deref()), (Some("0xp"), Some("0xt")));
        assert_eq!(s.last_nonce().unwrap(), Some(3));
        let mined = Changes { mined_block: Some(120), ..Changes::default() };
        s.transition("weth", 7, Submitted, Confirmed, &mined).unwrap();
        assert!(s.epochs(Some("weth")).unwrap().iter().all(|e| e.state.is_final()));
        assert_eq!(s.get("weth", 7).unwrap().unwrap().mined_block, Some(120));
    }

    #[test]
    fn of_two_keepers_on_one_ledger_only_one_submits_an_epoch() {
        let (dir, a) = store();
        let b = Store::open(&dir.path().join("keeper.sqlite")).unwrap();
        a.plan("weth", 1, 10, 0).unwrap();
        a.transition("weth", 1, Pending, Proven, &Changes::default()).unwrap();
        let sent = Changes { tx_hash: Some("0xa".into()), ..Changes::default() };
        a.transition("weth", 1, Proven, Submitted, &sent).unwrap();
        let err = b.transition("weth", 1, Proven, Submitted, &Changes::default()).unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { found, .. } if found == "submitted"),
            "{err}"
        );
        assert_eq!(b.get("weth", 1).unwrap().unwrap().tx_hash.as_deref(), Some("0xa"));
        let err = b.transition("weth", 2, Pending, Proven, &Changes::default()).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn a_lease_is_exclusive_until_it_expires() {
        let (dir, a) = store();
        let b = Store::open(&dir.path().join("keeper.sqlite")).unwrap();
        assert!(a.acquire_lease("weth", "keeper-a", 60).unwrap());
        assert!(!b.acquire_lease("weth", "keeper-b", 60).unwrap());
        assert!(a.acquire_lease("weth", "keeper-a", 60).unwrap(), "the holder renews");
        assert!(b.acquire_lease("usdc", "keeper-b", 60).unwrap(), "leases are per feed");
        a.release_lease("weth", "keeper-a").unwrap();
        assert!(b.acquire_lease("weth", "keeper-b", 0).unwrap());
        // An expired lease (ttl 0) is taken over.
        assert!(a.acquire_lease("weth", "keeper-a", 60).unwrap());
    }

    #[test]
    fn failures_are_counted_and_skips_are_final() {
        let (_dir, s) = store();
        s.plan("weth", 5, 1, 0).unwrap();
        assert_eq!(s.record_failure("weth", 5, "rpc down").unwrap(), 1);
        assert_eq!(s.record_failure("weth", 5, "rpc down").unwrap(), 2);
        let why = Changes { reason: Some("stale after 2 attempts".into()), ..Changes::default() };
        s.transition("weth", 5, Pending, Skipped, &why).unwrap();
        let e = s.get("weth", 5).unwrap().unwrap();
        assert_eq!((e.state, e.attempts), (Skipped, 2));
        assert!(e.state.is_final());
        assert!(s.transition("weth", 5, Pending, Proven, &Changes::default()).is_err());
    }

    #[test]
    fn a_file_that_is_not_a_ledger_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keeper.sqlite");
        std::fs::write(&path, b"this is not sqlite, it is a text file of some length....").unwrap();
        let err = Store::open(&path).unwrap_err().to_string();
        assert!(err.contains("keeper.sqlite") && err.contains("not an SQLite database"), "{err}");
    }

    #[test]
    fn artifacts_are_stored_with_their_move_and_not_by_a_move_that_lost() {
        let (dir, a) = store();
        let b = Store::open(&dir.path().join("keeper.sqlite")).unwrap();
        a.plan("weth", 1, 10, 0).unwrap();
        let proof =
            Changes { artifacts: vec![("proof".into(), "ab01".into())], ..Changes::default() };
        a.transition("weth", 1, Pending, Proven, &proof).unwrap();
        assert_eq!(b.artifact("weth", 1, "proof").unwrap().as_deref(), Some("ab01"));
        let late = Changes {
            artifacts: vec![("proof".into(), "ffff".into()), ("tx".into(), "0xt".into())],
            ..Changes::default()
        };
        assert!(b.transition("weth", 1, Pending, Proven, &late).is_err());
        assert_eq!(a.artifact("weth", 1, "proof").unwrap().as_deref(), Some("ab01"));
        assert_eq!(a.artifact("weth", 1, "tx").unwrap(), None, "a lost move stores nothing");
        // A later move replaces an artifact of the same kind.
        let sent = Changes { artifacts: vec![("tx".into(), "0x1".into())], ..Changes::default() };
        a.transition("weth", 1, Proven, Submitted, &sent).unwrap();
        let bumped = Changes { artifacts: vec![("tx".into(), "0x2".into())], ..Changes::default() };
        a.transition("weth", 1, Submitted, Submitted, &bumped).unwrap();
        assert_eq!(b.artifact("weth", 1, "tx").unwrap().as_deref(), Some("0x2"));
    }

    /// A ledger as a version-1 keeper wrote it, with `rows` inserted.
    fn write_v1(path: &Path, rows: &str) {
        Connection::open(path).unwrap().execute_batch(&format!("{CREATE_V1}\n{rows}")).unwrap();
    }

    #[test]
    fn a_version_1_ledger_is_migrated_with_its_epochs_and_leases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keeper.sqlite");
        write_v1(
            &path,
            "INSERT INTO epochs VALUES ('weth', 4, 'submitted', 40, '0xp', '0xt', 9, NULL, 1, NULL, 5);
             INSERT INTO leases VALUES ('wallet:0x1', 'host-a', 99);",
        );
        let s = Store::open(&path).unwrap();
        let e = s.get("weth", 4).unwrap().unwrap();
        assert_eq!((e.state, e.data_block, e.data_time, e.nonce), (Submitted, 40, 0, Some(9)));
        assert_eq!(s.artifact("weth", 4, "tx").unwrap(), None);
        let lease = Lease { key: "wallet:0x1".into(), holder: "host-a".into(), expires_at: 99 };
        assert_eq!(s.leases().unwrap(), vec![lease]);
        let version: i64 = s.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        drop(s);
        Store::open(&path).unwrap(); // and opens again as version 2
    }

    #[test]
    fn a_version_2_file_without_the_nonce_index_gets_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keeper.sqlite");
        let batch = format!("{CREATE_V1}\n{MIGRATE_V1_V2}");
        Connection::open(&path).unwrap().execute_batch(&batch).unwrap();
        let s = Store::open(&path).unwrap();
        let n: i64 = s
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'epochs_nonce'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_version_1_ledger_whose_live_epochs_share_a_nonce_is_refused_by_name_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keeper.sqlite");
        write_v1(
            &path,
            "INSERT INTO epochs VALUES ('weth', 4, 'confirmed', 40, NULL, '0xa', 9, 41, 0, NULL, 5);
             INSERT INTO epochs VALUES ('weth', 5, 'submitted', 50, NULL, '0xb', 9, NULL, 0, NULL, 6);
             INSERT INTO epochs VALUES ('weth', 6, 'skipped', 60, NULL, '0xc', 9, NULL, 0, NULL, 7);",
        );
        let err = Store::open(&path).unwrap_err().to_string();
        assert!(err.contains("nonce 9: ") && err.contains("keeper.sqlite"), "{err}");
        assert!(
            err.contains("weth/4") && err.contains("weth/5") && !err.contains("weth/6"),
            "{err}"
        );
        let v: i64 = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1, "the migration was rolled back");
    }

    #[test]
    fn a_ledger_of_a_newer_keeper_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keeper.sqlite");
        Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 7;").unwrap();
        let err = Store::open(&path).unwrap_err().to_string();
        assert!(err.contains("schema version 7; this keeper knows 2"), "{err}");
    }
}
