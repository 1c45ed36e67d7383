//! `zkrisk verify`: checks one update of the feed without trusting the feed.
//!
//! An update comes from a feed (`/v1/markets/{market}/latest` or `…/updates/{epoch}`), a file of
//! the feed's JSON, or a transaction hash. Each check passes, fails with a reason, or is skipped
//! when what it needs is not at hand:
//!
//! 1. `rule`: the LTV, liquidation threshold and bonus are `RiskRule`'s for the scores (the link
//!    of the model's layout applied, as the oracle does), the batch has the model's size, and a
//!    price-bound model's claimed price is on its registered grid (`priceShiftBits`).
//! 2. `proof_offchain`: ezkl verifies the proof with the model's verifying key, on the public
//!    instances built from the update's scores (so a changed score fails here).
//! 3. `proof_onchain`: the verifier the oracle's registry names for the model returns `true` for the
//!    same proof and instances (`eth_call`).
//! 4. `verifying_key`: the verifier ezkl generates from the verifying key used off-chain, compiled,
//!    is byte for byte the registered verifier's code: the key of check 2 is the model's, even
//!    when it was downloaded from the feed.
//! 5. `recorded`: the oracle's `UpdateAccepted` event of this market and epoch carries the same
//!    scores, proof, parameters, data block and time, price and model.
//! 6. `inputs`: the published inputs are the ones the proof committed to (their KZG commitment,
//!    swapped into a copy of the proof, verifies) and the circuit's outputs on them are the scores.
//!
//! The on-chain checks read the oracle the user names (`--oracle`), never the one the update
//! names: a feed could point at an oracle of its own, with a verifier of its own.
//!
//! The update is valid when no check fails and the proof verified with a key the user trusts: the
//! user's oracle's verifier (`proof_onchain`), or ezkl with the user's own artifacts, or with the
//! feed's artifacts once `verifying_key` tied them to the user's oracle.

use std::path::{Path, PathBuf};

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use serde::Serialize;
use sha2::Digest;

use crate::{
    Error, Result,
    chain::{self, IHalo2Verifier, RiskOracle},
    feed::{
        self,
        index::{self, FeedModel, FeedUpdate},
    },
    prover::{self, EzklWorker, WorkerConfig},
};

/// Where the update comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A feed: its base URL, a market (address or symbol) and an epoch (the latest when `None`).
    Feed {
        /// Base URL, e.g. `http://127.0.0.1:8080`.
        url: String,
        /// Market address or symbol.
        market: String,
        /// Epoch; the latest when `None`.
        epoch: Option<u64>,
    },
    /// A file holding one update as the feed serves it.
    File(PathBuf),
    /// A `RiskOracle.submit` transaction (needs an RPC).
    Tx(B256),
}

/// What the checks may use besides the update.
#[derive(Debug, Clone)]
pub struct Options {
    /// JSON-RPC endpoint of the update's chain: on-chain checks (and `Source::Tx`).
    pub rpc_url: Option<String>,
    /// The `RiskOracle` the user trusts (the DAO's own), which the on-chain checks read; required
    /// with `rpc_url`.
    pub oracle: Option<Address>,
    /// The model's circuit directory (`settings.json`, `vk.key`, SRS, `model.compiled`); from a
    /// feed they are downloaded when not given.
    pub artifacts: Option<PathBuf>,
    /// The published inputs (ezkl input JSON); from a feed they are downloaded when published.
    pub inputs: Option<PathBuf>,
    /// Where downloads and scratch files go.
    pub work_dir: PathBuf,
    /// The ezkl worker.
    pub worker: WorkerConfig,
    /// The project's solc (`scripts/solc`), to compile the verifier of the verifying key.
    pub solc: Option<PathBuf>,
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It held.
    Pass,
    /// It did not; `detail` says why.
    Fail,
    /// What it needs was not given; `detail` says what.
    Skip,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable name (`rule`, `proof_offchain`, `proof_onchain`, `verifying_key`, `recorded`,
    /// `inputs`).
    pub name: &'static str,
    /// How it ended.
    pub status: Status,
    /// What was found.
    pub detail: String,
}

/// The verdict on one update.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// No check failed and the proof verified at least once.
    pub valid: bool,
    /// Where the update came from.
    pub source: String,
    /// The update's market.
    pub market: String,
    /// Its symbol, if known.
    pub symbol: Option<String>,
    /// Its epoch.
    pub epoch: u64,
    /// Its model.
    pub model_id: u32,
    /// The checks, in order.
    pub checks: Vec<Check>,
}

