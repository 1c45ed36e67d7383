//! The prover boundary: a [`Prover`] trait, and its ezkl backend [`EzklWorker`].
//!
//! ezkl runs in a separate Python process (ezkl ships as a wheel, not a crate). The worker is a
//! thin adapter (`scripts/prover_worker.py`, one JSON request per line on stdin, one response per
//! line on stdout); every decision (which model, which batch, where artifacts go, timeouts) is made
//! here. A separate process keeps ezkl's memory (proving keys are large) and crashes out of the
//! keeper, and is the seam where remote provers plug in later.

use std::{
    future::Future,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
};

use crate::{Error, Result};

/// Which structured reference string (SRS) a circuit's keys are made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Srs {
    /// A fresh SRS made on this machine by `ezkl.gen_srs`. Whoever made it can forge proofs:
    /// for tests and the demo only, never for production.
    InsecureLocal,
    /// An SRS file from a trusted-setup ceremony.
    File(PathBuf),
}

/// How ezkl lays a model out as a circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitKind {
    /// ezkl calibrates the scales and lookup ranges on the calibration data ("resources"); a graph
    /// with a sigmoid then carries its lookup table. For [`zkrisk_models::onnx::export`] graphs
    /// (probabilities out, the oracle's `ScoresOnly` layout).
    Calibrated,
    /// Fixed scales, no rescaling after the product and no lookup table: for
    /// [`zkrisk_models::onnx::export_logit`] graphs (logits out, the oracle's `Logits` layout, the
    /// link applied outside the circuit). The setup fails if a lookup is left.
    Linear {
        /// Fractional bits of the inputs.
        input_scale: u32,
        /// Fractional bits of the weights; the logits carry `input_scale + param_scale`.
        param_scale: u32,
        /// Advice columns per block (1 gives the fewest commitments, so the cheapest verifier).
        num_inner_cols: u32,
        /// The smallest logrows to use; raised to fit the circuit's rows.
        min_logrows: u32,
        /// Commit to the inputs (ezkl `polycommit`: a KZG commitment of the features in the proof,
        /// which the published inputs can be checked against) instead of leaving them private.
        committed_inputs: bool,
        /// Three logits to a public instance ([`zkrisk_models::onnx::export_logit_packed`], the
        /// oracle's `PackedLogits` layout): a third of the instances, for batches that are a
        /// multiple of 3.
        packed: bool,
        /// The collateral price an input of the circuit ([`zkrisk_models::onnx::export_logit_priced`],
        /// the oracle's `PriceThenLogits` layout): the aggregator's answer `a` enters as
        /// `(a >> price_shift) / 2^input_scale`, the price-dependent features are computed from it
        /// inside the circuit, and public instance 0 is `(a >> price_shift) << price_shift`, the price
        /// the update claims ([`PriceInput`]). The logits then carry `2 · input_scale +
        /// param_scale` bits (the price times a slope, times a weight).
        #[serde(default)]
        price_shift: Option<u32>,
    },
}

impl CircuitKind {
    /// The configuration the keeper and the demo prove with: logits at 2^-28 from inputs and weights
    /// at 2^-14, one column per block, the inputs KZG-committed in the proof (measured by `zkrisk
    /// bench prove`, docs/proving.md).
    pub const EPOCH: Self = Self::Linear {
        input_scale: 14,
        param_scale: 14,
        num_inner_cols: 1,
        min_logrows: 10,
        committed_inputs: true,
        packed: false,
        price_shift: None,
    };

    /// The epoch circuit with three logits to an instance: for feeds of at least 255 scores,
    /// where it keeps verification under 450k gas at about 1.7k gas per score.
    pub const EPOCH_PACKED: Self = Self::Linear {
        input_scale: 14,
        param_scale: 14,
        num_inner_cols: 1,
        min_logrows: 10,
        committed_inputs: true,
        packed: true,
        price_shift: None,
    };

    /// The price-bound epoch circuit: the [`Self::EPOCH`] layout with the collateral price an input
    /// (`price` from [`PriceInput::for_answer`]).
    pub const fn epoch_priced(price: PriceInput) -> Self {
        Self::Linear {
            input_scale: price.input_scale,
            param_scale: 14,
            num_inner_cols: 1,
            min_logrows: 10,
            committed_inputs: true,
            packed: false,
            price_shift: Some(price.shift),
        }
    }

    /// The price input of a price-bound circuit ([`Self::epoch_priced`]), `None` for the others.
    pub const fn price_input(&self) -> Option<PriceInput> {
        match self {
            Self::Linear { input_scale, price_shift: Some(shift), .. } => {
                Some(PriceInput { shift: *shift, input_scale: *input_scale })
            }
            _ => None,
        }
    }

