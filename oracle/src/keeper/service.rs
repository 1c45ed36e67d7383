//! `zkrisk keeper --config keeper.toml`: the long-running service.
//!
//! **Start.** Every check that can fail before the first epoch fails here, with an error that
//! names what is wrong: the RPC's chain id against `chain.chain_id`; the signing key (a keystore
//! that does not decrypt); `chain.oracle` without code, or a wallet that is not one of its keepers;
//! a wallet that cannot pay for one submission at the current fees; a market that is not a reserve
//! of the Pool, is not configured in the oracle, or is configured for another model; a model that is
//! not active or whose batch or output scale differ from the feed's circuit; and a registered
//! verifier whose code is not the circuit's verifier.
//!
//! **Schedule.** tokio-cron-scheduler fires each feed's cron schedule; a tick at time `t` is
//! epoch `t` (Unix seconds) of each of the feed's markets. One driver task takes the ticks and, every
//! `poll_seconds`, drives each epoch in flight one [`Runner::step`] further, oldest first. Only the
//! newest unsent epoch of a market is worth proving (the oracle keeps the latest): older ones are
//! skipped as superseded.
//!
//! **Retries.** An epoch that fails with a retryable error (RPC, prover worker) is tried again after
//! an exponential backoff with jitter (1 s doubling to 60 s, ±50 %), until its data is too old; then
//! it is skipped with the last error as its reason.
//!
//! **Restart.** Nothing but the ledger carries state. At start the epochs in flight are picked up
//! where they stopped, and ticks the keeper missed while it was down are recorded as skipped, except
//! the latest one, which is proven if its data can still be fresh.
//!
//! **Several keepers** may share one ledger: on one host the same `[store] path`, on several hosts
//! one PostgreSQL database (`[store] backend = "postgres"`). The wallet's lease makes one of them
//! the leader; the others wait and take over when its lease expires, from what the ledger holds
//! (the proof's calldata and the signed transaction are in it, not on the leader's disk). A ledger
//! that cannot be reached makes the keeper not ready; it acts again once the ledger answers.
//!
//! **Observability.** `GET /metrics` (Prometheus), `GET /healthz` (the process serves),
//! `GET /readyz` (start checks passed, the RPC answered within the last few polls, and the ledger
//! answered on the last one).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    future::Future,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use chrono::{TimeZone, Utc};
use tokio::sync::mpsc;
use tracing::{error, info, warn};
use zkrisk_models::LogisticModel;
use zkrisk_pipeline::aave::store as data_store;

use super::{
    config::{KeeperConfig, KeySource},
    ledger::{Ledger, LedgerConfig},
    live::{AlloyChain, LivePipeline, Market},
    metrics::Metrics,
    runner::{FeedSpec, Outcome, Runner},
    store::{EpochState, StoreError},
    tx::TxSender,
};
use crate::{
    Error,
    chain::{self, RiskOracle, revert_error},
    ingest::redact_url,
    prover::{self, EzklWorker, WorkerConfig},
    solc,
};

/// Gas one `submit` needs at most (about 1.1M measured with a batch of 64; rounded up): the
/// wallet must afford this much at the current fees to start.
pub const SUBMIT_GAS: u64 = 1_500_000;

/// How the service runs, besides the configuration.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Project root (`scripts/` for the prover worker and solc, `.venv/`).
    pub root: PathBuf,
    /// Prove and simulate one epoch per market now, send nothing, leave the ledger alone (a throwaway one under `work_dir`), exit.
    pub dry_run: bool,
}

fn input(key: &str, path: &std::path::Path, reason: String) -> Error {
    Error::Input(format!("{}: `{key}`: {reason}", path.display()))
}

fn rpc_err(what: &'static str) -> impl FnOnce(alloy::transports::TransportError) -> Error {
    move |e| Error::Rpc(format!("{what}: {e}"))
}

