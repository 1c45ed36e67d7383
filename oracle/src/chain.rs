//! The chain side: a local anvil node, deployment from the Foundry build, and the client that
//! submits proof-checked updates to `RiskOracle`.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::{SolConstructor, SolError, SolInterface},
};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use zkrisk_models::policy::CollateralParams;

use crate::{
    Error, Result,
    aave::{
        bindings::{IACLManager, IAaveProtocolDataProvider},
        deploy::{AaveMarket, default_reserves, deploy_aave},
    },
};

/// `sol!` bindings of the contracts (the generated event constructors take one argument per field).
#[allow(clippy::too_many_arguments)]
mod bindings {
    alloy::sol! {
    /// The ABI of `contracts/src/RiskOracle.sol`.
    #[sol(rpc, all_derives)]
    contract RiskOracle {
        /// One epoch's update of one asset.
        struct Update {
            address asset;
            uint64 epoch;
            uint64 dataTimestamp;
            uint256[] scores;
            uint16 ltv;
            uint16 liquidationThreshold;
            uint16 liquidationBonus;
        }
        /// The latest verified state of one asset.
        struct MarketState {
            uint64 epoch;
            uint64 dataTimestamp;
            uint64 updatedAt;
            uint16 ltv;
            uint16 liquidationThreshold;
            uint16 liquidationBonus;
            uint16 riskBps;
            bytes32 proofHash;
            address publisher;
        }

        error NotKeeper();
        error BatchSizeMismatch(uint256 got, uint256 expected);
        error ScoreOutOfRange(uint256 index, uint256 score);
        error StaleEpoch(uint64 epoch, uint64 lastEpoch);
        error StaleData(uint64 dataTimestamp, uint64 nowTimestamp);
        error FutureData(uint64 dataTimestamp, uint64 nowTimestamp);
        error InvalidProof();
        error ParamsMismatch(uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus);
        error ZeroAddress();
        error ZeroBatchSize();
        error OutputScaleTooLarge(uint8 outputScaleBits);
        error EmptyScores();

        event UpdateApplied(
            address indexed asset,
            uint64 indexed epoch,
            uint16 ltv,
            uint16 liquidationThreshold,
            uint16 liquidationBonus,
            uint16 riskBps,
            bytes32 proofHash,
            address publisher
        );

        constructor(
            address verifier,
            address configurator,
            address keeper,
            uint8 outputScaleBits,
            uint16 batchSize,
            uint64 maxDataAge
        );
        function submit(Update calldata update, bytes calldata proof) external;
        function marketState(address asset) external view returns (MarketState memory);
    }

    /// The ABI of `contracts/src/AaveRiskSteward.sol`.
    #[sol(rpc, all_derives)]
    contract AaveRiskSteward {
        error NotOwner();
        error NotRiskOracle();
        error OracleAlreadySet();
        error ZeroAddress();
        error InvalidCollateralParams(uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus);

        event OracleSet(address indexed oracle);

        constructor(address poolConfigurator_, address owner_);
        function setOracle(address oracle_) external;
        function oracle() external view returns (address);
        function owner() external view returns (address);
        function poolConfigurator() external view returns (address);
        function configureReserveAsCollateral(address asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus) external;
    }
    }
}
pub use bindings::{AaveRiskSteward, RiskOracle};

/// First of anvil's well-known development keys. Local chains only: it is public.
pub const ANVIL_DEV_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// Chain id of anvil's default local chain.
pub const ANVIL_CHAIN_ID: u64 = 31_337;

