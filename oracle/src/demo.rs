//! `zkrisk demo`: one proof-checked risk update, end to end, on the shipped data and a local chain.
//!
//! 1. load the real MakerDAO ETH-B history and build daily vault states;
//! 2. train a logistic regression on the earlier period, evaluate it on the later one beside the
//!    collateral-ratio baseline;
//! 3. take the latest epoch: the `batch` largest vaults by debt on the last day of the data;
//! 4. export the model with its standardisation as ONNX and check tract against the native model;
//! 5. set the circuit up with ezkl (cached by the graph's hash; the SRS is made locally and is NOT
//!    a trusted setup), prove the batch and verify it off-chain;
//! 6. start anvil with its clock at the end of the data day, deploy the verifier, a real Aave v3
//!    market (Aave's compiled contracts, [`crate::aave::deploy`]), the risk steward holding Aave's
//!    RISK_ADMIN role, and the oracle, and register the model and the market through the oracle's
//!    timelock (anvil's clock is moved past it);
//! 7. map the proven scores to collateral parameters ([`zkrisk_models::policy`]) and submit through
//!    [`OracleClient`], the keeper's path; the oracle queues them in the steward, which applies them
//!    to the WETH reserve through Aave's PoolConfigurator after its execution delay (anvil's clock
//!    again); read them back from Aave;
//! 8. show that a tampered proof and a tampered score are rejected, and stop anvil.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use alloy::{
    primitives::{Address, U256, keccak256},
    providers::Provider,
};
use serde::Serialize;
use tracing::info;
use zkrisk_backtest::{Holdout, TimeSplit};
use zkrisk_models::{
    LogisticParams, onnx,
    policy::{self, CollateralParams},
};
use zkrisk_pipeline::vaults;

use crate::{
    Error, Result, aave,
    chain::{self, ANVIL_DEV_KEY, Anvil, OracleClient},
    prover::{self, EzklWorker, Prover, WorkerConfig},
    solc,
};

/// The Aave reserve whose parameters the demo moves: WETH (ETH-B's collateral is ETH).
pub const DEMO_RESERVE: &str = "WETH";

/// Parameters before the first update: the rule's output for a market with no risk.
pub const INITIAL_PARAMS: CollateralParams =
    CollateralParams { ltv: 8_000, liquidation_threshold: 8_500, liquidation_bonus: 10_500 };

const DAY: i64 = 86_400;

/// Everything the demo needs to know; [`DemoConfig::in_project`] gives the defaults.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Project root: `data/`, `contracts/`, `scripts/` and `.venv/` are found under it.
    pub root: PathBuf,
    /// Cache of circuits and proofs (ezkl setup is slow; keyed by the model graph's hash).
    pub work_dir: PathBuf,
    /// First day of the evaluation period (days since 1970-01-01).
    pub cutoff_day: i32,
    /// Label horizon in days.
    pub horizon_days: u32,
    /// Scores per proof.
    pub batch: usize,
    /// Oldest data (seconds) the oracle accepts.
    pub max_data_age: u64,
}

impl DemoConfig {
    /// Defaults for a project checkout at `root`: evaluation from 2022-01-01, 7-day horizon,
    /// batches of 64, data at most one day old.
    pub fn in_project(root: &Path) -> Self {
        Self {
            root: root.into(),
            work_dir: root.join(".zkrisk"),
            cutoff_day: 18_993, // 2022-01-01
            horizon_days: 7,
            batch: 64,
            max_data_age: DAY as u64,
        }
    }
}

/// Model metrics on the hold-out period.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSection {
    /// AUROC of the model.
    pub auroc: f64,
    /// Brier score of the model.
    pub brier: f64,
    /// Training rows (vault-days).
    pub train_rows: usize,
    /// Hold-out rows.
    pub test_rows: usize,
    /// Positive hold-out rows.
    pub test_positives: usize,
    /// Brier of the constant training prevalence.
    pub prevalence_brier: f64,
    /// First day of the hold-out period.
    pub holdout_from: String,
    /// SHA-256 of the model (features, preprocessing, weights).
    pub weights_hash: String,
}