impl Verdict {
    /// Why the update is not valid (empty when it is).
    pub fn reasons(&self) -> Vec<String> {
        let mut r: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        if r.is_empty() && !self.valid {
            r.push(
                "the proof was not verified with a trusted key: give --rpc and --oracle, or --artifacts"
                    .into(),
            );
        }
        r
    }

    /// The plain-text report.
    pub fn render(&self) -> String {
        let mut s = format!(
            "update of {} epoch {} (model {}), from {}\n",
            self.symbol
                .clone()
                .map_or_else(|| self.market.clone(), |sym| format!("{sym} ({})", self.market)),
            self.epoch,
            self.model_id,
            self.source
        );
        for c in &self.checks {
            let tag = match c.status {
                Status::Pass => "pass",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            s.push_str(&format!("  {tag}  {:<15} {}\n", c.name, c.detail));
        }
        if self.valid {
            s.push_str("VALID\n");
        } else {
            s.push_str(&format!("INVALID: {}\n", self.reasons().join("; ")));
        }
        s
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("a client without TLS builds")
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| Error::Input(format!("{what}: not a feed update ({e})")))
}

/// Downloads the model's artifacts from a feed into `dir`, each checked against the SHA-256 the
/// feed lists for it; returns `dir`, or `None` when the feed serves no verifying key.
async fn download_artifacts(
    client: &reqwest::Client,
    base: &str,
    model: &FeedModel,
    dir: &Path,
) -> Result<Option<PathBuf>> {
    if !model.artifacts.iter().any(|a| a.name == "vk.key") {
        return Ok(None);
    }
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    for a in &model.artifacts {
        // Names come from the feed: only the known ones, never a path.
        let Some((name, _)) = index::ARTIFACTS.iter().find(|(n, _)| *n == a.name) else {
            return Err(Error::Input(format!(
                "feed model {}: unknown artifact `{}`",
                model.id, a.name
            )));
        };
        let path = dir.join(if *name == "srs" { "kzg.srs" } else { name });
        let have = std::fs::read(&path).ok().map(|b| hex::encode(sha2::Sha256::digest(&b)));
        if have.as_deref() == Some(a.sha256.as_str()) {
            continue;
        }
        let body =
            feed::get(client, &format!("{base}/v1/models/{}/artifacts/{}", model.id, a.name))
                .await?;
        let got = hex::encode(sha2::Sha256::digest(&body));
        if got != a.sha256 {
            return Err(Error::Input(format!(
                "feed artifact {} of model {}: sha256 {got}, the feed lists {}",
                a.name, model.id, a.sha256
            )));
        }
        std::fs::write(&path, &body).map_err(Error::io(&path))?;
    }
    Ok(Some(dir.to_path_buf()))
}

fn pass(name: &'static str, detail: impl Into<String>) -> Check {
    Check { name, status: Status::Pass, detail: detail.into() }
}
fn fail(name: &'static str, detail: impl Into<String>) -> Check {
    Check { name, status: Status::Fail, detail: detail.into() }
}
fn skip(name: &'static str, detail: impl Into<String>) -> Check {
    Check { name, status: Status::Skip, detail: detail.into() }
}

/// The registry's view of the update's model and chain, when an RPC is given.
struct OnChain {
    provider: DynProvider,
    oracle: Address,
    model: RiskOracle::Model,
}

/// Runs every check on the update from `source`.
///
/// # Errors
/// Only when the update itself cannot be had (unreachable feed, unreadable file, unknown
/// transaction, malformed JSON): a bad update is a verdict, not an error.
pub async fn verify(source: &Source, opts: &Options) -> Result<Verdict> {
    let client = http();
    let provider = match &opts.rpc_url {
        Some(url) => Some(
            ProviderBuilder::new()
                .connect_http(url.parse().map_err(|e| Error::Input(format!("--rpc `{url}`: {e}")))?)
                .erased(),
        ),
        None => None,
    };
    let mut artifacts = opts.artifacts.clone();
    let mut inputs = opts.inputs.clone();
    let (update, described) = match source {
        Source::Feed { url, market, epoch } => {
            let base = url.trim_end_matches('/');
            let path = match epoch {
                Some(e) => format!("{base}/v1/markets/{market}/updates/{e}"),
                None => format!("{base}/v1/markets/{market}/latest"),
            };
            let u: FeedUpdate = parse(&path, &feed::get(&client, &path).await?)?;
            // Paths below are built from parsed values only, never from the feed's strings.
            let (oracle, market) = {
                let (claim, _) = u.to_submit()?;
                let oracle: Address = u
                    .oracle
                    .parse()
                    .map_err(|e| Error::Input(format!("update field `oracle`: {e}")))?;
                (oracle, claim.market)
            };
            let model: FeedModel = parse(
                "feed model",
                &feed::get(&client, &format!("{base}/v1/models/{}", u.model_id)).await?,
            )?;
            let dir = opts.work_dir.join(format!("{}-{oracle:#x}-model{}", u.chain_id, u.model_id));
            if artifacts.is_none() {
                artifacts = download_artifacts(&client, base, &model, &dir).await?;
            }
            if inputs.is_none() && u.inputs_published {
                let body = feed::get(
                    &client,
                    &format!("{base}/v1/markets/{market:#x}/updates/{}/inputs", u.epoch),
                )
                .await?;
                let p = dir.join(format!("input-{market:#x}-{}.json", u.epoch));
                std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
                std::fs::write(&p, body).map_err(Error::io(&p))?;
                inputs = Some(p);
            }
            (u, path)
        }
        Source::File(p) => {
            let body = std::fs::read(p).map_err(Error::io(p))?;
            (parse(&p.display().to_string(), &body)?, p.display().to_string())
        }
        Source::Tx(h) => {
            let provider =
                provider.as_ref().ok_or_else(|| Error::Input("--tx needs --rpc".into()))?;
            (index::update_from_tx(provider, *h).await?, format!("transaction {h:#x}"))
        }
    };
    let (claim, proof) = update.to_submit()?;

    let mut checks = Vec::new();
    // The registry's model, when the chain can be read; else the layout the update states.
    let onchain = match &provider {
        Some(p) => {
            let oracle = opts
                .oracle
                .ok_or_else(|| Error::Input("--rpc needs --oracle, the oracle you trust".into()))?;
            Some(on_chain(p, oracle, &update).await)
        }
        None => None,
    };
    let (layout, bits, registered) = match &onchain {
        Some(Ok(o)) => (
            o.model.layout,
            o.model.outputScaleBits,
            Some(Registered {
                batch: usize::from(o.model.batchSize),
                price_shift_bits: o.model.priceShiftBits,
            }),
        ),
        _ => (
            index::layout_by_name(&update.layout).ok_or_else(|| {
                Error::Input(format!("update field `layout`: unknown layout `{}`", update.layout))
            })?,
            update.output_scale_bits,
            None,
        ),
    };
    checks.push(rule_check(&update, &claim, layout, bits, registered));
    let instances = chain::instances_for(layout, &claim);

    let scratch = tempfile::Builder::new()
        .prefix("verify")
        .tempdir_in(
            std::fs::create_dir_all(&opts.work_dir)
                .map(|()| &opts.work_dir)
                .map_err(Error::io(&opts.work_dir))?,
        )
        .map_err(Error::io(&opts.work_dir))?;
    let proof_json = scratch.path().join("proof.json");
    prover::write_proof_json(&proof_json, &proof, &instances)?;
    let mut worker = None;
    match &artifacts {
        Some(dir) => {
            let srs = index::artifact_path(dir, "srs").ok_or_else(|| {
                Error::Input(format!("{}: no SRS (kzg.srs) in the artifacts", dir.display()))
            })?;
            let w = match &mut worker {
                Some(w) => w,
                None => worker.insert(EzklWorker::start(opts.worker.clone()).await?),
            };
            let v = w.verify_with(dir, &srs, &proof_json).await?;
            checks.push(if v.valid {
                pass(
                    "proof_offchain",
                    format!(
                        "ezkl {} verifies the proof with vk.key (sha256 {})",
                        w.version(),
                        sha256_of(&dir.join("vk.key"))
                    ),
                )
            } else {
                fail(
                    "proof_offchain",
                    format!(
                        "ezkl rejects the proof: {}",
                        v.reason.unwrap_or_else(|| "invalid".into())
                    ),
                )
            });
            checks.push(match &inputs {
                Some(input) if dir.join("model.compiled").is_file() => {
                    let c = w.check_inputs(dir, &srs, &proof_json, input).await?;
                    if !c.committed {
                        fail("inputs", format!("the published inputs are not the proof's: {}", c.reason.unwrap_or_default()))
                    } else if let Some(d) = first_difference(layout, &c.outputs, &instances) {
                        fail("inputs", format!("the circuit's outputs on the published inputs are not the update's: {d}"))
                    } else {
                        pass("inputs", format!("the published inputs ({} values) are the ones the proof committed to, and give its scores", input_len(input)))
                    }
                }
                Some(_) => skip("inputs", "no compiled circuit (model.compiled) among the artifacts"),
                None => skip("inputs", "no published inputs"),
            });
        }
        None => {
            checks.push(skip(
                "proof_offchain",
                "no verifying key: give --artifacts, or a feed that serves them",
            ));
            checks.push(skip("inputs", "needs the circuit's artifacts"));
        }
    }
    match &onchain {
        Some(Ok(o)) => {
            checks.push(verifier_check(o, &proof, &instances).await);
            checks.push(
                match (&artifacts, opts.solc.as_ref().filter(|p| p.exists()), worker.as_mut()) {
                    (Some(dir), Some(solc), Some(w)) => {
                        key_check(o, w, dir, solc, scratch.path()).await.unwrap_or_else(|e| {
                            fail(
                                "verifying_key",
                                format!("cannot generate the key's verifier: {e}"),
                            )
                        })
                    }
                    _ => skip(
                        "verifying_key",
                        "needs the circuit's artifacts and the project's solc",
                    ),
                },
            );
            checks.push(recorded_check(o, &update, &claim, &proof).await);
        }
        Some(Err(e)) => {
            checks.push(fail("proof_onchain", e.to_string()));
            checks.push(skip("verifying_key", "not checked: see proof_onchain"));
            checks.push(skip("recorded", "not checked: see proof_onchain"));
        }
        None => {
            checks.push(skip("proof_onchain", "no --rpc"));
            checks.push(skip("verifying_key", "no --rpc"));
            checks.push(skip("recorded", "no --rpc"));
        }
    }
    if let Some(w) = worker {
        w.shutdown().await;
    }
    let passed = |name: &str| checks.iter().any(|c| c.name == name && c.status == Status::Pass);
    // A key from the feed counts only once tied to the user's oracle.
    let trusted_key = opts.artifacts.is_some() || passed("verifying_key");
    let proven = passed("proof_onchain") || (passed("proof_offchain") && trusted_key);
    let valid = proven && checks.iter().all(|c| c.status != Status::Fail);
    // The checks ran as their inputs came (the worker's first); report them in one fixed order.
    let order = ["rule", "proof_offchain", "proof_onchain", "verifying_key", "recorded", "inputs"];
    checks.sort_by_key(|c| order.iter().position(|n| *n == c.name));
    Ok(Verdict {
        valid,
        source: described,
        market: update.market.clone(),
        symbol: update.symbol.clone(),
        epoch: update.epoch,
        model_id: update.model_id,
        checks,
    })
}

fn sha256_of(p: &Path) -> String {
    std::fs::read(p).map(|b| hex::encode(&sha2::Sha256::digest(&b)[..8])).unwrap_or_default()
}

fn input_len(p: &Path) -> usize {
    std::fs::read(p)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            // Every input of the graph (a price-bound circuit has three).
            v["input_data"].as_array().map(|inputs| {
                inputs.iter().filter_map(serde_json::Value::as_array).map(Vec::len).sum()
            })
        })
        .unwrap_or(0)
}