/// The calibration input of a feed's circuit: `batch` rows of `file` (ezkl input JSON with
/// `cols`-wide rows), the rows holding each feature's extremes first ([`prover::calibration_batch`]),
/// rows repeated when the file has fewer than `batch`.
///
/// # Errors
/// [`Error::InvalidFile`] naming the file when it is not such JSON.
pub fn calibration_input(
    file: &std::path::Path,
    cols: usize,
    batch: usize,
) -> Result<String, Error> {
    let bad = |reason: String| Error::InvalidFile { path: file.to_path_buf(), reason };
    let text = std::fs::read_to_string(file).map_err(Error::io(file))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let values: Vec<f64> = v["input_data"][0]
        .as_array()
        .ok_or_else(|| bad("expected {\"input_data\": [[row-major values]]}".into()))?
        .iter()
        .map(|x| x.as_f64().filter(|f| f.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("a value is not a finite number".into()))?;
    if cols == 0 || values.is_empty() || !values.len().is_multiple_of(cols) {
        return Err(bad(format!(
            "{} values are not rows of the model's {cols} features",
            values.len()
        )));
    }
    let all: Vec<usize> = (0..values.len() / cols).collect();
    let mut rows = prover::calibration_batch(&values, cols, &all, batch);
    let mut k = 0;
    while rows.len() < batch {
        rows.push(all[k % all.len()]);
        k += 1;
    }
    let x: Vec<f64> =
        rows.iter().flat_map(|r| values[r * cols..(r + 1) * cols].iter().copied()).collect();
    Ok(serde_json::json!({ "input_data": [x] }).to_string())
}

/// The circuit of a feed: `model`'s logit exported to ONNX with a batch dimension of `batch`
/// ([`zkrisk_models::onnx::export_logit`]), laid out as [`prover::CircuitKind::EPOCH`] (no lookup; the oracle
/// applies the link, `Logits` layout), or with `packed` three logits to an instance
/// ([`prover::CircuitKind::EPOCH_PACKED`], `PackedLogits`), set up under `work_dir/circuits/` or
/// reused from there.
/// [`calibration_input`] of `calibration` is kept with it as the reference batch. The verifier to
/// register for the feed is the circuit's `verifier_sol`.
///
/// # Errors
/// The model's export errors and the worker's.
pub async fn feed_circuit(
    worker: &mut EzklWorker,
    work_dir: &std::path::Path,
    model: &LogisticModel,
    batch: usize,
    calibration: &std::path::Path,
    packed: bool,
) -> Result<(prover::Circuit, bool), Error> {
    let kind = if packed { prover::CircuitKind::EPOCH_PACKED } else { prover::CircuitKind::EPOCH };
    let onnx_bytes = kind.export(model, batch)?;
    let calibration = calibration_input(calibration, model.features.len(), batch)?;
    prover::cached_circuit(worker, work_dir, &onnx_bytes, calibration.as_bytes(), kind).await
}

/// The wallet of the configuration.
///
/// # Errors
/// [`Error::Key`] naming the keystore file or the key's variable (never the secret).
pub fn signer(cfg: &KeeperConfig) -> Result<PrivateKeySigner, Error> {
    match &cfg.key {
        KeySource::Keystore { path, password } => {
            PrivateKeySigner::decrypt_keystore(path, password.expose()).map_err(|e| {
                Error::Key(format!(
                    "keystore {} does not decrypt with its password: {e}",
                    path.display()
                ))
            })
        }
        KeySource::PrivateKey(key) => key.expose().trim().parse().map_err(|_| {
            Error::Key("`signer.private_key_env` does not hold a 32-byte hex private key".into())
        }),
    }
}

/// Everything the start checks established.
struct Started {
    runner: Arc<Runner<LivePipeline, AlloyChain>>,
    specs: Vec<(usize, FeedSpec)>,
    provider: DynProvider,
    wallet: Address,
}

async fn start(
    cfg: &KeeperConfig,
    opts: &RunOptions,
    metrics: Arc<Metrics>,
) -> Result<Started, Error> {
    let path = cfg.path.as_path();
    let url = cfg.rpc_url.expose();
    let endpoint = redact_url(url);
    let provider = ProviderBuilder::new()
        .connect_http(url.parse().map_err(|_| input("chain.rpc_url", path, "not a URL".into()))?)
        .erased();
    let id = provider.get_chain_id().await.map_err(|e| Error::RpcUnavailable {
        endpoint: endpoint.clone(),
        what: "eth_chainId".into(),
        attempts: 1,
        last: redact_error(&e.to_string(), url),
    })?;
    if id != cfg.chain_id {
        return Err(input(
            "chain.chain_id",
            path,
            format!("is {}, but the RPC at {endpoint} serves chain {id}", cfg.chain_id),
        ));
    }
    let signer = signer(cfg)?;
    let wallet = signer.address();
    let code = provider.get_code_at(cfg.oracle).await.map_err(rpc_err("eth_getCode"))?;
    if code.is_empty() {
        return Err(input(
            "chain.oracle",
            path,
            format!("no contract at {} on chain {id}", cfg.oracle),
        ));
    }
    let balance = provider.get_balance(wallet).await.map_err(rpc_err("eth_getBalance"))?;
    let price = provider.get_gas_price().await.map_err(rpc_err("eth_gasPrice"))?;
    let need = U256::from(SUBMIT_GAS) * U256::from(price.min(cfg.max_fee_wei).max(1));
    metrics.set("zkrisk_keeper_wallet_balance_wei", &[], f64::from(balance));
    if balance < need {
        return Err(input(
            "signer",
            path,
            format!(
                "wallet {wallet} holds {balance} wei; one submission ({SUBMIT_GAS} gas at {price} wei) needs {need} wei: fund it"
            ),
        ));
    }

    let oracle = RiskOracle::new(cfg.oracle, provider.clone());
    if !oracle.isKeeper(wallet).call().await.map_err(revert_error)? {
        return Err(input(
            "signer",
            path,
            format!(
                "wallet {wallet} is not a keeper of RiskOracle {} (its owner calls setKeeper)",
                cfg.oracle
            ),
        ));
    }
    let work = &cfg.service.work_dir;
    std::fs::create_dir_all(work).map_err(Error::io(work))?;
    let mut wcfg = WorkerConfig::in_project(&opts.root);
    wcfg.log = Some(work.join("prover-worker.log"));
    if let Some(python) = &cfg.prover.python {
        wcfg.python = python.clone();
    }
    wcfg.gpu = cfg.prover.backend == super::config::ProverBackend::Gpu;
    let mut worker = EzklWorker::start(wcfg.clone()).await?;

    let head = provider.get_block_number().await.map_err(rpc_err("head"))?;
    let mut pipeline = LivePipeline::new(
        provider.clone(),
        url.to_string(),
        cfg.pool,
        cfg.service.ingest_from_block,
        cfg.confirmations,
        work,
        wcfg,
        metrics.clone(),
    );
    info!(to = head.saturating_sub(cfg.confirmations), "catching up with the Pool's events");
    pipeline.sync(head.saturating_sub(cfg.confirmations)).await?;
    let checkpoint = data_store::read_checkpoint(pipeline.data_dir())?
        .ok_or_else(|| Error::Keeper("ingestion wrote no checkpoint".into()))?;

    let mut specs = Vec::new();
    let mut assets = HashMap::new();
    for (k, f) in cfg.feeds.iter().enumerate() {
        let key = |field: &str| format!("feed[{k}].{field}");
        let model = LogisticModel::load(&f.model)
            .map_err(|e| input(&key("model"), path, format!("{}: {e}", f.model.display())))?;
        info!(feed = %f.name, batch = f.batch, "circuit: set up or reuse");
        let (circuit, cached) =
            feed_circuit(&mut worker, work, &model, f.batch, &f.calibration, f.packed).await?;
        info!(feed = %f.name, logrows = circuit.logrows, pk_bytes = circuit.pk_bytes, cached,
            verifier = %circuit.verifier_sol.display(), "circuit ready");
        let registered = oracle.model(f.model_id).call().await.map_err(revert_error)?;
        if registered.verifier == Address::ZERO {
            return Err(input(
                &key("model_id"),
                path,
                format!("model {} is not registered in the oracle", f.model_id),
            ));
        }
        if !registered.active {
            return Err(input(&key("model_id"), path, format!("model {} is retired", f.model_id)));
        }
        if usize::from(registered.batchSize) != f.batch
            || u32::from(registered.outputScaleBits) != circuit.score_bits()
            || registered.layout != chain::layout_of(circuit.kind)
            || registered.priceShiftBits != chain::price_shift_bits(circuit.kind)?
        {
            return Err(input(
                &key("batch"),
                path,
                format!(
                    "model {} is registered with batch {}, {} output bits and layout {:?}; this circuit has batch {}, {} bits and layout {:?}",
                    f.model_id,
                    registered.batchSize,
                    registered.outputScaleBits,
                    registered.layout,
                    f.batch,
                    circuit.score_bits(),
                    chain::layout_of(circuit.kind)
                ),
            ));
        }
        let compiled =
            solc::compile(&opts.root.join("scripts/solc"), &circuit.verifier_sol, "Halo2Verifier")?;
        let onchain =
            provider.get_code_at(registered.verifier).await.map_err(rpc_err("eth_getCode"))?;
        if onchain.as_ref() != compiled.runtime.as_slice() {
            return Err(input(
                &key("model"),
                path,
                format!(
                    "the verifier registered for model {} ({}) is not this model's circuit verifier ({}); register that one",
                    f.model_id,
                    registered.verifier,
                    circuit.verifier_sol.display()
                ),
            ));
        }
        let model = Arc::new(model);
        for symbol in &f.markets {
            let reserve =
                checkpoint.reserves.iter().find(|r| &r.symbol == symbol).ok_or_else(|| {
                    let known: Vec<&str> =
                        checkpoint.reserves.iter().map(|r| r.symbol.as_str()).collect();
                    input(
                        &key("markets"),
                        path,
                        format!(
                            "`{symbol}` is not a reserve of the Pool (it has {})",
                            known.join(", ")
                        ),
                    )
                })?;
            let asset: Address = reserve.asset.parse().map_err(|_| {
                Error::Keeper(format!("ingested asset {} is not an address", reserve.asset))
            })?;
            let mc = oracle.marketConfig(asset).call().await.map_err(revert_error)?;
            if mc.priceSource == Address::ZERO {
                return Err(input(
                    &key("markets"),
                    path,
                    format!("{symbol} ({asset}) is not configured in the oracle"),
                ));
            }
            if mc.modelId != f.model_id {
                return Err(input(
                    &key("model_id"),
                    path,
                    format!(
                        "the oracle scores {symbol} with model {}, not {}",
                        mc.modelId, f.model_id
                    ),
                ));
            }
            let name = format!("{}/{symbol}", f.name);
            let max_data_age = f.max_data_age_seconds.min(mc.maxDataAge);
            pipeline.add_market(Market {
                name: name.clone(),
                symbol: symbol.clone(),
                asset,
                price_source: mc.priceSource,
                model_id: f.model_id,
                max_data_age,
                batch: f.batch,
                model: model.clone(),
                circuit: circuit.clone(),
            });
            assets.insert(name.clone(), asset);
            specs.push((k, FeedSpec { name, max_data_age }));
        }
    }
    pipeline.set_worker(worker);

    let tx = TxSender::new(provider.clone(), signer, cfg.oracle, cfg.chain_id, cfg.max_fee_wei);
    let chain =
        AlloyChain::new(provider.clone(), cfg.oracle, tx, assets, metrics.clone(), opts.dry_run);
    // A dry run keeps its own throw-away ledger: the real one (shared, perhaps) is never touched.
    let ledger = if opts.dry_run {
        let path = work.join("dry-run.sqlite");
        let _ = std::fs::remove_file(&path);
        LedgerConfig::Sqlite(path)
    } else {
        cfg.store.clone()
    };
    let store = Arc::new(Ledger::open(&ledger).await.map_err(ledger_err)?);
    // `[keeper] id` (default: the host name) and this process: two processes never share a
    // holder name, even with the same id, so they can never both hold the lease.
    let id = cfg.service.id.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/etc/hostname").unwrap_or_default().trim().to_string()
    });
    let holder = format!("{id}/{}-{:08x}", std::process::id(), unix_nanos() as u32);
    info!(ledger = %store.describe(), %holder, "ledger open");
    let artifacts = if opts.dry_run { work.join("dry-run") } else { work.join("artifacts") };
    let runner = Runner::new(
        store,
        pipeline,
        chain,
        artifacts,
        holder,
        cfg.confirmations,
        cfg.replace_after_seconds,
    )
    .with_lease(format!("wallet:{wallet:#x}"), cfg.service.lease_seconds);
    Ok(Started { runner: Arc::new(runner), specs, provider, wallet })
}