/// The private key to sign with: the content of the environment variable `env` when one is named,
/// else [`ANVIL_DEV_KEY`], but only on anvil's chain ([`ANVIL_CHAIN_ID`]): a public key must never
/// sign on a real network. Errors name the variable, never the key.
pub fn signing_key(env: Option<&str>, chain_id: u64) -> Result<String> {
    match env {
        Some(var) => match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => Ok(key.trim().to_string()),
            Ok(_) => Err(Error::Key(format!("environment variable {var} is empty"))),
            Err(_) => Err(Error::Key(format!("environment variable {var} is not set"))),
        },
        None if chain_id == ANVIL_CHAIN_ID => Ok(ANVIL_DEV_KEY.to_string()),
        None => Err(Error::Key(format!(
            "chain {chain_id} is not a local anvil chain ({ANVIL_CHAIN_ID}): name the environment \
             variable that holds the key with --private-key-env"
        ))),
    }
}

/// The chain id the node at `url` reports.
pub async fn chain_id(url: &str) -> Result<u64> {
    let parsed = url.parse().map_err(|e| Error::Rpc(format!("invalid RPC URL {url}: {e}")))?;
    ProviderBuilder::new()
        .connect_http(parsed)
        .get_chain_id()
        .await
        .map_err(|e| Error::Rpc(format!("{url}: eth_chainId: {e}")))
}

/// A local anvil node on a free loopback port, stopped when dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    url: String,
}

impl Anvil {
    /// Starts `bin` (anvil) on a free port; `genesis_timestamp` sets the chain's clock (so a demo
    /// over historical data sees that data as fresh).
    pub async fn spawn(bin: &Path, genesis_timestamp: Option<u64>) -> Result<Self> {
        if !bin.exists() {
            return Err(Error::Anvil(format!(
                "{} not found (run scripts/setup.sh to install the Foundry tools)",
                bin.display()
            )));
        }
        // The port is free when asked for; another process could take it before anvil binds, so
        // try a few times.
        let mut last = String::new();
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| Error::Anvil(format!("no free port: {e}")))?
                .port();
            let mut cmd = Command::new(bin);
            cmd.args(["--host", "127.0.0.1", "--port", &port.to_string(), "--silent"]);
            if let Some(t) = genesis_timestamp {
                cmd.args(["--timestamp", &t.to_string()]);
            }
            let mut child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| Error::Anvil(format!("cannot start {}: {e}", bin.display())))?;
            let url = format!("http://127.0.0.1:{port}");
            match wait_ready(&url, &mut child).await {
                Ok(()) => return Ok(Self { child, url }),
                Err(e) => {
                    let _ = child.kill().await;
                    last = e;
                }
            }
        }
        Err(Error::Anvil(format!("did not start: {last}")))
    }

    /// The node's HTTP endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the node and waits for it to exit.
    pub async fn stop(mut self) -> Result<()> {
        self.child.kill().await.map_err(|e| Error::Anvil(format!("stop: {e}")))
    }
}

async fn wait_ready(url: &str, child: &mut Child) -> std::result::Result<(), String> {
    let provider = ProviderBuilder::new().connect_http(url.parse().map_err(|e| format!("{e}"))?);
    for _ in 0..100 {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut msg = String::new();
            if let Some(err) = child.stderr.take() {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    msg.push_str(&l);
                    msg.push('\n');
                }
            }
            return Err(format!("exited with {status}: {msg}"));
        }
        if provider.get_chain_id().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("no answer within 10 s".into())
}

/// A provider that signs with `key` (hex private key).
pub fn signer_provider(url: &str, key: &str) -> Result<(DynProvider, Address)> {
    let signer: PrivateKeySigner =
        key.parse().map_err(|e| Error::Rpc(format!("invalid private key: {e}")))?;
    let from = signer.address();
    let url = url.parse().map_err(|e| Error::Rpc(format!("invalid RPC URL {url}: {e}")))?;
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(url).erased();
    Ok((provider, from))
}

fn rpc(e: impl std::fmt::Display) -> Error {
    Error::Rpc(e.to_string())
}