async fn on_chain(p: &DynProvider, oracle: Address, u: &FeedUpdate) -> Result<OnChain> {
    let id = p.get_chain_id().await.map_err(|e| Error::Rpc(format!("chain id: {e}")))?;
    if id != u.chain_id {
        return Err(Error::Input(format!(
            "the RPC serves chain {id}; the update is of chain {}",
            u.chain_id
        )));
    }
    if !u.oracle.eq_ignore_ascii_case(&format!("{oracle:#x}")) {
        return Err(Error::Input(format!(
            "the update is of the oracle {}, not of yours ({oracle:#x})",
            u.oracle
        )));
    }
    let model = RiskOracle::new(oracle, p.clone())
        .model(u.model_id)
        .call()
        .await
        .map_err(chain::revert_error)?;
    if model.verifier == Address::ZERO {
        return Err(Error::Input(format!(
            "model {} is not registered in the oracle {oracle:#x}",
            u.model_id
        )));
    }
    Ok(OnChain { provider: p.clone(), oracle, model })
}

/// What the registry states of the model beyond its layout and scale, when the chain is read.
#[derive(Debug, Clone, Copy)]
struct Registered {
    batch: usize,
    price_shift_bits: u8,
}

/// Why `price` is not on the grid of a model whose price input drops `shift` low bits: the oracle
/// refuses such a claimed price (`PriceOffGrid`), because the circuit does not range-check it.
fn off_grid(price: U256, shift: u8) -> Option<String> {
    let low = price & ((U256::from(1u8) << usize::from(shift)) - U256::from(1u8));
    (!low.is_zero()).then(|| {
        format!(
            "the claimed price {price} is off the model's grid: its low {shift} bits are {low:#x}, \
             not zero (the oracle refuses it: PriceOffGrid)"
        )
    })
}