fn redact_error(message: &str, url: &str) -> String {
    message.replace(url, &redact_url(url))
}

/// Shared with the HTTP endpoints.
#[derive(Debug, Default)]
struct Health {
    ready: AtomicBool,
    /// Unix seconds of the last successful RPC round of the driver.
    last_ok: AtomicU64,
    started: AtomicBool,
    /// The ledger did not answer on the last pass.
    ledger_down: AtomicBool,
}

fn unix_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

async fn serve(
    listen: std::net::SocketAddr,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    poll: u64,
) -> Result<(), Error> {
    use axum::{Json, Router, http::StatusCode, routing::get};
    let m = metrics.clone();
    let h = health.clone();
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = m.clone();
                async move {
                    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], m.render())
                }
            }),
        )
        .route("/healthz", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
        .route(
            "/readyz",
            get(move || {
                let h = h.clone();
                async move {
                    let age = unix_now().saturating_sub(h.last_ok.load(Ordering::Relaxed));
                    let (ok, reason) = if !h.started.load(Ordering::Relaxed) {
                        (false, "start checks running".to_string())
                    } else if h.ledger_down.load(Ordering::Relaxed) {
                        (false, "the ledger does not answer".to_string())
                    } else if !h.ready.load(Ordering::Relaxed) || age > 3 * poll + 30 {
                        (false, format!("no RPC answer for {age} s"))
                    } else {
                        (true, "ready".to_string())
                    };
                    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
                    (code, Json(serde_json::json!({ "ready": ok, "reason": reason })))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::Input(format!("`observability.listen` {listen}: {e}")))?;
    info!(%listen, "serving /metrics, /healthz, /readyz");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            error!("metrics server stopped: {e}");
        }
    });
    Ok(())
}

