//! The feed's index: every update `RiskOracle` accepted, read from its `UpdateAccepted` events and
//! the `submit` calldata of their transactions (the proof), every registered model, and, from
//! the keeper's ledger, which of the keeper's runs published the inputs of an update.
//!
//! The chain is the source of truth: the index holds nothing the chain cannot give again, so it
//! lives in memory and is rebuilt at start. It reads only blocks `confirmations` deep, so a reorg
//! shallower than that never reaches a client; a deeper one changes the hash of the last block
//! read, and the index is then rebuilt from its first block (updates the reorg removed are gone,
//! and only updates new to the clients go to the event stream).

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
};

use alloy::{
    consensus::Transaction as _,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
    sol_types::{SolCall, SolEvent},
};
use serde::{Deserialize, Serialize};
use zkrisk_models::policy;

use super::config::KeeperFiles;
use crate::{
    Error,
    aave::bindings::TestERC20,
    chain::{self, RiskOracle},
    keeper::store::Store,
};

/// Blocks per `eth_getLogs` request.
const LOG_CHUNK: u64 = 5_000;

/// The parameters of an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// Loan-to-value, bps.
    pub ltv: u16,
    /// Liquidation threshold, bps.
    pub liquidation_threshold: u16,
    /// Liquidation bonus, bps (10500 = 5 % bonus).
    pub liquidation_bonus: u16,
    /// Supply cap in whole tokens, decimal (`18446744073709551615`: left as it is).
    pub supply_cap: String,
    /// Borrow cap in whole tokens, decimal (same convention).
    pub borrow_cap: String,
}

/// One verified update, as the feed serves it: what the oracle accepted (the `submit` arguments
/// and the state it stored), where (block, transaction) and the proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedUpdate {
    /// Chain id.
    pub chain_id: u64,
    /// The `RiskOracle` that accepted it.
    pub oracle: String,
    /// The market (the reserve's underlying asset).
    pub market: String,
    /// The asset's ERC-20 symbol, when it has one.
    pub symbol: Option<String>,
    /// The epoch (strictly increasing per market).
    pub epoch: u64,
    /// The model whose verifier accepted the proof.
    pub model_id: u32,
    /// The model's instance layout in the registry (how `scores` are read).
    pub layout: String,
    /// The model's output scale: fractional bits of `scores`.
    pub output_scale_bits: u8,
    /// Unix time of the data.
    pub data_timestamp: u64,
    /// Block of the data.
    pub data_block: u64,
    /// The last second the update could be accepted (and executed by the steward).
    pub valid_until: u64,
    /// Block timestamp at which the oracle accepted it.
    pub accepted_at: u64,
    /// Block it was accepted in.
    pub block_number: u64,
    /// The `submit` transaction.
    pub tx_hash: String,
    /// Index of the `UpdateAccepted` log in its block.
    pub log_index: u64,
    /// The keeper that submitted it.
    pub publisher: String,
    /// The claimed collateral price (the aggregator's units), decimal.
    pub collateral_price: String,
    /// The proven outputs, decimal field elements, in the proof's order.
    pub scores: Vec<String>,
    /// The probabilities the oracle read from them (after its link), in [0, 1].
    pub probabilities: Vec<f64>,
    /// The batch's mean probability in bps, rounded up.
    pub risk_bps: u16,
    /// The parameters it carried (queued in the steward unless it refused them).
    pub params: FeedParams,
    /// keccak256 of the packed scores, as the oracle stored it.
    pub scores_hash: String,
    /// The proof bytes, 0x hex.
    pub proof: String,
    /// keccak256 of the proof bytes.
    pub proof_hash: String,
    /// The steward's id of the queued update; "0" when the steward refused it.
    pub steward_update_id: String,
    /// Whether the keeper's inputs of this proof are published (`…/inputs`).
    pub inputs_published: bool,
}

fn hex_addr(a: Address) -> String {
    format!("{a:#x}")
}

fn parse_u256(what: &str, s: &str) -> Result<U256, Error> {
    s.parse()
        .map_err(|e| Error::Input(format!("update field `{what}`: `{s}` is not a number ({e})")))
}

fn parse_u64(what: &str, s: &str) -> Result<u64, Error> {
    s.parse().map_err(|e| Error::Input(format!("update field `{what}`: `{s}` is not a u64 ({e})")))
}