    /// How the oracle reads this circuit's outputs.
    pub const fn link(&self) -> zkrisk_models::policy::Link {
        match self {
            Self::Calibrated => zkrisk_models::policy::Link::Identity,
            Self::Linear { packed: false, .. } => zkrisk_models::policy::Link::Logistic,
            Self::Linear { packed: true, .. } => zkrisk_models::policy::Link::PackedLogistic,
        }
    }

    /// The ONNX graph of `model` this circuit proves, for batches of `batch` rows.
    ///
    /// # Errors
    /// The export's: a zero batch, or a packed one that is not a multiple of 3.
    /// The export's: a zero batch, a packed one that is not a multiple of 3, or a circuit both
    /// packed and priced.
    pub fn export(&self, model: &zkrisk_models::LogisticModel, batch: usize) -> Result<Vec<u8>> {
        use zkrisk_models::onnx;
        Ok(match self {
            Self::Calibrated => onnx::export(model, batch)?,
            Self::Linear { packed: true, price_shift: Some(_), .. } => {
                return Err(Error::Input("a circuit cannot be both packed and priced".into()));
            }
            Self::Linear { packed: false, price_shift: None, .. } => {
                onnx::export_logit(model, batch)?
            }
            Self::Linear { packed: false, price_shift: Some(shift), param_scale, .. } => {
                // The price instance is the price input times 2^shift: a power of two, exact
                // in f32 and after quantisation at the weights' scale.
                let unit = 2f32.powi(*shift as i32 - *param_scale as i32);
                onnx::export_logit_priced(model, batch, unit)?
            }
            Self::Linear { packed: true, param_scale, .. } => {
                onnx::export_logit_packed(model, batch, *param_scale)?
            }
        })
    }

    fn run_args(&self) -> Value {
        match self {
            Self::Calibrated => Value::Null,
            Self::Linear {
                input_scale,
                param_scale,
                num_inner_cols,
                min_logrows,
                committed_inputs,
                packed: _,
                price_shift: _,
            } => json!({
                "input_scale": input_scale,
                "param_scale": param_scale,
                "num_inner_cols": num_inner_cols,
                "min_logrows": min_logrows,
                // Never rebase: the product's scale stays below 10 × the input scale.
                "scale_rebase_multiplier": 10,
                // The prover chooses the inputs (private or committed) and the outputs are public:
                // range checks on them would add a table and bind nothing the proof does not.
                "ignore_range_check_io": true,
                "committed_inputs": committed_inputs,
            }),
        }
    }
}

/// What [`Prover::setup`] needs: a model graph and data to calibrate its fixed-point scales.
#[derive(Debug, Clone)]
pub struct SetupRequest {
    /// The ONNX graph.
    pub model: PathBuf,
    /// ezkl input JSON (`{"input_data": [[...]]}`) used to calibrate scales and lookup ranges.
    pub calibration_data: PathBuf,
    /// Directory for the circuit's artifacts (settings, compiled circuit, keys, verifier).
    pub dir: PathBuf,
    /// The SRS to use.
    pub srs: Srs,
    /// How the circuit is laid out.
    pub kind: CircuitKind,
}

/// A circuit ready to prove: where its artifacts are and the numbers that matter on-chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Circuit {
    /// Artifact directory.
    pub dir: PathBuf,
    /// The SRS file used.
    pub srs: PathBuf,
    /// `insecure-local` or `file`.
    pub srs_kind: String,
    /// The generated Solidity verifier.
    pub verifier_sol: PathBuf,
    /// log2 of the circuit's rows.
    pub logrows: u32,
    /// Fractional bits of the inputs.
    pub input_scale: u32,
    /// Fractional bits of the public outputs: an output `v` is the integer `round(v · 2^scale)`.
    pub output_scale: u32,
    /// Size of the proving key in bytes.
    pub pk_bytes: u64,
    /// How the circuit was laid out (and so how its outputs are read).
    #[serde(default = "calibrated")]
    pub kind: CircuitKind,
}

const fn calibrated() -> CircuitKind {
    CircuitKind::Calibrated
}

impl Circuit {
    /// Fractional bits of the scores the oracle reads: the output scale of a calibrated circuit;
    /// `input_scale + param_scale` for a linear one (its logits are never rescaled, and a packed
    /// one's outputs carry them in 50-bit slots, so ezkl's output scale is not theirs), one more
    /// `input_scale` for a priced one (its first output, the price, has the other scale).
    pub const fn score_bits(&self) -> u32 {
        match self.kind {
            CircuitKind::Linear { input_scale, param_scale, price_shift: Some(_), .. } => {
                2 * input_scale + param_scale
            }
            CircuitKind::Linear { input_scale, param_scale, .. } => input_scale + param_scale,
            CircuitKind::Calibrated => self.output_scale,
        }
    }