/// Reads the creation bytecode of `contract` from Foundry's output (`out/<File>.sol/<Name>.json`).
pub fn foundry_bytecode(out_dir: &Path, file: &str, contract: &str) -> Result<Vec<u8>> {
    let path: PathBuf = out_dir.join(file).join(format!("{contract}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Artifact {
        path: path.clone(),
        reason: format!("{e} (build the contracts: scripts/setup.sh runs forge build)"),
    })?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Artifact { path: path.clone(), reason: e.to_string() })?;
    let hex_code = v["bytecode"]["object"].as_str().ok_or_else(|| Error::Artifact {
        path: path.clone(),
        reason: "no bytecode.object".into(),
    })?;
    hex::decode(hex_code.trim_start_matches("0x"))
        .map_err(|e| Error::Artifact { path, reason: format!("bytecode: {e}") })
}

/// Deploys creation code (constructor arguments appended) and returns the new address and gas.
pub async fn deploy(provider: &DynProvider, code: Vec<u8>) -> Result<(Address, u64)> {
    let tx = TransactionRequest::default().with_deploy_code(Bytes::from(code));
    let receipt =
        provider.send_transaction(tx).await.map_err(rpc)?.get_receipt().await.map_err(rpc)?;
    if !receipt.status() {
        return Err(Error::TxFailed { tx: receipt.transaction_hash.to_string() });
    }
    let addr = receipt
        .contract_address
        .ok_or_else(|| Error::Rpc("deployment receipt has no contract address".into()))?;
    Ok((addr, receipt.gas_used))
}

/// Addresses of a deployed zkrisk stack.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Deployment {
    /// The ezkl verifier of the model.
    pub verifier: Address,
    /// The risk steward: holds Aave's RISK_ADMIN role; the oracle's parameter target.
    pub steward: Address,
    /// The oracle.
    pub oracle: Address,
    /// The reserve (its underlying token) whose parameters the oracle moves.
    pub asset: Address,
    /// The Aave v3 market.
    pub aave: AaveMarket,
}

/// What [`deploy_stack`] deploys and initialises.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The only address allowed to submit.
    pub keeper: Address,
    /// Fractional bits of the proof's outputs.
    pub output_scale_bits: u8,
    /// Scores per update.
    pub batch_size: u16,
    /// Oldest data (seconds) the oracle accepts.
    pub max_data_age: u64,
    /// Symbol of the reserve of [`default_reserves`] whose parameters the oracle moves (`WETH`).
    pub reserve: String,
    /// Its parameters before any update (they replace the reserve's defaults at listing).
    pub initial: CollateralParams,
}