impl FeedUpdate {
    /// The `submit` arguments this update claims: the typed update and the proof bytes.
    ///
    /// # Errors
    /// [`Error::Input`] naming the malformed field.
    pub fn to_submit(&self) -> Result<(RiskOracle::Update, Vec<u8>), Error> {
        let addr = |what: &str, s: &str| {
            s.parse::<Address>().map_err(|e| {
                Error::Input(format!("update field `{what}`: `{s}` is not an address ({e})"))
            })
        };
        let scores =
            self.scores.iter().map(|s| parse_u256("scores", s)).collect::<Result<Vec<_>, _>>()?;
        let proof = hex::decode(self.proof.trim_start_matches("0x"))
            .map_err(|e| Error::Input(format!("update field `proof`: not hex ({e})")))?;
        let valid_until =
            alloy::primitives::aliases::U40::try_from(self.valid_until).map_err(|_| {
                Error::Input(format!(
                    "update field `valid_until`: {} exceeds 40 bits",
                    self.valid_until
                ))
            })?;
        let update = RiskOracle::Update {
            market: addr("market", &self.market)?,
            modelId: self.model_id,
            epoch: self.epoch,
            dataTimestamp: self.data_timestamp,
            dataBlock: self.data_block,
            validUntil: valid_until,
            collateralPrice: parse_u256("collateral_price", &self.collateral_price)?,
            scores,
            params: RiskOracle::Params {
                ltv: self.params.ltv,
                liquidationThreshold: self.params.liquidation_threshold,
                liquidationBonus: self.params.liquidation_bonus,
                supplyCap: parse_u64("params.supply_cap", &self.params.supply_cap)?,
                borrowCap: parse_u64("params.borrow_cap", &self.params.borrow_cap)?,
            },
        };
        Ok((update, proof))
    }
}

/// A registered model, as the feed serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedModel {
    /// Registry id.
    pub id: u32,
    /// Its verifier contract.
    pub verifier: String,
    /// keccak256 of the feature schema.
    pub feature_schema_hash: String,
    /// Fractional bits of its outputs.
    pub output_scale_bits: u8,
    /// Scores per proof.
    pub batch_size: u16,
    /// Horizon of its scores, seconds.
    pub horizon: u32,
    /// `scores_only`, `price_then_scores`, `logits`, `packed_logits` or `price_then_logits`.
    pub layout: String,
    /// Registered and not retired.
    pub active: bool,
    /// Block of its registration.
    pub registered_block: u64,
    /// The model card (Markdown), when the feed has it.
    pub card: Option<String>,
    /// The circuit files `zkrisk verify` needs, when the feed has them.
    pub artifacts: Vec<Artifact>,
}

/// One file of a model's circuit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// File name (`settings.json`, `vk.key`, `srs`, `model.compiled`).
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// The names of the artifacts a feed serves, and what each is.
pub const ARTIFACTS: [(&str, &str); 4] = [
    ("settings.json", "ezkl circuit settings"),
    ("vk.key", "verifying key"),
    ("srs", "structured reference string (KZG)"),
    ("model.compiled", "compiled circuit (to check published inputs)"),
];

/// The layout's name in the feed.
pub const fn layout_name(layout: RiskOracle::InstanceLayout) -> &'static str {
    match layout {
        RiskOracle::InstanceLayout::ScoresOnly => "scores_only",
        RiskOracle::InstanceLayout::PriceThenScores => "price_then_scores",
        RiskOracle::InstanceLayout::Logits => "logits",
        RiskOracle::InstanceLayout::PackedLogits => "packed_logits",
        RiskOracle::InstanceLayout::PriceThenLogits => "price_then_logits",
        _ => "unknown",
    }
}

/// The layout named `name` ([`layout_name`]).
pub fn layout_by_name(name: &str) -> Option<RiskOracle::InstanceLayout> {
    [
        RiskOracle::InstanceLayout::ScoresOnly,
        RiskOracle::InstanceLayout::PriceThenScores,
        RiskOracle::InstanceLayout::Logits,
        RiskOracle::InstanceLayout::PackedLogits,
        RiskOracle::InstanceLayout::PriceThenLogits,
    ]
    .into_iter()
    .find(|l| layout_name(*l) == name)
}

