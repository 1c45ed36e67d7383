//! `zkrisk ingest`: Aave v3 logs from any JSON-RPC endpoint into partitioned Parquet.
//!
//! A run resolves the market from its Pool (addresses provider → configurator and oracle; the
//! oracle's price sources; the aTokens), then walks the block range in aligned partitions. For each
//! partition it fetches the logs of those contracts with `eth_getLogs`, decodes them with `sol!`
//! types that match Aave v3's interfaces exactly, writes the partition atomically
//! ([`zkrisk_pipeline::aave::store`]) and then advances the checkpoint. So:
//!
//! - **Resumable.** A run stopped at any point (even `kill -9`) resumes at the checkpoint; the
//!   partition it was writing is written again, whole. The result is byte-identical to a run that
//!   was never stopped.
//! - **Adaptive ranges.** When the provider refuses a range (too many results, response too large,
//!   range too wide) the request is split in halves until it is accepted; after successes the span
//!   grows back.
//! - **Retries.** Transport failures, timeouts, HTTP 429/5xx and rate limits are retried with
//!   exponential backoff and jitter; anything else (a bad request, HTTP 4xx) stops the run at once
//!   with the provider's message. Either way committed data is never touched.
//! - **Reorg safety.** `latest` means the head minus `confirmations`; an explicit `--to` past that
//!   is refused. On resume, the hash of the last ingested block is checked against the chain.
//! - **No secrets in logs.** The RPC URL is shown as scheme, host and port only: providers put API
//!   keys in paths and query strings.

use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    path::PathBuf,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use futures_util::StreamExt;

use alloy::{
    primitives::{Address, B256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
    transports::{RpcError, TransportErrorKind},
};
use zkrisk_pipeline::aave::{
    events::{AaveEvent, LogMeta, Record},
    store::{self, Checkpoint, FORMAT_VERSION, ReserveMeta, WatchedContract},
};

use crate::{Error, Result};

/// Event ABIs, exactly as declared in Aave v3's `IPool.sol`, `IPoolConfigurator.sol`,
/// `IAaveOracle.sol`, `IAToken.sol` and Chainlink's `AggregatorInterface.sol`.
#[allow(missing_docs)]
mod abi {
    alloy::sol! {
        event Supply(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint16 indexed referralCode);
        event Withdraw(address indexed reserve, address indexed user, address indexed to, uint256 amount);
        event Borrow(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint8 interestRateMode, uint256 borrowRate, uint16 indexed referralCode);
        event Repay(address indexed reserve, address indexed user, address indexed repayer, uint256 amount, bool useATokens);
        event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken);
        event ReserveDataUpdated(address indexed reserve, uint256 liquidityRate, uint256 stableBorrowRate, uint256 variableBorrowRate, uint256 liquidityIndex, uint256 variableBorrowIndex);
        event ReserveUsedAsCollateralEnabled(address indexed reserve, address indexed user);
        event ReserveUsedAsCollateralDisabled(address indexed reserve, address indexed user);
        event UserEModeSet(address indexed user, uint8 categoryId);
        event CollateralConfigurationChanged(address indexed asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus);
        event ReserveInitialized(address indexed asset, address indexed aToken, address stableDebtToken, address variableDebtToken, address interestRateStrategyAddress);
        event AssetSourceUpdated(address indexed asset, address indexed source);
        event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
        event BalanceTransfer(address indexed from, address indexed to, uint256 value, uint256 index);

        #[sol(rpc)]
        interface IPoolView {
            function ADDRESSES_PROVIDER() external view returns (address);
            function getReservesList() external view returns (address[] memory);
            function getReserveData(address asset) external view returns (uint256 configuration, uint128 liquidityIndex, uint128 currentLiquidityRate, uint128 variableBorrowIndex, uint128 currentVariableBorrowRate, uint128 currentStableBorrowRate, uint40 lastUpdateTimestamp, uint16 id, address aTokenAddress, address stableDebtTokenAddress, address variableDebtTokenAddress, address interestRateStrategyAddress, uint128 accruedToTreasury, uint128 unbacked, uint128 isolationModeTotalDebt);
        }
        #[sol(rpc)]
        interface IAddressesProviderView {
            function getPool() external view returns (address);
            function getPoolConfigurator() external view returns (address);
            function getPriceOracle() external view returns (address);
        }
        #[sol(rpc)]
        interface IOracleView {
            function getSourceOfAsset(address asset) external view returns (address);
        }
        #[sol(rpc)]
        interface IAggregatorProxyView {
            function aggregator() external view returns (address);
        }
        #[sol(rpc)]
        interface IERC20MetadataView {
            function decimals() external view returns (uint8);
            function symbol() external view returns (string memory);
        }
    }
}

