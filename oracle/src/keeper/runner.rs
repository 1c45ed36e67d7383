//! One epoch, driven to an end: the keeper's state machine over the [`Ledger`].
//!
//! [`Runner::step`] is idempotent and safe to call again at any time, in particular after the
//! process died at any point: it reads where the epoch is and does the next thing.
//!
//! | state | next step |
//! |---|---|
//! | (none) | fix the data block, plan the epoch |
//! | `pending` | prove; keep the proof on disk; → `proven` |
//! | `proven` | if the chain already has this epoch → `confirmed`, a later one → `skipped` (superseded); else sign the transaction with the next nonce, **record hash and nonce first**, then broadcast → `submitted` |
//! | `submitted` | mined and confirmed → `confirmed`; reverted → `skipped` (or `confirmed` when the chain has the epoch from elsewhere); unknown to the node (dropped, or never sent because the process died) → broadcast the same signed transaction again; pending too long → replace it with bumped fees (same nonce) |
//!
//! The data time, the proof's calldata and the signed transaction are stored in the ledger with the
//! move that records them, so that any keeper holding the lease (on any host sharing the ledger)
//! can take the next step. Because the hash and nonce are written before the transaction leaves, a restart never signs a
//! second transaction for an epoch with a new nonce: at most one of the transactions with that
//! nonce can be mined. Failures are counted; an epoch whose data is older than the feed's
//! `max_data_age` is skipped with the reason, never submitted stale. The chain's own epoch check
//! (`RiskOracle` rejects an epoch that is not newer) remains the last line of defence.

use std::{future::Future, path::PathBuf, sync::Arc};

use super::{
    ledger::Ledger,
    store::{Changes, EpochState, StoreError},
};
use crate::Error;

/// A proven update, opaque to the runner except for its identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proven {
    /// Hash of the proof (recorded in the ledger).
    pub proof_hash: String,
    /// Everything the chain needs to build the transaction (encoded update and proof).
    pub payload: Vec<u8>,
}

/// A signed transaction, not yet (known to be) sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// Its hash.
    pub tx_hash: String,
    /// Its nonce.
    pub nonce: u64,
    /// The raw signed bytes (broadcast again if the node lost it).
    pub raw: Vec<u8>,
}

/// What the node knows about a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Unknown to the node: never received, or dropped from its pool.
    Unknown,
    /// In the pool since `seconds` ago.
    Pending {
        /// Seconds since it was first seen pending by this keeper.
        seconds: u64,
    },
    /// Mined.
    Mined {
        /// Block number.
        block: u64,
        /// Blocks on top of it, itself included.
        confirmations: u64,
        /// Whether it succeeded.
        success: bool,
    },
}

/// Produces an epoch's data block and proof (ingest → features → scores → proof).
pub trait Pipeline: Send + Sync {
    /// The block whose data epoch `epoch` of `feed` uses, and that block's timestamp.
    fn data_block(
        &self,
        feed: &str,
        epoch: u64,
    ) -> impl Future<Output = Result<(u64, u64), Error>> + Send;
    /// Proves the epoch at `data_block`.
    fn prove(
        &self,
        feed: &str,
        epoch: u64,
        data_block: u64,
    ) -> impl Future<Output = Result<Proven, Error>> + Send;
}

/// The chain side of a submission.
pub trait Chain: Send + Sync {
    /// The latest epoch the oracle holds for the feed's market (0 when none).
    fn onchain_epoch(&self, feed: &str) -> impl Future<Output = Result<u64, Error>> + Send;
    /// Signs the submission of `proven` with the next free nonce (the chain's pending nonce, but
    /// never below `min_nonce`).
    fn sign(
        &self,
        proven: &Proven,
        min_nonce: u64,
    ) -> impl Future<Output = Result<Signed, Error>> + Send;
    /// Sends a signed transaction (again).
    fn broadcast(&self, signed: &Signed) -> impl Future<Output = Result<(), Error>> + Send;
    /// Re-signs with the same nonce and higher fees (capped), for a transaction stuck in the pool.
    fn bump(
        &self,
        proven: &Proven,
        stuck: &Signed,
    ) -> impl Future<Output = Result<Signed, Error>> + Send;
    /// What the node knows about `tx_hash`.
    fn status(&self, tx_hash: &str) -> impl Future<Output = Result<TxStatus, Error>> + Send;
}

/// Where a call to [`Runner::step`] left the epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// On chain with enough confirmations.
    Confirmed {
        /// Block it was mined in (`None` when another submitter put it there).
        block: Option<u64>,
    },
    /// Given up, with the reason.
    Skipped(String),
    /// Sent, waiting to be mined or confirmed: call again later.
    Waiting,
    /// Another keeper holds the feed's lease.
    NotLeader,
    /// A step failed with a retryable error (recorded): call again later.
    Retry(String),
}