    /// The same circuit after its directory moved to `to`: paths inside the old directory are
    /// re-rooted, paths outside it (a ceremony SRS file) are kept.
    pub fn relocate(mut self, to: &Path) -> Self {
        let rebase = |p: &mut PathBuf, from: &Path| {
            if let Ok(rest) = p.strip_prefix(from) {
                *p = to.join(rest);
            }
        };
        let from = std::mem::replace(&mut self.dir, to.into());
        rebase(&mut self.srs, &from);
        rebase(&mut self.verifier_sol, &from);
        self
    }
}

/// One proof of one batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchProof {
    /// The proof file ezkl wrote.
    pub proof_path: PathBuf,
    /// The proof bytes the Solidity verifier takes.
    pub proof: Vec<u8>,
    /// The public instances (the model's outputs), as unsigned field elements.
    pub instances: Vec<alloy::primitives::U256>,
    /// Seconds spent in `ezkl.prove` (witness generation excluded).
    pub prove_seconds: f64,
    /// Seconds spent generating the witness.
    pub witness_seconds: f64,
}

/// A calibration batch: the rows holding each feature's training minimum and maximum, filled up
/// with evenly spaced training rows, so ezkl's scales cover the range the model was fitted on.
pub fn calibration_batch(values: &[f64], cols: usize, train: &[usize], batch: usize) -> Vec<usize> {
    let mut picked = Vec::with_capacity(batch);
    for j in 0..cols {
        let by = |a: &&usize, b: &&usize| values[**a * cols + j].total_cmp(&values[**b * cols + j]);
        for row in [train.iter().min_by(by), train.iter().max_by(by)].into_iter().flatten() {
            if picked.len() < batch && !picked.contains(row) {
                picked.push(*row);
            }
        }
    }
    let step = (train.len() / batch.max(1)).max(1);
    for row in train.iter().step_by(step) {
        if picked.len() == batch {
            break;
        }
        if !picked.contains(row) {
            picked.push(*row);
        }
    }
    picked
}

/// Sets the circuit of `onnx_bytes` up under `work_dir/circuits/<hash>`, or reuses the one cached
/// there for the same graph, calibration data, circuit kind and ezkl version (local SRS: not a
/// trusted setup).
///
/// # Errors
/// The worker's, and I/O errors.
pub async fn cached_circuit(
    worker: &mut EzklWorker,
    work_dir: &Path,
    onnx_bytes: &[u8],
    calibration: &[u8],
    kind: CircuitKind,
) -> Result<(Circuit, bool)> {
    let mut h = Sha256::new();
    h.update(onnx_bytes);
    h.update(calibration);
    h.update(worker.version().as_bytes());
    if kind != CircuitKind::Calibrated {
        h.update(kind.run_args().to_string().as_bytes());
    }
    let key = hex::encode(&h.finalize()[..8]);
    let dir = work_dir.join("circuits").join(key);
    let manifest = dir.join("circuit.json");
    if let Ok(text) = std::fs::read_to_string(&manifest)
        && let Ok(c) = serde_json::from_str::<Circuit>(&text)
        && c.dir.join("pk.key").exists()
        && c.srs.exists()
        && c.verifier_sol.exists()
    {
        return Ok((c, true));
    }
    // Build in a scratch directory and move it into place, so an interrupted setup never leaves
    // a half-written circuit that looks complete.
    let scratch = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(Error::io(&scratch))?;
    write_file(&scratch.join("model.onnx"), onnx_bytes)?;
    write_file(&scratch.join("calibration.json"), calibration)?;
    let req = SetupRequest {
        model: scratch.join("model.onnx"),
        calibration_data: scratch.join("calibration.json"),
        dir: scratch.clone(),
        srs: Srs::InsecureLocal,
        kind,
    };
    let c = worker.setup(&req).await?.relocate(&dir);
    // The manifest goes in last, already naming the final paths: a directory without it is
    // never taken for a finished circuit.
    write_file(
        &scratch.join("circuit.json"),
        serde_json::to_string_pretty(&c).expect("serialises").as_bytes(),
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&scratch, &dir).map_err(Error::io(&dir))?;
    Ok((c, false))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(Error::io(path))
}

/// A backend that sets up circuits, proves batches and verifies proofs.
pub trait Prover {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Makes settings, keys and a Solidity verifier for a model.
    fn setup(
        &mut self,
        req: &SetupRequest,
    ) -> impl Future<Output = Result<Circuit, Self::Error>> + Send;