/// Where the range ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToBlock {
    /// A fixed block (must be at or below the confirmed head).
    Number(u64),
    /// The head minus the confirmations, read when the run starts.
    Latest,
}

/// Everything an ingestion run needs. [`IngestConfig::new`] fills the tuning knobs with defaults
/// suited to public mainnet providers.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// JSON-RPC endpoint (may carry an API key; it is never logged whole).
    pub rpc_url: String,
    /// The Aave v3 Pool.
    pub pool: Address,
    /// First block.
    pub from_block: u64,
    /// Last block.
    pub to_block: ToBlock,
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// Blocks to stay behind the head.
    pub confirmations: u64,
    /// Partition width in blocks (partitions are aligned to multiples of it).
    pub partition_blocks: u64,
    /// Largest block span of one `eth_getLogs` request (the span shrinks when refused).
    pub max_range: u64,
    /// Attempts per request on transient errors before giving up.
    pub attempts: u32,
    /// First retry delay; doubles per attempt (with ±50 % jitter), capped at 30 s.
    pub backoff: Duration,
    /// Limit of one request.
    pub request_timeout: Duration,
    /// Partitions fetched at the same time (they are still committed in order).
    pub concurrency: usize,
}

impl IngestConfig {
    /// A configuration with default tuning: 12 confirmations, 10,000-block partitions, 2,000-block
    /// requests, 6 attempts from 500 ms, 30 s per request, 4 partitions in flight.
    pub fn new(
        rpc_url: impl Into<String>,
        pool: Address,
        from_block: u64,
        to_block: ToBlock,
        out: impl Into<PathBuf>,
    ) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            pool,
            from_block,
            to_block,
            out: out.into(),
            confirmations: 12,
            partition_blocks: 10_000,
            max_range: 2_000,
            attempts: 6,
            backoff: Duration::from_millis(500),
            request_timeout: Duration::from_secs(30),
            concurrency: 4,
        }
    }
}

/// One progress report, sent after each partition.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Last block written.
    pub block: u64,
    /// First block of the run.
    pub from_block: u64,
    /// Last block of the run.
    pub to_block: u64,
    /// Logs decoded so far in this run.
    pub logs: u64,
    /// Seconds since the run started.
    pub elapsed: f64,
}

impl Progress {
    /// Fraction of the range done, in `[0, 1]`.
    pub fn fraction(&self) -> f64 {
        let total = (self.to_block + 1).saturating_sub(self.from_block).max(1);
        (self.block + 1).saturating_sub(self.from_block) as f64 / total as f64
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct IngestReport {
    /// Chain id of the endpoint.
    pub chain_id: u64,
    /// First block of the dataset.
    pub from_block: u64,
    /// Last block ingested (inclusive).
    pub to_block: u64,
    /// Block this run started at (after the checkpoint).
    pub started_at: u64,
    /// Whether the run resumed from an existing checkpoint.
    pub resumed: bool,
    /// Partitions written by this run.
    pub partitions: u64,
    /// Logs decoded by this run.
    pub logs: u64,
    /// Rows written per table by this run.
    pub rows: BTreeMap<String, u64>,
    /// `eth_getLogs` requests sent.
    pub requests: u64,
    /// Times a range was split because the provider refused it.
    pub range_splits: u64,
    /// Requests retried after a transient error.
    pub retries: u64,
    /// Wall time of the run.
    pub seconds: f64,
    /// Logs per second.
    pub logs_per_second: f64,
}

/// How the provider's failure should be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// The request asked for too much (range or response size): split it.
    TooLarge,
    /// Worth retrying as is.
    Transient,
    /// Retrying will not help.
    Permanent,
}

/// Error messages providers use for a range they refuse (Infura, Alchemy, QuickNode, Erigon,
/// Geth, Ankr, public RPCs).
const TOO_LARGE: &[&str] = &[
    "query returned more than",
    "response size",
    "block range",
    "range is too large",
    "range too large",
    "too many blocks",
    "too many results",
    "exceed max results",
    "limit exceeded",
    "log response size exceeded",
    "query timeout exceeded",
];

fn classify_payload(code: i64, message: &str) -> Fault {
    let m = message.to_lowercase();
    if code == 429 || m.contains("rate limit") || m.contains("too many requests") {
        Fault::Transient
    } else if code == -32005 || TOO_LARGE.iter().any(|s| m.contains(s)) {
        Fault::TooLarge
    } else if m.contains("timeout") || m.contains("try again") || m.contains("temporarily") {
        Fault::Transient
    } else {
        Fault::Permanent
    }
}

fn classify(e: &RpcError<TransportErrorKind>) -> Fault {
    match e {
        RpcError::ErrorResp(p) => classify_payload(p.code, &p.message),
        RpcError::Transport(TransportErrorKind::HttpError(h)) => match h.status {
            413 => Fault::TooLarge,
            408 | 425 | 429 | 500..=599 => Fault::Transient,
            _ => Fault::Permanent,
        },
        RpcError::Transport(_) | RpcError::NullResp | RpcError::DeserError { .. } => {
            Fault::Transient
        }
        _ => Fault::Permanent,
    }
}

/// An error a request can end with, classified for retries.
trait Classify: std::fmt::Display {
    fn fault(&self) -> Fault;
}

impl Classify for RpcError<TransportErrorKind> {
    fn fault(&self) -> Fault {
        classify(self)
    }
}

impl Classify for alloy::contract::Error {
    fn fault(&self) -> Fault {
        match self {
            Self::TransportError(e) => classify(e),
            // An undecodable return value: the address is not the contract we think it is.
            _ => Fault::Permanent,
        }
    }
}

/// `scheme://host:port` of a URL, without path, query or credentials (where keys live).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let hidden = rest.len() > authority.len() || authority.contains('@');
    let shown = if scheme.is_empty() { host.to_string() } else { format!("{scheme}://{host}") };
    if hidden { format!("{shown}/…") } else { shown }
}

