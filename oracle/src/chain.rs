//! The chain side: a local anvil node, deployment from the Foundry build (verifier, Aave v3, risk
//! steward, oracle, vault), and the client that submits proof-checked updates to `RiskOracle` and
//! applies them through the steward.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, B256, Bytes, U256},
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
        bindings::{IACLManager, IAaveProtocolDataProvider, PriceFeed},
        deploy::{AaveMarket, default_reserves, deploy_aave},
    },
};

/// `sol!` bindings of the contracts (the generated event constructors take one argument per field).
#[allow(clippy::too_many_arguments)]
mod bindings {
    alloy::sol! {
    /// Every custom error of `contracts/src/libraries/Errors.sol` (shared by the oracle, the steward
    /// and the vault: a steward refusal inside `RiskOracle.submit` comes back as the data of its
    /// `StewardRefused` event), and the OpenZeppelin errors the contracts can revert with.
    #[sol(all_derives)]
    interface ZkriskErrors {
        error ZeroAddress();
        error NotOwner();
        error UpdateExpired(uint64 validUntil, uint64 nowTimestamp);
        error NotKeeper();
        error MarketNotConfigured(address market);
        error ModelNotActive(uint32 modelId);
        error WrongModel(uint32 modelId, uint32 expected);
        error ModelAlreadyRegistered(uint32 modelId);
        error InvalidModel(uint32 modelId);
        error InvalidMarketConfig(address market);
        error OperationNotScheduled(bytes32 operationId);
        error OperationAlreadyScheduled(bytes32 operationId);
        error OperationNotReady(bytes32 operationId, uint64 readyAt);
        error BatchSizeMismatch(uint256 got, uint256 expected);
        error ScoreOutOfRange(uint256 index, uint256 score);
        error StaleEpoch(uint64 epoch, uint64 lastEpoch);
        error EpochJump(uint64 epoch, uint64 lastEpoch);
        error StaleData(uint64 dataTimestamp, uint64 nowTimestamp);
        error FutureData(uint64 dataTimestamp, uint64 nowTimestamp);
        error PriceMismatch(uint256 claimed, uint256 onChain);
        error PriceOffGrid(uint256 claimed, uint8 shiftBits);
        error InvalidOnChainPrice(int256 answer);
        error InvalidProof();
        error ParamsMismatch(uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus);
        error OutputScaleTooLarge(uint8 outputScaleBits);
        error NotAFieldElement(uint256 value);
        error MalformedPackedLogits(uint256 instance);
        error EmptyScores();
        error NotRiskOracle();
        error NotGuardian();
        error OracleAlreadySet();
        error StewardPaused();
        error AssetRestricted(address asset);
        error ZeroValue(uint8 param);
        error LtvNotBelowLt(uint256 ltv, uint256 liquidationThreshold);
        error BoundExceeded(uint8 param, uint256 current, uint256 proposed);
        error DelayNotElapsed(uint8 param, uint64 lastUpdated, uint64 minDelay);
        error UnlimitedCap(uint8 param);
        error UnknownUpdate(uint256 id);
        error UpdateNotPending(uint256 id);
        error UpdateSuperseded(uint256 id, uint256 latest);
        error UpdateNotReady(uint256 id, uint64 executableAt);
        error InvalidBounds(uint8 param);
        error TooManyMarkets();
        error MarketAlreadyListed(address pool);
        error UnknownMarket(uint256 index);
        error ReserveNotListed(address pool, address asset);
        error NoPendingCap(uint256 index);
        error CapTimelockNotElapsed(uint256 index, uint64 validAt);
        error InsufficientLiquidity(uint256 requested, uint256 available);
        error OwnableUnauthorizedAccount(address account);
        error ERC4626ExceededMaxDeposit(address receiver, uint256 assets, uint256 max);
        error ERC4626ExceededMaxWithdraw(address owner, uint256 assets, uint256 max);
        error ERC4626ExceededMaxRedeem(address owner, uint256 shares, uint256 max);
        error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
        error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    }

    /// The ABI of `contracts/src/RiskOracle.sol` (`IRiskOracle` plus governance).
    #[sol(rpc, all_derives)]
    contract RiskOracle {
        /// How a model's public instances are laid out.
        enum InstanceLayout {
            /// The public instances are the scores (the sigmoid inside the circuit).
            ScoresOnly,
            /// Instance 0 is the collateral price, then the scores.
            PriceThenScores,
            /// The public instances are logits; the oracle applies the logistic link.
            Logits,
            /// Each public instance packs three logits; the oracle unpacks and applies the link.
            PackedLogits,
            /// Instance 0 is the collateral price the circuit computed its features at, then logits.
            PriceThenLogits
        }
        /// A registered model.
        struct Model {
            address verifier;
            bytes32 featureSchemaHash;
            uint8 outputScaleBits;
            uint16 batchSize;
            uint32 horizon;
            InstanceLayout layout;
            uint8 priceShiftBits;
            bool active;
        }
        /// A market's feed rules.
        struct MarketConfig {
            uint32 modelId;
            uint64 maxDataAge;
            address priceSource;
            uint16 priceToleranceBps;
        }
        /// The parameters an update proposes.
        struct Params {
            uint16 ltv;
            uint16 liquidationThreshold;
            uint16 liquidationBonus;
            uint64 supplyCap;
            uint64 borrowCap;
        }
        /// One epoch's update of one market.
        struct Update {
            address market;
            uint32 modelId;
            uint64 epoch;
            uint64 dataTimestamp;
            uint64 dataBlock;
            uint40 validUntil;
            uint256 collateralPrice;
            uint256[] scores;
            Params params;
        }
        /// The latest accepted state of one market.
        struct MarketState {
            uint64 epoch;
            uint64 dataTimestamp;
            uint64 dataBlock;
            uint64 updatedAt;
            uint32 modelId;
            uint16 riskBps;
            Params params;
            uint256 collateralPrice;
            bytes32 scoresHash;
            bytes32 proofHash;
            address publisher;
            uint256 stewardUpdateId;
        }

        event UpdateAccepted(address indexed market, uint64 indexed epoch, uint32 indexed modelId, MarketState state, uint256[] scores);
        event StewardRefused(address indexed market, uint64 indexed epoch, bytes reason);
        event ModelRegistered(uint32 indexed modelId, Model model);
        event ModelRetired(uint32 indexed modelId);
        event MarketConfigured(address indexed market, MarketConfig config);
        event KeeperSet(address indexed keeper, bool allowed);
        event OperationScheduled(bytes32 indexed operationId, uint8 indexed kind, uint64 readyAt);

        constructor(address steward_, address owner_, uint64 timelockDelay_);
        function submit(Update calldata update, bytes calldata proof) external;
        function marketState(address market) external view returns (MarketState memory);
        function model(uint32 modelId) external view returns (Model memory);
        function marketConfig(address market) external view returns (MarketConfig memory);
        function isKeeper(address account) external view returns (bool);
        function steward() external view returns (address);
        function timelockDelay() external view returns (uint64);
        function owner() external view returns (address);
        function setKeeper(address keeper, bool allowed) external;
        function scheduleRegisterModel(uint32 modelId, Model calldata m) external returns (bytes32);
        function registerModel(uint32 modelId, Model calldata m) external;
        function scheduleRetireModel(uint32 modelId) external returns (bytes32);
        function retireModel(uint32 modelId) external;
        function scheduleConfigureMarket(address market, MarketConfig calldata config) external returns (bytes32);
        function configureMarket(address market, MarketConfig calldata config) external;
    }

    /// The entry point of an ezkl-generated verifier (`contracts/src/interfaces/IHalo2Verifier.sol`).
    #[sol(rpc)]
    interface IHalo2Verifier {
        function verifyProof(bytes calldata proof, uint256[] calldata instances) external view returns (bool);
    }

    /// The ABI of `contracts/src/AaveRiskSteward.sol`.
    #[sol(rpc, all_derives)]
    contract AaveRiskSteward {
        /// The state of a queued update.
        enum Status {
            /// No such update.
            None,
            /// Queued; executable after the delay, until it expires.
            Pending,
            /// Applied to Aave.
            Executed,
            /// Vetoed by the guardian or the owner.
            Disabled
        }
        /// How far and how often one parameter may move.
        struct Bound {
            uint16 maxIncrease;
            uint16 maxDecrease;
            uint32 minDelay;
        }
        /// The parameters one update proposes for one reserve.
        struct ParamUpdate {
            address asset;
            uint16 ltv;
            uint16 liquidationThreshold;
            uint16 liquidationBonus;
            uint64 supplyCap;
            uint64 borrowCap;
            uint40 validUntil;
        }
        /// A queued update and its state.
        struct QueuedUpdate {
            ParamUpdate update;
            uint40 queuedAt;
            Status status;
        }

        event UpdateQueued(uint256 indexed id, address indexed asset, ParamUpdate update, uint40 executableAt);
        event UpdateExecuted(uint256 indexed id, address indexed asset, address executor);
        event UpdateDisabled(uint256 indexed id, address indexed asset, address indexed by);
        event PauseSet(bool paused, address indexed by);

        constructor(address poolConfigurator_, address poolDataProvider_, address owner_, address guardian_, uint40 executionDelay_, Bound[5] bounds_);
        function queue(ParamUpdate calldata update) external returns (uint256 id);
        function execute(uint256 id) external;
        function disable(uint256 id) external;
        function pause() external;
        function unpause() external;
        function setRiskOracle(address riskOracle_) external;
        function setGuardian(address guardian_) external;
        function setAssetRestricted(address asset, bool restricted) external;
        function bound(uint8 param) external view returns (Bound memory);
        function lastUpdated(address asset, uint8 param) external view returns (uint64);
        function queuedUpdate(uint256 id) external view returns (QueuedUpdate memory);
        function latestUpdateId(address asset) external view returns (uint256);
        function executionDelay() external view returns (uint40);
        function paused() external view returns (bool);
        function updateCount() external view returns (uint256);
        function owner() external view returns (address);
        function guardian() external view returns (address);
        function riskOracle() external view returns (address);
        function poolConfigurator() external view returns (address);
        function poolDataProvider() external view returns (address);
    }

    /// The ABI of `contracts/src/RiskCappedVault.sol` (ERC-4626 plus the caps).
    #[sol(rpc, all_derives)]
    contract RiskCappedVault {
        /// One lending market the vault supplies into.
        struct Market {
            address pool;
            address aToken;
            address feedMarket;
            uint256 maxCap;
            uint256 cap;
            uint256 pendingCap;
            uint64 pendingValidAt;
        }

        event Deposit(address indexed sender, address indexed owner, uint256 assets, uint256 shares);
        event Withdraw(address indexed sender, address indexed receiver, address indexed owner, uint256 assets, uint256 shares);
        event CapSet(uint256 indexed index, uint256 cap);
        event CapRaisePending(uint256 indexed index, uint256 pendingCap, uint64 validAt);

        constructor(address asset_, string name_, string symbol_, address oracle_, address owner_, uint64 capTimelock_);
        function addMarket(address pool, address feedMarket, uint256 maxCap) external returns (uint256 index);
        function setMaxCap(uint256 index, uint256 maxCap) external;
        function syncCap(uint256 index) external;
        function acceptCap(uint256 index) external;
        function feedCap(uint256 index) external view returns (uint256);
        function allocationCap(uint256 index) external view returns (uint256);
        function market(uint256 index) external view returns (Market memory);
        function marketCount() external view returns (uint256);
        function availableLiquidity() external view returns (uint256);
        function asset() external view returns (address);
        function totalAssets() external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function balanceOf(address account) external view returns (uint256);
        function convertToAssets(uint256 shares) external view returns (uint256);
        function previewDeposit(uint256 assets) external view returns (uint256);
        function maxWithdraw(address owner) external view returns (uint256);
        function maxRedeem(address owner) external view returns (uint256);
        function deposit(uint256 assets, address receiver) external returns (uint256 shares);
        function withdraw(uint256 assets, address receiver, address owner) external returns (uint256 shares);
        function redeem(uint256 shares, address receiver, address owner) external returns (uint256 assets);
    }
    }
}
pub use bindings::{AaveRiskSteward, IHalo2Verifier, RiskCappedVault, RiskOracle, ZkriskErrors};

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
///
/// Its nonces are cached (alloy's recommended fillers): a transaction rejected at gas estimation has
/// already taken a nonce, and the next one would then wait forever behind the gap. The senders in
/// this module therefore simulate every call (`eth_call`) before sending it.
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
    /// The risk steward: holds Aave's RISK_ADMIN role; the oracle queues updates in it.
    pub steward: Address,
    /// The oracle.
    pub oracle: Address,
    /// The model id the oracle's registry holds the verifier under.
    pub model_id: u32,
    /// The reserve (its underlying token) whose parameters the oracle moves.
    pub asset: Address,
    /// The reserve's Chainlink-style aggregator: the oracle's price source for the input binding.
    pub price_source: Address,
    /// The Aave v3 market.
    pub aave: AaveMarket,
}