/// Per-feed settings the runner needs.
#[derive(Clone, Debug)]
pub struct FeedSpec {
    /// Feed name.
    pub name: String,
    /// Oldest data (seconds) an update may carry.
    pub max_data_age: u64,
}

/// Drives epochs; one per keeper process, shared by its feed tasks.
#[derive(Debug)]
pub struct Runner<P, C> {
    store: Arc<Ledger>,
    pipeline: P,
    chain: C,
    /// Where keepers before ledger schema 2 kept proofs and signed transactions: still read for
    /// the epochs they left in flight.
    dir: PathBuf,
    holder: String,
    /// The lease taken before each step: the feed's own name when `None`.
    lease: Option<String>,
    lease_seconds: u64,
    confirmations: u64,
    replace_after: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

impl<P: Pipeline, C: Chain> Runner<P, C> {
    /// A runner over `store` (artifacts of older keepers in `dir`); `holder` names this keeper in
    /// leases.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<Ledger>,
        pipeline: P,
        chain: C,
        dir: PathBuf,
        holder: impl Into<String>,
        confirmations: u64,
        replace_after: u64,
    ) -> Self {
        Self {
            store,
            pipeline,
            chain,
            dir,
            holder: holder.into(),
            lease: None,
            lease_seconds: 120,
            confirmations: confirmations.max(1),
            replace_after,
        }
    }

    /// Takes one lease, `key`, for every feed (one wallet's nonces must have one writer), held
    /// `seconds` past each step.
    #[must_use]
    pub fn with_lease(mut self, key: impl Into<String>, seconds: u64) -> Self {
        self.lease = Some(key.into());
        self.lease_seconds = seconds.max(1);
        self
    }

    /// The pipeline.
    pub const fn pipeline(&self) -> &P {
        &self.pipeline
    }

    /// The ledger.
    pub const fn store(&self) -> &Arc<Ledger> {
        &self.store
    }

    /// An artifact of the epoch: from the ledger, or (for an epoch an older keeper left in flight)
    /// from its file in the work directory.
    async fn read(&self, feed: &str, epoch: u64, kind: &str) -> Result<String, Error> {
        self.read_opt(feed, epoch, kind).await?.ok_or_else(|| {
            Error::Keeper(format!(
                "{kind} of {feed}/{epoch} is neither in the ledger nor in {}",
                self.dir.join(feed).display()
            ))
        })
    }

    /// [`Self::read`], with `None` when neither the ledger nor the work directory has it (a
    /// ledger that fails is an error, never `None`).
    async fn read_opt(&self, feed: &str, epoch: u64, kind: &str) -> Result<Option<String>, Error> {
        if let Some(body) = self.store.artifact(feed, epoch, kind).await.map_err(store_err)? {
            return Ok(Some(body));
        }
        self.legacy_file(feed, epoch, kind)
    }