/// The indexed feed.
#[derive(Debug, Default)]
pub struct Index {
    /// Updates per market, by epoch.
    pub markets: BTreeMap<Address, BTreeMap<u64, FeedUpdate>>,
    /// Models by id, with the on-chain layout for reading scores.
    pub models: BTreeMap<u32, (FeedModel, RiskOracle::Model)>,
    /// The published inputs of an update (market, epoch), found in the keeper's runs.
    pub inputs: HashMap<(Address, u64), PathBuf>,
    /// Next block to read.
    pub next_block: u64,
    /// Chain head at the last read.
    pub head: u64,
    /// The last block read and its hash: a different hash there means a reorg.
    pub tip: Option<(u64, B256)>,
    /// The first block read.
    pub from_block: u64,
    symbols: HashMap<Address, Option<String>>,
}

impl Index {
    /// An empty index that starts reading at `from_block`.
    pub fn new(from_block: u64) -> Self {
        Self { next_block: from_block, from_block, ..Self::default() }
    }

    /// Adds (or replaces) an update, with the inputs it published.
    pub fn insert(&mut self, u: FeedUpdate, inputs: Option<PathBuf>) {
        let market: Address = u.market.parse().expect("indexed updates carry formatted addresses");
        if let Some(p) = inputs {
            self.inputs.insert((market, u.epoch), p);
        }
        self.symbols.entry(market).or_insert_with(|| u.symbol.clone());
        self.markets.entry(market).or_default().insert(u.epoch, u);
    }

    /// The market named `key`: an address, or an asset's symbol (case-insensitive).
    pub fn market(&self, key: &str) -> Option<Address> {
        if let Ok(a) = key.parse::<Address>() {
            return self.markets.contains_key(&a).then_some(a);
        }
        self.markets.keys().copied().find(|a| {
            self.symbols
                .get(a)
                .and_then(Option::as_ref)
                .is_some_and(|s| s.eq_ignore_ascii_case(key))
        })
    }
}

/// Reads the chain into an [`Index`].
#[derive(Debug)]
pub struct Indexer {
    provider: DynProvider,
    chain_id: u64,
    oracle: Address,
    confirmations: u64,
    keeper: Option<KeeperFiles>,
    /// Files served per model id: (card text, circuit directory).
    files: HashMap<u32, (Option<String>, Option<PathBuf>)>,
}

fn rpc(what: &'static str) -> impl FnOnce(alloy::transports::TransportError) -> Error {
    move |e| Error::Rpc(format!("{what}: {e}"))
}

impl Indexer {
    /// An indexer of `oracle` on the chain behind `provider`.
    pub const fn new(
        provider: DynProvider,
        chain_id: u64,
        oracle: Address,
        confirmations: u64,
        keeper: Option<KeeperFiles>,
        files: HashMap<u32, (Option<String>, Option<PathBuf>)>,
    ) -> Self {
        Self { provider, chain_id, oracle, confirmations, keeper, files }
    }

    /// Where the keeper published the inputs of the update sent in `tx_hash` for `epoch`, if it
    /// did: the ledger names the keeper's market (`feed/SYMBOL`) of the transaction.
    fn inputs_of(
        &self,
        ledger: &HashMap<String, String>,
        tx_hash: &str,
        epoch: u64,
    ) -> Option<PathBuf> {
        let k = self.keeper.as_ref()?;
        let market = ledger.get(&tx_hash.to_ascii_lowercase())?;
        let p =
            k.work_dir.join("runs").join(market).join(format!("{epoch:012}")).join("input.json");
        p.is_file().then_some(p)
    }

    /// The circuit directory of model `id`, if the feed has it.
    pub fn circuit_dir(&self, id: u32) -> Option<&PathBuf> {
        self.files.get(&id).and_then(|f| f.1.as_ref())
    }

    /// Transaction hash (lowercase) → the keeper's market name, for every confirmed epoch.
    fn ledger(&self) -> HashMap<String, String> {
        let Some(k) = &self.keeper else { return HashMap::new() };
        match Store::open(&k.store).and_then(|s| s.epochs(None)) {
            Ok(epochs) => epochs
                .into_iter()
                .filter_map(|e| Some((e.tx_hash?.to_ascii_lowercase(), e.feed)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "the keeper's ledger cannot be read; inputs are not published");
                HashMap::new()
            }
        }
    }