/// Aave's production Risk Steward bounds, in the steward's parameter order (LTV, LT, bonus, supply
/// cap, borrow cap): ±50 bps for LTV, LT and bonus, ±30 % (relative) for caps, each at most once per
/// three days.
pub fn aave_production_bounds() -> [AaveRiskSteward::Bound; 5] {
    let bps = AaveRiskSteward::Bound { maxIncrease: 50, maxDecrease: 50, minDelay: 3 * 86_400 };
    let cap =
        AaveRiskSteward::Bound { maxIncrease: 3_000, maxDecrease: 3_000, minDelay: 3 * 86_400 };
    [bps.clone(), bps.clone(), bps, cap.clone(), cap]
}

/// What [`deploy_stack`] deploys and initialises.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The keeper registered in the oracle.
    pub keeper: Address,
    /// Fractional bits of the proof's outputs.
    pub output_scale_bits: u8,
    /// Scores per update.
    pub batch_size: u16,
    /// Oldest data (seconds) the oracle accepts for the market.
    pub max_data_age: u64,
    /// Symbol of the reserve of [`default_reserves`] whose parameters the oracle moves (`WETH`).
    pub reserve: String,
    /// Its parameters before any update (they replace the reserve's defaults at listing).
    pub initial: CollateralParams,
    /// The model's id in the oracle's registry.
    pub model_id: u32,
    /// keccak256 of the model's feature schema, stored in the registry.
    pub feature_schema_hash: B256,
    /// The scores' horizon in seconds.
    pub horizon: u32,
    /// How far (bps) the update's claimed collateral price may be from the aggregator's.
    pub price_tolerance_bps: u16,
    /// Seconds between queueing an update in the steward and applying it.
    pub execution_delay: u64,
    /// The oracle's governance timelock. The deployment waits it out by moving anvil's clock
    /// (`evm_increaseTime`), so a local chain may use a realistic value.
    pub timelock_delay: u64,
    /// The steward's bounds ([`aave_production_bounds`] unless a test needs others).
    pub bounds: [AaveRiskSteward::Bound; 5],
    /// How the model's verifier lays out its public instances.
    pub layout: RiskOracle::InstanceLayout,
    /// The answer the reserve's aggregator starts with (USD, 8 decimals), when not the market's
    /// default: a price-bound model's update must claim a price near it.
    pub initial_price: Option<i128>,
    /// The model's `priceShiftBits` ([`price_shift_bits`]).
    pub price_shift_bits: u8,
}