/// The cron schedule of a feed (checked by [`super::config::load`]).
fn cron(expr: &str) -> Result<croner::Cron, Error> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .map_err(|e| Error::Keeper(format!("schedule `{expr}`: {e}")))
}

/// The latest tick of `c` at or before `t` (Unix seconds).
fn tick_at_or_before(c: &croner::Cron, t: u64) -> Option<u64> {
    let at = Utc.timestamp_opt(i64::try_from(t).ok()?, 0).single()?;
    let prev = c.find_previous_occurrence(&at, true).ok()?;
    u64::try_from(prev.timestamp()).ok()
}

/// Ticks of `c` in `(after, upto]`, at most `limit` of the latest.
fn ticks_between(c: &croner::Cron, after: u64, upto: u64, limit: usize) -> Vec<u64> {
    let mut out = Vec::new();
    let mut t = upto;
    while out.len() < limit {
        match tick_at_or_before(c, t) {
            Some(tick) if tick > after => {
                out.push(tick);
                t = tick - 1;
            }
            _ => break,
        }
    }
    out.reverse();
    out
}

/// Runs the keeper until `shutdown` resolves (or, with `dry_run`, for one epoch per market).
///
/// # Errors
/// Start-check failures (see the module docs); afterwards, failures are logged and retried.
pub async fn run(
    cfg: KeeperConfig,
    opts: RunOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let metrics = Arc::new(Metrics::default());
    let health = Arc::new(Health::default());
    let poll = cfg.service.poll_seconds;
    if !opts.dry_run {
        serve(cfg.listen, metrics.clone(), health.clone(), poll).await?;
    }
    let s = start(&cfg, &opts, metrics.clone()).await?;
    health.started.store(true, Ordering::Relaxed);
    info!(wallet = %s.wallet, oracle = %cfg.oracle, markets = s.specs.len(), dry_run = opts.dry_run,
        "keeper started");
    if opts.dry_run {
        return dry_run(&s).await;
    }

    let store = s.runner.store().clone();
    let crons: Vec<croner::Cron> =
        cfg.feeds.iter().map(|f| cron(&f.schedule)).collect::<Result<_, _>>()?;
    // Ticks missed while no keeper ran: recorded as skipped, but the latest.
    let now = unix_now();
    let mut due: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for (k, spec) in &s.specs {
        let last =
            store.epochs(Some(&spec.name)).await.map_err(ledger_err)?.iter().map(|e| e.epoch).max();
        let Some(last) = last else { continue };
        let missed = ticks_between(&crons[*k], last, now, 1_000);
        if let Some((latest, older)) = missed.split_last() {
            for t in older {
                record_skip(
                    &store,
                    &spec.name,
                    *t,
                    "missed: no keeper was running at this tick; superseded by a later tick",
                )
                .await?;
                metrics.epoch(&spec.name, "skipped");
            }
            due.entry(spec.name.clone()).or_default().insert(*latest);
        }
    }

    // tokio-cron-scheduler fires the ticks; the driver below does the work.
    let (tick_tx, mut tick_rx) = mpsc::channel::<(usize, u64)>(64);
    let mut sched = tokio_cron_scheduler::JobScheduler::new()
        .await
        .map_err(|e| Error::Keeper(format!("scheduler: {e}")))?;
    for (k, f) in cfg.feeds.iter().enumerate() {
        let tx = tick_tx.clone();
        let c = crons[k].clone();
        let job = tokio_cron_scheduler::Job::new_async(f.schedule.as_str(), move |_, _| {
            let tx = tx.clone();
            // The tick's own time is its epoch (the callback runs a moment after it).
            let epoch = tick_at_or_before(&c, unix_now());
            Box::pin(async move {
                if let Some(epoch) = epoch {
                    let _ = tx.send((k, epoch)).await;
                }
            })
        })
        .map_err(|e| Error::Keeper(format!("feed[{k}].schedule: {e:?}")))?;
        sched.add(job).await.map_err(|e| Error::Keeper(format!("scheduler: {e}")))?;
    }
    sched.start().await.map_err(|e| Error::Keeper(format!("scheduler: {e}")))?;

    tokio::pin!(shutdown);
    let mut backoff = Backoff::default();
    let mut interval = tokio::time::interval(Duration::from_secs(poll));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some((k, epoch)) = tick_rx.recv() => {
                for (_, spec) in s.specs.iter().filter(|(f, _)| *f == k) {
                    if due.entry(spec.name.clone()).or_default().insert(epoch) {
                        info!(market = %spec.name, epoch, "tick");
                    }
                }
                continue;
            }
            _ = interval.tick() => {}
        }
        if let Err(e) = drive(&s, &metrics, &health, &mut due, &mut backoff).await {
            warn!("driver: {e}");
        }
    }
    let _ = sched.shutdown().await;
    // Hand the lease over at once rather than after `lease_seconds`.
    if let Err(e) = s.runner.release().await {
        warn!("lease not released: {e}");
    }
    info!("keeper stopped");
    Ok(())
}