/// The first public instance where the circuit's `outputs` differ from the update's `instances`,
/// named as the oracle reads it (the price, or score k); `None` when they are equal.
fn first_difference(
    layout: RiskOracle::InstanceLayout,
    outputs: &[U256],
    instances: &[U256],
) -> Option<String> {
    if outputs.len() != instances.len() {
        return Some(format!(
            "the circuit gives {} values, the update has {} public instances",
            outputs.len(),
            instances.len()
        ));
    }
    let k = outputs.iter().zip(instances).position(|(a, b)| a != b)?;
    let priced = chain::has_price_instance(layout);
    let what = match (priced, k) {
        (true, 0) => "the price (instance 0)".to_string(),
        (true, k) => format!("score {} (instance {k})", k - 1),
        (false, k) => format!("score {k} (instance {k})"),
    };
    Some(format!("{what} is {} in the circuit and {} in the update", outputs[k], instances[k]))
}

fn rule_check(
    u: &FeedUpdate,
    claim: &RiskOracle::Update,
    layout: RiskOracle::InstanceLayout,
    bits: u8,
    registered: Option<Registered>,
) -> Check {
    if let Some(r) = registered {
        if r.batch != claim.scores.len() {
            return fail(
                "rule",
                format!("{} scores; the model proves batches of {}", claim.scores.len(), r.batch),
            );
        }
        if chain::has_price_instance(layout)
            && let Some(why) = off_grid(claim.collateralPrice, r.price_shift_bits)
        {
            return fail("rule", why);
        }
    }
    let link = chain::link_for(layout);
    match zkrisk_models::policy::apply_outputs(&claim.scores, bits, link) {
        Ok(out) => {
            let (p, want) = (&claim.params, out.params);
            // What the feed shows beside the scores must be what they give.
            let probabilities = zkrisk_models::policy::probabilities_f64(&claim.scores, bits, link);
            if u.risk_bps != out.risk_bps {
                return fail(
                    "rule",
                    format!(
                        "the update shows a risk of {} bps; its scores give {}",
                        u.risk_bps, out.risk_bps
                    ),
                );
            }
            if u.probabilities != probabilities {
                return fail(
                    "rule",
                    "the update's probabilities are not its scores' (through the model's link)",
                );
            }
            if (p.ltv, p.liquidationThreshold, p.liquidationBonus)
                == (want.ltv, want.liquidation_threshold, want.liquidation_bonus)
            {
                pass(
                    "rule",
                    format!(
                        "LTV {} LT {} bonus {} bps are RiskRule's for a mean risk of {} bps",
                        p.ltv, p.liquidationThreshold, p.liquidationBonus, out.risk_bps
                    ),
                )
            } else {
                fail(
                    "rule",
                    format!(
                        "the update carries LTV {} LT {} bonus {}; RiskRule gives {} {} {} for its scores",
                        p.ltv,
                        p.liquidationThreshold,
                        p.liquidationBonus,
                        want.ltv,
                        want.liquidation_threshold,
                        want.liquidation_bonus
                    ),
                )
            }
        }
        Err(e) => fail("rule", format!("the scores are not outputs of this model: {e}")),
    }
}