    /// Proves one batch; `input` is ezkl input JSON, the proof is written to `proof_path`.
    fn prove(
        &mut self,
        circuit: &Circuit,
        input: &Path,
        proof_path: &Path,
    ) -> impl Future<Output = Result<BatchProof, Self::Error>> + Send;

    /// Verifies a proof off-chain with the circuit's verifying key.
    fn verify(
        &mut self,
        circuit: &Circuit,
        proof_path: &Path,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

/// How to start the ezkl worker and how long to wait for it.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Python interpreter of the virtualenv holding ezkl.
    pub python: PathBuf,
    /// The worker script.
    pub script: PathBuf,
    /// Where the worker's stderr (ezkl's own logs) goes; inherited when `None`.
    pub log: Option<PathBuf>,
    /// Timeout of `ping`.
    pub ping_timeout: Duration,
    /// Timeout of `setup` (calibration and key generation).
    pub setup_timeout: Duration,
    /// Timeout of `prove`.
    pub prove_timeout: Duration,
    /// Timeout of `verify`.
    pub verify_timeout: Duration,
    /// Ask ezkl for its ICICLE GPU path (`ENABLE_ICICLE_GPU=true`); the interpreter's ezkl must
    /// be a GPU build and the machine must have a CUDA device.
    pub gpu: bool,
}

impl WorkerConfig {
    /// The worker of a project checkout: `.venv/bin/python scripts/prover_worker.py`.
    pub fn in_project(root: &Path) -> Self {
        Self {
            python: root.join(".venv/bin/python"),
            script: root.join("scripts/prover_worker.py"),
            log: None,
            ping_timeout: Duration::from_secs(60),
            setup_timeout: Duration::from_secs(600),
            prove_timeout: Duration::from_secs(300),
            verify_timeout: Duration::from_secs(60),
            gpu: false,
        }
    }
}

#[derive(Deserialize)]
struct Response {
    id: Option<u64>,
    ok: bool,
    #[serde(default)]
    result: Value,
    #[serde(default)]
    error: Option<RemoteError>,
}

#[derive(Deserialize)]
struct RemoteError {
    kind: String,
    message: String,
}

/// The ezkl backend: a long-lived `prover_worker.py` process.
#[derive(Debug)]
pub struct EzklWorker {
    config: WorkerConfig,
    child: Option<(Child, ChildStdin, Lines<BufReader<ChildStdout>>)>,
    next_id: u64,
    version: String,
}

impl EzklWorker {
    /// Starts the worker and checks that it answers and can import ezkl.
    pub async fn start(config: WorkerConfig) -> Result<Self> {
        let mut worker = Self { config, child: None, next_id: 1, version: String::new() };
        worker.spawn()?;
        let timeout = worker.config.ping_timeout;
        let pong = worker.call("ping", json!({}), timeout).await?;
        worker.version = pong["ezkl"].as_str().unwrap_or("unknown").to_string();
        Ok(worker)
    }

    /// The ezkl version the worker runs.
    pub fn version(&self) -> &str {
        &self.version
    }

    fn spawn(&mut self) -> Result<()> {
        let c = &self.config;
        if !c.python.exists() {
            return Err(Error::WorkerMissing { python: c.python.clone() });
        }
        if !c.script.exists() {
            return Err(Error::WorkerSpawn {
                program: c.script.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "worker script not found",
                ),
            });
        }
        let stderr = match &c.log {
            Some(path) => Stdio::from(std::fs::File::create(path).map_err(Error::io(path))?),
            None => Stdio::inherit(),
        };
        let mut command = Command::new(&c.python);
        if c.gpu {
            command.env("ENABLE_ICICLE_GPU", "true");
        }
        let mut child = command
            .arg(&c.script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| Error::WorkerSpawn { program: c.python.clone(), source })?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        self.child = Some((child, stdin, stdout));
        Ok(())
    }

    fn log_name(&self) -> String {
        self.config.log.as_ref().map_or_else(|| "stderr".into(), |p| p.display().to_string())
    }

