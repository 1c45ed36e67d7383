//! The real halves of the [`Runner`](super::runner::Runner): [`LivePipeline`] makes an epoch's
//! proven update (ingest → features → scores → proof → `submit` calldata) and [`AlloyChain`]
//! sends it (`RiskOracle` epoch, [`TxSender`]).
//!
//! One keeper proves one or more *markets*: a feed of `keeper.toml` and one of its reserves, named
//! `feed/SYMBOL` in the ledger, logs and metrics. Every market of the process shares one ingested
//! copy of the Pool's events and one prover worker.

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::Arc,
    time::Instant,
};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, Bytes, keccak256},
    providers::{DynProvider, Provider},
    sol_types::SolCall,
};
use tokio::sync::Mutex;
use tracing::{debug, info, warn};
use zkrisk_models::{LogisticModel, policy};
use zkrisk_pipeline::{aave::store, features};

use super::{
    metrics::Metrics,
    runner::{Chain, Pipeline, Proven, Signed, TxStatus},
    tx::TxSender,
};
use crate::{
    Error,
    chain::{self, RiskOracle, UpdateContext, revert_error},
    ingest::{self, IngestConfig, ToBlock},
    prover::{self, Circuit, EzklWorker, Prover, WorkerConfig},
};

/// An update stays acceptable (and executable by the steward) this long after its data at least.
pub const MIN_VALIDITY_SECONDS: u64 = 86_400;

/// One market the keeper proves: a feed's model applied to one reserve.
#[derive(Debug, Clone)]
pub struct Market {
    /// Ledger name, `feed/SYMBOL`.
    pub name: String,
    /// The reserve's symbol.
    pub symbol: String,
    /// The reserve's underlying token: the oracle's market key.
    pub asset: Address,
    /// The oracle's price source for the market (checked against the update's price).
    pub price_source: Address,
    /// The model's id in the oracle's registry.
    pub model_id: u32,
    /// Oldest data (seconds) an update may carry.
    pub max_data_age: u64,
    /// Scores per proof.
    pub batch: usize,
    /// The model.
    pub model: Arc<LogisticModel>,
    /// Its circuit (the registered verifier is this circuit's).
    pub circuit: Circuit,
}

/// Ingest, features, scores and proof of the keeper's markets.
pub struct LivePipeline {
    provider: DynProvider,
    rpc_url: String,
    pool: Address,
    from_block: u64,
    confirmations: u64,
    data_dir: PathBuf,
    runs_dir: PathBuf,
    markets: HashMap<String, Market>,
    worker: Mutex<Option<EzklWorker>>,
    worker_config: WorkerConfig,
    sync_lock: Mutex<()>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for LivePipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LivePipeline")
            .field("rpc", &ingest::redact_url(&self.rpc_url))
            .field("pool", &self.pool)
            .field("markets", &self.markets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn rpc(what: &'static str) -> impl FnOnce(alloy::transports::TransportError) -> Error {
    move |e| Error::Rpc(format!("{what}: {e}"))
}

/// `(block, timestamp)` of block `n`.
pub async fn block_time(provider: &DynProvider, n: u64) -> Result<u64, Error> {
    let b = provider
        .get_block_by_number(BlockNumberOrTag::Number(n))
        .await
        .map_err(rpc("block"))?
        .ok_or_else(|| Error::Rpc(format!("block {n} not found")))?;
    Ok(b.header.timestamp)
}

impl LivePipeline {
    /// A pipeline over the Pool at `pool`, keeping its data under `work_dir` (`data/` for the
    /// ingested events, `runs/` for proof inputs and outputs).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        provider: DynProvider,
        rpc_url: String,
        pool: Address,
        from_block: u64,
        confirmations: u64,
        work_dir: &std::path::Path,
        worker_config: WorkerConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            provider,
            rpc_url,
            pool,
            from_block,
            confirmations,
            data_dir: work_dir.join("data"),
            runs_dir: work_dir.join("runs"),
            markets: HashMap::new(),
            worker: Mutex::new(None),
            worker_config,
            sync_lock: Mutex::new(()),
            metrics,
        }
    }

    /// Hands over a running prover worker (otherwise one is started at the first proof, and again
    /// after one dies).
    pub fn set_worker(&mut self, worker: EzklWorker) {
        self.worker = Mutex::new(Some(worker));
    }

    /// Adds a market.
    pub fn add_market(&mut self, m: Market) {
        self.markets.insert(m.name.clone(), m);
    }