    /// The file an older keeper kept in the work directory, if there is one.
    fn legacy_file(&self, feed: &str, epoch: u64, kind: &str) -> Result<Option<String>, Error> {
        let path = self.dir.join(feed).join(format!("{epoch:012}.{kind}"));
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path)(e)),
        }
    }

    async fn proven(&self, feed: &str, epoch: u64, proof_hash: &str) -> Result<Proven, Error> {
        let payload = unhex(self.read(feed, epoch, "proof").await?.trim())
            .ok_or_else(|| Error::Keeper(format!("proof of {feed}/{epoch} is corrupt")))?;
        Ok(Proven { proof_hash: proof_hash.to_string(), payload })
    }

    async fn signed(&self, feed: &str, epoch: u64) -> Result<Signed, Error> {
        let text = self.read(feed, epoch, "tx").await?;
        let mut parts = text.trim().splitn(3, ' ');
        let bad = || Error::Keeper(format!("signed transaction of {feed}/{epoch} is corrupt"));
        let tx_hash = parts.next().ok_or_else(bad)?.to_string();
        let nonce = parts.next().and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        let raw = parts.next().and_then(unhex).ok_or_else(bad)?;
        Ok(Signed { tx_hash, nonce, raw })
    }

    /// The ledger artifact of a signed transaction.
    fn signed_artifact(s: &Signed) -> (String, String) {
        ("tx".into(), format!("{} {} {}", s.tx_hash, s.nonce, hex(&s.raw)))
    }

    /// One ledger transition (see [`Ledger::transition`]).
    async fn mv(
        &self,
        feed: &str,
        epoch: u64,
        from: EpochState,
        to: EpochState,
        changes: &Changes,
    ) -> Result<(), Error> {
        self.store.transition(feed, epoch, from, to, changes).await.map_err(store_err)
    }

    async fn fail(&self, feed: &str, epoch: u64, e: &Error) -> Result<Outcome, Error> {
        self.store.record_failure(feed, epoch, &e.to_string()).await.map_err(store_err)?;
        if e.is_retryable() {
            Ok(Outcome::Retry(e.to_string()))
        } else {
            self.skip(feed, epoch, &e.to_string()).await
        }
    }

    async fn skip(&self, feed: &str, epoch: u64, reason: &str) -> Result<Outcome, Error> {
        let rec = self.store.get(feed, epoch).await.map_err(store_err)?;
        if let Some(rec) = rec.filter(|r| !r.state.is_final()) {
            let why = Changes { reason: Some(reason.to_string()), ..Changes::default() };
            self.mv(feed, epoch, rec.state, EpochState::Skipped, &why).await?;
        }
        Ok(Outcome::Skipped(reason.to_string()))
    }

    /// Gives up the lease this runner takes (on a clean stop), so that another keeper can take over
    /// at once. Only the lease of [`Self::with_lease`]: per-feed leases run out.
    ///
    /// # Errors
    /// The ledger fails.
    pub async fn release(&self) -> Result<(), Error> {
        match &self.lease {
            Some(key) => self.store.release_lease(key, &self.holder).await.map_err(store_err),
            None => Ok(()),
        }
    }

    /// Takes or renews the lease `key`; `false` when another keeper holds it.
    async fn renew(&self, key: &str) -> Result<bool, Error> {
        self.store.acquire_lease(key, &self.holder, self.lease_seconds).await.map_err(store_err)
    }

    /// Does the next thing for epoch `epoch` of `feed` at time `now` (Unix seconds); see the
    /// module docs. Call it again until the outcome is final.
    pub async fn step(&self, feed: &FeedSpec, epoch: u64, now: u64) -> Result<Outcome, Error> {
        let name = feed.name.as_str();
        let lease = self.lease.as_deref().unwrap_or(name);
        if !self.renew(lease).await? {
            return Ok(Outcome::NotLeader);
        }
        if self.store.get(name, epoch).await.map_err(store_err)?.is_none() {
            let (block, timestamp) = match self.pipeline.data_block(name, epoch).await {
                Ok(v) => v,
                Err(e) if e.is_retryable() => return Ok(Outcome::Retry(e.to_string())),
                Err(e) => return Err(e),
            };
            self.store.plan(name, epoch, block, timestamp).await.map_err(store_err)?;
        }
        loop {
            let rec = self.store.get(name, epoch).await.map_err(store_err)?.ok_or_else(|| {
                Error::Keeper(format!("epoch {epoch} of {name} vanished from the ledger"))
            })?;
            // An epoch planned by an older keeper has its data time in a file (never in the
            // ledger); one without any is treated as stale (time 0), so it is skipped, never sent
            // blind.
            let data_time = match rec.data_time {
                0 if !rec.state.is_final() => self
                    .legacy_file(name, epoch, "time")?
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(0),
                t => t,
            };
            let stale = now.saturating_sub(data_time) > feed.max_data_age;
            match rec.state {
                EpochState::Confirmed => return Ok(Outcome::Confirmed { block: rec.mined_block }),
                EpochState::Skipped => return Ok(Outcome::Skipped(rec.reason.unwrap_or_default())),
                EpochState::Pending | EpochState::Proven if stale => {
                    let why = if data_time == 0 {
                        format!(
                            "the time of the data of block {} is not known: it cannot be shown fresh",
                            rec.data_block
                        )
                    } else {
                        format!(
                            "data of block {} is {} s old, over max_data_age {} s{}",
                            rec.data_block,
                            now.saturating_sub(data_time),
                            feed.max_data_age,
                            rec.reason.map(|r| format!("; last error: {r}")).unwrap_or_default()
                        )
                    };
                    return self.skip(name, epoch, &why).await;
                }
                EpochState::Pending => {
                    let proven = match self.pipeline.prove(name, epoch, rec.data_block).await {
                        Ok(p) => p,
                        Err(e) => return self.fail(name, epoch, &e).await,
                    };
                    let c = Changes {
                        proof_hash: Some(proven.proof_hash),
                        artifacts: vec![("proof".into(), hex(&proven.payload))],
                        ..Changes::default()
                    };
                    self.mv(name, epoch, EpochState::Pending, EpochState::Proven, &c).await?;
                }
                EpochState::Proven => {
                    match self.chain.onchain_epoch(name).await {
                        Ok(on) if on == epoch => {
                            let c = Changes {
                                reason: Some(format!("chain already at epoch {on}")),
                                ..Changes::default()
                            };
                            self.mv(name, epoch, EpochState::Proven, EpochState::Confirmed, &c)
                                .await?;
                            continue;
                        }
                        Ok(on) if on > epoch => {
                            return self
                                .skip(
                                    name,
                                    epoch,
                                    &format!("superseded: the chain already holds epoch {on}"),
                                )
                                .await;
                        }
                        Ok(_) => {}
                        Err(e) => return self.fail(name, epoch, &e).await,
                    }
                    let proven =
                        self.proven(name, epoch, rec.proof_hash.as_deref().unwrap_or("")).await?;
                    // Proving may have taken a while: renew the lease right before signing, so that
                    // no other keeper can have taken the wallet over since.
                    if !self.renew(lease).await? {
                        return Ok(Outcome::NotLeader);
                    }
                    let min_nonce =
                        self.store.last_nonce().await.map_err(store_err)?.map_or(0, |n| n + 1);
                    let signed = match self.chain.sign(&proven, min_nonce).await {
                        Ok(s) => s,
                        Err(e) => return self.fail(name, epoch, &e).await,
                    };
                    // Hash, nonce and the signed bytes reach the ledger before the transaction
                    // leaves; a keeper that lost the move to another sends nothing.
                    let c = Changes {
                        tx_hash: Some(signed.tx_hash.clone()),
                        nonce: Some(signed.nonce),
                        artifacts: vec![Self::signed_artifact(&signed)],
                        ..Changes::default()
                    };
                    self.mv(name, epoch, EpochState::Proven, EpochState::Submitted, &c).await?;
                    if let Err(e) = self.chain.broadcast(&signed).await {
                        return self.fail(name, epoch, &e).await;
                    }
                }
                EpochState::Submitted => {
                    let signed = self.signed(name, epoch).await?;
                    match self.chain.status(&signed.tx_hash).await {
                        Err(e) => return self.fail(name, epoch, &e).await,
                        Ok(TxStatus::Mined { block, confirmations, success: true }) => {
                            if confirmations < self.confirmations {
                                return Ok(Outcome::Waiting);
                            }
                            let c = Changes { mined_block: Some(block), ..Changes::default() };
                            self.mv(name, epoch, EpochState::Submitted, EpochState::Confirmed, &c)
                                .await?;
                        }
                        Ok(TxStatus::Mined { block, success: false, .. }) => {
                            // Reverted: the chain may hold the epoch from another submitter.
                            let on = self.chain.onchain_epoch(name).await.unwrap_or(0);
                            if on == epoch {
                                let c = Changes {
                                    reason: Some(format!(
                                        "own transaction reverted in block {block}; chain already at epoch {on}"
                                    )),
                                    ..Changes::default()
                                };
                                self.mv(
                                    name,
                                    epoch,
                                    EpochState::Submitted,
                                    EpochState::Confirmed,
                                    &c,
                                )
                                .await?;
                            } else {
                                let why = if on > epoch {
                                    format!("; superseded: the chain holds epoch {on}")
                                } else {
                                    String::new()
                                };
                                return self
                                    .skip(
                                        name,
                                        epoch,
                                        &format!(
                                            "transaction {} reverted in block {block}{why}",
                                            signed.tx_hash
                                        ),
                                    )
                                    .await;
                            }
                        }
                        Ok(TxStatus::Unknown) => {
                            if stale {
                                return self
                                    .skip(name, epoch, "transaction lost and data now stale")
                                    .await;
                            }
                            if let Err(e) = self.chain.broadcast(&signed).await {
                                return self.fail(name, epoch, &e).await;
                            }
                            return Ok(Outcome::Waiting);
                        }
                        Ok(TxStatus::Pending { seconds }) => {
                            if seconds >= self.replace_after {
                                let proven = self
                                    .proven(name, epoch, rec.proof_hash.as_deref().unwrap_or(""))
                                    .await?;
                                let bumped = match self.chain.bump(&proven, &signed).await {
                                    Ok(b) => b,
                                    Err(e) => return self.fail(name, epoch, &e).await,
                                };
                                let c = Changes {
                                    tx_hash: Some(bumped.tx_hash.clone()),
                                    artifacts: vec![Self::signed_artifact(&bumped)],
                                    // The ledger's own record, whatever the file of an older
                                    // keeper says.
                                    if_tx_hash: rec.tx_hash.clone(),
                                    ..Changes::default()
                                };
                                self.mv(
                                    name,
                                    epoch,
                                    EpochState::Submitted,
                                    EpochState::Submitted,
                                    &c,
                                )
                                .await?;
                                if let Err(e) = self.chain.broadcast(&bumped).await {
                                    return self.fail(name, epoch, &e).await;
                                }
                            }
                            return Ok(Outcome::Waiting);
                        }
                    }
                }
            }
        }
    }
}