/// The naive baseline on the same hold-out rows.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineSection {
    /// The rule.
    pub rule: &'static str,
    /// AUROC of ranking by collateral ratio.
    pub auroc: f64,
    /// Brier of the collateral ratio through a one-feature logistic fit on the training period.
    pub brier: f64,
}

/// The scored epoch.
#[derive(Debug, Clone, Serialize)]
pub struct EpochSection {
    /// The data day.
    pub date: String,
    /// Epoch number (days since 1970-01-01 of the end of the data day).
    pub epoch: u64,
    /// Vaults with debt that day.
    pub vaults_with_debt: usize,
    /// Vaults in the proven batch (largest by debt).
    pub scored: usize,
    /// Mean native probability of the batch.
    pub mean_probability: f64,
    /// Largest native probability of the batch.
    pub max_probability: f64,
    /// The data day's ETH close (USD), which the local aggregator answers.
    pub eth_close_usd: f64,
    /// The price the proof binds (public instance 0), in the aggregator's 8 decimals: the close
    /// with its low bits dropped ([`prover::PriceInput`]).
    pub proven_price: String,
    /// How far (bps) the oracle lets that price be from the aggregator's.
    pub price_tolerance_bps: u16,
}

/// The proof.
#[derive(Debug, Clone, Serialize)]
pub struct ProofSection {
    /// Seconds in `ezkl.prove`.
    pub prove_seconds: f64,
    /// The worker's off-chain verification.
    pub verified_offchain: bool,
    /// log2 rows of the circuit.
    pub logrows: u32,
    /// Proving key size.
    pub pk_bytes: u64,
    /// Fractional bits of the outputs (the proven logits).
    pub output_scale_bits: u32,
    /// Proof size.
    pub proof_bytes: usize,
    /// Which SRS the keys come from.
    pub srs: String,
    /// Whether this run reused a cached circuit.
    pub circuit_cached: bool,
    /// max |native − σ(ONNX logit, tract)| over the batch.
    pub onnx_max_abs_error: f64,
    /// max |native − σ(proven logit)| over the batch (the oracle's link, rounded up to 2^-32).
    pub proof_max_abs_error: f64,
}

/// The on-chain update.
#[derive(Debug, Clone, Serialize)]
pub struct OnchainSection {
    /// The update was mined and the oracle holds the proof's hash for the epoch.
    pub verified: bool,
    /// Gas of `submit`: proof verification, the price binding and the steward's queue included.
    pub gas_used: u64,
    /// Gas of the steward's `execute`: the bounds re-checked and Aave's PoolConfigurator called.
    pub execute_gas_used: u64,
    /// Transaction hash.
    pub tx_hash: String,
    /// Oracle address.
    pub oracle: String,
    /// The risk steward (Aave RISK_ADMIN) the oracle calls.
    pub steward: String,
    /// The Aave v3 Pool whose reserve moved.
    pub aave_pool: String,
    /// Symbol of the Aave reserve the update moved.
    pub reserve: String,
    /// Its underlying token.
    pub reserve_asset: String,
    /// Verifier runtime size (mainnet limit 24,576).
    pub verifier_runtime_bytes: usize,
}

/// Parameters around the update.
#[derive(Debug, Clone, Serialize)]
pub struct ParamSection {
    /// Where `before` and `after` were read: the Aave reserve, through Aave's data provider.
    pub read_from: String,
    /// Read from the chain before.
    pub before: CollateralParams,
    /// Read from the chain after.
    pub after: CollateralParams,
    /// The rule applied to the proof's public outputs.
    pub from_proof: CollateralParams,
    /// Mean proven score in bps (rounded up).
    pub risk_bps: u16,
}