    /// Sends one request and waits for its response. On a timeout or a dead worker the process is
    /// killed; the next request starts a fresh one.
    async fn call(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        if self.child.is_none() {
            self.spawn()?;
        }
        let id = self.next_id;
        self.next_id += 1;
        let line = format!("{}\n", json!({"id": id, "method": method, "params": params}));
        let log = self.log_name();
        let died = || Error::WorkerDied { method: method.into(), log: log.clone() };
        let (_, stdin, stdout) = self.child.as_mut().expect("spawned above");
        let exchange = async {
            stdin.write_all(line.as_bytes()).await.map_err(|_| died())?;
            stdin.flush().await.map_err(|_| died())?;
            stdout.next_line().await.map_err(|_| died())?.ok_or_else(died)
        };
        let answer = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.kill().await;
                return Err(e);
            }
            Err(_) => {
                self.kill().await;
                return Err(Error::Timeout { method: method.into(), seconds: timeout.as_secs() });
            }
        };
        let resp: Response = match serde_json::from_str(&answer) {
            Ok(resp) => resp,
            Err(e) => {
                // A worker that prints something else is in an unknown state: start afresh.
                self.kill().await;
                return Err(Error::Protocol(format!("`{method}` answered {answer:?}: {e}")));
            }
        };
        if resp.id != Some(id) {
            self.kill().await;
            return Err(Error::Protocol(format!(
                "`{method}` got the answer to request {:?}",
                resp.id
            )));
        }
        if resp.ok {
            Ok(resp.result)
        } else {
            let e = resp.error.unwrap_or(RemoteError { kind: "unknown".into(), message: answer });
            Err(Error::Worker { method: method.into(), kind: e.kind, message: e.message })
        }
    }

    async fn kill(&mut self) {
        if let Some((mut child, _, _)) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Stops the worker.
    pub async fn shutdown(mut self) {
        self.kill().await;
    }
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str().ok_or_else(|| Error::Artifact { path: p.into(), reason: "path is not UTF-8".into() })
}

fn field<T: serde::de::DeserializeOwned>(v: &Value, key: &str, method: &str) -> Result<T> {
    serde_json::from_value(v[key].clone())
        .map_err(|e| Error::Protocol(format!("`{method}` result field `{key}`: {e}")))
}

impl Prover for EzklWorker {
    type Error = Error;

    async fn setup(&mut self, req: &SetupRequest) -> Result<Circuit> {
        let srs = match &req.srs {
            Srs::InsecureLocal => Value::Null,
            Srs::File(p) => json!(path_str(p)?),
        };
        let params = json!({
            "model": path_str(&req.model)?,
            "calibration_data": path_str(&req.calibration_data)?,
            "dir": path_str(&req.dir)?,
            "srs": srs,
            "run_args": req.kind.run_args(),
        });
        let timeout = self.config.setup_timeout;
        let r = self.call("setup", params, timeout).await?;
        Ok(Circuit {
            dir: req.dir.clone(),
            srs: field(&r, "srs", "setup")?,
            srs_kind: field(&r, "srs_kind", "setup")?,
            verifier_sol: field(&r, "verifier_sol", "setup")?,
            logrows: field(&r, "logrows", "setup")?,
            input_scale: field(&r, "input_scale", "setup")?,
            output_scale: field(&r, "output_scale", "setup")?,
            pk_bytes: field(&r, "pk_bytes", "setup")?,
            kind: req.kind,
        })
    }

    async fn prove(
        &mut self,
        circuit: &Circuit,
        input: &Path,
        proof_path: &Path,
    ) -> Result<BatchProof> {
        let params = json!({
            "dir": path_str(&circuit.dir)?,
            "srs": path_str(&circuit.srs)?,
            "input": path_str(input)?,
            "proof": path_str(proof_path)?,
        });
        let timeout = self.config.prove_timeout;
        let r = self.call("prove", params, timeout).await?;
        let hex_proof: String = field(&r, "proof_hex", "prove")?;
        let proof = hex::decode(hex_proof.trim_start_matches("0x"))
            .map_err(|e| Error::Protocol(format!("`prove` proof_hex: {e}")))?;
        let instances: Vec<String> = field(&r, "instances", "prove")?;
        let instances = instances
            .iter()
            .map(|s| s.parse().map_err(|e| Error::Protocol(format!("`prove` instance {s}: {e}"))))
            .collect::<Result<_>>()?;
        Ok(BatchProof {
            proof_path: proof_path.into(),
            proof,
            instances,
            prove_seconds: field(&r, "prove_seconds", "prove")?,
            witness_seconds: field(&r, "witness_seconds", "prove")?,
        })
    }

    async fn verify(&mut self, circuit: &Circuit, proof_path: &Path) -> Result<bool> {
        let params = json!({
            "dir": path_str(&circuit.dir)?,
            "srs": path_str(&circuit.srs)?,
            "proof": path_str(proof_path)?,
        });
        let timeout = self.config.verify_timeout;
        let r = self.call("verify", params, timeout).await?;
        field(&r, "valid", "verify")
    }
}

/// ezkl's reusable verifier for one circuit: deployed once for every circuit, each circuit's
/// verifying key artifact registered in it.
#[derive(Debug, Clone)]
pub struct ReusableVerifier {
    /// The shared `Halo2VerifierReusable` contract.
    pub verifier_sol: PathBuf,
    /// The circuit's verifying key artifact, as `registerVka(bytes32[])` takes it.
    pub vka_words: Vec<alloy::primitives::B256>,
    /// `verifyProof(proof, instances, vka)` calldata of the given proof.
    pub calldata: Vec<u8>,
}