    /// The markets, by ledger name.
    pub const fn markets(&self) -> &HashMap<String, Market> {
        &self.markets
    }

    /// Where the ingested events are.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Ingests the Pool's events up to block `to` (nothing when the data already reaches it).
    ///
    /// # Errors
    /// Those of [`ingest::ingest`]: transient RPC failures are retryable.
    pub async fn sync(&self, to: u64) -> Result<(), Error> {
        let _one = self.sync_lock.lock().await;
        if let Some(c) = store::read_checkpoint(&self.data_dir)?
            && c.next_block > to
        {
            return Ok(());
        }
        let mut cfg = IngestConfig::new(
            self.rpc_url.clone(),
            self.pool,
            self.from_block,
            ToBlock::Number(to),
            &self.data_dir,
        );
        cfg.confirmations = self.confirmations;
        cfg.concurrency = 1;
        cfg.attempts = 3;
        let report = ingest::ingest(&cfg, &mut |p| {
            debug!(block = p.block, to = p.to_block, logs = p.logs, "ingesting");
        })
        .await?;
        debug!(to = report.to_block, "ingested");
        Ok(())
    }

    /// Head block and the lag of the ingested data behind it, into the metrics.
    pub async fn observe_head(&self) -> Result<(u64, u64), Error> {
        let head = self.provider.get_block_number().await.map_err(rpc("head"))?;
        let time = block_time(&self.provider, head).await?;
        self.metrics.set("zkrisk_keeper_head_block", &[], head as f64);
        if let Ok(Some(c)) = store::read_checkpoint(&self.data_dir) {
            let lag = head.saturating_sub(c.next_block.saturating_sub(1));
            self.metrics.set("zkrisk_keeper_lag_blocks", &[], lag as f64);
        }
        Ok((head, time))
    }
}

impl Pipeline for LivePipeline {
    async fn data_block(&self, _feed: &str, _epoch: u64) -> Result<(u64, u64), Error> {
        let head = self.provider.get_block_number().await.map_err(rpc("head"))?;
        let block = head.saturating_sub(self.confirmations);
        Ok((block, block_time(&self.provider, block).await?))
    }

    async fn prove(&self, feed: &str, epoch: u64, data_block: u64) -> Result<Proven, Error> {
        let m = self
            .markets
            .get(feed)
            .ok_or_else(|| Error::Keeper(format!("no market `{feed}` in this keeper")))?;
        self.sync(data_block).await?;
        let mut data = store::load(&self.data_dir)?;
        data.records.retain(|r| r.meta.block_number <= data_block);
        let all = features::aave_latest_features(&data, &format!("{:#x}", m.asset))?;
        let names: Vec<&str> = m.model.features.iter().map(String::as_str).collect();
        let x_all = all.select(&names)?;
        let cols = x_all.cols;
        // The largest borrowers first (ties by address): the accounts whose risk moves the market.
        let mut rows: Vec<usize> = (0..all.rows).collect();
        rows.sort_by(|a, b| {
            all.debt[*b]
                .total_cmp(&all.debt[*a])
                .then_with(|| all.accounts[*a].cmp(&all.accounts[*b]))
        });
        if rows.len() < m.batch {
            return Err(Error::Input(format!(
                "{feed}: {} accounts have debt at block {data_block}; the circuit proves batches of {}",
                rows.len(),
                m.batch
            )));
        }
        rows.truncate(m.batch);
        let x: Vec<f64> = rows
            .iter()
            .flat_map(|i| x_all.values[i * cols..(i + 1) * cols].iter().copied())
            .collect();
        let native = m.model.predict_proba(&x)?;

        let dir = self.runs_dir.join(feed).join(format!("{epoch:012}"));
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        let input = dir.join("input.json");
        prover::write_input(&input, &x)?;
        let started = Instant::now();
        let proof = {
            let mut worker = self.worker.lock().await;
            if worker.is_none() {
                *worker = Some(EzklWorker::start(self.worker_config.clone()).await?);
            }
            let w = worker.as_mut().expect("started above");
            w.prove(&m.circuit, &input, &dir.join("proof.json")).await?
        };
        let seconds = started.elapsed().as_secs_f64();
        self.metrics.proof(feed, seconds);

        let bits = u8::try_from(m.circuit.score_bits()).map_err(|_| {
            Error::Keeper(format!("output scale {} too large", m.circuit.score_bits()))
        })?;
        let link = m.circuit.kind.link();
        let scores = proof.instances.clone();
        let (probabilities, prob_bits) = policy::probabilities(&scores, bits, link)
            .map_err(|e| Error::Keeper(format!("{feed}: a proof output is not a score: {e}")))?;
        let err = policy::max_abs_error(&native, &probabilities, prob_bits);
        if err > 1e-2 {
            warn!(feed, epoch, max_abs_error = err, "proven scores differ from the native model");
        }
        let timestamp = block_time(&self.provider, data_block).await?;
        let ctx = UpdateContext {
            model_id: m.model_id,
            data_block,
            valid_until: timestamp + m.max_data_age.max(MIN_VALIDITY_SECONDS),
            collateral_price: chain::aggregator_price(&self.provider, m.price_source).await?,
        };
        let update = chain::update_for(m.asset, epoch, timestamp, &scores, bits, link, &ctx)?;
        let mean = probabilities.iter().sum::<u64>() as f64
            / probabilities.len() as f64
            / (1u64 << prob_bits) as f64;
        info!(
            feed,
            epoch,
            data_block,
            prove_seconds = seconds,
            mean_score = mean,
            ltv = update.params.ltv,
            liquidation_threshold = update.params.liquidationThreshold,
            "epoch proven"
        );
        let calldata =
            RiskOracle::submitCall { update, proof: Bytes::copy_from_slice(&proof.proof) }
                .abi_encode();
        Ok(Proven { proof_hash: format!("{:#x}", keccak256(&proof.proof)), payload: calldata })
    }
}