/// Deploys the verifier, a real Aave v3 market ([`deploy_aave`] with [`default_reserves`], the
/// chosen reserve listed with `cfg.initial`), an `AaveRiskSteward` on its PoolConfigurator and the
/// `RiskOracle` that targets the steward; then names the oracle in the steward and grants the
/// steward Aave's RISK_ADMIN role. The provider's signer deploys everything and becomes the Aave
/// market's admin and the steward's owner.
///
/// `foundry_out` is `contracts/out`; `aave_artifacts` is
/// `contracts/node_modules/@aave/core-v3/artifacts`.
pub async fn deploy_stack(
    provider: &DynProvider,
    foundry_out: &Path,
    aave_artifacts: &Path,
    verifier_code: Vec<u8>,
    cfg: &StackConfig,
) -> Result<Deployment> {
    let (verifier, _) = deploy(provider, verifier_code).await?;
    let mut reserves = default_reserves();
    let spec =
        reserves.iter_mut().find(|r| r.symbol == cfg.reserve).ok_or_else(|| Error::Deploy {
            step: "choosing the oracle's reserve".into(),
            reason: format!("{} is not one of the market's reserves", cfg.reserve),
        })?;
    spec.ltv = cfg.initial.ltv;
    spec.liquidation_threshold = cfg.initial.liquidation_threshold;
    spec.liquidation_bonus = cfg.initial.liquidation_bonus;
    let aave = deploy_aave(provider, aave_artifacts, foundry_out, &reserves).await?;
    let asset = aave.reserve(&cfg.reserve).map(|r| r.asset).ok_or_else(|| Error::Deploy {
        step: "deploying Aave".into(),
        reason: format!("{} was not listed", cfg.reserve),
    })?;

    let step = |what: &str| {
        let what = what.to_string();
        move |e: Error| Error::Deploy { step: what, reason: e.to_string() }
    };
    let mut code = foundry_bytecode(foundry_out, "AaveRiskSteward.sol", "AaveRiskSteward")?;
    code.extend(
        AaveRiskSteward::constructorCall {
            poolConfigurator_: aave.pool_configurator,
            owner_: aave.admin,
        }
        .abi_encode(),
    );
    let (steward, _) = deploy(provider, code).await.map_err(step("deploying AaveRiskSteward"))?;
    let mut code = foundry_bytecode(foundry_out, "RiskOracle.sol", "RiskOracle")?;
    code.extend(
        RiskOracle::constructorCall {
            verifier,
            configurator: steward,
            keeper: cfg.keeper,
            outputScaleBits: cfg.output_scale_bits,
            batchSize: cfg.batch_size,
            maxDataAge: cfg.max_data_age,
        }
        .abi_encode(),
    );
    let (oracle, _) = deploy(provider, code).await.map_err(step("deploying RiskOracle"))?;
    let s = AaveRiskSteward::new(steward, provider.clone());
    let pending = s
        .setOracle(oracle)
        .send()
        .await
        .map_err(|e| step("AaveRiskSteward.setOracle")(revert_error(e)))?;
    pending.get_receipt().await.map_err(rpc)?;
    // The steward gets the role only once it answers to the oracle alone.
    let acl = IACLManager::new(aave.acl_manager, provider.clone());
    let pending = acl
        .addRiskAdmin(steward)
        .send()
        .await
        .map_err(|e| step("ACLManager.addRiskAdmin(steward)")(revert_error(e)))?;
    pending.get_receipt().await.map_err(rpc)?;
    Ok(Deployment { verifier, steward, oracle, asset, aave })
}

/// Reads a reserve's collateral parameters from Aave (`AaveProtocolDataProvider`, which decodes
/// the Pool's configuration bitmap).
pub async fn read_params(
    provider: &DynProvider,
    data_provider: Address,
    asset: Address,
) -> Result<CollateralParams> {
    let dp = IAaveProtocolDataProvider::new(data_provider, provider.clone());
    let r = dp.getReserveConfigurationData(asset).call().await.map_err(revert_error)?;
    let bps = |v: U256| u16::try_from(v).map_err(|_| Error::Rpc(format!("{v} is not in bps")));
    Ok(CollateralParams {
        ltv: bps(r.ltv)?,
        liquidation_threshold: bps(r.liquidationThreshold)?,
        liquidation_bonus: bps(r.liquidationBonus)?,
    })
}

/// Turns a contract error into [`Error::Reverted`] with the custom error decoded (the oracle's,
/// the steward's, or Aave's numeric `Error(string)` code), or [`Error::Rpc`] when nothing reverted.
pub fn revert_error(e: alloy::contract::Error) -> Error {
    // `Variant(Variant { args })` → `Variant { args }`.
    fn unwrap_variant(text: String) -> String {
        match (text.find('('), text.ends_with(')')) {
            (Some(open), true) => text[open + 1..text.len() - 1].to_string(),
            _ => text,
        }
    }
    match e.as_revert_data() {
        Some(data) => Error::Reverted {
            error: if let Ok(d) = RiskOracle::RiskOracleErrors::abi_decode(&data) {
                unwrap_variant(format!("{d:?}"))
            } else if let Ok(d) = AaveRiskSteward::AaveRiskStewardErrors::abi_decode(&data) {
                unwrap_variant(format!("{d:?}"))
            } else if let Ok(r) = alloy::sol_types::Revert::abi_decode(&data) {
                // Aave v3 reverts with numeric codes (contracts/protocol/libraries/helpers/Errors.sol).
                format!("Error({:?})", r.reason)
            } else {
                format!("0x{}", hex::encode(&data))
            },
        },
        None => Error::Rpc(e.to_string()),
    }
}