/// A failed request after classification: too large (split it) or final.
enum FetchError {
    TooLarge(String),
    Final(Error),
}

/// The JSON-RPC side of a run: a provider plus retry, timeout and counters.
struct Rpc {
    provider: DynProvider,
    /// The URL as given, only to scrub it from error messages (HTTP clients quote it whole).
    url: String,
    endpoint: String,
    attempts: u32,
    backoff: Duration,
    timeout: Duration,
    seed: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
    splits: AtomicU64,
    /// Block span of `eth_getLogs` the provider last accepted; shared by concurrent fetches.
    span: AtomicU64,
    max_span: u64,
}

impl Rpc {
    /// `message` with the full URL replaced by the redacted endpoint.
    fn scrub(&self, message: &str) -> String {
        let url = self.url.trim_end_matches('/');
        if url.is_empty() { message.to_string() } else { message.replace(url, &self.endpoint) }
    }

    fn jitter(&self) -> f64 {
        // splitmix64: spreads retries of several clients apart; not security-relevant.
        let mut z = self.seed.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        0.5 + (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Runs `call` with timeout and retries; `what` names the request in errors.
    async fn call<T, E, F, Fut>(
        &self,
        what: &str,
        mut call: F,
    ) -> std::result::Result<T, FetchError>
    where
        E: Classify,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let (fault, message) = match tokio::time::timeout(self.timeout, call()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => (e.fault(), self.scrub(&e.to_string())),
                Err(_) => (Fault::Transient, format!("no answer within {:?}", self.timeout)),
            };
            match fault {
                Fault::TooLarge => return Err(FetchError::TooLarge(message)),
                Fault::Permanent => {
                    return Err(FetchError::Final(Error::Rpc(format!(
                        "{what} failed at {}: {message}",
                        self.endpoint
                    ))));
                }
                Fault::Transient if attempt >= self.attempts => {
                    return Err(FetchError::Final(Error::RpcUnavailable {
                        endpoint: self.endpoint.clone(),
                        what: what.to_string(),
                        attempts: attempt,
                        last: message,
                    }));
                }
                Fault::Transient => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    let base =
                        self.backoff.as_secs_f64() * f64::from(1u32 << (attempt - 1).min(16));
                    let delay = (base * self.jitter()).min(30.0);
                    tracing::warn!(
                        endpoint = %self.endpoint,
                        attempt,
                        delay_s = delay,
                        "{what}: transient error, retrying: {message}"
                    );
                    tokio::time::sleep(Duration::from_secs_f64(delay)).await;
                }
            }
        }
    }

    /// Like [`Self::call`] for requests that cannot be split.
    async fn must<T, E, F, Fut>(&self, what: &str, call: F) -> Result<T>
    where
        E: Classify,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
    {
        match self.call(what, call).await {
            Ok(v) => Ok(v),
            Err(FetchError::TooLarge(m)) => {
                Err(Error::Rpc(format!("{what} failed at {}: {m}", self.endpoint)))
            }
            Err(FetchError::Final(e)) => Err(e),
        }
    }
}

fn hex_addr(a: &Address) -> String {
    format!("{a:#x}")
}