/// A ledger failure; the keeper goes on and tries again on its next pass.
fn ledger_err(e: StoreError) -> Error {
    Error::Keeper(e.to_string())
}

async fn record_skip(store: &Ledger, feed: &str, epoch: u64, reason: &str) -> Result<(), Error> {
    if store.get(feed, epoch).await.map_err(ledger_err)?.is_none() {
        store.plan(feed, epoch, 0, 0).await.map_err(ledger_err)?;
        let why = super::store::Changes { reason: Some(reason.to_string()), ..Default::default() };
        store
            .transition(feed, epoch, EpochState::Pending, EpochState::Skipped, &why)
            .await
            .map_err(ledger_err)?;
    }
    Ok(())
}

/// One pass: every market's epochs in flight, one step each, oldest first.
/// When an epoch that failed with a retryable error may be tried again: exponential in its
/// consecutive failures (1 s, 2 s, 4 s, … at most 60 s), with ±50 % jitter so that keepers and
/// providers recovering together do not retry in step.
#[derive(Debug, Default)]
struct Backoff {
    next: HashMap<(String, u64), (u32, std::time::Instant)>,
}

impl Backoff {
    fn ready(&self, market: &str, epoch: u64) -> bool {
        self.next
            .get(&(market.to_string(), epoch))
            .is_none_or(|(_, at)| std::time::Instant::now() >= *at)
    }