/// The `priceShiftBits` a model proven by a circuit of `kind` registers: the shift of its price
/// input ([`crate::prover::PriceInput`]), 0 for a circuit without one.
///
/// # Errors
/// [`Error::Input`] for a shift above 255.
pub fn price_shift_bits(kind: crate::prover::CircuitKind) -> Result<u8> {
    let shift = kind.price_input().map_or(0, |p| p.shift);
    u8::try_from(shift).map_err(|_| Error::Input(format!("a price shift of {shift} bits")))
}

/// The oracle's instance layout for a circuit whose outputs are read through `link`.
pub const fn layout_for(link: zkrisk_models::policy::Link) -> RiskOracle::InstanceLayout {
    match link {
        zkrisk_models::policy::Link::Identity => RiskOracle::InstanceLayout::ScoresOnly,
        zkrisk_models::policy::Link::Logistic => RiskOracle::InstanceLayout::Logits,
        zkrisk_models::policy::Link::PackedLogistic => RiskOracle::InstanceLayout::PackedLogits,
    }
}

/// The oracle's instance layout for a circuit of `kind`: [`layout_for`] its link, or
/// `PriceThenLogits` for a price-bound circuit.
pub const fn layout_of(kind: crate::prover::CircuitKind) -> RiskOracle::InstanceLayout {
    match kind.price_input() {
        Some(_) => RiskOracle::InstanceLayout::PriceThenLogits,
        None => layout_for(kind.link()),
    }
}