fn decode(log: &Log, timestamp: u64) -> Result<Option<Record>> {
    let Some(topic0) = log.topic0().copied() else { return Ok(None) };
    let bad = |e: alloy::sol_types::Error| {
        Error::Rpc(format!(
            "log {} of tx {:?} does not decode as an Aave v3 event: {e}",
            log.log_index.unwrap_or_default(),
            log.transaction_hash
        ))
    };
    let a = hex_addr;
    let event = match topic0 {
        abi::Supply::SIGNATURE_HASH => {
            let e = abi::Supply::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::Supply {
                reserve: a(&e.reserve),
                user: a(&e.user),
                on_behalf_of: a(&e.onBehalfOf),
                amount: e.amount,
                referral_code: u64::from(e.referralCode),
            }
        }
        abi::Withdraw::SIGNATURE_HASH => {
            let e = abi::Withdraw::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::Withdraw {
                reserve: a(&e.reserve),
                user: a(&e.user),
                to: a(&e.to),
                amount: e.amount,
            }
        }
        abi::Borrow::SIGNATURE_HASH => {
            let e = abi::Borrow::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::Borrow {
                reserve: a(&e.reserve),
                user: a(&e.user),
                on_behalf_of: a(&e.onBehalfOf),
                amount: e.amount,
                interest_rate_mode: u64::from(e.interestRateMode),
                borrow_rate: e.borrowRate,
                referral_code: u64::from(e.referralCode),
            }
        }
        abi::Repay::SIGNATURE_HASH => {
            let e = abi::Repay::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::Repay {
                reserve: a(&e.reserve),
                user: a(&e.user),
                repayer: a(&e.repayer),
                amount: e.amount,
                use_a_tokens: e.useATokens,
            }
        }
        abi::LiquidationCall::SIGNATURE_HASH => {
            let e = abi::LiquidationCall::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::LiquidationCall {
                collateral_asset: a(&e.collateralAsset),
                debt_asset: a(&e.debtAsset),
                user: a(&e.user),
                debt_to_cover: e.debtToCover,
                liquidated_collateral_amount: e.liquidatedCollateralAmount,
                liquidator: a(&e.liquidator),
                receive_a_token: e.receiveAToken,
            }
        }
        abi::ReserveDataUpdated::SIGNATURE_HASH => {
            let e = abi::ReserveDataUpdated::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::ReserveDataUpdated {
                reserve: a(&e.reserve),
                liquidity_rate: e.liquidityRate,
                stable_borrow_rate: e.stableBorrowRate,
                variable_borrow_rate: e.variableBorrowRate,
                liquidity_index: e.liquidityIndex,
                variable_borrow_index: e.variableBorrowIndex,
            }
        }
        abi::ReserveUsedAsCollateralEnabled::SIGNATURE_HASH => {
            let e =
                abi::ReserveUsedAsCollateralEnabled::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::ReserveUsedAsCollateral {
                reserve: a(&e.reserve),
                user: a(&e.user),
                enabled: true,
            }
        }
        abi::ReserveUsedAsCollateralDisabled::SIGNATURE_HASH => {
            let e =
                abi::ReserveUsedAsCollateralDisabled::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::ReserveUsedAsCollateral {
                reserve: a(&e.reserve),
                user: a(&e.user),
                enabled: false,
            }
        }
        abi::UserEModeSet::SIGNATURE_HASH => {
            let e = abi::UserEModeSet::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::UserEModeSet { user: a(&e.user), category_id: u64::from(e.categoryId) }
        }
        abi::CollateralConfigurationChanged::SIGNATURE_HASH => {
            let e =
                abi::CollateralConfigurationChanged::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::CollateralConfigurationChanged {
                asset: a(&e.asset),
                ltv: e.ltv,
                liquidation_threshold: e.liquidationThreshold,
                liquidation_bonus: e.liquidationBonus,
            }
        }
        abi::ReserveInitialized::SIGNATURE_HASH => {
            let e = abi::ReserveInitialized::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::ReserveInitialized {
                asset: a(&e.asset),
                a_token: a(&e.aToken),
                stable_debt_token: a(&e.stableDebtToken),
                variable_debt_token: a(&e.variableDebtToken),
                interest_rate_strategy_address: a(&e.interestRateStrategyAddress),
            }
        }
        abi::AssetSourceUpdated::SIGNATURE_HASH => {
            let e = abi::AssetSourceUpdated::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::AssetSourceUpdated { asset: a(&e.asset), source: a(&e.source) }
        }
        abi::AnswerUpdated::SIGNATURE_HASH => {
            let e = abi::AnswerUpdated::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::AnswerUpdated {
                current: e.current.to_string(),
                round_id: e.roundId,
                updated_at: e.updatedAt,
            }
        }
        abi::BalanceTransfer::SIGNATURE_HASH => {
            let e = abi::BalanceTransfer::decode_log_data(log.data()).map_err(bad)?;
            AaveEvent::BalanceTransfer {
                from: a(&e.from),
                to: a(&e.to),
                value: e.value,
                index: e.index,
            }
        }
        _ => return Ok(None),
    };
    let missing = |what: &str| Error::Rpc(format!("provider returned a log without {what}"));
    Ok(Some(Record {
        meta: LogMeta {
            block_number: log.block_number.ok_or_else(|| missing("blockNumber"))?,
            block_timestamp: timestamp,
            tx_hash: format!(
                "{:#x}",
                log.transaction_hash.ok_or_else(|| missing("transactionHash"))?
            ),
            log_index: log.log_index.ok_or_else(|| missing("logIndex"))?,
            contract: hex_addr(&log.address()),
        },
        event,
    }))
}