    /// Reads every block from `index.next_block` to `confirmations` below the head; returns the
    /// updates found, oldest first (already in the index).
    ///
    /// # Errors
    /// [`Error::Rpc`] when the node fails; the index is then left as it was.
    pub async fn sync(&self, index: &std::sync::RwLock<Index>) -> Result<Vec<FeedUpdate>, Error> {
        let head = self.provider.get_block_number().await.map_err(rpc("head"))?;
        let tip = index.read().expect("index lock").tip;
        // What clients have seen, when a reorg makes the index start again.
        let mut seen: Option<std::collections::HashSet<(String, u64, String)>> = None;
        if let Some((n, hash)) = tip {
            let now = self.block_hash(n).await?;
            if now != Some(hash) {
                let i = index.read().expect("index lock");
                tracing::warn!(
                    block = n,
                    "the last block read changed (a reorg deeper than `confirmations`): rebuilding the index"
                );
                seen = Some(
                    i.markets
                        .values()
                        .flat_map(|m| m.values())
                        .map(|u| (u.market.clone(), u.epoch, u.tx_hash.clone()))
                        .collect(),
                );
            }
        }
        // A rebuild reads everything again and swaps the markets at the end, in one write: clients
        // see the old index until the new one is whole.
        let from = {
            let mut i = index.write().expect("index lock");
            i.head = head;
            if seen.is_some() { i.from_block } else { i.next_block }
        };
        let Some(to) = head.checked_sub(self.confirmations).filter(|to| *to >= from) else {
            return Ok(Vec::new());
        };
        let mut logs = Vec::new();
        let mut start = from;
        while start <= to {
            let end = to.min(start + LOG_CHUNK - 1);
            let filter = Filter::new().address(self.oracle).from_block(start).to_block(end);
            logs.extend(self.provider.get_logs(&filter).await.map_err(rpc("logs"))?);
            start = end + 1;
        }
        // The keeper's ledger, read once per sync and only when there is an update to match.
        let ledger = if updates_in(&logs) { self.ledger() } else { HashMap::new() };
        let mut models: BTreeMap<u32, (FeedModel, RiskOracle::Model)> = BTreeMap::new();
        let mut retired = Vec::new();
        let mut updates = Vec::new();
        for log in &logs {
            match log.topic0() {
                Some(t) if *t == RiskOracle::ModelRegistered::SIGNATURE_HASH => {
                    let e = RiskOracle::ModelRegistered::decode_log(&log.inner)
                        .map_err(|e| Error::Rpc(format!("ModelRegistered log: {e}")))?;
                    let (id, m) = (e.data.modelId, e.data.model.clone());
                    models.insert(id, (self.feed_model(id, &m, log.block_number.unwrap_or(0)), m));
                }
                Some(t) if *t == RiskOracle::ModelRetired::SIGNATURE_HASH => {
                    let e = RiskOracle::ModelRetired::decode_log(&log.inner)
                        .map_err(|e| Error::Rpc(format!("ModelRetired log: {e}")))?;
                    retired.push(e.data.modelId);
                }
                Some(t) if *t == RiskOracle::UpdateAccepted::SIGNATURE_HASH => {
                    updates.push(log.clone());
                }
                _ => {}
            }
        }
        // Models registered before `from_block` are read from the registry.
        let mut layouts: HashMap<u32, RiskOracle::Model> =
            models.iter().map(|(id, (_, m))| (*id, m.clone())).collect();
        {
            let i = index.read().expect("index lock");
            for (id, (_, m)) in &i.models {
                layouts.entry(*id).or_insert_with(|| m.clone());
            }
        }
        let oracle = RiskOracle::new(self.oracle, self.provider.clone());
        // The configured models, even those without an update yet.
        for id in self.files.keys() {
            if let std::collections::hash_map::Entry::Vacant(v) = layouts.entry(*id) {
                let m = oracle.model(*id).call().await.map_err(chain::revert_error)?;
                if m.verifier != Address::ZERO {
                    models.insert(*id, (self.feed_model(*id, &m, 0), m.clone()));
                    v.insert(m);
                }
            }
        }
        let mut found = Vec::with_capacity(updates.len());
        // Symbols known to the index, plus those read now (once per market).
        let mut symbols = index.read().expect("index lock").symbols.clone();
        for log in &updates {
            let e = RiskOracle::UpdateAccepted::decode_log(&log.inner)
                .map_err(|e| Error::Rpc(format!("UpdateAccepted log: {e}")))?;
            let id = e.data.modelId;
            if let std::collections::hash_map::Entry::Vacant(v) = layouts.entry(id) {
                let m = oracle.model(id).call().await.map_err(chain::revert_error)?;
                models.insert(id, (self.feed_model(id, &m, 0), m.clone()));
                v.insert(m);
            }
            let market = e.data.market;
            if let std::collections::hash_map::Entry::Vacant(v) = symbols.entry(market) {
                v.insert(TestERC20::new(market, self.provider.clone()).symbol().call().await.ok());
            }
            let symbol = symbols[&market].clone();
            let mut u = self.feed_update(log, &e.data, &layouts[&id], symbol).await?;
            let input = self.inputs_of(&ledger, &u.tx_hash, u.epoch);
            u.inputs_published = input.is_some();
            found.push((u, input));
        }
        let tip_hash = self.block_hash(to).await?;
        let mut i = index.write().expect("index lock");
        for (id, m) in models {
            i.models.insert(id, m);
        }
        for id in retired {
            if let Some((f, m)) = i.models.get_mut(&id) {
                f.active = false;
                m.active = false;
            }
        }
        i.symbols = symbols;
        if seen.is_some() {
            i.markets.clear();
            i.inputs.clear();
        }
        let mut new = Vec::with_capacity(found.len());
        for (u, input) in found {
            i.insert(u.clone(), input);
            new.push(u);
        }
        i.next_block = to + 1;
        i.tip = tip_hash.map(|h| (to, h));
        if let Some(seen) = seen {
            new.retain(|u| !seen.contains(&(u.market.clone(), u.epoch, u.tx_hash.clone())));
        }
        Ok(new)
    }