/// Whether the public instances of a model with `layout` start with the claimed price.
pub const fn has_price_instance(layout: RiskOracle::InstanceLayout) -> bool {
    matches!(
        layout,
        RiskOracle::InstanceLayout::PriceThenScores | RiskOracle::InstanceLayout::PriceThenLogits
    )
}

/// How the scores of a model with `layout` are read (after the price instance of a
/// [`has_price_instance`] layout): the inverse of [`layout_for`] (`PriceThenScores` carries
/// probabilities, `PriceThenLogits` logits).
pub const fn link_for(layout: RiskOracle::InstanceLayout) -> zkrisk_models::policy::Link {
    match layout {
        RiskOracle::InstanceLayout::Logits | RiskOracle::InstanceLayout::PriceThenLogits => {
            zkrisk_models::policy::Link::Logistic
        }
        RiskOracle::InstanceLayout::PackedLogits => zkrisk_models::policy::Link::PackedLogistic,
        _ => zkrisk_models::policy::Link::Identity,
    }
}

/// The public instances a verifier checks for `update` under `layout`, as `RiskOracle` builds
/// them: the scores, after the claimed price for `PriceThenScores` and `PriceThenLogits`.
pub fn instances_for(layout: RiskOracle::InstanceLayout, update: &RiskOracle::Update) -> Vec<U256> {
    let mut v = Vec::with_capacity(update.scores.len() + 1);
    if has_price_instance(layout) {
        v.push(update.collateralPrice);
    }
    v.extend_from_slice(&update.scores);
    v
}