/// Every event signature the run asks for (`topics[0]` of the filter).
fn signatures() -> Vec<B256> {
    vec![
        abi::Supply::SIGNATURE_HASH,
        abi::Withdraw::SIGNATURE_HASH,
        abi::Borrow::SIGNATURE_HASH,
        abi::Repay::SIGNATURE_HASH,
        abi::LiquidationCall::SIGNATURE_HASH,
        abi::ReserveDataUpdated::SIGNATURE_HASH,
        abi::ReserveUsedAsCollateralEnabled::SIGNATURE_HASH,
        abi::ReserveUsedAsCollateralDisabled::SIGNATURE_HASH,
        abi::UserEModeSet::SIGNATURE_HASH,
        abi::CollateralConfigurationChanged::SIGNATURE_HASH,
        abi::ReserveInitialized::SIGNATURE_HASH,
        abi::AssetSourceUpdated::SIGNATURE_HASH,
        abi::AnswerUpdated::SIGNATURE_HASH,
        abi::BalanceTransfer::SIGNATURE_HASH,
    ]
}

/// The market's contracts and reserves, read from the chain at the start of a run.
struct Market {
    contracts: Vec<WatchedContract>,
    reserves: Vec<ReserveMeta>,
}

async fn resolve_market(rpc: &Rpc, pool: Address, since: u64) -> Result<Market> {
    let p = rpc.provider.clone();
    let code = rpc.must("eth_getCode(--pool)", || p.get_code_at(pool).into_future()).await?;
    if code.is_empty() {
        return Err(Error::Input(format!("--pool {pool:#x}: no contract at this address")));
    }
    let pool_view = abi::IPoolView::new(pool, p.clone());
    let provider_addr = match rpc
        .call("ADDRESSES_PROVIDER()", || async { pool_view.ADDRESSES_PROVIDER().call().await })
        .await
    {
        Ok(a) => a,
        Err(FetchError::Final(Error::Rpc(m))) | Err(FetchError::TooLarge(m)) => {
            return Err(Error::Input(format!(
                "--pool {pool:#x}: not an Aave v3 Pool (ADDRESSES_PROVIDER() failed: {m})"
            )));
        }
        Err(FetchError::Final(e)) => return Err(e),
    };
    let ap = abi::IAddressesProviderView::new(provider_addr, p.clone());
    let registered = rpc.must("getPool()", || async { ap.getPool().call().await }).await?;
    if registered != pool {
        return Err(Error::Input(format!(
            "--pool {pool:#x}: its addresses provider {provider_addr:#x} points at pool {registered:#x}"
        )));
    }
    let configurator = rpc
        .must("getPoolConfigurator()", || async { ap.getPoolConfigurator().call().await })
        .await?;
    let oracle =
        rpc.must("getPriceOracle()", || async { ap.getPriceOracle().call().await }).await?;
    let assets = rpc
        .must("getReservesList()", || async { pool_view.getReservesList().call().await })
        .await?;
    let watch = |address: Address, role: &str| WatchedContract {
        address: hex_addr(&address),
        role: role.to_string(),
        since_block: since,
        answers_for: None,
    };
    let mut contracts = vec![
        watch(pool, "pool"),
        watch(configurator, "pool_configurator"),
        watch(oracle, "aave_oracle"),
    ];
    let mut reserves = Vec::new();
    let oracle_view = abi::IOracleView::new(oracle, p.clone());
    for asset in assets {
        let data = rpc
            .must("getReserveData()", || async { pool_view.getReserveData(asset).call().await })
            .await?;
        contracts.push(watch(data.aTokenAddress, "a_token"));
        let source = rpc
            .must("getSourceOfAsset()", || async {
                oracle_view.getSourceOfAsset(asset).call().await
            })
            .await?;
        if source != Address::ZERO {
            contracts.push(watch(source, "price_source"));
            // A Chainlink proxy emits nothing itself; its current aggregator does.
            let proxy = abi::IAggregatorProxyView::new(source, p.clone());
            if let Ok(inner) =
                rpc.call("aggregator()", || async { proxy.aggregator().call().await }).await
                && inner != Address::ZERO
                && inner != source
            {
                contracts.push(WatchedContract {
                    answers_for: Some(hex_addr(&source)),
                    ..watch(inner, "aggregator")
                });
            }
        }
        let token = abi::IERC20MetadataView::new(asset, p.clone());
        let decimals = rpc.must("decimals()", || async { token.decimals().call().await }).await?;
        let symbol = rpc
            .call("symbol()", || async { token.symbol().call().await })
            .await
            .unwrap_or_default();
        reserves.push(ReserveMeta { asset: hex_addr(&asset), symbol, decimals });
    }
    contracts.sort_by(|a, b| a.address.cmp(&b.address));
    contracts.dedup_by(|a, b| a.address == b.address);
    Ok(Market { contracts, reserves })
}