async fn verifier_check(o: &OnChain, proof: &[u8], instances: &[U256]) -> Check {
    let v = IHalo2Verifier::new(o.model.verifier, o.provider.clone());
    match v.verifyProof(Bytes::copy_from_slice(proof), instances.to_vec()).call().await {
        Ok(true) => pass(
            "proof_onchain",
            format!("the registered verifier {:#x} returns true", o.model.verifier),
        ),
        Ok(false) => fail(
            "proof_onchain",
            format!("the registered verifier {:#x} returns false", o.model.verifier),
        ),
        Err(e) => fail(
            "proof_onchain",
            format!(
                "the registered verifier {:#x} rejects the proof ({})",
                o.model.verifier,
                match chain::revert_error(e) {
                    // ezkl's verifier reverts without data on a proof that does not verify.
                    Error::Reverted { error } if error == "0x" => "it reverts".to_string(),
                    other => other.to_string(),
                }
            ),
        ),
    }
}

/// Runtime code without solc's CBOR metadata trailer (its length is the code's last two bytes):
/// the metadata hashes the source file's name and settings, not what the code does.
fn without_metadata(code: &[u8]) -> &[u8] {
    match code {
        [.., hi, lo] => {
            let n = usize::from(u16::from_be_bytes([*hi, *lo])) + 2;
            code.get(..code.len().wrapping_sub(n)).filter(|_| n <= code.len()).unwrap_or(code)
        }
        _ => code,
    }
}