impl StackConfig {
    /// A configuration with the local defaults: model 1, a 7-day horizon, a 1 % price tolerance, a
    /// one-hour execution delay, a two-day timelock and Aave's production bounds.
    pub fn local(
        keeper: Address,
        output_scale_bits: u8,
        batch_size: u16,
        max_data_age: u64,
        reserve: &str,
        initial: CollateralParams,
    ) -> Self {
        Self {
            keeper,
            output_scale_bits,
            batch_size,
            max_data_age,
            reserve: reserve.into(),
            initial,
            model_id: 1,
            feature_schema_hash: B256::ZERO,
            horizon: 7 * 86_400,
            price_tolerance_bps: 100,
            execution_delay: 3_600,
            timelock_delay: 2 * 86_400,
            bounds: aave_production_bounds(),
            layout: RiskOracle::InstanceLayout::ScoresOnly,
            initial_price: None,
            price_shift_bits: 0,
        }
    }
}

/// Moves anvil's clock forward by `seconds` and mines a block (`evm_increaseTime`, `evm_mine`).
/// Local chains only.
pub async fn advance_time(provider: &DynProvider, seconds: u64) -> Result<()> {
    provider
        .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (seconds,))
        .await
        .map_err(rpc)?;
    provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await.map_err(rpc)?;
    Ok(())
}

/// Simulates a prepared call, then sends it and waits for a successful receipt; reverts decode with
/// [`revert_error`]. The simulation keeps a rejected call from taking a cached nonce (see
/// [`signer_provider`]).
async fn send<P: Provider, D: alloy::contract::CallDecoder>(
    call: alloy::contract::CallBuilder<P, D>,
) -> Result<alloy::rpc::types::TransactionReceipt> {
    call.call_raw().await.map_err(revert_error)?;
    let receipt = call.send().await.map_err(revert_error)?.get_receipt().await.map_err(rpc)?;
    if !receipt.status() {
        return Err(Error::TxFailed { tx: receipt.transaction_hash.to_string() });
    }
    Ok(receipt)
}

/// Deploys the verifier, a real Aave v3 market ([`deploy_aave`] with [`default_reserves`], the
/// chosen reserve listed with `cfg.initial`), an `AaveRiskSteward` on its PoolConfigurator and data
/// provider, and the `RiskOracle` that queues into the steward; names the oracle in the steward,
/// grants the steward Aave's RISK_ADMIN role, registers the keeper, and registers the model and the
/// market's feed rules through the oracle's timelock (waited out with [`advance_time`]). The
/// provider's signer deploys everything and becomes the Aave market's admin, the steward's owner and
/// guardian, and the oracle's owner.
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
    let mut reserves = default_reserves();
    let spec =
        reserves.iter_mut().find(|r| r.symbol == cfg.reserve).ok_or_else(|| Error::Deploy {
            step: "choosing the oracle's reserve".into(),
            reason: format!("{} is not one of the market's reserves", cfg.reserve),
        })?;
    spec.ltv = cfg.initial.ltv;
    spec.liquidation_threshold = cfg.initial.liquidation_threshold;
    spec.liquidation_bonus = cfg.initial.liquidation_bonus;
    if let Some(price) = cfg.initial_price {
        spec.initial_price = price;
    }
    let aave = deploy_aave(provider, aave_artifacts, foundry_out, &reserves).await?;
    deploy_oracle(provider, foundry_out, aave, verifier_code, cfg).await
}