/// One partition's decoded events and the hash of its last block.
struct Partition {
    start: u64,
    end: u64,
    records: Vec<Record>,
    end_hash: String,
}

/// Fetches and decodes the logs of `start..=end`, splitting refused ranges.
async fn fetch_partition(
    rpc: &Rpc,
    start: u64,
    end: u64,
    addresses: Vec<Address>,
    topics: &[B256],
) -> Result<Partition> {
    let provider = &rpc.provider;
    let mut logs: Vec<Log> = Vec::new();
    let mut pos = start;
    while pos <= end {
        let span = rpc.span.load(Ordering::Relaxed).max(1);
        let hi = pos.saturating_add(span - 1).min(end);
        let filter = Filter::new()
            .address(addresses.clone())
            .event_signature(topics.to_vec())
            .from_block(pos)
            .to_block(hi);
        let what = format!("eth_getLogs {pos}..={hi}");
        match rpc.call(&what, || provider.get_logs(&filter).into_future()).await {
            Ok(mut batch) => {
                logs.append(&mut batch);
                pos = hi + 1;
                let grown = span.saturating_mul(2).min(rpc.max_span);
                rpc.span.fetch_max(grown.min(span.saturating_mul(2)), Ordering::Relaxed);
            }
            Err(FetchError::TooLarge(message)) if hi > pos => {
                // Half the refused width; other fetches in flight learn it too.
                let half = (hi - pos).div_ceil(2).max(1);
                rpc.span.fetch_min(half, Ordering::Relaxed);
                rpc.splits.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(from = pos, to = hi, half, "range refused, splitting: {message}");
            }
            Err(FetchError::TooLarge(message)) => {
                return Err(Error::Rpc(format!(
                    "{} refuses eth_getLogs even for the single block {pos}: {message}",
                    rpc.endpoint
                )));
            }
            Err(FetchError::Final(e)) => return Err(e),
        }
    }
    // Timestamps: from the logs when the node includes them, else from the block headers.
    let mut times: HashMap<u64, u64> = HashMap::new();
    for log in &logs {
        if let (Some(n), Some(t)) = (log.block_number, log.block_timestamp) {
            times.insert(n, t);
        }
    }
    let mut records = Vec::with_capacity(logs.len());
    for log in &logs {
        let n = log.block_number.unwrap_or_default();
        let t = match times.get(&n) {
            Some(t) => *t,
            None => {
                let block = rpc
                    .must("eth_getBlockByNumber", || {
                        provider.get_block_by_number(n.into()).into_future()
                    })
                    .await?
                    .ok_or_else(|| Error::Rpc(format!("block {n} not found")))?;
                times.insert(n, block.header.timestamp);
                block.header.timestamp
            }
        };
        if let Some(record) = decode(log, t)? {
            records.push(record);
        }
    }
    let end_hash = rpc
        .must("eth_getBlockByNumber", || provider.get_block_by_number(end.into()).into_future())
        .await?
        .map(|b| format!("{:#x}", b.header.hash))
        .ok_or_else(|| Error::Rpc(format!("block {end} not found")))?;
    Ok(Partition { start, end, records, end_hash })
}