/// Whether the verifier ezkl generates from the verifying key in `dir` compiles to the registered
/// verifier's code (up to solc's metadata).
async fn key_check(
    o: &OnChain,
    w: &mut EzklWorker,
    dir: &Path,
    solc: &Path,
    scratch: &Path,
) -> Result<Check> {
    let srs = index::artifact_path(dir, "srs")
        .ok_or_else(|| Error::Input(format!("{}: no SRS in the artifacts", dir.display())))?;
    let sol = w.evm_verifier(dir, &srs, &scratch.join("Verifier.sol")).await?;
    let compiled = crate::solc::compile(solc, &sol, "Halo2Verifier")?;
    let code = o
        .provider
        .get_code_at(o.model.verifier)
        .await
        .map_err(|e| Error::Rpc(format!("eth_getCode: {e}")))?;
    Ok(if without_metadata(&code) == without_metadata(&compiled.runtime) {
        pass(
            "verifying_key",
            format!(
                "the verifier generated from vk.key is the registered one ({} bytes)",
                code.len()
            ),
        )
    } else {
        fail(
            "verifying_key",
            format!(
                "the verifier generated from vk.key ({} bytes) is not the registered verifier {:#x} ({} bytes): the key is not the model's",
                compiled.runtime.len(),
                o.model.verifier,
                code.len()
            ),
        )
    })
}