impl EzklWorker {
    /// The reusable verifier, the circuit's VKA and the calldata that verifies `proof_path` with
    /// them (ezkl marks its reusable verifier experimental).
    ///
    /// # Errors
    /// The worker's, and a malformed answer.
    pub async fn reusable_verifier(
        &mut self,
        circuit: &Circuit,
        proof_path: &Path,
    ) -> Result<ReusableVerifier> {
        let params = json!({
            "dir": path_str(&circuit.dir)?,
            "srs": path_str(&circuit.srs)?,
            "proof": path_str(proof_path)?,
        });
        let timeout = self.config.setup_timeout;
        let r = self.call("reusable", params, timeout).await?;
        let words: Vec<String> = field(&r, "vka_words", "reusable")?;
        let vka_words = words
            .iter()
            .map(|w| w.parse().map_err(|e| Error::Protocol(format!("`reusable` word {w}: {e}"))))
            .collect::<Result<_>>()?;
        let calldata: String = field(&r, "calldata_hex", "reusable")?;
        Ok(ReusableVerifier {
            verifier_sol: field(&r, "verifier_sol", "reusable")?,
            vka_words,
            calldata: hex::decode(calldata.trim_start_matches("0x"))
                .map_err(|e| Error::Protocol(format!("`reusable` calldata: {e}")))?,
        })
    }
}

/// What ezkl said of a proof: valid, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Whether the proof verifies.
    pub valid: bool,
    /// ezkl's reason when it does not.
    pub reason: Option<String>,
}

/// Whether published inputs are the ones a proof committed to ([`EzklWorker::check_inputs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputCheck {
    /// The proof verifies with the inputs' commitment swapped in.
    pub committed: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    /// The circuit's outputs on the inputs (field elements): the proof's instances, if honest.
    pub outputs: Vec<alloy::primitives::U256>,
}

impl EzklWorker {
    /// Verifies the proof file `proof` with the verifying key and settings in `artifacts`
    /// (`vk.key`, `settings.json`) and the SRS `srs`; a proof that does not verify is
    /// `valid: false` with ezkl's reason, not an error.
    ///
    /// # Errors
    /// A missing artifact, and the worker's own failures.
    pub async fn verify_with(
        &mut self,
        artifacts: &Path,
        srs: &Path,
        proof: &Path,
    ) -> Result<Verification> {
        let params = json!({
            "dir": path_str(artifacts)?,
            "srs": path_str(srs)?,
            "proof": path_str(proof)?,
        });
        let timeout = self.config.verify_timeout;
        let r = self.call("verify", params, timeout).await?;
        Ok(Verification {
            valid: field(&r, "valid", "verify")?,
            reason: r["reason"].as_str().map(Into::into),
        })
    }