/// [`deploy_stack`] on an Aave market already deployed (and possibly in use): the verifier, the
/// steward on the market's PoolConfigurator, the oracle, the roles, the keeper, the model and the
/// market's feed rules. `cfg.initial` is not applied: the reserve keeps its parameters. The
/// provider's signer must be the market's admin.
pub async fn deploy_oracle(
    provider: &DynProvider,
    foundry_out: &Path,
    aave: AaveMarket,
    verifier_code: Vec<u8>,
    cfg: &StackConfig,
) -> Result<Deployment> {
    let (verifier, _) = deploy(provider, verifier_code).await?;
    let reserve = aave.reserve(&cfg.reserve).ok_or_else(|| Error::Deploy {
        step: "deploying Aave".into(),
        reason: format!("{} was not listed", cfg.reserve),
    })?;
    let (asset, price_source) = (reserve.asset, reserve.aggregator);

    let step = |what: &str| {
        let what = what.to_string();
        move |e: Error| Error::Deploy { step: what, reason: e.to_string() }
    };
    let execution_delay =
        alloy::primitives::aliases::U40::try_from(cfg.execution_delay).map_err(|_| {
            Error::Deploy {
                step: "deploying AaveRiskSteward".into(),
                reason: format!("execution delay {} does not fit 40 bits", cfg.execution_delay),
            }
        })?;
    let mut code = foundry_bytecode(foundry_out, "AaveRiskSteward.sol", "AaveRiskSteward")?;
    code.extend(
        AaveRiskSteward::constructorCall {
            poolConfigurator_: aave.pool_configurator,
            poolDataProvider_: aave.data_provider,
            owner_: aave.admin,
            guardian_: aave.admin,
            executionDelay_: execution_delay,
            bounds_: cfg.bounds.clone(),
        }
        .abi_encode(),
    );
    let (steward, _) = deploy(provider, code).await.map_err(step("deploying AaveRiskSteward"))?;
    let mut code = foundry_bytecode(foundry_out, "RiskOracle.sol", "RiskOracle")?;
    code.extend(
        RiskOracle::constructorCall {
            steward_: steward,
            owner_: aave.admin,
            timelockDelay_: cfg.timelock_delay,
        }
        .abi_encode(),
    );
    let (oracle, _) = deploy(provider, code).await.map_err(step("deploying RiskOracle"))?;

    let s = AaveRiskSteward::new(steward, provider.clone());
    send(s.setRiskOracle(oracle)).await.map_err(step("AaveRiskSteward.setRiskOracle"))?;
    // The steward gets the role only once it answers to the oracle alone.
    let acl = IACLManager::new(aave.acl_manager, provider.clone());
    send(acl.addRiskAdmin(steward)).await.map_err(step("ACLManager.addRiskAdmin(steward)"))?;

    let o = RiskOracle::new(oracle, provider.clone());
    send(o.setKeeper(cfg.keeper, true)).await.map_err(step("RiskOracle.setKeeper"))?;
    let model = RiskOracle::Model {
        verifier,
        featureSchemaHash: cfg.feature_schema_hash,
        outputScaleBits: cfg.output_scale_bits,
        batchSize: cfg.batch_size,
        horizon: cfg.horizon,
        layout: cfg.layout,
        priceShiftBits: cfg.price_shift_bits,
        active: false,
    };
    let market = RiskOracle::MarketConfig {
        modelId: cfg.model_id,
        maxDataAge: cfg.max_data_age,
        priceSource: price_source,
        priceToleranceBps: cfg.price_tolerance_bps,
    };
    send(o.scheduleRegisterModel(cfg.model_id, model.clone()))
        .await
        .map_err(step("RiskOracle.scheduleRegisterModel"))?;
    send(o.scheduleConfigureMarket(asset, market.clone()))
        .await
        .map_err(step("RiskOracle.scheduleConfigureMarket"))?;
    if cfg.timelock_delay > 0 {
        advance_time(provider, cfg.timelock_delay)
            .await
            .map_err(step("waiting out the timelock"))?;
    }
    send(o.registerModel(cfg.model_id, model)).await.map_err(step("RiskOracle.registerModel"))?;
    send(o.configureMarket(asset, market)).await.map_err(step("RiskOracle.configureMarket"))?;
    Ok(Deployment { verifier, steward, oracle, model_id: cfg.model_id, asset, price_source, aave })
}

/// Deploys a `RiskCappedVault` of `asset` whose caps follow `oracle`'s feed; `owner` lists markets.
pub async fn deploy_vault(
    provider: &DynProvider,
    foundry_out: &Path,
    asset: Address,
    oracle: Address,
    owner: Address,
    cap_timelock: u64,
) -> Result<Address> {
    let mut code = foundry_bytecode(foundry_out, "RiskCappedVault.sol", "RiskCappedVault")?;
    code.extend(
        RiskCappedVault::constructorCall {
            asset_: asset,
            name_: "zkrisk risk-capped vault".into(),
            symbol_: "zrVAULT".into(),
            oracle_: oracle,
            owner_: owner,
            capTimelock_: cap_timelock,
        }
        .abi_encode(),
    );
    let (vault, _) = deploy(provider, code).await.map_err(|e| Error::Deploy {
        step: "deploying RiskCappedVault".into(),
        reason: e.to_string(),
    })?;
    Ok(vault)
}

/// The latest answer of a Chainlink-style aggregator (`latestRoundData`), as the oracle reads it.
pub async fn aggregator_price(provider: &DynProvider, aggregator: Address) -> Result<U256> {
    let feed = PriceFeed::new(aggregator, provider.clone());
    let round = feed.latestRoundData().call().await.map_err(revert_error)?;
    U256::try_from(round.answer)
        .map_err(|_| Error::Rpc(format!("aggregator {aggregator} answered {}", round.answer)))
}