async fn recorded_check(
    o: &OnChain,
    u: &FeedUpdate,
    claim: &RiskOracle::Update,
    proof: &[u8],
) -> Check {
    let filter = Filter::new()
        .address(o.oracle)
        .event_signature(RiskOracle::UpdateAccepted::SIGNATURE_HASH)
        .topic1(claim.market.into_word())
        .topic2(U256::from(claim.epoch))
        // The block the update claims: a wrong one is a difference, and no provider refuses a
        // one-block range.
        .from_block(u.block_number)
        .to_block(u.block_number);
    let logs = match o.provider.get_logs(&filter).await {
        Ok(l) => l,
        Err(e) => return fail("recorded", format!("the oracle's events cannot be read: {e}")),
    };
    let Some(log) = logs.last() else {
        return fail(
            "recorded",
            format!(
                "the oracle {:#x} accepted no update of this market for epoch {} in block {}",
                o.oracle, claim.epoch, u.block_number
            ),
        );
    };
    let Ok(e) = RiskOracle::UpdateAccepted::decode_log(&log.inner) else {
        return fail("recorded", "the UpdateAccepted event does not decode");
    };
    let (s, mut diff) = (&e.data.state, Vec::new());
    let packed: Vec<u8> = claim.scores.iter().flat_map(|v| v.to_be_bytes::<32>()).collect();
    if s.scoresHash != keccak256(&packed) || e.data.scores != claim.scores {
        diff.push("scores");
    }
    if s.proofHash != keccak256(proof) {
        diff.push("proof");
    }
    let (p, q) = (&s.params, &claim.params);
    if (p.ltv, p.liquidationThreshold, p.liquidationBonus, p.supplyCap, p.borrowCap)
        != (q.ltv, q.liquidationThreshold, q.liquidationBonus, q.supplyCap, q.borrowCap)
    {
        diff.push("params");
    }
    if s.dataBlock != claim.dataBlock {
        diff.push("data_block");
    }
    if s.dataTimestamp != claim.dataTimestamp {
        diff.push("data_timestamp");
    }
    if s.collateralPrice != claim.collateralPrice {
        diff.push("collateral_price");
    }
    if e.data.modelId != claim.modelId {
        diff.push("model_id");
    }
    for (field, same) in [
        ("risk_bps", s.riskBps == u.risk_bps),
        ("accepted_at", s.updatedAt == u.accepted_at),
        ("publisher", u.publisher.eq_ignore_ascii_case(&format!("{:#x}", s.publisher))),
        ("steward_update_id", s.stewardUpdateId.to_string() == u.steward_update_id),
        ("log_index", log.log_index == Some(u.log_index)),
    ] {
        if !same {
            diff.push(field);
        }
    }
    let tx = log.transaction_hash.map(|h| format!("{h:#x}")).unwrap_or_default();
    if !u.tx_hash.eq_ignore_ascii_case(&tx) {
        diff.push("tx_hash");
    }
    // `validUntil` is not in the event: the transaction's calldata has it.
    if let Some(h) = log.transaction_hash {
        let call = o.provider.get_transaction_by_hash(h).await.ok().flatten().and_then(|t| {
            use alloy::{consensus::Transaction as _, sol_types::SolCall};
            RiskOracle::submitCall::abi_decode(t.input()).ok()
        });
        match call {
            Some(c) if c.update.validUntil == claim.validUntil => {}
            Some(_) => diff.push("valid_until"),
            // Submitted through another contract: nothing to compare with.
            None => {}
        }
    }
    if diff.is_empty() {
        pass(
            "recorded",
            format!(
                "the oracle accepted exactly this update in block {} (tx {tx})",
                log.block_number.unwrap_or(0)
            ),
        )
    } else {
        fail(
            "recorded",
            format!("differs from what the oracle accepted in tx {tx}: {}", diff.join(", ")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_trailer_is_cut_by_its_length() {
        // Code 0x6001, then 3 bytes of metadata and their length 0x0003.
        assert_eq!(without_metadata(&[0x60, 0x01, 0xa2, 0x64, 0x00, 0x00, 0x03]), [0x60, 0x01]);
        // A length beyond the code leaves it whole.
        assert_eq!(without_metadata(&[0x60, 0xff, 0xff]), [0x60, 0xff, 0xff]);
        assert_eq!(without_metadata(&[0x60]), [0x60]);
    }

    #[test]
    fn a_price_with_low_bits_set_is_off_the_grid() {
        let on = U256::from(3_000u64) << 22;
        assert_eq!(off_grid(on, 22), None);
        assert_eq!(off_grid(on, 0), None);
        assert_eq!(off_grid(on + U256::from(1u8), 0), None);
        let e = off_grid(on + U256::from(5u8), 22).unwrap();
        assert!(e.contains("low 22 bits are 0x5") && e.contains("PriceOffGrid"), "{e}");
        // A bit just under the shift counts; the shift's own bit does not.
        assert!(off_grid(on + (U256::from(1u8) << 21), 22).is_some());
        assert_eq!(off_grid(on + (U256::from(1u8) << 22), 22), None);
    }

    #[test]
    fn the_first_differing_instance_is_named_as_the_oracle_reads_it() {
        use RiskOracle::InstanceLayout::{Logits, PriceThenLogits};
        let v = |xs: &[u64]| xs.iter().map(|x| U256::from(*x)).collect::<Vec<_>>();
        assert_eq!(first_difference(PriceThenLogits, &v(&[7, 1, 2]), &v(&[7, 1, 2])), None);
        let price = first_difference(PriceThenLogits, &v(&[8, 1, 2]), &v(&[7, 1, 2])).unwrap();
        assert_eq!(price, "the price (instance 0) is 8 in the circuit and 7 in the update");
        let score = first_difference(PriceThenLogits, &v(&[7, 1, 3]), &v(&[7, 1, 2])).unwrap();
        assert_eq!(score, "score 1 (instance 2) is 3 in the circuit and 2 in the update");
        let plain = first_difference(Logits, &v(&[1, 3]), &v(&[1, 2])).unwrap();
        assert_eq!(plain, "score 1 (instance 1) is 3 in the circuit and 2 in the update");
        let short = first_difference(Logits, &v(&[1]), &v(&[1, 2])).unwrap();
        assert!(short.contains("1 values") && short.contains("2 public instances"), "{short}");
    }
}