    /// Whether `input` (ezkl input JSON) holds the inputs the proof file `proof` committed to: the
    /// witness of `input` (with `artifacts`' compiled circuit, verifying key and the SRS `srs`)
    /// gives a commitment, which is swapped into a copy of the proof, and the copy must verify.
    /// Only circuits with committed inputs ([`CircuitKind::EPOCH`]) can pass.
    ///
    /// # Errors
    /// A missing artifact, and the worker's own failures.
    pub async fn check_inputs(
        &mut self,
        artifacts: &Path,
        srs: &Path,
        proof: &Path,
        input: &Path,
    ) -> Result<InputCheck> {
        let params = json!({
            "dir": path_str(artifacts)?,
            "srs": path_str(srs)?,
            "proof": path_str(proof)?,
            "input": path_str(input)?,
        });
        let timeout = self.config.prove_timeout;
        let r = self.call("check_inputs", params, timeout).await?;
        let outputs: Vec<String> = field(&r, "outputs", "check_inputs")?;
        let outputs = outputs
            .iter()
            .map(|s| {
                s.parse().map_err(|e| Error::Protocol(format!("`check_inputs` output {s}: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(InputCheck {
            committed: field(&r, "committed", "check_inputs")?,
            reason: r["reason"].as_str().map(Into::into),
            outputs,
        })
    }
}

impl EzklWorker {
    /// Writes to `out` the Solidity verifier of the verifying key in `artifacts` (`vk.key`,
    /// `settings.json`, with the SRS `srs`), as the circuit's setup writes `Verifier.sol`.
    ///
    /// # Errors
    /// A missing artifact, and the worker's own failures.
    pub async fn evm_verifier(
        &mut self,
        artifacts: &Path,
        srs: &Path,
        out: &Path,
    ) -> Result<PathBuf> {
        let params = json!({
            "dir": path_str(artifacts)?,
            "srs": path_str(srs)?,
            "out": path_str(out)?,
        });
        let timeout = self.config.setup_timeout;
        let r = self.call("evm_verifier", params, timeout).await?;
        field(&r, "verifier_sol", "evm_verifier")
    }
}

/// Writes an ezkl proof file from the proof bytes and its public instances (one instance column,
/// field elements as ezkl writes them: 32-byte little-endian hex): what `ezkl.verify` reads, for a
/// proof known only from a transaction or a feed.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn write_proof_json(
    path: &Path,
    proof: &[u8],
    instances: &[alloy::primitives::U256],
) -> Result<()> {
    let instances: Vec<String> =
        instances.iter().map(|v| hex::encode(v.to_le_bytes::<32>())).collect();
    let body = json!({
        "protocol": null,
        "instances": [instances],
        "proof": proof,
        "hex_proof": format!("0x{}", hex::encode(proof)),
        "split": null,
        "pretty_public_inputs": null,
        "timestamp": null,
        "version": null,
    });
    std::fs::write(path, body.to_string()).map_err(Error::io(path))
}

/// How a price-bound circuit ([`CircuitKind::epoch_priced`]) takes the collateral price: the
/// aggregator's answer `a` (an integer in its decimals) enters the circuit as `q / 2^input_scale`
/// with `q = a >> shift`, and the proof's public instance 0 is `q << shift`. That instance is the
/// price the update claims ([`Self::claimed`]): the oracle passes the claimed price as instance 0
/// and checks it against the aggregator within its tolerance, so a proof holds only at a price
/// close to the chain's. The shift keeps `q` near 2^16 (about 5 significant digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceInput {
    /// Bits dropped from the answer.
    pub shift: u32,
    /// Fractional bits of the circuit's inputs.
    pub input_scale: u32,
}

impl PriceInput {
    /// The input for a collateral whose aggregator answers about `answer` now (inputs at 2^-14):
    /// the shift that puts `q` in `[2^15, 2^16)`, so the price input is in `[2, 4)`. The circuit
    /// keeps it as the price moves; it reads any later answer, with fewer digits if the price falls
    /// far.
    pub const fn for_answer(answer: u128) -> Self {
        let bits = u128::BITS - answer.leading_zeros();
        Self { shift: bits.saturating_sub(16), input_scale: 14 }
    }

    /// The price the proof for `answer` claims: `answer` with its low `shift` bits cleared (public
    /// instance 0).
    pub const fn claimed(&self, answer: u128) -> u128 {
        (answer >> self.shift) << self.shift
    }

    /// The circuit's price input for `answer`: `q / 2^input_scale`, exact in f64 while
    /// `q < 2^53`, i.e. for any answer below `2^(53 + shift)` (`q` is below 2^16 at the answer the
    /// shift was chosen for).
    pub fn value(&self, answer: u128) -> f64 {
        (answer >> self.shift) as f64 / f64::from(1u32 << self.input_scale)
    }

    /// USD per unit of the price input, for an aggregator with `decimals` decimals: the factor
    /// from a feature's slope per USD to its slope per unit of the input.
    pub fn usd_per_unit(&self, decimals: u8) -> f64 {
        2f64.powi((self.shift + self.input_scale) as i32) / 10f64.powi(i32::from(decimals))
    }