/// The update of `asset` for one epoch: the proven scores (fixed point with `bits` fractional
/// bits, in the proof's output order) and the parameters [`zkrisk_models::policy::apply`] gives
/// for them, which are what `RiskOracle` recomputes and requires.
pub fn update_for(
    asset: Address,
    epoch: u64,
    data_timestamp: u64,
    scores: &[u64],
    bits: u8,
) -> Result<RiskOracle::Update> {
    let out = zkrisk_models::policy::apply(scores, bits)?;
    Ok(RiskOracle::Update {
        asset,
        epoch,
        dataTimestamp: data_timestamp,
        scores: scores.iter().map(|s| U256::from(*s)).collect(),
        ltv: out.params.ltv,
        liquidationThreshold: out.params.liquidation_threshold,
        liquidationBonus: out.params.liquidation_bonus,
    })
}

/// A mined update.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Submitted {
    /// Transaction hash.
    pub tx_hash: String,
    /// Gas used by the transaction (proof verification included).
    pub gas_used: u64,
    /// Block it was mined in.
    pub block: u64,
}

/// The keeper's path to `RiskOracle`: check by simulation, then send and wait for the receipt.
#[derive(Debug, Clone)]
pub struct OracleClient {
    provider: DynProvider,
    oracle: Address,
}

impl OracleClient {
    /// A client of the oracle at `oracle`, sending from the provider's wallet.
    pub const fn new(provider: DynProvider, oracle: Address) -> Self {
        Self { provider, oracle }
    }

    /// Simulates `submit` at the latest block without sending; `Err(Error::Reverted)` names the
    /// custom error the oracle would revert with.
    pub async fn check(&self, update: &RiskOracle::Update, proof: &[u8]) -> Result<()> {
        let c = RiskOracle::new(self.oracle, self.provider.clone());
        c.submit(update.clone(), Bytes::copy_from_slice(proof))
            .call()
            .await
            .map_err(revert_error)?;
        Ok(())
    }

    /// Sends `submit` and waits for its receipt. A revert is caught at gas estimation, before
    /// anything is sent, and decoded like [`OracleClient::check`]'s.
    pub async fn submit(&self, update: &RiskOracle::Update, proof: &[u8]) -> Result<Submitted> {
        let c = RiskOracle::new(self.oracle, self.provider.clone());
        let pending = c
            .submit(update.clone(), Bytes::copy_from_slice(proof))
            .send()
            .await
            .map_err(revert_error)?;
        let receipt = pending.get_receipt().await.map_err(rpc)?;
        let tx_hash = receipt.transaction_hash.to_string();
        if !receipt.status() {
            return Err(Error::TxFailed { tx: tx_hash });
        }
        Ok(Submitted {
            tx_hash,
            gas_used: receipt.gas_used,
            block: receipt.block_number.unwrap_or(0),
        })
    }

    /// The oracle's latest verified state of `asset`.
    pub async fn market_state(&self, asset: Address) -> Result<RiskOracle::MarketState> {
        let c = RiskOracle::new(self.oracle, self.provider.clone());
        c.marketState(asset).call().await.map_err(revert_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_key_signs_only_on_anvil() {
        assert_eq!(signing_key(None, ANVIL_CHAIN_ID).unwrap(), ANVIL_DEV_KEY);
        let err = signing_key(None, 1).unwrap_err().to_string();
        assert!(err.contains("--private-key-env") && err.contains("chain 1 "), "{err}");
        let err = signing_key(Some("ZKRISK_TEST_SURELY_UNSET_KEY"), ANVIL_CHAIN_ID).unwrap_err();
        assert!(err.to_string().contains("ZKRISK_TEST_SURELY_UNSET_KEY is not set"), "{err}");
    }
}