/// `RiskOracle` and the keeper's transactions.
pub struct AlloyChain {
    provider: DynProvider,
    oracle: Address,
    tx: TxSender,
    assets: HashMap<String, Address>,
    metrics: Arc<Metrics>,
    /// Sign and simulate, never send.
    dry_run: bool,
    mined: std::sync::Mutex<HashSet<String>>,
}

impl std::fmt::Debug for AlloyChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlloyChain").field("oracle", &self.oracle).field("tx", &self.tx).finish()
    }
}

impl AlloyChain {
    /// The chain side of `markets` (ledger name → asset); `dry_run` never broadcasts.
    pub fn new(
        provider: DynProvider,
        oracle: Address,
        tx: TxSender,
        assets: HashMap<String, Address>,
        metrics: Arc<Metrics>,
        dry_run: bool,
    ) -> Self {
        Self { provider, oracle, tx, assets, metrics, dry_run, mined: Default::default() }
    }

    /// The sending address.
    pub const fn from(&self) -> Address {
        self.tx.from()
    }
}

impl Chain for AlloyChain {
    async fn onchain_epoch(&self, feed: &str) -> Result<u64, Error> {
        let asset = self
            .assets
            .get(feed)
            .ok_or_else(|| Error::Keeper(format!("no market `{feed}` in this keeper")))?;
        let o = RiskOracle::new(self.oracle, self.provider.clone());
        Ok(o.marketState(*asset).call().await.map_err(revert_error)?.epoch)
    }

    async fn sign(&self, proven: &Proven, min_nonce: u64) -> Result<Signed, Error> {
        self.tx.sign(&proven.payload, min_nonce).await
    }

    async fn broadcast(&self, signed: &Signed) -> Result<(), Error> {
        if self.dry_run {
            info!(tx = %signed.tx_hash, nonce = signed.nonce, "dry run: not sent");
            return Ok(());
        }
        self.tx.broadcast(signed).await
    }

    async fn bump(&self, _proven: &Proven, stuck: &Signed) -> Result<Signed, Error> {
        self.tx.bump(stuck).await
    }

    async fn status(&self, tx_hash: &str) -> Result<TxStatus, Error> {
        let status = self.tx.status(tx_hash).await?;
        if let TxStatus::Mined { success: true, .. } = status {
            let first = self
                .mined
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(tx_hash.to_string());
            if first
                && let Ok(hash) = tx_hash.parse()
                && let Ok(Some(r)) = self.provider.get_transaction_receipt(hash).await
            {
                self.metrics.add("zkrisk_keeper_gas_used_total", &[], r.gas_used as f64);
                self.metrics.set("zkrisk_keeper_last_gas_used", &[], r.gas_used as f64);
                for refusal in chain::steward_refusals(&r) {
                    warn!(
                        tx = tx_hash,
                        "recorded on chain, but the steward queued nothing: {refusal}"
                    );
                    self.metrics.add("zkrisk_keeper_steward_refusals_total", &[], 1.0);
                }
            }
        }
        Ok(status)
    }
}