    fn failed(&mut self, market: &str, epoch: u64) -> Duration {
        let entry =
            self.next.entry((market.to_string(), epoch)).or_insert((0, std::time::Instant::now()));
        entry.0 += 1;
        let base = Duration::from_secs(1u64 << entry.0.saturating_sub(1).min(6))
            .min(Duration::from_secs(60));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let wait = base.mul_f64(0.5 + f64::from(nanos % 1_000) / 1_000.0);
        entry.1 = std::time::Instant::now() + wait;
        wait
    }

    fn done(&mut self, market: &str, epoch: u64) {
        self.next.remove(&(market.to_string(), epoch));
    }
}

async fn drive(
    s: &Started,
    metrics: &Metrics,
    health: &Health,
    due: &mut BTreeMap<String, BTreeSet<u64>>,
    backoff: &mut Backoff,
) -> Result<(), Error> {
    let store = s.runner.store();
    let (_, now) = match s.runner.pipeline().observe_head().await {
        Ok(v) => v,
        Err(e) => {
            health.ready.store(false, Ordering::Relaxed);
            return Err(e);
        }
    };
    health.ready.store(true, Ordering::Relaxed);
    health.last_ok.store(unix_now(), Ordering::Relaxed);
    // Without its ledger the keeper must not act: not ready until it answers again.
    if let Err(e) = store.last_nonce().await {
        health.ledger_down.store(true, Ordering::Relaxed);
        return Err(ledger_err(e));
    }
    health.ledger_down.store(false, Ordering::Relaxed);
    if let Ok(b) = s.provider.get_balance(s.wallet).await {
        metrics.set("zkrisk_keeper_wallet_balance_wei", &[], f64::from(b));
    }
    for (_, spec) in &s.specs {
        let name = spec.name.as_str();
        // A tick stays in `due` until the ledger has its epoch: whatever fails in this pass (the
        // ledger, the chain, the step), it is tried again on the next.
        let mut epochs: BTreeSet<u64> = due.get(name).cloned().unwrap_or_default();
        let mut unsent = Vec::new();
        for rec in store.unfinished(name).await.map_err(ledger_err)? {
            if matches!(rec.state, EpochState::Pending | EpochState::Proven) {
                unsent.push(rec.epoch);
            }
            epochs.insert(rec.epoch);
        }
        for e in &epochs {
            if store.get(name, *e).await.map_err(ledger_err)?.is_none() {
                unsent.push(*e);
            }
        }
        // Only the newest unsent epoch is worth proving.
        if let Some(&newest) = unsent.iter().max() {
            for e in unsent.iter().filter(|e| **e < newest) {
                record_skip_any(store, name, *e, newest).await?;
                metrics.epoch(name, "skipped");
                epochs.remove(e);
                forget(due, name, *e);
            }
        }
        for epoch in epochs {
            if !backoff.ready(name, epoch) {
                continue;
            }
            let before = store.get(name, epoch).await.map_err(ledger_err)?.map(|r| r.state);
            let outcome = match s.runner.step(spec, epoch, now).await {
                Ok(o) => o,
                Err(e) => {
                    error!(market = name, epoch, "step failed: {e}");
                    continue;
                }
            };
            let after = store.get(name, epoch).await.map_err(ledger_err)?.map(|r| r.state);
            if after.is_some() {
                forget(due, name, epoch);
            }
            count(metrics, name, before, after);
            if !matches!(outcome, Outcome::Retry(_)) {
                backoff.done(name, epoch);
            }
            match &outcome {
                Outcome::NotLeader => {
                    // The leader works; keep the newest ticks in case this keeper takes over.
                    metrics.set("zkrisk_keeper_leader", &[], 0.0);
                    let keep = due.entry(name.to_string()).or_default();
                    while keep.len() > 8 {
                        keep.pop_first();
                    }
                    continue;
                }
                Outcome::Retry(why) => {
                    metrics.add("zkrisk_keeper_step_errors_total", &[("feed", name)], 1.0);
                    let wait = backoff.failed(name, epoch);
                    warn!(market = name, epoch, "retrying in {:.1} s: {why}", wait.as_secs_f64());
                }
                Outcome::Skipped(why) if before != after => {
                    if why.contains("reverted") {
                        metrics.epoch(name, "rejected");
                    }
                    warn!(market = name, epoch, "epoch skipped: {why}");
                }
                Outcome::Confirmed { block } if before != after => {
                    metrics.set(
                        "zkrisk_keeper_last_confirmed_epoch",
                        &[("feed", name)],
                        epoch as f64,
                    );
                    info!(market = name, epoch, block = ?block, "epoch confirmed");
                }
                _ => {}
            }
            metrics.set("zkrisk_keeper_leader", &[], 1.0);
        }
    }
    Ok(())
}