    /// The claimed price in USD for `answer`.
    pub fn claimed_usd(&self, answer: u128, decimals: u8) -> f64 {
        self.claimed(answer) as f64 / 10f64.powi(i32::from(decimals))
    }
}

/// Writes ezkl input JSON for one batch of a price-bound circuit: the fixed parts and the price
/// slopes of the features (row-major, in the circuit's price units), then the price input.
pub fn write_priced_input(path: &Path, fixed: &[f64], slope: &[f64], price: f64) -> Result<()> {
    let body = json!({ "input_data": [fixed, slope, [price]] });
    std::fs::write(path, body.to_string()).map_err(Error::io(path))
}

/// Writes ezkl input JSON for one batch (row-major values, one model input).
pub fn write_input(path: &Path, values: &[f64]) -> Result<()> {
    let body = json!({ "input_data": [values] });
    std::fs::write(path, body.to_string()).map_err(Error::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_input_keeps_sixteen_bits_and_claims_the_answer_without_its_low_bits() {
        // ETH at 1,453.38 USD, 8 decimals: an answer of 38 bits, 22 of them dropped.
        let answer = 145_338_000_000u128;
        let p = PriceInput::for_answer(answer);
        assert_eq!(p.shift, 38 - 16);
        let q = answer >> p.shift;
        assert!((1 << 15..1 << 16).contains(&q), "{q}");
        assert_eq!(p.claimed(answer), q << p.shift);
        assert!(answer - p.claimed(answer) < 1 << p.shift);
        // The input is q / 2^14, in [2, 4), and exact: quantised at 2^14 it is q again.
        let v = p.value(answer);
        assert!((2.0..4.0).contains(&v), "{v}");
        assert_eq!((v * 16_384.0) as u128, q);
        // USD per unit of the input: the claimed price in USD is the input times it.
        let usd = v * p.usd_per_unit(8);
        assert!((usd - p.claimed_usd(answer, 8)).abs() < 1e-9, "{usd}");
        assert!((usd - 1_453.38).abs() < 0.05, "{usd}");
        // A small answer drops nothing.
        assert_eq!(PriceInput::for_answer(40_000).shift, 0);
        assert_eq!(PriceInput::for_answer(40_000).claimed(40_000), 40_000);
    }

    #[test]
    fn a_priced_circuit_has_its_layout_and_scale_and_is_never_packed() {
        let price = PriceInput::for_answer(300_000_000_000);
        let kind = CircuitKind::epoch_priced(price);
        assert_eq!(kind.price_input(), Some(price));
        assert_eq!(CircuitKind::EPOCH.price_input(), None);
        let circuit = Circuit {
            dir: "c".into(),
            srs: "c/srs".into(),
            srs_kind: "insecure-local".into(),
            verifier_sol: "c/Verifier.sol".into(),
            logrows: 12,
            input_scale: 14,
            output_scale: 28,
            pk_bytes: 0,
            kind,
        };
        // The logits carry the price's scale, a slope's and a weight's.
        assert_eq!(circuit.score_bits(), 42);
        let CircuitKind::Linear { param_scale, .. } = kind else { unreachable!() };
        let packed_and_priced = CircuitKind::Linear {
            input_scale: 14,
            param_scale,
            num_inner_cols: 1,
            min_logrows: 10,
            committed_inputs: true,
            packed: true,
            price_shift: Some(price.shift),
        };
        let model = zkrisk_models::LogisticModel::fit(
            &[0.0, 1.0, 2.0, 3.0],
            &[true, false, true, false],
            vec!["x".into()],
            &zkrisk_models::LogisticParams::default().check().unwrap(),
        )
        .unwrap();
        assert!(
            packed_and_priced
                .export(&model, 3)
                .unwrap_err()
                .to_string()
                .contains("packed and priced")
        );
        assert!(!kind.export(&model, 4).unwrap().is_empty());
        // A circuit file written before the price input existed still reads.
        let old = r#"{"linear":{"input_scale":14,"param_scale":14,"num_inner_cols":1,"min_logrows":10,"committed_inputs":true,"packed":false}}"#;
        assert_eq!(serde_json::from_str::<CircuitKind>(old).unwrap(), CircuitKind::EPOCH);
    }

    #[test]
    fn calibration_batch_holds_the_extremes() {
        // 3 columns, 10 rows; column 1's max is in row 7, column 2's min in row 3.
        let mut v = vec![0.0; 30];
        for r in 0..10 {
            v[r * 3] = r as f64;
        }
        v[7 * 3 + 1] = 100.0;
        v[3 * 3 + 2] = -5.0;
        let train: Vec<usize> = (0..10).collect();
        let rows = calibration_batch(&v, 3, &train, 6);
        assert_eq!(rows.len(), 6);
        for must in [0, 9, 7, 3] {
            assert!(rows.contains(&must), "{rows:?} lacks {must}");
        }
    }

    #[test]
    fn relocate_re_roots_inner_paths_only() {
        let c = Circuit {
            dir: "/a/scratch.tmp".into(),
            srs: "/a/scratch.tmp/kzg.srs".into(),
            srs_kind: "insecure-local".into(),
            verifier_sol: "/a/scratch.tmp/Verifier.sol".into(),
            logrows: 17,
            input_scale: 11,
            output_scale: 11,
            pk_bytes: 1,
            kind: CircuitKind::Calibrated,
        };
        let moved = c.clone().relocate(Path::new("/a/final"));
        assert_eq!(moved.dir, Path::new("/a/final"));
        assert_eq!(moved.srs, Path::new("/a/final/kzg.srs"));
        assert_eq!(moved.verifier_sol, Path::new("/a/final/Verifier.sol"));
        let ceremony = Circuit { srs: "/srs/ceremony.srs".into(), ..c };
        assert_eq!(ceremony.relocate(Path::new("/b")).srs, Path::new("/srs/ceremony.srs"));
    }
}