/// The tampered copies.
#[derive(Debug, Clone, Serialize)]
pub struct TamperedSection {
    /// Every copy was rejected with its error: `InvalidProof` for the first three, `PriceOffGrid`
    /// and `PriceMismatch` for the last two.
    pub rejected: bool,
    /// What the oracle said to a proof with one byte flipped.
    pub proof_flip: String,
    /// What the oracle said to one score raised by one unit (parameters recomputed to match).
    pub score_bump: String,
    /// What the oracle said to the proof with another claimed price on the circuit's grid, within
    /// the tolerance.
    pub price_bump: String,
    /// What the oracle said to a claimed price off the grid (one unit above the proven one).
    pub price_off_grid: String,
    /// What the oracle said to the proof after the aggregator moved twice the tolerance.
    pub price_moved: String,
}

/// What the demo shows; the CLI prints it as JSON with `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// Hold-out metrics of the model.
    pub model: ModelSection,
    /// Baseline on the same rows.
    pub baseline: BaselineSection,
    /// The scored epoch.
    pub epoch: EpochSection,
    /// The proof.
    pub proof: ProofSection,
    /// The update on-chain.
    pub onchain: OnchainSection,
    /// Parameters.
    pub param: ParamSection,
    /// Tampered copies.
    pub tampered: TamperedSection,
}

/// The demo's model and epoch: the price-bound model ([`vaults::PRICED_FEATURES`]) trained on the
/// days before the cut-off and evaluated after it, and the `batch` largest vaults of the last day
/// split at that day's ETH close ([`vaults::split_at_price`], slopes in the circuit's price units).
/// `zkrisk bench prove` proves the same batch with the same model.
#[derive(Debug, Clone)]
pub struct PricedEpoch {
    /// The model's features.
    pub features: Vec<&'static str>,
    /// The hold-out run, with the model.
    pub report: zkrisk_backtest::HoldoutReport,
    /// The data day.
    pub last_day: i32,
    /// Vaults with debt that day.
    pub vaults_with_debt: usize,
    /// The batch's features at the close, row-major.
    pub x: Vec<f64>,
    /// The day's ETH close, USD.
    pub close: f64,
    /// The close as the reserve's aggregator answers it (8 decimals).
    pub answer: u128,
    /// How the circuit takes that answer.
    pub price: prover::PriceInput,
    /// The part of each feature that does not move with the price.
    pub fixed: Vec<f64>,
    /// Each feature's slope per unit of the circuit's price input.
    pub slope: Vec<f64>,
    /// Calibration data for the circuit's cache key (training rows at their own closes).
    pub calibration: String,
}