/// A tick whose epoch is now in the ledger: the ledger drives it from here.
fn forget(due: &mut BTreeMap<String, BTreeSet<u64>>, feed: &str, epoch: u64) {
    if let Some(ticks) = due.get_mut(feed) {
        ticks.remove(&epoch);
    }
}

async fn record_skip_any(store: &Ledger, feed: &str, epoch: u64, newest: u64) -> Result<(), Error> {
    let reason = format!("superseded by epoch {newest} before it was sent");
    match store.get(feed, epoch).await.map_err(ledger_err)? {
        None => record_skip(store, feed, epoch, &reason).await,
        Some(rec) if matches!(rec.state, EpochState::Pending | EpochState::Proven) => {
            let why = super::store::Changes { reason: Some(reason), ..Default::default() };
            store
                .transition(feed, epoch, rec.state, EpochState::Skipped, &why)
                .await
                .map_err(ledger_err)
        }
        Some(_) => Ok(()),
    }
}

fn count(metrics: &Metrics, name: &str, before: Option<EpochState>, after: Option<EpochState>) {
    if before == after {
        return;
    }
    if before.is_none() {
        metrics.epoch(name, "planned");
    }
    // Every state passed on the way (a step can go several states forward).
    let order =
        [EpochState::Pending, EpochState::Proven, EpochState::Submitted, EpochState::Confirmed];
    let pos = |s: Option<EpochState>| s.and_then(|s| order.iter().position(|o| *o == s));
    match (pos(before), after) {
        (_, Some(EpochState::Skipped)) => metrics.epoch(name, "skipped"),
        (from, Some(to)) => {
            let from = from.map_or(1, |p| p + 1);
            let to = order.iter().position(|o| *o == to).unwrap_or(0);
            for s in order.iter().take(to + 1).skip(from) {
                metrics.epoch(name, s.as_str());
            }
        }
        _ => {}
    }
}