fn store_err(e: StoreError) -> Error {
    Error::Keeper(e.to_string())
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        sync::{
            Mutex,
            atomic::{AtomicU32, Ordering},
        },
    };

    use super::*;
    use crate::keeper::store::Store;

    /// A chain that isolates the faults the runner must survive: a mempool, mining on demand,
    /// lost broadcasts, and an oracle that accepts only newer epochs.
    #[derive(Default)]
    struct FakeChain {
        s: Mutex<ChainState>,
    }

    #[derive(Default)]
    struct ChainState {
        block: u64,
        onchain_epoch: u64,
        next_nonce: u64,
        pool: HashMap<String, (Signed, u64)>,
        mined: HashMap<String, (u64, bool)>,
        applied: Vec<u64>,
        lose_broadcasts: u32,
        pending_age: u64,
        fee_level: u64,
    }

    fn epoch_of(payload: &[u8]) -> u64 {
        u64::from_le_bytes(payload[..8].try_into().unwrap())
    }

    impl FakeChain {
        fn mine(&self, blocks: u64) {
            let mut s = self.s.lock().unwrap();
            s.block += 1;
            let mut pool: Vec<(Signed, u64)> = s.pool.values().cloned().collect();
            pool.sort_by_key(|(t, _)| (t.nonce, std::cmp::Reverse(t.tx_hash.clone())));
            for (tx, epoch) in pool {
                if tx.nonce != s.next_nonce {
                    continue;
                }
                let ok = epoch > s.onchain_epoch;
                if ok {
                    s.onchain_epoch = epoch;
                    s.applied.push(epoch);
                }
                s.next_nonce += 1;
                let block = s.block;
                s.mined.insert(tx.tx_hash.clone(), (block, ok));
                s.pool.retain(|_, (t, _)| t.nonce != tx.nonce);
            }
            s.block += blocks - 1;
        }
    }

    impl Chain for FakeChain {
        async fn onchain_epoch(&self, _: &str) -> Result<u64, Error> {
            Ok(self.s.lock().unwrap().onchain_epoch)
        }
        async fn sign(&self, p: &Proven, min_nonce: u64) -> Result<Signed, Error> {
            let s = self.s.lock().unwrap();
            let nonce = s.next_nonce.max(min_nonce);
            let tx_hash = format!("0x{}-{nonce}-{}", epoch_of(&p.payload), s.fee_level);
            Ok(Signed { tx_hash, nonce, raw: p.payload.clone() })
        }
        async fn broadcast(&self, t: &Signed) -> Result<(), Error> {
            let mut s = self.s.lock().unwrap();
            if s.lose_broadcasts > 0 {
                s.lose_broadcasts -= 1;
                return Ok(()); // accepted by the RPC, then lost before any node saw it
            }
            if !s.mined.contains_key(&t.tx_hash) {
                s.pool.insert(t.tx_hash.clone(), (t.clone(), epoch_of(&t.raw)));
            }
            Ok(())
        }
        async fn bump(&self, p: &Proven, stuck: &Signed) -> Result<Signed, Error> {
            let mut s = self.s.lock().unwrap();
            s.fee_level += 1;
            let tx_hash = format!("0x{}-{}-{}", epoch_of(&p.payload), stuck.nonce, s.fee_level);
            Ok(Signed { tx_hash, nonce: stuck.nonce, raw: p.payload.clone() })
        }
        async fn status(&self, h: &str) -> Result<TxStatus, Error> {
            let s = self.s.lock().unwrap();
            Ok(match (s.mined.get(h), s.pool.contains_key(h)) {
                (Some((b, ok)), _) => {
                    TxStatus::Mined { block: *b, confirmations: s.block - b + 1, success: *ok }
                }
                (None, true) => TxStatus::Pending { seconds: s.pending_age },
                (None, false) => TxStatus::Unknown,
            })
        }
    }

    /// Data at block 10·epoch, time 1000·epoch; the prover fails `failures` times first, and
    /// proofs of the feed `weth` take `slow_ms`.
    #[derive(Default)]
    struct FakePipeline {
        failures: AtomicU32,
        proofs: AtomicU32,
        slow_ms: std::sync::atomic::AtomicU64,
    }

    impl Pipeline for FakePipeline {
        async fn data_block(&self, _: &str, epoch: u64) -> Result<(u64, u64), Error> {
            Ok((10 * epoch, 1_000 * epoch))
        }
        async fn prove(&self, feed: &str, epoch: u64, _: u64) -> Result<Proven, Error> {
            let slow = self.slow_ms.load(Ordering::SeqCst);
            if feed == FEED && slow > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(slow)).await;
            }
            if self.failures.load(Ordering::SeqCst) > 0 {
                self.failures.fetch_sub(1, Ordering::SeqCst);
                return Err(Error::Timeout { method: "prove".into(), seconds: 1 });
            }
            self.proofs.fetch_add(1, Ordering::SeqCst);
            Ok(Proven {
                proof_hash: format!("0xproof{epoch}"),
                payload: epoch.to_le_bytes().to_vec(),
            })
        }
    }

    const FEED: &str = "weth";

    fn spec() -> FeedSpec {
        FeedSpec { name: FEED.into(), max_data_age: 500 }
    }

    fn runner<'a>(
        dir: &std::path::Path,
        chain: &'a FakeChain,
        pipeline: &'a FakePipeline,
        holder: &str,
    ) -> Runner<&'a FakePipeline, &'a FakeChain> {
        runner_in(dir, &dir.join("artifacts"), chain, pipeline, holder)
    }

    /// A runner on the ledger in `dir` whose own work directory is `work` (another host's).
    fn runner_in<'a>(
        dir: &std::path::Path,
        work: &std::path::Path,
        chain: &'a FakeChain,
        pipeline: &'a FakePipeline,
        holder: &str,
    ) -> Runner<&'a FakePipeline, &'a FakeChain> {
        let store = Arc::new(Ledger::Sqlite(Store::open(&dir.join("keeper.sqlite")).unwrap()));
        Runner::new(store, pipeline, chain, work.to_path_buf(), holder, 2, 30)
    }

    impl<T: Pipeline> Pipeline for &T {
        async fn data_block(&self, f: &str, e: u64) -> Result<(u64, u64), Error> {
            (*self).data_block(f, e).await
        }
        async fn prove(&self, f: &str, e: u64, b: u64) -> Result<Proven, Error> {
            (*self).prove(f, e, b).await
        }
    }

    impl<T: Chain> Chain for &T {
        async fn onchain_epoch(&self, f: &str) -> Result<u64, Error> {
            (*self).onchain_epoch(f).await
        }
        async fn sign(&self, p: &Proven, n: u64) -> Result<Signed, Error> {
            (*self).sign(p, n).await
        }
        async fn broadcast(&self, t: &Signed) -> Result<(), Error> {
            (*self).broadcast(t).await
        }
        async fn bump(&self, p: &Proven, t: &Signed) -> Result<Signed, Error> {
            (*self).bump(p, t).await
        }
        async fn status(&self, h: &str) -> Result<TxStatus, Error> {
            (*self).status(h).await
        }
    }

    #[tokio::test]
    async fn an_epoch_is_proven_submitted_and_confirmed_once() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        let r = runner(dir.path(), &chain, &pipeline, "a");
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting);
        chain.mine(1);
        assert_eq!(
            r.step(&spec(), 1, 1_100).await.unwrap(),
            Outcome::Waiting,
            "1 of 2 confirmations"
        );
        chain.mine(1);
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Confirmed { block: Some(1) });
        assert_eq!(r.step(&spec(), 1, 9_999).await.unwrap(), Outcome::Confirmed { block: Some(1) });
        assert_eq!(chain.s.lock().unwrap().applied, vec![1]);
        assert_eq!(pipeline.proofs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_lost_transaction_is_sent_again_with_the_same_nonce_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        // The first send and its immediate retry both vanish (the RPC died with them).
        chain.s.lock().unwrap().lose_broadcasts = 2;
        let r = runner(dir.path(), &chain, &pipeline, "a");
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting);
        chain.mine(2);
        assert!(chain.s.lock().unwrap().applied.is_empty());
        drop(r); // the keeper process is killed and started again
        let r = runner(dir.path(), &chain, &pipeline, "a");
        // Unknown to the node: the same signed transaction goes out again.
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting);
        chain.mine(2);
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Confirmed { block: Some(3) });
        let s = chain.s.lock().unwrap();
        assert_eq!((s.applied.clone(), s.next_nonce), (vec![1], 1), "one epoch, one nonce");
    }

    #[tokio::test]
    async fn a_stuck_transaction_is_replaced_and_only_one_is_mined() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        let r = runner(dir.path(), &chain, &pipeline, "a");
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting);
        chain.s.lock().unwrap().pending_age = 31;
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting);
        let rec = r.store.get(FEED, 1).await.unwrap().unwrap();
        assert_eq!(rec.tx_hash.as_deref(), Some("0x1-0-1"), "the bumped replacement is tracked");
        chain.mine(2);
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Confirmed { block: Some(1) });
        assert_eq!(chain.s.lock().unwrap().applied, vec![1]);
    }

    #[tokio::test]
    async fn prover_failures_are_retried_then_a_stale_epoch_is_skipped_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        pipeline.failures.store(5, Ordering::SeqCst);
        let r = runner(dir.path(), &chain, &pipeline, "a");
        assert!(matches!(r.step(&spec(), 2, 2_100).await.unwrap(), Outcome::Retry(_)));
        assert!(matches!(r.step(&spec(), 2, 2_200).await.unwrap(), Outcome::Retry(_)));
        // Past the freshness window (data at t = 2000, max age 500): skipped, never submitted.
        let Outcome::Skipped(reason) = r.step(&spec(), 2, 2_501).await.unwrap() else {
            panic!("expected a skip")
        };
        assert!(reason.contains("max_data_age") && reason.contains("timed out"), "{reason}");
        let rec = r.store.get(FEED, 2).await.unwrap().unwrap();
        assert_eq!((rec.state, rec.attempts), (EpochState::Skipped, 2));
        assert!(chain.s.lock().unwrap().applied.is_empty());
    }

    #[tokio::test]
    async fn an_epoch_already_on_chain_is_confirmed_without_a_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        chain.s.lock().unwrap().onchain_epoch = 3;
        let r = runner(dir.path(), &chain, &pipeline, "a");
        assert_eq!(r.step(&spec(), 3, 3_100).await.unwrap(), Outcome::Confirmed { block: None });
        assert_eq!(chain.s.lock().unwrap().next_nonce, 0, "nothing was sent");
    }

    #[tokio::test]
    async fn an_epoch_overtaken_on_chain_is_skipped_as_superseded_not_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        chain.s.lock().unwrap().onchain_epoch = 4;
        let r = runner(dir.path(), &chain, &pipeline, "a");
        let Outcome::Skipped(reason) = r.step(&spec(), 3, 3_100).await.unwrap() else {
            panic!("expected a skip")
        };
        assert!(reason.contains("superseded") && reason.contains("epoch 4"), "{reason}");
        assert_eq!(r.store.get(FEED, 3).await.unwrap().unwrap().state, EpochState::Skipped);
        assert_eq!(chain.s.lock().unwrap().next_nonce, 0, "nothing was sent");
    }

    #[tokio::test]
    async fn one_lease_can_cover_every_feed_of_a_wallet() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        let a = runner(dir.path(), &chain, &pipeline, "keeper-a").with_lease("wallet", 60);
        let b = runner(dir.path(), &chain, &pipeline, "keeper-b").with_lease("wallet", 60);
        assert_eq!(a.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting);
        let other = FeedSpec { name: "wbtc".into(), max_data_age: 500 };
        assert_eq!(b.step(&other, 1, 1_100).await.unwrap(), Outcome::NotLeader);
    }

    #[tokio::test]
    async fn two_keepers_on_one_ledger_do_not_both_submit() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        let a = runner(dir.path(), &chain, &pipeline, "keeper-a");
        let b = runner(dir.path(), &chain, &pipeline, "keeper-b");
        assert_eq!(a.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting);
        assert_eq!(b.step(&spec(), 1, 1_100).await.unwrap(), Outcome::NotLeader);
        chain.mine(2);
        assert_eq!(a.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Confirmed { block: Some(1) });
        assert_eq!(chain.s.lock().unwrap().applied, vec![1]);
        assert_eq!(pipeline.proofs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_keeper_on_another_host_takes_over_a_submission_from_the_ledger_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        let (host_a, host_b) = (dir.path().join("host-a"), dir.path().join("host-b"));
        let a = runner_in(dir.path(), &host_a, &chain, &pipeline, "a").with_lease("wallet", 60);
        let b = runner_in(dir.path(), &host_b, &chain, &pipeline, "b").with_lease("wallet", 60);
        chain.s.lock().unwrap().lose_broadcasts = 1;
        assert_eq!(a.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting);
        assert_eq!(b.step(&spec(), 1, 1_100).await.unwrap(), Outcome::NotLeader);
        // The leader stops with its only broadcast lost; its lease goes.
        a.store.release_lease("wallet", "a").await.unwrap();
        drop(a);
        assert_eq!(b.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting, "sent again");
        chain.mine(2);
        assert_eq!(b.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Confirmed { block: Some(1) });
        let s = chain.s.lock().unwrap();
        assert_eq!((s.applied.clone(), s.next_nonce), (vec![1], 1), "one epoch, one nonce");
        assert_eq!(pipeline.proofs.load(Ordering::SeqCst), 1, "b did not prove again");
        assert!(!host_b.exists() && !host_a.exists(), "nothing needed a work directory");
    }

    #[tokio::test]
    async fn an_epoch_a_version_1_keeper_left_in_flight_resumes_from_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        // What a keeper before ledger schema 2 left: the epoch proven in the ledger, its data time
        // and calldata in files of the work directory.
        let store = Store::open(&dir.path().join("keeper.sqlite")).unwrap();
        store.plan(FEED, 1, 10, 0).unwrap();
        let c = Changes { proof_hash: Some("0xproof1".into()), ..Changes::default() };
        store.transition(FEED, 1, EpochState::Pending, EpochState::Proven, &c).unwrap();
        drop(store);
        let files = dir.path().join("artifacts").join(FEED);
        std::fs::create_dir_all(&files).unwrap();
        std::fs::write(files.join("000000000001.time"), "1000").unwrap();
        std::fs::write(files.join("000000000001.proof"), hex(&1u64.to_le_bytes())).unwrap();
        let r = runner(dir.path(), &chain, &pipeline, "a");
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting);
        chain.mine(2);
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Confirmed { block: Some(1) });
        assert_eq!(chain.s.lock().unwrap().applied, vec![1]);
        assert_eq!(pipeline.proofs.load(Ordering::SeqCst), 0, "the old proof was used");
        // Its data time came from the file: past the window it would have been skipped.
        std::fs::write(files.join("000000000002.time"), "1000").unwrap();
        let store = Store::open(&dir.path().join("keeper.sqlite")).unwrap();
        store.plan(FEED, 2, 20, 0).unwrap();
        let Outcome::Skipped(why) = r.step(&spec(), 2, 1_501).await.unwrap() else {
            panic!("expected a skip")
        };
        assert!(why.contains("block 20 is 501 s old"), "{why}");
        // An epoch whose data time is nowhere is skipped, not sent.
        store.plan(FEED, 3, 30, 0).unwrap();
        let Outcome::Skipped(why) = r.step(&spec(), 3, 1_501).await.unwrap() else {
            panic!("expected a skip")
        };
        assert!(why.contains("data of block 30 is not known"), "{why}");
        assert_eq!(chain.s.lock().unwrap().applied, vec![1]);
    }

    #[tokio::test]
    async fn a_keeper_whose_lease_ran_out_while_it_proved_does_not_sign() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        pipeline.slow_ms.store(2_600, Ordering::SeqCst);
        let a = runner(dir.path(), &chain, &pipeline, "a").with_lease("wallet", 1);
        let b = runner(dir.path(), &chain, &pipeline, "b").with_lease("wallet", 60);
        let (weth, other) = (spec(), FeedSpec { name: "wbtc".into(), max_data_age: 500 });
        let (outcome_a, outcome_b) = tokio::join!(a.step(&weth, 1, 1_100), async {
            // While a proves, its one-second lease runs out and b takes the wallet.
            tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
            b.step(&other, 1, 1_100).await
        });
        assert_eq!(outcome_b.unwrap(), Outcome::Waiting, "b signed and sent");
        assert_eq!(outcome_a.unwrap(), Outcome::NotLeader, "a stopped before signing");
        let rec = a.store.get(FEED, 1).await.unwrap().unwrap();
        assert_eq!((rec.state, rec.nonce), (EpochState::Proven, None), "a's proof kept, unsent");
        assert_eq!(chain.s.lock().unwrap().pool.len(), 1, "one transaction in the pool");
    }

    #[tokio::test]
    async fn a_transaction_lost_for_good_leaves_no_nonce_gap_for_the_next_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, pipeline) = (FakeChain::default(), FakePipeline::default());
        chain.s.lock().unwrap().lose_broadcasts = u32::MAX;
        let r = runner(dir.path(), &chain, &pipeline, "a");
        assert_eq!(r.step(&spec(), 1, 1_100).await.unwrap(), Outcome::Waiting);
        let Outcome::Skipped(why) = r.step(&spec(), 1, 1_501).await.unwrap() else {
            panic!("expected a skip")
        };
        assert!(why.contains("lost"), "{why}");
        // Nonce 0 was never used on chain: the next epoch must take it, or it is never mined.
        chain.s.lock().unwrap().lose_broadcasts = 0;
        assert_eq!(r.step(&spec(), 2, 2_100).await.unwrap(), Outcome::Waiting);
        chain.mine(2);
        assert_eq!(r.step(&spec(), 2, 2_100).await.unwrap(), Outcome::Confirmed { block: Some(1) });
        let s = chain.s.lock().unwrap();
        assert_eq!((s.applied.clone(), s.next_nonce), (vec![2], 1));
    }
}