    async fn block_hash(&self, n: u64) -> Result<Option<B256>, Error> {
        let b = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Number(n))
            .await
            .map_err(rpc("block"))?;
        Ok(b.map(|b| b.header.hash))
    }

    fn feed_model(&self, id: u32, m: &RiskOracle::Model, block: u64) -> FeedModel {
        let (card, dir) = self.files.get(&id).cloned().unwrap_or_default();
        let artifacts = dir
            .map(|d| {
                ARTIFACTS
                    .iter()
                    .filter_map(|(name, _)| {
                        let bytes = std::fs::read(artifact_path(&d, name)?).ok()?;
                        Some(Artifact {
                            name: (*name).into(),
                            bytes: bytes.len() as u64,
                            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        FeedModel {
            id,
            verifier: hex_addr(m.verifier),
            feature_schema_hash: format!("{:#x}", m.featureSchemaHash),
            output_scale_bits: m.outputScaleBits,
            batch_size: m.batchSize,
            horizon: m.horizon,
            layout: layout_name(m.layout).into(),
            active: m.active,
            registered_block: block,
            card,
            artifacts,
        }
    }

    async fn feed_update(
        &self,
        log: &Log,
        e: &RiskOracle::UpdateAccepted,
        model: &RiskOracle::Model,
        symbol: Option<String>,
    ) -> Result<FeedUpdate, Error> {
        let tx_hash: B256 = log
            .transaction_hash
            .ok_or_else(|| Error::Rpc("a log without its transaction".into()))?;
        let tx = self
            .provider
            .get_transaction_by_hash(tx_hash)
            .await
            .map_err(rpc("transaction"))?
            .ok_or_else(|| Error::Rpc(format!("transaction {tx_hash} not found")))?;
        // The keeper calls the oracle directly. A submission through another contract (a Safe, a
        // relayer) has no `submit` calldata to read the proof and `validUntil` from: it is served
        // without them (`proof` "0x", `valid_until` 0), and its proof hash is the oracle's.
        let call = (tx.to() == Some(self.oracle))
            .then(|| RiskOracle::submitCall::abi_decode(tx.input()).ok())
            .flatten()
            .filter(|c| c.update.market == e.market && c.update.epoch == e.epoch);
        if call.is_none() {
            tracing::warn!(tx = %tx_hash, epoch = e.epoch, "an update not submitted directly: served without its proof");
        }
        let s = &e.state;
        let bits = model.outputScaleBits;
        let probabilities =
            policy::probabilities_f64(&e.scores, bits, chain::link_for(model.layout));
        Ok(FeedUpdate {
            chain_id: self.chain_id,
            oracle: hex_addr(self.oracle),
            market: hex_addr(e.market),
            symbol,
            epoch: e.epoch,
            model_id: e.modelId,
            layout: layout_name(model.layout).into(),
            output_scale_bits: bits,
            data_timestamp: s.dataTimestamp,
            data_block: s.dataBlock,
            valid_until: call.as_ref().map_or(0, |c| c.update.validUntil.to::<u64>()),
            accepted_at: s.updatedAt,
            block_number: log.block_number.unwrap_or(0),
            tx_hash: format!("{tx_hash:#x}"),
            log_index: log.log_index.unwrap_or(0),
            publisher: hex_addr(s.publisher),
            collateral_price: s.collateralPrice.to_string(),
            scores: e.scores.iter().map(U256::to_string).collect(),
            probabilities,
            risk_bps: s.riskBps,
            params: FeedParams {
                ltv: s.params.ltv,
                liquidation_threshold: s.params.liquidationThreshold,
                liquidation_bonus: s.params.liquidationBonus,
                supply_cap: s.params.supplyCap.to_string(),
                borrow_cap: s.params.borrowCap.to_string(),
            },
            scores_hash: format!("{:#x}", s.scoresHash),
            proof: format!(
                "0x{}",
                call.as_ref().map(|c| hex::encode(&c.proof)).unwrap_or_default()
            ),
            proof_hash: format!("{:#x}", s.proofHash),
            steward_update_id: s.stewardUpdateId.to_string(),
            // Set by `sync`, which knows the keeper's runs.
            inputs_published: false,
        })
    }
}

fn updates_in(logs: &[Log]) -> bool {
    logs.iter().any(|l| l.topic0() == Some(&RiskOracle::UpdateAccepted::SIGNATURE_HASH))
}

/// The file of artifact `name` in a circuit directory (the SRS under the name the setup gave it).
pub fn artifact_path(dir: &std::path::Path, name: &str) -> Option<PathBuf> {
    if name == "srs" {
        let srs = ["kzg.srs", "kzg.insecure.srs"].iter().map(|n| dir.join(n)).find(|p| p.is_file());
        return srs.or_else(|| {
            let c: crate::prover::Circuit =
                serde_json::from_slice(&std::fs::read(dir.join("circuit.json")).ok()?).ok()?;
            c.srs.is_file().then_some(c.srs)
        });
    }
    ARTIFACTS.iter().any(|(n, _)| *n == name).then(|| dir.join(name)).filter(|p| p.is_file())
}

/// The update a `RiskOracle.submit` transaction made, read from its receipt (the
/// `UpdateAccepted` log) and its calldata (the proof): what `zkrisk verify --tx` checks.
///
/// # Errors
/// [`Error::Input`] when the transaction is unknown, failed, or accepted no update; RPC errors.
pub async fn update_from_tx(provider: &DynProvider, tx_hash: B256) -> Result<FeedUpdate, Error> {
    let chain_id = provider.get_chain_id().await.map_err(rpc("chain id"))?;
    let tx =
        provider.get_transaction_by_hash(tx_hash).await.map_err(rpc("transaction"))?.ok_or_else(
            || Error::Input(format!("transaction {tx_hash:#x} is not known to the node")),
        )?;
    let oracle = tx
        .to()
        .ok_or_else(|| Error::Input(format!("transaction {tx_hash:#x} creates a contract")))?;
    let receipt = provider
        .get_transaction_receipt(tx_hash)
        .await
        .map_err(rpc("receipt"))?
        .ok_or_else(|| Error::Input(format!("transaction {tx_hash:#x} is not mined")))?;
    if !receipt.status() {
        return Err(Error::Input(format!(
            "transaction {tx_hash:#x} reverted: it accepted no update"
        )));
    }
    let log = receipt
        .inner
        .logs()
        .iter()
        .find(|l| {
            l.address() == oracle && l.topic0() == Some(&RiskOracle::UpdateAccepted::SIGNATURE_HASH)
        })
        .ok_or_else(|| {
            Error::Input(format!(
                "transaction {tx_hash:#x} emitted no UpdateAccepted of {oracle:#x}"
            ))
        })?;
    let e = RiskOracle::UpdateAccepted::decode_log(&log.inner)
        .map_err(|e| Error::Rpc(format!("UpdateAccepted log: {e}")))?;
    let m = RiskOracle::new(oracle, provider.clone())
        .model(e.data.modelId)
        .call()
        .await
        .map_err(chain::revert_error)?;
    let indexer = Indexer::new(provider.clone(), chain_id, oracle, 0, None, HashMap::new());
    let symbol = TestERC20::new(e.data.market, provider.clone()).symbol().call().await.ok();
    indexer.feed_update(log, &e.data, &m, symbol).await
}

#[cfg(test)]
pub(crate) mod tests {
    use alloy::primitives::keccak256;

    use super::*;

    /// An update of WETH (epoch 7, block 134) with two scores.
    pub(crate) fn update() -> FeedUpdate {
        FeedUpdate {
            chain_id: 31337,
            oracle: "0x5fbdb2315678afecb367f032d93f642f64180aa3".into(),
            market: "0x68b1d87f95878fe05b998f19b66f4baba5de1aed".into(),
            symbol: Some("WETH".into()),
            epoch: 7,
            model_id: 1,
            layout: "logits".into(),
            output_scale_bits: 28,
            data_timestamp: 1_655_074_905,
            data_block: 129,
            valid_until: 1_655_161_305,
            accepted_at: 1_655_074_910,
            block_number: 134,
            tx_hash: format!("{:#x}", B256::repeat_byte(1)),
            log_index: 1,
            publisher: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into(),
            collateral_price: "144552587900".into(),
            scores: vec![
                "5".into(),
                "21888242871839275222246405745257275088548364400416034343698204186575808495612"
                    .into(),
            ],
            probabilities: vec![0.5, 0.5],
            risk_bps: 5000,
            params: FeedParams {
                ltv: 7961,
                liquidation_threshold: 8461,
                liquidation_bonus: 10500,
                supply_cap: u64::MAX.to_string(),
                borrow_cap: "0".into(),
            },
            scores_hash: format!("{:#x}", B256::ZERO),
            proof: "0x0102".into(),
            proof_hash: format!("{:#x}", keccak256([1u8, 2])),
            steward_update_id: "3".into(),
            inputs_published: false,
        }
    }

    #[test]
    fn an_update_round_trips_through_json_into_submit_arguments() {
        let u = update();
        let back: FeedUpdate = serde_json::from_str(&serde_json::to_string(&u).unwrap()).unwrap();
        assert_eq!(back, u);
        let (claim, proof) = u.to_submit().unwrap();
        assert_eq!(proof, [1, 2]);
        assert_eq!((claim.epoch, claim.modelId, claim.params.supplyCap), (7, 1, u64::MAX));
        assert_eq!(claim.scores[0], U256::from(5));
        assert_eq!(format!("{:#x}", claim.market), u.market);
    }

    #[test]
    fn a_malformed_field_is_named() {
        for (f, want) in [
            (
                &(|u: &mut FeedUpdate| u.scores[1] = "-1".into()) as &dyn Fn(&mut FeedUpdate),
                "`scores`",
            ),
            (&|u| u.market = "0x12".into(), "`market`"),
            (&|u| u.proof = "0xzz".into(), "`proof`"),
            (&|u| u.params.borrow_cap = "1e9".into(), "`params.borrow_cap`"),
            (&|u| u.valid_until = 1 << 41, "`valid_until`"),
        ] {
            let mut u = update();
            f(&mut u);
            let err = u.to_submit().unwrap_err().to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
        let unknown = serde_json::to_string(&update()).unwrap().replace("\"epoch\"", "\"epoc\"");
        assert!(serde_json::from_str::<FeedUpdate>(&unknown).is_err());
    }

    #[test]
    fn layout_names_are_the_inverse_of_layouts() {
        for l in [
            RiskOracle::InstanceLayout::ScoresOnly,
            RiskOracle::InstanceLayout::PriceThenScores,
            RiskOracle::InstanceLayout::Logits,
            RiskOracle::InstanceLayout::PackedLogits,
            RiskOracle::InstanceLayout::PriceThenLogits,
        ] {
            assert_eq!(layout_by_name(layout_name(l)), Some(l));
        }
        assert_eq!(layout_by_name("sigmoid"), None);
    }
}
