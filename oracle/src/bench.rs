//! `zkrisk bench prove`: what each circuit configuration costs to prove and to verify on-chain.
//!
//! For every [`ProveConfig`] it sets the circuit up with ezkl (local SRS), proves one batch of
//! real rows several times, verifies the proof off-chain, deploys the generated verifier on a
//! fresh anvil and measures `verifyProof` there (`eth_estimateGas` of the call, which includes the
//! 21,000 intrinsic gas and the calldata). The figures are those of this machine; nothing is
//! extrapolated.

use std::{path::Path, time::Instant};

use alloy::{
    network::TransactionBuilder,
    primitives::{Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use serde::Serialize;
use zkrisk_models::LogisticModel;

use crate::{
    Error, Result, chain,
    prover::{self, CircuitKind, EzklWorker, Prover, SetupRequest, Srs, WorkerConfig},
    solc,
};

alloy::sol! {
    /// The reusable verifier's registration of a circuit's verifying key artifact.
    function registerVka(bytes32[] memory vka) external returns (bytes32 digest);
}

/// One configuration to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProveConfig {
    /// Short name (`logit-64`, `sigmoid-64`, …).
    pub name: &'static str,
    /// Scores per proof.
    pub batch: usize,
    /// How the circuit is laid out (for a price-bound one, [`CircuitKind::EPOCH`]: the price input
    /// comes with the batch).
    pub kind: CircuitKind,
    /// The price-bound circuit on the demo's batch ([`BenchInput::priced`]).
    pub priced: bool,
}

/// The configurations `zkrisk bench prove` tries by default: the sigmoid-in-circuit layout the
/// demo used before, the logit circuit with two and one columns per block, the chosen one
/// ([`CircuitKind::EPOCH`], inputs KZG-committed) at larger batches, the chosen one with private
/// inputs, three logits to an instance at 255 scores ([`CircuitKind::EPOCH_PACKED`]), and the
/// price-bound circuit the demo proves ([`CircuitKind::epoch_priced`], on the demo's batch).
pub const CONFIGS: [ProveConfig; 8] = [
    ProveConfig { name: "sigmoid-64", batch: 64, kind: CircuitKind::Calibrated, priced: false },
    ProveConfig {
        name: "logit-64-2col",
        batch: 64,
        kind: CircuitKind::Linear {
            input_scale: 14,
            param_scale: 14,
            num_inner_cols: 2,
            min_logrows: 10,
            committed_inputs: true,
            packed: false,
            price_shift: None,
        },
        priced: false,
    },
    ProveConfig { name: "logit-64", batch: 64, kind: CircuitKind::EPOCH, priced: false },
    ProveConfig { name: "logit-128", batch: 128, kind: CircuitKind::EPOCH, priced: false },
    ProveConfig { name: "logit-256", batch: 256, kind: CircuitKind::EPOCH, priced: false },
    ProveConfig {
        name: "logit-64-private",
        batch: 64,
        kind: CircuitKind::Linear {
            input_scale: 14,
            param_scale: 14,
            num_inner_cols: 1,
            min_logrows: 10,
            committed_inputs: false,
            packed: false,
            price_shift: None,
        },
        priced: false,
    },
    ProveConfig {
        name: "logit-255-packed",
        batch: 255,
        kind: CircuitKind::EPOCH_PACKED,
        priced: false,
    },
    ProveConfig { name: "logit-64-priced", batch: 64, kind: CircuitKind::EPOCH, priced: true },
];

/// What one configuration measured.
#[derive(Debug, Clone, Serialize)]
pub struct ProveFigures {
    /// The configuration's name.
    pub config: &'static str,
    /// Scores per proof.
    pub batch: usize,
    /// `calibrated` (sigmoid in the circuit) or `linear` (logit only).
    pub kind: &'static str,
    /// log2 of the circuit's rows.
    pub logrows: u32,
    /// Proving key size in bytes.
    pub pk_bytes: u64,
    /// Seconds of `setup` (settings, keys, verifier).
    pub setup_seconds: f64,
    /// Median of the `ezkl.prove` runs, in seconds (witness excluded).
    pub prove_seconds_median: f64,
    /// Every prove run, in seconds.
    pub prove_seconds: Vec<f64>,
    /// Seconds of the witness of one run.
    pub witness_seconds: f64,
    /// Seconds of the off-chain verification.
    pub verify_seconds: f64,
    /// Proof size in bytes.
    pub proof_bytes: usize,
    /// Public instances (one per score; one per three for a packed circuit).
    pub instances: usize,
    /// Bytes of the `verifyProof(proof, instances)` calldata.
    pub calldata_bytes: usize,
    /// Gas of a `verifyProof` transaction on anvil (intrinsic and calldata gas included).
    pub verify_gas: u64,
    /// Gas of the verification itself: `verify_gas` less the transaction's intrinsic gas (21,000
    /// and 16 per non-zero, 4 per zero calldata byte), what the oracle's call to the verifier
    /// costs inside `submit`.
    pub verify_execution_gas: u64,
    /// `verify_execution_gas` per score.
    pub verify_gas_per_score: f64,
    /// The verifier's runtime size (mainnet's limit is 24,576 bytes).
    pub verifier_runtime_bytes: usize,
    /// max |native − proven| probability over the batch (through the oracle's link for logits).
    pub max_abs_error: f64,
    /// ezkl's reusable verifier with this circuit's VKA registered (linear circuits only).
    pub reusable: Option<ReusableFigures>,
}

/// The same proof verified by ezkl's reusable verifier.
#[derive(Debug, Clone, Serialize)]
pub struct ReusableFigures {
    /// Gas of the `verifyProof(proof, instances, vka)` transaction.
    pub verify_gas: u64,
    /// That less the transaction's intrinsic gas.
    pub verify_execution_gas: u64,
    /// Its calldata (the VKA travels with every call).
    pub calldata_bytes: usize,
    /// Gas of registering the VKA, once per circuit.
    pub register_gas: u64,
    /// The shared contract's runtime size.
    pub verifier_runtime_bytes: usize,
}

/// The rows to prove and the model to prove them with.
#[derive(Debug)]
pub struct BenchInput<'a> {
    /// The model.
    pub model: &'a LogisticModel,
    /// Row-major feature rows, at least the largest batch of them.
    pub rows: &'a [f64],
    /// Calibration rows (for the calibrated layout), at least the largest batch of them.
    pub calibration: &'a [f64],
    /// The demo's model and batch, for the price-bound configuration.
    pub priced: Option<&'a crate::demo::PricedEpoch>,
}