/// Steps 1 to 3 of the demo: [`PricedEpoch`] for `cfg`; `step` is told each step as it starts.
///
/// # Errors
/// The data's, the training's, and [`Error::Demo`] when the last day has fewer vaults than a batch.
pub fn priced_epoch(cfg: &DemoConfig, step: &dyn Fn(u32, &str)) -> Result<PricedEpoch> {
    step(1, "loading MakerDAO ETH-B vault history");
    let t = Instant::now();
    let states = vaults::load_maker_eth_b(&cfg.root.join("data"), cfg.horizon_days)?;
    // The price-bound model's features: those a circuit computes from the price it is given.
    let features: Vec<&'static str> = vaults::PRICED_FEATURES.to_vec();
    let m = vaults::to_matrix(&states)?.select(&features)?;
    let debts = vaults::column_f64(&states, "debt")?;
    let prices = vaults::column_f64(&states, "price")?;
    info!(rows = m.rows, seconds = t.elapsed().as_secs_f64(), "vault-days built");

    step(2, "training logistic regression on the earlier period");
    let holdout = Holdout {
        features: &features,
        values: &m.values,
        labels: &m.labels,
        days: &m.dates,
        // The distance to liquidation ranks vaults as the collateral ratio does (the liquidation
        // ratio is the same for every ETH-B vault).
        baseline_feature: "distance_to_liquidation",
    };
    let split = TimeSplit::new(cfg.cutoff_day, cfg.horizon_days as i32);
    let report = holdout.run(split, &LogisticParams::default().check()?)?;
    info!(
        auroc = report.model_metrics.auroc,
        brier = report.model_metrics.brier,
        baseline_auroc = report.baseline_metrics.auroc,
        baseline_brier = report.baseline_metrics.brier,
        "hold-out from {}",
        day_string(cfg.cutoff_day)
    );

    step(3, "scoring the latest epoch");
    let last_day = *m.dates.iter().max().ok_or_else(|| Error::Demo("no vault-days".into()))?;
    let mut rows: Vec<usize> = (0..m.rows).filter(|i| m.dates[*i] == last_day).collect();
    let vaults_with_debt = rows.len();
    if vaults_with_debt < cfg.batch {
        return Err(Error::Demo(format!(
            "{vaults_with_debt} vaults have debt on {}, the circuit proves batches of {}",
            day_string(last_day),
            cfg.batch
        )));
    }
    rows.sort_by(|a, b| debts[*b].total_cmp(&debts[*a]));
    rows.truncate(cfg.batch);
    let pick = |rows: &[usize]| -> (Vec<f64>, Vec<f64>) {
        (
            rows.iter().flat_map(|i| m.row(*i).iter().copied()).collect(),
            rows.iter().map(|i| prices[*i]).collect(),
        )
    };
    // The collateral price of the epoch: the data day's ETH close, as the reserve's aggregator
    // (8 decimals) will answer it on the local chain.
    let close = prices[rows[0]];
    let answer = (close * 1e8).round() as u128;
    let price = prover::PriceInput::for_answer(answer);
    let per_unit = price.usd_per_unit(aave::deploy::PRICE_DECIMALS);
    let split_at = |x: &[f64], at: &[f64]| -> Result<(Vec<f64>, Vec<f64>)> {
        let s = vaults::split_at_price(&features, x, at)?;
        Ok((s.fixed, s.slope.iter().map(|v| v * per_unit).collect()))
    };
    let (x, row_prices) = pick(&rows);
    let (fixed, slope) = split_at(&x, &row_prices)?;
    let train = split.apply(&m.dates).train;
    let (calib, calib_prices) =
        pick(&prover::calibration_batch(&m.values, m.cols, &train, cfg.batch));
    let (calib_fixed, calib_slope) = split_at(&calib, &calib_prices)?;
    let calibration =
        serde_json::json!({ "input_data": [calib_fixed, calib_slope, [price.value(answer)]] })
            .to_string();
    Ok(PricedEpoch {
        features,
        report,
        last_day,
        vaults_with_debt,
        x,
        close,
        answer,
        price,
        fixed,
        slope,
        calibration,
    })
}