/// Runs an ingestion (see the module docs); `progress` is called after every partition.
pub async fn ingest(
    config: &IngestConfig,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<IngestReport> {
    let started = Instant::now();
    if config.partition_blocks == 0
        || config.max_range == 0
        || config.attempts == 0
        || config.concurrency == 0
    {
        return Err(Error::Input(
            "--partition-blocks, --max-range, --attempts and --concurrency must be at least 1"
                .into(),
        ));
    }
    let endpoint = redact_url(&config.rpc_url);
    let url = config
        .rpc_url
        .parse()
        .map_err(|e| Error::Input(format!("--rpc {endpoint}: not a URL ({e})")))?;
    let provider = ProviderBuilder::new().connect_http(url).erased();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let rpc = Rpc {
        provider: provider.clone(),
        url: config.rpc_url.clone(),
        endpoint: endpoint.clone(),
        attempts: config.attempts,
        backoff: config.backoff,
        timeout: config.request_timeout,
        seed: AtomicU64::new(seed),
        requests: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        splits: AtomicU64::new(0),
        span: AtomicU64::new(config.max_range),
        max_span: config.max_range,
    };
    let chain_id = rpc.must("eth_chainId", || provider.get_chain_id().into_future()).await?;
    let head = rpc.must("eth_blockNumber", || provider.get_block_number().into_future()).await?;
    let safe = head.saturating_sub(config.confirmations);
    let to = match config.to_block {
        ToBlock::Latest => safe,
        ToBlock::Number(n) if n > safe => {
            return Err(Error::Input(format!(
                "--to {n} is past the confirmed head: head is {head}, {} confirmations leave {safe}",
                config.confirmations
            )));
        }
        ToBlock::Number(n) => n,
    };
    if config.from_block > to {
        return Err(Error::Input(format!("--from {} is after --to {to}", config.from_block)));
    }

    // Read (and check) any checkpoint before touching the directory.
    let existing = store::read_checkpoint(&config.out)?;
    let market = resolve_market(&rpc, config.pool, config.from_block).await?;
    let pool = hex_addr(&config.pool);
    let mut checkpoint = match existing {
        Some(c) => {
            let path = config.out.join(store::CHECKPOINT_FILE);
            let mismatch = |what: &str, theirs: String, ours: String| {
                Err(Error::Input(format!(
                    "{}: written for {what} {theirs}, this run is for {ours}; use another --out",
                    path.display()
                )))
            };
            if c.chain_id != chain_id {
                return mismatch("chain", c.chain_id.to_string(), chain_id.to_string());
            }
            if c.pool != pool {
                return mismatch("pool", c.pool, pool);
            }
            if c.from_block != config.from_block {
                return mismatch("--from", c.from_block.to_string(), config.from_block.to_string());
            }
            if c.partition_blocks != config.partition_blocks {
                return mismatch(
                    "--partition-blocks",
                    c.partition_blocks.to_string(),
                    config.partition_blocks.to_string(),
                );
            }
            c
        }
        None => Checkpoint {
            version: FORMAT_VERSION,
            chain_id,
            pool: pool.clone(),
            from_block: config.from_block,
            partition_blocks: config.partition_blocks,
            next_block: config.from_block,
            last_block_hash: None,
            contracts: market.contracts.clone(),
            reserves: market.reserves.clone(),
        },
    };
    let resumed = checkpoint.next_block > checkpoint.from_block;
    if let Some(hash) = &checkpoint.last_block_hash {
        let n = checkpoint.next_block - 1;
        let block = rpc
            .must("eth_getBlockByNumber", || provider.get_block_by_number(n.into()).into_future())
            .await?;
        let now = block.map(|b| format!("{:#x}", b.header.hash));
        if now.as_deref() != Some(hash.as_str()) {
            return Err(Error::Input(format!(
                "block {n} changed since it was ingested (was {hash}, now {}): the chain reorganised \
                 deeper than the confirmations; re-ingest into a new --out from an earlier block",
                now.unwrap_or_else(|| "missing".into())
            )));
        }
    }
    // Contracts that appeared since the checkpoint (a new reserve) are watched from here on.
    for c in &market.contracts {
        if !checkpoint.contracts.iter().any(|k| k.address == c.address) {
            tracing::warn!(address = %c.address, role = %c.role, from = checkpoint.next_block, "new contract watched from this block on");
            checkpoint
                .contracts
                .push(WatchedContract { since_block: checkpoint.next_block, ..c.clone() });
        }
    }
    for r in &market.reserves {
        if !checkpoint.reserves.iter().any(|k| k.asset == r.asset) {
            checkpoint.reserves.push(r.clone());
        }
    }
    std::fs::create_dir_all(&config.out).map_err(Error::io(&config.out))?;
    for removed in store::remove_uncommitted(&config.out, checkpoint.next_block)? {
        tracing::info!(path = %removed.display(), "removed a partition left by a stopped run");
    }

    let mut report = IngestReport {
        chain_id,
        from_block: config.from_block,
        to_block: to,
        started_at: checkpoint.next_block,
        resumed,
        ..IngestReport::default()
    };
    tracing::info!(
        endpoint = %endpoint,
        chain_id,
        from = checkpoint.next_block,
        to,
        resumed,
        contracts = checkpoint.contracts.len(),
        "ingesting Aave v3 logs"
    );
    let topics = signatures();
    let mut ranges = Vec::new();
    let mut next = checkpoint.next_block;
    while next <= to {
        let end = ((next / config.partition_blocks) + 1)
            .saturating_mul(config.partition_blocks)
            .saturating_sub(1)
            .min(to);
        let addresses: Vec<Address> = checkpoint
            .contracts
            .iter()
            .filter(|c| c.since_block <= end)
            .filter_map(|c| c.address.parse().ok())
            .collect();
        ranges.push((next, end, addresses));
        next = end + 1;
    }
    // Partitions are fetched `concurrency` at a time but committed strictly in block order, so
    // the checkpoint never runs ahead of a gap.
    let mut fetched = futures_util::stream::iter(
        ranges
            .into_iter()
            .map(|(start, end, addresses)| fetch_partition(&rpc, start, end, addresses, &topics)),
    )
    .buffered(config.concurrency);
    while let Some(partition) = fetched.next().await {
        let Partition { start, end, records, end_hash } = partition?;
        let stats = store::write_partition(&config.out, start, end, &records)?;
        checkpoint.next_block = end + 1;
        checkpoint.last_block_hash = Some(end_hash);
        store::write_checkpoint(&config.out, &checkpoint)?;
        report.partitions += 1;
        report.logs += records.len() as u64;
        for (table, rows) in stats.rows {
            *report.rows.entry(table.to_string()).or_default() += rows as u64;
        }
        let p = Progress {
            block: end,
            from_block: report.started_at,
            to_block: to,
            logs: report.logs,
            elapsed: started.elapsed().as_secs_f64(),
        };
        tracing::info!(
            "ingest {:5.1}%  blocks {start}..={end}  {} logs  {:.0} logs/s",
            p.fraction() * 100.0,
            report.logs,
            report.logs as f64 / p.elapsed.max(1e-9)
        );
        progress(&p);
    }
    drop(fetched);
    report.requests = rpc.requests.load(Ordering::Relaxed);
    report.retries = rpc.retries.load(Ordering::Relaxed);
    report.range_splits = rpc.splits.load(Ordering::Relaxed);
    report.seconds = started.elapsed().as_secs_f64();
    report.logs_per_second = report.logs as f64 / report.seconds.max(1e-9);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_paths_queries_and_credentials() {
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(
            redact_url("https://eth-mainnet.g.alchemy.com/v2/SECRETKEY"),
            "https://eth-mainnet.g.alchemy.com/…"
        );
        assert_eq!(
            redact_url("https://user:pw@node.example:443?key=SECRET"),
            "https://node.example:443/…"
        );
        assert!(!redact_url("wss://x.io/ws/SECRET").contains("SECRET"));
    }

    #[test]
    fn provider_refusals_are_told_apart_from_outages() {
        assert_eq!(
            classify_payload(-32005, "query returned more than 10000 results"),
            Fault::TooLarge
        );
        assert_eq!(classify_payload(-32602, "Log response size exceeded."), Fault::TooLarge);
        assert_eq!(classify_payload(-32000, "block range is too large"), Fault::TooLarge);
        assert_eq!(classify_payload(429, "Too Many Requests"), Fault::Transient);
        assert_eq!(classify_payload(-32000, "rate limit exceeded"), Fault::Transient);
        assert_eq!(classify_payload(-32602, "invalid params"), Fault::Permanent);
        assert_eq!(classify_payload(-32601, "the method eth_foo does not exist"), Fault::Permanent);
    }

    #[test]
    fn event_signatures_match_aave_v3() {
        // keccak256 of the canonical signatures, as listed by Etherscan for Aave v3's Pool.
        assert_eq!(abi::Supply::SIGNATURE, "Supply(address,address,address,uint256,uint16)");
        assert_eq!(
            format!("{:#x}", abi::LiquidationCall::SIGNATURE_HASH),
            "0xe413a321e8681d831f4dbccbca790d2952b56f977908e45be37335533e005286"
        );
        assert_eq!(
            format!("{:#x}", abi::ReserveDataUpdated::SIGNATURE_HASH),
            "0x804c9b842b2748a22bb64b345453a3de7ca54a6ca45ce00d415894979e22897a"
        );
        assert_eq!(signatures().len(), 14);
    }
}