/// One epoch per market, now: proven, signed and simulated; nothing sent, the real ledger untouched.
async fn dry_run(s: &Started) -> Result<(), Error> {
    let epoch = unix_now();
    let (_, now) = s.runner.pipeline().observe_head().await?;
    for (_, spec) in &s.specs {
        let mut outcome = Outcome::Retry(String::new());
        for _ in 0..3 {
            outcome = s.runner.step(spec, epoch, now).await?;
            if !matches!(outcome, Outcome::Retry(_)) {
                break;
            }
        }
        let rec = s.runner.store().get(&spec.name, epoch).await.map_err(ledger_err)?;
        match (outcome, rec) {
            (Outcome::Waiting, Some(r)) => println!(
                "dry run: {} epoch {epoch}: data block {}, proof {}, submission simulated by the node (gas estimated) and signed with nonce {}; not sent",
                spec.name,
                r.data_block,
                r.proof_hash.unwrap_or_default(),
                r.nonce.unwrap_or_default()
            ),
            (o, _) => {
                return Err(Error::Keeper(format!("dry run: {} epoch {epoch}: {o:?}", spec.name)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_missed_between_two_times_are_the_schedules() {
        let c = cron("*/10 * * * * *").unwrap();
        assert_eq!(tick_at_or_before(&c, 1_000_005), Some(1_000_000));
        assert_eq!(tick_at_or_before(&c, 1_000_000), Some(1_000_000));
        assert_eq!(
            ticks_between(&c, 1_000_000, 1_000_035, 100),
            vec![1_000_010, 1_000_020, 1_000_030]
        );
        assert_eq!(ticks_between(&c, 1_000_000, 1_000_035, 2), vec![1_000_020, 1_000_030]);
        assert!(ticks_between(&c, 1_000_030, 1_000_035, 10).is_empty());
    }

    #[test]
    fn calibration_takes_the_extremes_and_names_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.json");
        // Three 2-feature rows; a batch of 4 repeats one.
        std::fs::write(&f, r#"{"input_data": [[1, 10, 5, 50, 3, 30]]}"#).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&calibration_input(&f, 2, 4).unwrap()).unwrap();
        let x: Vec<f64> =
            v["input_data"][0].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        assert_eq!(x.len(), 8);
        assert!(x.contains(&1.0) && x.contains(&5.0) && x.contains(&50.0));
        let err = calibration_input(&f, 4, 4).unwrap_err().to_string();
        assert!(err.contains("c.json") && err.contains("6 values"), "{err}");
        std::fs::write(&f, "[1, 2]").unwrap();
        assert!(calibration_input(&f, 2, 4).unwrap_err().to_string().contains("input_data"));
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter() {
        let mut b = Backoff::default();
        assert!(b.ready("m", 1));
        let waits: Vec<f64> = (0..8).map(|_| b.failed("m", 1).as_secs_f64()).collect();
        for (k, w) in waits.iter().enumerate() {
            let base = f64::from(1u32 << k.min(6)).min(60.0);
            assert!(*w >= 0.5 * base && *w <= 1.5 * base, "attempt {k}: {w} s");
        }
        assert!(!b.ready("m", 1) && b.ready("m", 2));
        b.done("m", 1);
        assert!(b.ready("m", 1));
    }

    #[test]
    fn outcomes_count_every_state_passed() {
        let m = Metrics::default();
        count(&m, "f", None, Some(EpochState::Submitted));
        count(&m, "f", Some(EpochState::Submitted), Some(EpochState::Confirmed));
        count(&m, "f", Some(EpochState::Pending), Some(EpochState::Skipped));
        let n = |o: &str| m.get("zkrisk_keeper_epochs_total", &[("feed", "f"), ("outcome", o)]);
        assert_eq!((n("planned"), n("proven"), n("submitted")), (Some(1.0), Some(1.0), Some(1.0)));
        assert_eq!((n("confirmed"), n("skipped")), (Some(1.0), Some(1.0)));
    }
}