/// One configuration's model, circuit and rows.
struct Job<'a> {
    model: &'a LogisticModel,
    kind: CircuitKind,
    input: &'a BenchInput<'a>,
    priced: Option<&'a crate::demo::PricedEpoch>,
}

impl<'a> Job<'a> {
    fn of(c: &ProveConfig, input: &'a BenchInput<'a>) -> Result<Self> {
        let (model, kind, priced) = if c.priced {
            let e = input.priced.ok_or_else(|| {
                Error::Bench(format!("{}: no price-bound batch was given", c.name))
            })?;
            (&e.report.model, CircuitKind::epoch_priced(e.price), Some(e))
        } else {
            (input.model, c.kind, None)
        };
        let job = Self { model, kind, input, priced };
        let have = match priced {
            Some(e) => e.fixed.len(),
            None => input.rows.len().min(input.calibration.len()),
        };
        let cols = model.n_features();
        if have < c.batch * cols {
            return Err(Error::Bench(format!(
                "{}: {} rows are needed, {} given",
                c.name,
                c.batch,
                have / cols
            )));
        }
        Ok(job)
    }

    fn write_calibration(&self, path: &Path, n: usize) -> Result<()> {
        match self.priced {
            Some(e) => std::fs::write(path, &e.calibration).map_err(Error::io(path)),
            None => prover::write_input(path, &self.input.calibration[..n]),
        }
    }

    fn write_input(&self, path: &Path, n: usize) -> Result<()> {
        match self.priced {
            Some(e) => prover::write_priced_input(
                path,
                &e.fixed[..n],
                &e.slope[..n],
                e.price.value(e.answer),
            ),
            None => prover::write_input(path, &self.input.rows[..n]),
        }
    }

    /// The rows the circuit scores: for the price-bound one, the features recomputed at the
    /// price it is given (the close without its low bits).
    fn native_rows(&self, n: usize) -> Vec<f64> {
        match self.priced {
            Some(e) => {
                let at = e.price.value(e.answer);
                e.fixed[..n].iter().zip(&e.slope[..n]).map(|(f, s)| f + s * at).collect()
            }
            None => self.input.rows[..n].to_vec(),
        }
    }
}