/// Sets the answer of a `PriceFeed` aggregator (`contracts/src/mocks/PriceFeed.sol`) the
/// provider's signer owns: local markets only.
pub async fn set_aggregator_answer(
    provider: &DynProvider,
    aggregator: Address,
    answer: u128,
) -> Result<()> {
    let feed = PriceFeed::new(aggregator, provider.clone());
    let answer = alloy::primitives::I256::try_from(answer)
        .map_err(|_| Error::Input(format!("answer {answer} does not fit an int256")))?;
    send(feed.setAnswer(answer)).await?;
    Ok(())
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

/// Turns a contract error into [`Error::Reverted`] with the custom error decoded (zkrisk's
/// `Errors` library, OpenZeppelin's, or Aave's numeric `Error(string)` code), or [`Error::Rpc`] when nothing reverted.
pub fn revert_error(e: alloy::contract::Error) -> Error {
    match e.as_revert_data() {
        Some(data) => Error::Reverted { error: error_name(&data) },
        None => Error::Rpc(e.to_string()),
    }
}

/// Revert data as the contracts name it: a zkrisk custom error with its arguments
/// (`BoundExceeded { param: 3, .. }`), `Error("…")` for a string revert (Aave v3's numeric codes,
/// contracts/protocol/libraries/helpers/Errors.sol), else the hex.
pub fn error_name(data: &[u8]) -> String {
    // `Variant(Variant { args })` → `Variant { args }`.
    fn unwrap_variant(text: String) -> String {
        match (text.find('('), text.ends_with(')')) {
            (Some(open), true) => text[open + 1..text.len() - 1].to_string(),
            _ => text,
        }
    }
    if let Ok(d) = ZkriskErrors::ZkriskErrorsErrors::abi_decode(data) {
        unwrap_variant(format!("{d:?}"))
    } else if let Ok(r) = alloy::sol_types::Revert::abi_decode(data) {
        format!("Error({:?})", r.reason)
    } else {
        format!("0x{}", hex::encode(data))
    }
}

/// The steward refusals (`RiskOracle.StewardRefused`) in a submission's receipt, each as
/// "market M epoch E: ERROR": the oracle recorded those updates but queued nothing for Aave.
pub fn steward_refusals(receipt: &alloy::rpc::types::TransactionReceipt) -> Vec<String> {
    use alloy::sol_types::SolEvent as _;
    receipt
        .inner
        .logs()
        .iter()
        .filter_map(|log| RiskOracle::StewardRefused::decode_log(&log.inner).ok())
        .map(|e| format!("market {} epoch {}: {}", e.market, e.epoch, error_name(&e.reason)))
        .collect()
}

/// What an update claims besides its scores: which model, the data's block, until when it is valid,
/// and the collateral price its inputs were computed at.
#[derive(Debug, Clone, Copy)]
pub struct UpdateContext {
    /// The model's id in the registry.
    pub model_id: u32,
    /// Block number of the data.
    pub data_block: u64,
    /// The last second at which the update may be accepted (and applied by the steward).
    pub valid_until: u64,
    /// The collateral price, in the aggregator's units (the oracle compares it with the aggregator).
    pub collateral_price: U256,
}

/// The steward's `KEEP_CURRENT`: an update leaves the cap as it is.
pub const KEEP_CURRENT_CAP: u64 = u64::MAX;

/// The update of `market` for one epoch: the proof's outputs (fixed point with `bits` fractional
/// bits, in the proof's order; probabilities or logits as `link` says), the LTV, LT and bonus
/// [`zkrisk_models::policy::apply_outputs`] gives for them (which `RiskOracle` recomputes and
/// requires), caps left as they are.
pub fn update_for(
    market: Address,
    epoch: u64,
    data_timestamp: u64,
    outputs: &[U256],
    bits: u8,
    link: zkrisk_models::policy::Link,
    ctx: &UpdateContext,
) -> Result<RiskOracle::Update> {
    let out = zkrisk_models::policy::apply_outputs(outputs, bits, link)?;
    let valid_until = alloy::primitives::aliases::U40::try_from(ctx.valid_until)
        .map_err(|_| Error::Rpc(format!("valid_until {} does not fit 40 bits", ctx.valid_until)))?;
    Ok(RiskOracle::Update {
        market,
        modelId: ctx.model_id,
        epoch,
        dataTimestamp: data_timestamp,
        dataBlock: ctx.data_block,
        validUntil: valid_until,
        collateralPrice: ctx.collateral_price,
        scores: outputs.to_vec(),
        params: RiskOracle::Params {
            ltv: out.params.ltv,
            liquidationThreshold: out.params.liquidation_threshold,
            liquidationBonus: out.params.liquidation_bonus,
            supplyCap: KEEP_CURRENT_CAP,
            borrowCap: KEEP_CURRENT_CAP,
        },
    })
}

/// The claimed price and the scores among a proof's public instances under `layout`: instance 0
/// and the rest for a [`has_price_instance`] layout, none and all of them otherwise.
///
/// # Errors
/// [`Error::Input`] for a price layout without instances.
pub fn split_instances(
    layout: RiskOracle::InstanceLayout,
    instances: &[U256],
) -> Result<(Option<U256>, &[U256])> {
    if !has_price_instance(layout) {
        return Ok((None, instances));
    }
    match instances.split_first() {
        Some((price, scores)) => Ok((Some(*price), scores)),
        None => Err(Error::Input("a price-bound proof without public instances".into())),
    }
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
    /// For a submission the steward refused to queue (see [`steward_refusals`]), its reason.
    pub steward_refused: Option<String>,
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

    /// Simulates `submit`, sends it and waits for its receipt. A revert is caught by the simulation,
    /// before anything is sent (so it takes no nonce), and decoded like [`OracleClient::check`]'s.
    pub async fn submit(&self, update: &RiskOracle::Update, proof: &[u8]) -> Result<Submitted> {
        let c = RiskOracle::new(self.oracle, self.provider.clone());
        let receipt = send(c.submit(update.clone(), Bytes::copy_from_slice(proof))).await?;
        Ok(Submitted {
            tx_hash: receipt.transaction_hash.to_string(),
            gas_used: receipt.gas_used,
            block: receipt.block_number.unwrap_or(0),
            steward_refused: steward_refusals(&receipt).into_iter().next(),
        })
    }

    /// The oracle's latest accepted state of `market`.
    pub async fn market_state(&self, market: Address) -> Result<RiskOracle::MarketState> {
        let c = RiskOracle::new(self.oracle, self.provider.clone());
        c.marketState(market).call().await.map_err(revert_error)
    }

    /// Applies the steward's queued update `id` to Aave (`AaveRiskSteward.execute`; anyone may call
    /// once its execution delay has passed) and waits for the receipt.
    pub async fn execute_queued(&self, id: U256) -> Result<Submitted> {
        let oracle = RiskOracle::new(self.oracle, self.provider.clone());
        let steward = oracle.steward().call().await.map_err(revert_error)?;
        let receipt =
            send(AaveRiskSteward::new(steward, self.provider.clone()).execute(id)).await?;
        Ok(Submitted {
            tx_hash: receipt.transaction_hash.to_string(),
            gas_used: receipt.gas_used,
            block: receipt.block_number.unwrap_or(0),
            steward_refused: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steward_constructor_arguments_are_static() {
        let args = AaveRiskSteward::constructorCall {
            poolConfigurator_: Address::repeat_byte(1),
            poolDataProvider_: Address::repeat_byte(2),
            owner_: Address::repeat_byte(3),
            guardian_: Address::repeat_byte(4),
            executionDelay_: alloy::primitives::aliases::U40::from(3_600),
            bounds_: aave_production_bounds(),
        }
        .abi_encode();
        // Four addresses, a uint40 and five (uint16, uint16, uint32) tuples, all inline.
        assert_eq!(args.len(), 32 * (5 + 15), "{}", hex::encode(&args));
    }

    #[test]
    fn the_dev_key_signs_only_on_anvil() {
        assert_eq!(signing_key(None, ANVIL_CHAIN_ID).unwrap(), ANVIL_DEV_KEY);
        let err = signing_key(None, 1).unwrap_err().to_string();
        assert!(err.contains("--private-key-env") && err.contains("chain 1 "), "{err}");
        let err = signing_key(Some("ZKRISK_TEST_SURELY_UNSET_KEY"), ANVIL_CHAIN_ID).unwrap_err();
        assert!(err.to_string().contains("ZKRISK_TEST_SURELY_UNSET_KEY is not set"), "{err}");
    }

    #[test]
    fn a_price_layout_puts_the_claimed_price_first() {
        use RiskOracle::InstanceLayout as L;
        let scores = vec![U256::from(7), U256::from(8)];
        let update = RiskOracle::Update {
            collateralPrice: U256::from(1_453),
            scores: scores.clone(),
            ..Default::default()
        };
        for layout in [L::PriceThenScores, L::PriceThenLogits] {
            let instances = instances_for(layout, &update);
            assert_eq!(instances, [U256::from(1_453), U256::from(7), U256::from(8)]);
            assert_eq!(
                split_instances(layout, &instances).unwrap(),
                (Some(U256::from(1_453)), &scores[..])
            );
            assert!(split_instances(layout, &[]).is_err());
        }
        for layout in [L::ScoresOnly, L::Logits, L::PackedLogits] {
            assert_eq!(instances_for(layout, &update), scores);
            assert_eq!(split_instances(layout, &scores).unwrap(), (None, &scores[..]));
        }
        // The priced circuit registers as PriceThenLogits and reads its scores as logits.
        let priced = crate::prover::CircuitKind::epoch_priced(
            crate::prover::PriceInput::for_answer(1 << 40),
        );
        assert_eq!(layout_of(priced), L::PriceThenLogits);
        assert_eq!(link_for(L::PriceThenLogits), zkrisk_models::policy::Link::Logistic);
        assert_eq!(layout_of(crate::prover::CircuitKind::EPOCH), L::Logits);
        assert_eq!(layout_of(crate::prover::CircuitKind::EPOCH_PACKED), L::PackedLogits);
    }
}