fn day_string(day: i32) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Runs the demo. Progress goes to `tracing` at info level.
pub async fn run(cfg: &DemoConfig) -> Result<DemoReport> {
    let steps = 8;
    let step = |n: u32, what: &str| info!("[{n}/{steps}] {what}");
    std::fs::create_dir_all(&cfg.work_dir).map_err(Error::io(&cfg.work_dir))?;

    let batch = priced_epoch(cfg, &step)?;
    let (report, model) = (&batch.report, &batch.report.model);
    let (last_day, close, answer, price) = (batch.last_day, batch.close, batch.answer, batch.price);
    let (fixed, slope, price_value) = (&batch.fixed, &batch.slope, price.value(answer));
    let cols = batch.features.len();
    let native = model.predict_proba(&batch.x)?;
    let mean_p = native.iter().sum::<f64>() / native.len() as f64;
    let max_p = native.iter().copied().fold(0.0, f64::max);
    info!(date = %day_string(last_day), vaults = cfg.batch, mean_probability = mean_p, "epoch scored");

    step(4, "exporting the logit as ONNX, the price an input, and checking it with tract");
    let kind = prover::CircuitKind::epoch_priced(price);
    let link = kind.link();
    let onnx_bytes = kind.export(model, cfg.batch)?;
    let runner = onnx::OnnxRunner::load(&onnx_bytes, cfg.batch, cols)?;
    // The graph computes the features at the claimed price (the close to 5 digits): the
    // probabilities move by far less than the tolerance below.
    let (_, via_onnx) = runner.run_priced(fixed, slope, price_value)?;
    let onnx_err = native
        .iter()
        .zip(&via_onnx)
        .map(|(p, z)| (p - zkrisk_models::sigmoid(*z)).abs())
        .fold(0.0, f64::max);
    if onnx_err > 1e-4 {
        return Err(Error::Demo(format!("ONNX graph differs from the model by {onnx_err}")));
    }

    step(5, "ezkl: circuit setup (cached per model), proof, off-chain verification");
    let mut wcfg = WorkerConfig::in_project(&cfg.root);
    wcfg.log = Some(cfg.work_dir.join("prover-worker.log"));
    let mut worker = EzklWorker::start(wcfg).await?;
    let (circuit, cached) = prover::cached_circuit(
        &mut worker,
        &cfg.work_dir,
        &onnx_bytes,
        batch.calibration.as_bytes(),
        kind,
    )
    .await?;
    info!(logrows = circuit.logrows, pk_bytes = circuit.pk_bytes, cached, srs = %circuit.srs_kind,
        "circuit ready (local SRS: NOT a trusted setup)");
    let run_dir = cfg.work_dir.join("runs").join(format!("epoch-{}", last_day + 1));
    std::fs::create_dir_all(&run_dir).map_err(Error::io(&run_dir))?;
    prover::write_priced_input(&run_dir.join("input.json"), fixed, slope, price_value)?;
    let proof =
        worker.prove(&circuit, &run_dir.join("input.json"), &run_dir.join("proof.json")).await?;
    let verified_offchain = worker.verify(&circuit, &proof.proof_path).await?;
    worker.shutdown().await;
    info!(prove_seconds = proof.prove_seconds, verified_offchain, "batch proven");
    let bits = u8::try_from(circuit.score_bits())
        .map_err(|_| Error::Demo(format!("output scale {} too large", circuit.score_bits())))?;
    // Instance 0 is the price the features were computed at; the rest are logits, which the oracle
    // reads through the logistic link.
    let layout = chain::layout_of(kind);
    let (proven_price, scores) = chain::split_instances(layout, &proof.instances)?;
    let claimed = U256::from(price.claimed(answer));
    if proven_price != Some(claimed) {
        return Err(Error::Demo(format!(
            "the proof's price instance is {proven_price:?}, the circuit was given {claimed}"
        )));
    }
    let scores = scores.to_vec();
    let (probabilities, prob_bits) = policy::probabilities(&scores, bits, link)?;
    if scores.len() != cfg.batch {
        return Err(Error::Demo(format!(
            "proof has {} outputs, expected {}",
            scores.len(),
            cfg.batch
        )));
    }
    let proof_err = policy::max_abs_error(&native, &probabilities, prob_bits);

    step(6, "starting anvil and deploying the verifier, Aave v3, the risk steward and RiskOracle");
    let epoch = (last_day + 1) as u64;
    let data_ts = epoch * DAY as u64;
    let mut stack = chain::StackConfig::local(
        Address::ZERO,
        bits,
        cfg.batch as u16,
        cfg.max_data_age,
        DEMO_RESERVE,
        INITIAL_PARAMS,
    );
    stack.feature_schema_hash = keccak256(batch.features.join(",").as_bytes());
    stack.layout = layout;
    stack.price_shift_bits = chain::price_shift_bits(kind)?;
    let tolerance_bps = stack.price_tolerance_bps;
    stack.initial_price = Some(answer as i128);
    stack.horizon = cfg.horizon_days * DAY as u32;
    // The deployment waits out the oracle's governance timelock on anvil's clock: start the chain that
    // much earlier, so that the clock reads an hour after the data day when the keeper submits.
    let genesis = data_ts + 3_600 - stack.timelock_delay;
    let anvil =
        Anvil::spawn(&cfg.root.join("contracts/node_modules/.bin/anvil"), Some(genesis)).await?;
    let result = async {
        let (provider, keeper) = chain::signer_provider(anvil.url(), ANVIL_DEV_KEY)?;
        let verifier =
            solc::compile(&cfg.root.join("scripts/solc"), &circuit.verifier_sol, "Halo2Verifier")?;
        stack.keeper = keeper;
        let deployment = chain::deploy_stack(
            &provider,
            &cfg.root.join("contracts/out"),
            &cfg.root.join("contracts/node_modules/@aave/core-v3/artifacts"),
            verifier.creation.clone(),
            &stack,
        )
        .await?;
        let asset = deployment.asset;
        let data_provider = deployment.aave.data_provider;
        info!(pool = %deployment.aave.pool, reserve = DEMO_RESERVE, %asset, steward = %deployment.steward,
            "oracle stack deployed on Aave");
        let before = chain::read_params(&provider, data_provider, asset).await?;

        step(7, "submitting the proof-checked update through the keeper's path");
        // The claimed collateral price is the proof's price instance: the proof holds for it only,
        // and the oracle checks it against the reserve's aggregator.
        let on_chain = chain::aggregator_price(&provider, deployment.price_source).await?;
        if on_chain != U256::from(answer) {
            return Err(Error::Demo(format!("the aggregator answers {on_chain}, not {answer}")));
        }
        let ctx = chain::UpdateContext {
            model_id: deployment.model_id,
            data_block: provider.get_block_number().await.map_err(|e| Error::Rpc(e.to_string()))?,
            valid_until: data_ts + DAY as u64,
            collateral_price: claimed,
        };
        let update = chain::update_for(asset, epoch, data_ts, &scores, bits, link, &ctx)?;
        let rule = policy::apply(&probabilities, prob_bits)?;
        let client = OracleClient::new(provider.clone(), deployment.oracle);
        let sent = client.submit(&update, &proof.proof).await?;
        if let Some(reason) = &sent.steward_refused {
            return Err(Error::Demo(format!(
                "the oracle recorded epoch {epoch}, but the steward refused to queue it ({reason})"
            )));
        }
        // The steward applies the queued update once its execution delay has passed.
        let queued = client.market_state(asset).await?.stewardUpdateId;
        chain::advance_time(&provider, stack.execution_delay).await?;
        let applied = client.execute_queued(queued).await?;
        let after = chain::read_params(&provider, data_provider, asset).await?;
        let state = client.market_state(asset).await?;
        let verified = state.epoch == epoch && state.proofHash == keccak256(&proof.proof);
        info!(tx = %sent.tx_hash, gas = sent.gas_used, execute_gas = applied.gas_used,
            ltv_before = before.ltv, ltv_after = after.ltv, "update applied");

        step(8, "submitting tampered copies (they must be rejected)");
        let mut flipped = proof.proof.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x01;
        let next = chain::update_for(asset, epoch + 1, data_ts + 60, &scores, bits, link, &ctx)?;
        let proof_flip = describe(client.check(&next, &flipped).await);
        let mut bumped = scores.clone();
        bumped[0] += U256::from(1);
        let bumped_update =
            chain::update_for(asset, epoch + 1, data_ts + 60, &bumped, bits, link, &ctx)?;
        let score_bump = describe(client.check(&bumped_update, &proof.proof).await);
        // Another claimed price, well within the oracle's tolerance: the proof is for its own.
        let mut other_price = next.clone();
        other_price.collateralPrice = claimed + U256::from(1u128 << price.shift);
        let price_bump = describe(client.check(&other_price, &proof.proof).await);
        // A price off the circuit's grid (one unit more): refused before the proof is looked at.
        let mut off_grid = next.clone();
        off_grid.collateralPrice = claimed + U256::from(1);
        let price_off_grid = describe(client.check(&off_grid, &proof.proof).await);
        // The aggregator moves twice the tolerance: the proof's price is now off the chain's.
        let moved = answer * (10_000 + 2 * u128::from(tolerance_bps)) / 10_000;
        chain::set_aggregator_answer(&provider, deployment.price_source, moved).await?;
        let price_moved = describe(client.check(&next, &proof.proof).await);
        let rejected = proof_flip.contains("InvalidProof")
            && score_bump.contains("InvalidProof")
            && price_bump.contains("InvalidProof")
            && price_off_grid.contains("PriceOffGrid")
            && price_moved.contains("PriceMismatch");
        let tampered =
            TamperedSection { rejected, proof_flip, score_bump, price_bump, price_off_grid, price_moved };
        Ok::<_, Error>((deployment, verifier.runtime_size, before, after, rule, sent, applied, verified, tampered))
    }
    .await;
    anvil.stop().await?;
    let (deployment, runtime, before, after, rule, sent, applied, verified, tampered) = result?;

    Ok(DemoReport {
        model: ModelSection {
            auroc: report.model_metrics.auroc,
            brier: report.model_metrics.brier,
            train_rows: report.train_rows,
            test_rows: report.test_rows,
            test_positives: report.test_positives,
            prevalence_brier: report.prevalence_brier,
            holdout_from: day_string(cfg.cutoff_day),
            weights_hash: model.weights_hash(),
        },
        baseline: BaselineSection {
            rule: "lower collateral ratio (distance to liquidation) = riskier",
            auroc: report.baseline_metrics.auroc,
            brier: report.baseline_metrics.brier,
        },
        epoch: EpochSection {
            date: day_string(last_day),
            epoch,
            vaults_with_debt: batch.vaults_with_debt,
            scored: cfg.batch,
            mean_probability: mean_p,
            max_probability: max_p,
            eth_close_usd: close,
            proven_price: claimed.to_string(),
            price_tolerance_bps: tolerance_bps,
        },
        proof: ProofSection {
            prove_seconds: proof.prove_seconds,
            verified_offchain,
            logrows: circuit.logrows,
            pk_bytes: circuit.pk_bytes,
            output_scale_bits: circuit.score_bits(),
            proof_bytes: proof.proof.len(),
            srs: circuit.srs_kind.clone(),
            circuit_cached: cached,
            onnx_max_abs_error: onnx_err,
            proof_max_abs_error: proof_err,
        },
        onchain: OnchainSection {
            verified,
            gas_used: sent.gas_used,
            execute_gas_used: applied.gas_used,
            tx_hash: sent.tx_hash,
            oracle: deployment.oracle.to_string(),
            steward: deployment.steward.to_string(),
            aave_pool: deployment.aave.pool.to_string(),
            reserve: DEMO_RESERVE.into(),
            reserve_asset: deployment.asset.to_string(),
            verifier_runtime_bytes: runtime,
        },
        param: ParamSection {
            read_from: format!(
                "Aave v3 reserve {DEMO_RESERVE} ({}), AaveProtocolDataProvider {}",
                deployment.asset, deployment.aave.data_provider
            ),
            before,
            after,
            from_proof: rule.params,
            risk_bps: rule.risk_bps,
        },
        tampered,
    })
}

fn describe(r: Result<()>) -> String {
    match r {
        Ok(()) => "accepted".into(),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_strings() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(18_993), "2022-01-01");
        assert_eq!(day_string(19_370), "2023-01-13");
    }
}