/// A transaction's intrinsic gas for `calldata` (EIP-2028 pricing): 21,000 plus 16 per non-zero
/// and 4 per zero byte.
fn intrinsic_gas(calldata: &[u8]) -> u64 {
    21_000 + calldata.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum::<u64>()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

/// Measures each configuration in `configs` with `runs` proofs each, under `work_dir`; `progress`
/// is told what starts.
///
/// # Errors
/// A configuration whose batch exceeds the rows, the worker's errors, anvil's and the chain's.
pub async fn prove(
    root: &Path,
    work_dir: &Path,
    input: &BenchInput<'_>,
    configs: &[ProveConfig],
    runs: usize,
    progress: &dyn Fn(&str),
) -> Result<Vec<ProveFigures>> {
    let runs = runs.max(1);
    let mut worker = EzklWorker::start(WorkerConfig::in_project(root)).await?;
    let anvil = chain::Anvil::spawn(&root.join("contracts/node_modules/.bin/anvil"), None).await?;
    let result = async {
        let (provider, _) = chain::signer_provider(anvil.url(), chain::ANVIL_DEV_KEY)?;
        let mut out = Vec::new();
        for c in configs {
            let job = Job::of(c, input)?;
            let (model, kind, cols) = (job.model, job.kind, job.model.n_features());
            progress(&format!("{}: setting the circuit up", c.name));
            let dir = work_dir.join(c.name);
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
            let bytes = kind.export(model, c.batch)?;
            std::fs::write(dir.join("model.onnx"), &bytes).map_err(Error::io(&dir))?;
            job.write_calibration(&dir.join("calibration.json"), c.batch * cols)?;
            let t = Instant::now();
            let circuit = worker
                .setup(&SetupRequest {
                    model: dir.join("model.onnx"),
                    calibration_data: dir.join("calibration.json"),
                    dir: dir.clone(),
                    srs: Srs::InsecureLocal,
                    kind,
                })
                .await?;
            let setup_seconds = t.elapsed().as_secs_f64();
            job.write_input(&dir.join("input.json"), c.batch * cols)?;
            let mut times = Vec::new();
            let mut proof = None;
            for i in 0..runs {
                progress(&format!("{}: proof {} of {runs}", c.name, i + 1));
                let p = worker
                    .prove(&circuit, &dir.join("input.json"), &dir.join("proof.json"))
                    .await?;
                times.push(p.prove_seconds);
                proof = Some(p);
            }
            let proof = proof.expect("runs ≥ 1");
            let t = Instant::now();
            if !worker.verify(&circuit, &proof.proof_path).await? {
                return Err(Error::Bench(format!("{}: the proof does not verify", c.name)));
            }
            let verify_seconds = t.elapsed().as_secs_f64();

            let bits = u8::try_from(circuit.score_bits())
                .map_err(|_| Error::Bench(format!("output scale {}", circuit.score_bits())))?;
            let (_, scores) = chain::split_instances(chain::layout_of(kind), &proof.instances)?;
            let (p, prob_bits) = zkrisk_models::policy::probabilities(scores, bits, kind.link())?;
            let native = model.predict_proba(&job.native_rows(c.batch * cols))?;
            let max_abs_error = zkrisk_models::policy::max_abs_error(&native, &p, prob_bits);

            progress(&format!("{}: verifying on anvil", c.name));
            let compiled =
                solc::compile(&root.join("scripts/solc"), &circuit.verifier_sol, "Halo2Verifier")?;
            let (verifier, _) = chain::deploy(&provider, compiled.creation.clone()).await?;
            let calldata = chain::IHalo2Verifier::verifyProofCall {
                proof: Bytes::copy_from_slice(&proof.proof),
                instances: proof.instances.clone(),
            }
            .abi_encode();
            let tx = TransactionRequest::default()
                .with_to(verifier)
                .with_input(Bytes::copy_from_slice(&calldata));
            let answer = provider
                .call(tx.clone())
                .await
                .map_err(|e| Error::Rpc(format!("eth_call: {e}")))?;
            if U256::from_be_slice(&answer) != U256::from(1) {
                return Err(Error::Bench(format!("{}: the verifier rejected the proof", c.name)));
            }
            let gas = provider
                .estimate_gas(tx)
                .await
                .map_err(|e| Error::Rpc(format!("eth_estimateGas: {e}")))?;
            let reusable = match kind {
                CircuitKind::Calibrated => None,
                CircuitKind::Linear { .. } => {
                    progress(&format!("{}: the reusable verifier", c.name));
                    Some(reusable_figures(root, &provider, &mut worker, &circuit, &proof).await?)
                }
            };
            out.push(ProveFigures {
                config: c.name,
                batch: c.batch,
                kind: match kind {
                    CircuitKind::Calibrated => "calibrated",
                    CircuitKind::Linear { .. } => "linear",
                },
                logrows: circuit.logrows,
                pk_bytes: circuit.pk_bytes,
                setup_seconds,
                prove_seconds_median: median(&times),
                prove_seconds: times,
                witness_seconds: proof.witness_seconds,
                verify_seconds,
                proof_bytes: proof.proof.len(),
                instances: proof.instances.len(),
                calldata_bytes: calldata.len(),
                verify_gas: gas,
                verify_execution_gas: gas.saturating_sub(intrinsic_gas(&calldata)),
                verify_gas_per_score: gas.saturating_sub(intrinsic_gas(&calldata)) as f64
                    / c.batch as f64,
                verifier_runtime_bytes: compiled.runtime_size,
                max_abs_error,
                reusable,
            });
            // Proving keys of the larger circuits are hundreds of MB: keep only the figures.
            let _ = std::fs::remove_file(dir.join("pk.key"));
        }
        Ok(out)
    }
    .await;
    worker.shutdown().await;
    anvil.stop().await?;
    result
}

/// Deploys ezkl's reusable verifier, registers the circuit's VKA and measures the same proof.
async fn reusable_figures(
    root: &Path,
    provider: &alloy::providers::DynProvider,
    worker: &mut EzklWorker,
    circuit: &prover::Circuit,
    proof: &prover::BatchProof,
) -> Result<ReusableFigures> {
    let r = worker.reusable_verifier(circuit, &proof.proof_path).await?;
    let compiled =
        solc::compile(&root.join("scripts/solc"), &r.verifier_sol, "Halo2VerifierReusable")?;
    let (verifier, _) = chain::deploy(provider, compiled.creation.clone()).await?;
    let register = TransactionRequest::default()
        .with_to(verifier)
        .with_input(Bytes::from(registerVkaCall { vka: r.vka_words.clone() }.abi_encode()));
    let receipt = provider
        .send_transaction(register)
        .await
        .map_err(|e| Error::Rpc(format!("registerVka: {e}")))?
        .get_receipt()
        .await
        .map_err(|e| Error::Rpc(format!("registerVka receipt: {e}")))?;
    if !receipt.status() {
        return Err(Error::Bench("registerVka reverted".into()));
    }
    let tx =
        TransactionRequest::default().with_to(verifier).with_input(Bytes::from(r.calldata.clone()));
    let answer =
        provider.call(tx.clone()).await.map_err(|e| Error::Rpc(format!("eth_call: {e}")))?;
    // (bool success, bytes32 digest, int256[] rescaled): the first word is the verdict.
    if answer.len() < 32 || U256::from_be_slice(&answer[..32]) != U256::from(1) {
        return Err(Error::Bench("the reusable verifier rejected the proof".into()));
    }
    let verify_gas = provider
        .estimate_gas(tx)
        .await
        .map_err(|e| Error::Rpc(format!("eth_estimateGas (reusable): {e}")))?;
    Ok(ReusableFigures {
        verify_gas,
        verify_execution_gas: verify_gas.saturating_sub(intrinsic_gas(&r.calldata)),
        calldata_bytes: r.calldata.len(),
        register_gas: receipt.gas_used,
        verifier_runtime_bytes: compiled.runtime_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrinsic_gas_prices_zero_and_non_zero_bytes() {
        assert_eq!(intrinsic_gas(&[]), 21_000);
        assert_eq!(intrinsic_gas(&[0, 1, 0, 255]), 21_000 + 4 + 16 + 4 + 16);
    }

    #[test]
    fn median_of_odd_and_even_runs() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn the_chosen_configuration_is_measured() {
        assert!(CONFIGS.iter().any(|c| c.kind == CircuitKind::EPOCH && c.batch == 64));
        let names: std::collections::HashSet<_> = CONFIGS.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), CONFIGS.len(), "names are unique");
    }
}
