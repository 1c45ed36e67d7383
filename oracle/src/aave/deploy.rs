//! Deploys a real Aave v3.0 market: Aave's own compiled contracts from the `@aave/core-v3` npm
//! package (hardhat artifacts built by Aave with solc 0.8.10, libraries linked here), plus one test
//! token ([`TestERC20`](super::bindings::TestERC20)) and one price feed
//! ([`PriceFeed`](super::bindings::PriceFeed)) per reserve from the Foundry build.
//!
//! Nothing is recompiled: the bytecode on the chain is the bytecode Aave audited, so events,
//! storage layout and rounding are mainnet Aave v3.0's.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::{SolCall, SolConstructor},
};
use serde::{Deserialize, Serialize};
use tracing::{debug, info};

use super::bindings::{IACLManager, IPool, IPoolAddressesProvider, IPoolConfigurator};
use crate::{Error, Result, chain};

/// Constructors of the contracts deployed here (the interfaces in [`super::bindings`] have none).
mod ctors {
    alloy::sol! {
        contract PoolAddressesProvider { constructor(string marketId, address owner); }
        contract ACLManager { constructor(address provider); }
        contract Pool { constructor(address provider); }
        contract AaveOracle {
            constructor(address provider, address[] assets, address[] sources, address fallbackOracle, address baseCurrency, uint256 baseCurrencyUnit);
        }
        contract AaveProtocolDataProvider { constructor(address addressesProvider); }
        contract AToken { constructor(address pool); }
        contract StableDebtToken { constructor(address pool); }
        contract VariableDebtToken { constructor(address pool); }
        contract DefaultReserveInterestRateStrategy {
            constructor(address provider, uint256 optimalUsageRatio, uint256 baseVariableBorrowRate, uint256 variableRateSlope1, uint256 variableRateSlope2, uint256 stableRateSlope1, uint256 stableRateSlope2, uint256 baseStableRateOffset, uint256 stableRateExcessOffset, uint256 optimalStableToTotalDebtRatio);
        }
        contract TestERC20 { constructor(string name, string symbol, uint8 decimals_); }
        contract PriceFeed { constructor(uint8 decimals_, string description_, int256 initialAnswer); }
    }
}

/// The market id given to `PoolAddressesProvider`.
pub const MARKET_ID: &str = "zkrisk local Aave v3";

/// Decimals of every price (Aave's USD base currency unit is 1e8, as Chainlink's USD feeds).
pub const PRICE_DECIMALS: u8 = 8;

/// The variable interest-rate curve of a reserve (Aave's `DefaultReserveInterestRateStrategy`).
/// Every value is a ray (1e27 = 100%). Stable-rate borrowing is disabled, so its parameters are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStrategy {
    /// Utilisation above which the steep slope applies.
    pub optimal_usage_ratio: U256,
    /// Variable rate at 0% utilisation.
    pub base_variable_borrow_rate: U256,
    /// Slope of the variable rate up to the optimal utilisation.
    pub variable_rate_slope1: U256,
    /// Slope of the variable rate above the optimal utilisation.
    pub variable_rate_slope2: U256,
}

impl RateStrategy {
    /// A curve from percentages (e.g. `(90, 0, 2.7, 80)` for 90% optimal, 0% base, 2.7% and 80%
    /// slopes), converted to rays exactly to 0.01% (basis points).
    pub fn from_percent(optimal: f64, base: f64, slope1: f64, slope2: f64) -> Self {
        // One bps in ray is 1e23; the inputs have at most two decimals, so rounding to bps is exact.
        let ray = |pct: f64| {
            U256::from((pct * 100.0).round() as u64) * U256::from(10u64).pow(U256::from(23))
        };
        Self {
            optimal_usage_ratio: ray(optimal),
            base_variable_borrow_rate: ray(base),
            variable_rate_slope1: ray(slope1),
            variable_rate_slope2: ray(slope2),
        }
    }
}

/// One reserve to list: its test token, price and risk parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveSpec {
    /// Token symbol (`WETH`); also names the aToken (`aEthWETH`) and debt tokens.
    pub symbol: String,
    /// Token name.
    pub name: String,
    /// Token decimals.
    pub decimals: u8,
    /// Starting USD price with [`PRICE_DECIMALS`] decimals (3,000 USD = `300_000_000_000`).
    pub initial_price: i128,
    /// Loan to value, bps.
    pub ltv: u16,
    /// Liquidation threshold, bps.
    pub liquidation_threshold: u16,
    /// Liquidation bonus, bps (10_500 = 5% bonus).
    pub liquidation_bonus: u16,
    /// Share of interest that goes to the treasury, bps.
    pub reserve_factor: u16,
    /// Supply cap in whole tokens, 0 = none.
    pub supply_cap: u64,
    /// Borrow cap in whole tokens, 0 = none.
    pub borrow_cap: u64,
    /// Whether the asset can be borrowed (variable rate).
    pub borrowing: bool,
    /// The interest-rate curve.
    pub rate: RateStrategy,
}

/// The six reserves of the local market: WETH, WBTC, wstETH, USDC, USDT and DAI.
///
/// The parameters are approximations of Aave v3 Ethereum's settings (collateral parameters, reserve
/// factors, caps and rate curves as they were in 2024), not a copy of any one governance snapshot.
/// Prices start at round numbers (ETH 3,000 USD, BTC 60,000 USD, wstETH 3,500 USD, stablecoins 1).
pub fn default_reserves() -> Vec<ReserveSpec> {
    #[allow(clippy::too_many_arguments)]
    fn spec(
        symbol: &str,
        name: &str,
        decimals: u8,
        usd: i128,
        (ltv, lt, bonus): (u16, u16, u16),
        reserve_factor: u16,
        (supply_cap, borrow_cap): (u64, u64),
        rate: RateStrategy,
    ) -> ReserveSpec {
        ReserveSpec {
            symbol: symbol.into(),
            name: name.into(),
            decimals,
            initial_price: usd * 10i128.pow(u32::from(PRICE_DECIMALS)),
            ltv,
            liquidation_threshold: lt,
            liquidation_bonus: bonus,
            reserve_factor,
            supply_cap,
            borrow_cap,
            borrowing: true,
            rate,
        }
    }
    let r = RateStrategy::from_percent;
    vec![
        spec(
            "WETH",
            "Wrapped Ether (test)",
            18,
            3_000,
            (8_050, 8_300, 10_500),
            1_500,
            (1_800_000, 1_400_000),
            r(90.0, 0.0, 2.7, 80.0),
        ),
        spec(
            "WBTC",
            "Wrapped BTC (test)",
            8,
            60_000,
            (7_300, 7_800, 10_500),
            2_000,
            (43_000, 28_000),
            r(45.0, 0.0, 4.0, 300.0),
        ),
        spec(
            "wstETH",
            "Wrapped liquid staked Ether 2.0 (test)",
            18,
            3_500,
            (6_900, 7_950, 10_700),
            1_500,
            (1_100_000, 12_000),
            r(45.0, 0.25, 4.5, 80.0),
        ),
        spec(
            "USDC",
            "USD Coin (test)",
            6,
            1,
            (7_700, 8_000, 10_450),
            1_000,
            (1_760_000_000, 1_580_000_000),
            r(90.0, 0.0, 5.5, 60.0),
        ),
        spec(
            "USDT",
            "Tether USD (test)",
            6,
            1,
            (7_400, 7_650, 10_450),
            1_000,
            (1_000_000_000, 940_000_000),
            r(90.0, 0.0, 5.5, 60.0),
        ),
        spec(
            "DAI",
            "Dai Stablecoin (test)",
            18,
            1,
            (6_300, 7_700, 10_400),
            1_000,
            (338_000_000, 271_000_000),
            r(90.0, 0.0, 5.5, 75.0),
        ),
    ]
}

/// A listed reserve of a deployed market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveInfo {
    /// Token symbol.
    pub symbol: String,
    /// The underlying test token ([`TestERC20`](super::bindings::TestERC20)).
    pub asset: Address,
    /// Its price feed ([`PriceFeed`](super::bindings::PriceFeed)), the source `AaveOracle` reads.
    pub aggregator: Address,
    /// The aToken (proxy).
    pub a_token: Address,
    /// The variable debt token (proxy).
    pub variable_debt_token: Address,
    /// The stable debt token (proxy; stable borrowing is disabled).
    pub stable_debt_token: Address,
    /// Token decimals.
    pub decimals: u8,
    /// Loan to value at deployment, bps.
    pub ltv: u16,
    /// Liquidation threshold at deployment, bps.
    pub liquidation_threshold: u16,
    /// Liquidation bonus at deployment, bps.
    pub liquidation_bonus: u16,
}

/// The addresses of a deployed Aave v3 market; written as JSON by `zkrisk aave deploy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AaveMarket {
    /// Chain id of the network it lives on.
    pub chain_id: u64,
    /// Block of the first deployment transaction: every log of the market is at or after it.
    pub deployed_block: u64,
    /// `PoolAddressesProvider` (the market's registry; owned by `admin`).
    pub addresses_provider: Address,
    /// `ACLManager` (roles).
    pub acl_manager: Address,
    /// `Pool` (proxy).
    pub pool: Address,
    /// `PoolConfigurator` (proxy).
    pub pool_configurator: Address,
    /// `AaveOracle`.
    pub oracle: Address,
    /// `AaveProtocolDataProvider`.
    pub data_provider: Address,
    /// The deployer: ACL admin, pool admin, emergency admin, and the treasury of every reserve.
    pub admin: Address,
    /// Listed reserves, in listing order.
    pub reserves: Vec<ReserveInfo>,
}

impl AaveMarket {
    /// The reserve whose token has `symbol`.
    pub fn reserve(&self, symbol: &str) -> Option<&ReserveInfo> {
        self.reserves.iter().find(|r| r.symbol == symbol)
    }

    /// Writes the market as pretty JSON; the file is replaced atomically (temporary file in the
    /// same directory, then rename), so a reader never sees half a file.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::InvalidFile { path: path.into(), reason: e.to_string() })?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(Error::io(&dir))?;
        tmp.write_all(text.as_bytes()).map_err(Error::io(tmp.path()))?;
        tmp.write_all(b"\n").map_err(Error::io(tmp.path()))?;
        tmp.persist(path).map_err(|e| Error::Io { path: path.into(), source: e.error })?;
        Ok(())
    }

    /// Reads a market written by [`AaveMarket::write_json`].
    pub fn read_json(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        serde_json::from_str(&text).map_err(|e| Error::InvalidFile {
            path: path.into(),
            reason: format!("not an Aave market JSON: {e}"),
        })
    }
}

/// A hardhat artifact: creation bytecode (hex, library placeholders in place) and where each
/// library's address goes.
struct Artifact {
    path: PathBuf,
    bytecode: String,
    /// (source file, library name, byte offsets)
    links: Vec<(String, String, Vec<usize>)>,
}

/// Loads Aave artifacts, deploys the libraries they need (once each, recursively) and links them.
struct Linker<'a> {
    provider: &'a DynProvider,
    artifacts: &'a Path,
    libraries: HashMap<String, Address>,
    first: Option<TransactionReceipt>,
}

impl<'a> Linker<'a> {
    fn new(provider: &'a DynProvider, artifacts: &'a Path) -> Self {
        Self { provider, artifacts, libraries: HashMap::new(), first: None }
    }

    /// `source` is Aave's source path (`contracts/protocol/pool/Pool.sol`), `name` the contract.
    fn load(&self, source: &str, name: &str) -> Result<Artifact> {
        let path = self.artifacts.join(source).join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Artifact {
            path: path.clone(),
            reason: format!(
                "Aave artifact {name} not found ({e}): run scripts/setup.sh (npm ci installs \
                 @aave/core-v3)"
            ),
        })?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Artifact { path: path.clone(), reason: e.to_string() })?;
        let bytecode = v["bytecode"]
            .as_str()
            .ok_or_else(|| Error::Artifact { path: path.clone(), reason: "no bytecode".into() })?
            .trim_start_matches("0x")
            .to_string();
        let mut links = Vec::new();
        if let Some(refs) = v["linkReferences"].as_object() {
            for (file, libs) in refs {
                for (lib, places) in libs.as_object().into_iter().flatten() {
                    let offsets = places
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| p["start"].as_u64().map(|s| s as usize))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| Error::Artifact {
                            path: path.clone(),
                            reason: format!("malformed linkReferences of {lib}"),
                        })?;
                    links.push((file.clone(), lib.clone(), offsets));
                }
            }
        }
        Ok(Artifact { path, bytecode, links })
    }

    /// The creation code of `name` with every library it links deployed and filled in.
    async fn code(&mut self, source: &str, name: &str) -> Result<Vec<u8>> {
        let art = self.load(source, name)?;
        let mut hex_code = art.bytecode.clone();
        for (file, lib, offsets) in &art.links {
            let addr = match self.libraries.get(lib) {
                Some(a) => *a,
                // Libraries link other libraries (FlashLoanLogic links BorrowLogic).
                None => Box::pin(self.library(file, lib)).await?,
            };
            let addr_hex = hex::encode(addr);
            for start in offsets {
                let at = 2 * start;
                if hex_code.len() < at + 40 || !hex_code[at..at + 40].starts_with("__") {
                    return Err(Error::Artifact {
                        path: art.path.clone(),
                        reason: format!("no link placeholder of {lib} at byte {start}"),
                    });
                }
                hex_code.replace_range(at..at + 40, &addr_hex);
            }
        }
        hex::decode(&hex_code).map_err(|e| Error::Artifact {
            path: art.path,
            reason: format!("bytecode after linking: {e} (an unlinked library?)"),
        })
    }

    async fn library(&mut self, source: &str, name: &str) -> Result<Address> {
        let code = self.code(source, name).await?;
        let (addr, _) = self.deploy(code, name).await?;
        self.libraries.insert(name.to_string(), addr);
        Ok(addr)
    }

    /// Deploys Aave contract `name` (from `contracts/<dir>/<name>.sol`) with `args` appended.
    async fn aave(&mut self, dir: &str, name: &str, args: Vec<u8>) -> Result<Address> {
        let source = format!("contracts/{dir}/{name}.sol");
        let mut code = self.code(&source, name).await?;
        code.extend(args);
        Ok(self.deploy(code, name).await?.0)
    }

    async fn deploy(&mut self, code: Vec<u8>, name: &str) -> Result<(Address, u64)> {
        let step = || format!("deploying {name}");
        let tx = TransactionRequest::default().with_deploy_code(Bytes::from(code));
        let receipt = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(|e| step_error(step(), e))?
            .get_receipt()
            .await
            .map_err(|e| step_error(step(), e))?;
        if !receipt.status() {
            return Err(step_error(
                step(),
                format!("transaction {} failed", receipt.transaction_hash),
            ));
        }
        let addr = receipt
            .contract_address
            .ok_or_else(|| step_error(step(), "receipt has no contract address"))?;
        debug!(contract = name, %addr, gas = receipt.gas_used, "deployed");
        let gas = receipt.gas_used;
        self.first.get_or_insert(receipt);
        Ok((addr, gas))
    }
}

fn step_error(step: impl Into<String>, reason: impl std::fmt::Display) -> Error {
    Error::Deploy { step: step.into(), reason: reason.to_string() }
}

/// Sends `call` to `to` and waits for a successful receipt; errors name `step`.
async fn transact(
    provider: &DynProvider,
    to: Address,
    call: impl SolCall,
    step: impl Into<String>,
) -> Result<TransactionReceipt> {
    let step = step.into();
    let tx = TransactionRequest::default().with_to(to).with_input(call.abi_encode());
    let receipt = provider
        .send_transaction(tx)
        .await
        .map_err(|e| step_error(&step, e))?
        .get_receipt()
        .await
        .map_err(|e| step_error(&step, e))?;
    if !receipt.status() {
        return Err(step_error(step, format!("transaction {} failed", receipt.transaction_hash)));
    }
    Ok(receipt)
}

fn check_specs(reserves: &[ReserveSpec]) -> Result<()> {
    if reserves.is_empty() {
        return Err(step_error("checking reserves", "no reserve to list"));
    }
    for (i, r) in reserves.iter().enumerate() {
        let bad = |why: &str| step_error(format!("checking reserve {}", r.symbol), why);
        if reserves[..i].iter().any(|o| o.symbol == r.symbol) {
            return Err(bad("listed twice"));
        }
        if r.initial_price <= 0 {
            return Err(bad("initial price must be positive (AaveOracle ignores other answers)"));
        }
        // Aave checks the rest (INVALID_RESERVE_PARAMS and friends); this one it allows but a
        // market where LTV equals LT liquidates at the first borrow's rounding.
        if r.ltv >= r.liquidation_threshold {
            return Err(bad("LTV must be below the liquidation threshold"));
        }
    }
    Ok(())
}

/// Deploys a complete Aave v3.0 market and lists `reserves`, each with a fresh
/// [`TestERC20`](super::bindings::TestERC20) and a [`PriceFeed`](super::bindings::PriceFeed).
///
/// `artifacts_dir` is `@aave/core-v3`'s `artifacts` directory
/// (`contracts/node_modules/@aave/core-v3/artifacts`), `foundry_out` the Foundry build
/// (`contracts/out`, for the token and the feed). The provider's signer becomes the ACL admin,
/// pool admin and emergency admin, owns the `PoolAddressesProvider` and the price feeds, and is the
/// treasury of every reserve. Stable-rate borrowing is disabled, the liquidation protocol fee is 0,
/// and there are no e-mode categories and no isolated assets.
///
/// The order is Aave v3.0's own deployment order: provider, ACL, libraries, Pool and
/// PoolConfigurator behind the provider's proxies, tokens and feeds, AaveOracle, data provider,
/// token implementations, rate strategies, `initReserves`, then the risk parameters.
pub async fn deploy_aave(
    provider: &DynProvider,
    artifacts_dir: &Path,
    foundry_out: &Path,
    reserves: &[ReserveSpec],
) -> Result<AaveMarket> {
    check_specs(reserves)?;
    let chain_id = provider.get_chain_id().await.map_err(|e| step_error("reading chain id", e))?;
    // Read the mocks first: a missing Foundry build fails before anything is sent.
    let token_code = chain::foundry_bytecode(foundry_out, "TestERC20.sol", "TestERC20")?;
    let feed_code = chain::foundry_bytecode(foundry_out, "PriceFeed.sol", "PriceFeed")?;
    let mut l = Linker::new(provider, artifacts_dir);

    // The libraries come first: their deployment tells us who the signer is (the receipt's
    // `from`), which the provider's constructor needs as owner. A `DynProvider` does not expose
    // its wallet.
    let mut pool_code = l.code("contracts/protocol/pool/Pool.sol", "Pool").await?;
    let first = l.first.clone().ok_or_else(|| step_error("deploying libraries", "nothing sent"))?;
    let admin = first.from;
    let deployed_block = first
        .block_number
        .ok_or_else(|| step_error("deploying libraries", "receipt has no block"))?;

    let addresses_provider = l
        .aave(
            "protocol/configuration",
            "PoolAddressesProvider",
            ctors::PoolAddressesProvider::constructorCall {
                marketId: MARKET_ID.into(),
                owner: admin,
            }
            .abi_encode(),
        )
        .await?;
    let ap = addresses_provider;
    transact(
        provider,
        ap,
        IPoolAddressesProvider::setACLAdminCall { newAclAdmin: admin },
        "PoolAddressesProvider.setACLAdmin",
    )
    .await?;
    let acl_manager = l
        .aave(
            "protocol/configuration",
            "ACLManager",
            ctors::ACLManager::constructorCall { provider: ap }.abi_encode(),
        )
        .await?;
    transact(
        provider,
        ap,
        IPoolAddressesProvider::setACLManagerCall { newAclManager: acl_manager },
        "PoolAddressesProvider.setACLManager",
    )
    .await?;
    transact(
        provider,
        acl_manager,
        IACLManager::addPoolAdminCall { admin },
        "ACLManager.addPoolAdmin",
    )
    .await?;
    transact(
        provider,
        acl_manager,
        IACLManager::addEmergencyAdminCall { admin },
        "ACLManager.addEmergencyAdmin",
    )
    .await?;

    pool_code.extend(ctors::Pool::constructorCall { provider: ap }.abi_encode());
    let (pool_impl, _) = l.deploy(pool_code, "Pool").await?;
    transact(
        provider,
        ap,
        IPoolAddressesProvider::setPoolImplCall { newPoolImpl: pool_impl },
        "PoolAddressesProvider.setPoolImpl",
    )
    .await?;
    let configurator_impl = l.aave("protocol/pool", "PoolConfigurator", Vec::new()).await?;
    transact(
        provider,
        ap,
        IPoolAddressesProvider::setPoolConfiguratorImplCall {
            newPoolConfiguratorImpl: configurator_impl,
        },
        "PoolAddressesProvider.setPoolConfiguratorImpl",
    )
    .await?;
    let read = |what: &'static str| {
        move |e: alloy::contract::Error| step_error(format!("reading {what}"), e)
    };
    let apc = IPoolAddressesProvider::new(ap, provider.clone());
    let pool = apc.getPool().call().await.map_err(read("PoolAddressesProvider.getPool"))?;
    let pool_configurator = apc
        .getPoolConfigurator()
        .call()
        .await
        .map_err(read("PoolAddressesProvider.getPoolConfigurator"))?;

    // Tokens and their feeds.
    let mut assets = Vec::with_capacity(reserves.len());
    let mut feeds = Vec::with_capacity(reserves.len());
    for r in reserves {
        let mut code = token_code.clone();
        code.extend(
            ctors::TestERC20::constructorCall {
                name: r.name.clone(),
                symbol: r.symbol.clone(),
                decimals_: r.decimals,
            }
            .abi_encode(),
        );
        assets.push(l.deploy(code, &format!("TestERC20 {}", r.symbol)).await?.0);
        let answer = alloy::primitives::I256::try_from(r.initial_price)
            .map_err(|e| step_error(format!("pricing {}", r.symbol), e))?;
        let mut code = feed_code.clone();
        code.extend(
            ctors::PriceFeed::constructorCall {
                decimals_: PRICE_DECIMALS,
                description_: format!("{} / USD", r.symbol),
                initialAnswer: answer,
            }
            .abi_encode(),
        );
        feeds.push(l.deploy(code, &format!("PriceFeed {} / USD", r.symbol)).await?.0);
    }

    let oracle = l
        .aave(
            "misc",
            "AaveOracle",
            ctors::AaveOracle::constructorCall {
                provider: ap,
                assets: assets.clone(),
                sources: feeds.clone(),
                fallbackOracle: Address::ZERO,
                baseCurrency: Address::ZERO,
                baseCurrencyUnit: U256::from(10u64.pow(u32::from(PRICE_DECIMALS))),
            }
            .abi_encode(),
        )
        .await?;
    transact(
        provider,
        ap,
        IPoolAddressesProvider::setPriceOracleCall { newPriceOracle: oracle },
        "PoolAddressesProvider.setPriceOracle",
    )
    .await?;
    let data_provider = l
        .aave(
            "misc",
            "AaveProtocolDataProvider",
            ctors::AaveProtocolDataProvider::constructorCall { addressesProvider: ap }.abi_encode(),
        )
        .await?;
    transact(
        provider,
        ap,
        IPoolAddressesProvider::setPoolDataProviderCall { newDataProvider: data_provider },
        "PoolAddressesProvider.setPoolDataProvider",
    )
    .await?;

    let a_token_impl = l
        .aave(
            "protocol/tokenization",
            "AToken",
            ctors::AToken::constructorCall { pool }.abi_encode(),
        )
        .await?;
    let stable_impl = l
        .aave(
            "protocol/tokenization",
            "StableDebtToken",
            ctors::StableDebtToken::constructorCall { pool }.abi_encode(),
        )
        .await?;
    let variable_impl = l
        .aave(
            "protocol/tokenization",
            "VariableDebtToken",
            ctors::VariableDebtToken::constructorCall { pool }.abi_encode(),
        )
        .await?;

    let mut inputs = Vec::with_capacity(reserves.len());
    for (r, asset) in reserves.iter().zip(&assets) {
        let s = &r.rate;
        let strategy = l
            .aave(
                "protocol/pool",
                "DefaultReserveInterestRateStrategy",
                ctors::DefaultReserveInterestRateStrategy::constructorCall {
                    provider: ap,
                    optimalUsageRatio: s.optimal_usage_ratio,
                    baseVariableBorrowRate: s.base_variable_borrow_rate,
                    variableRateSlope1: s.variable_rate_slope1,
                    variableRateSlope2: s.variable_rate_slope2,
                    stableRateSlope1: U256::ZERO,
                    stableRateSlope2: U256::ZERO,
                    baseStableRateOffset: U256::ZERO,
                    stableRateExcessOffset: U256::ZERO,
                    optimalStableToTotalDebtRatio: U256::ZERO,
                }
                .abi_encode(),
            )
            .await?;
        let sym = &r.symbol;
        inputs.push(IPoolConfigurator::InitReserveInput {
            aTokenImpl: a_token_impl,
            stableDebtTokenImpl: stable_impl,
            variableDebtTokenImpl: variable_impl,
            underlyingAssetDecimals: r.decimals,
            interestRateStrategyAddress: strategy,
            underlyingAsset: *asset,
            treasury: admin,
            incentivesController: Address::ZERO,
            aTokenName: format!("Aave Ethereum {sym}"),
            aTokenSymbol: format!("aEth{sym}"),
            variableDebtTokenName: format!("Aave Ethereum Variable Debt {sym}"),
            variableDebtTokenSymbol: format!("variableDebtEth{sym}"),
            stableDebtTokenName: format!("Aave Ethereum Stable Debt {sym}"),
            stableDebtTokenSymbol: format!("stableDebtEth{sym}"),
            params: Bytes::new(),
        });
    }
    let pc = pool_configurator;
    transact(
        provider,
        pc,
        IPoolConfigurator::initReservesCall { input: inputs },
        "PoolConfigurator.initReserves",
    )
    .await?;

    let poolc = IPool::new(pool, provider.clone());
    let mut infos = Vec::with_capacity(reserves.len());
    for ((r, asset), feed) in reserves.iter().zip(&assets).zip(&feeds) {
        let sym = &r.symbol;
        let step = |f: &str| format!("PoolConfigurator.{f}({sym})");
        transact(
            provider,
            pc,
            IPoolConfigurator::configureReserveAsCollateralCall {
                asset: *asset,
                ltv: U256::from(r.ltv),
                liquidationThreshold: U256::from(r.liquidation_threshold),
                liquidationBonus: U256::from(r.liquidation_bonus),
            },
            step("configureReserveAsCollateral"),
        )
        .await?;
        if r.borrowing {
            transact(
                provider,
                pc,
                IPoolConfigurator::setReserveBorrowingCall { asset: *asset, enabled: true },
                step("setReserveBorrowing"),
            )
            .await?;
        }
        transact(
            provider,
            pc,
            IPoolConfigurator::setReserveFactorCall {
                asset: *asset,
                newReserveFactor: U256::from(r.reserve_factor),
            },
            step("setReserveFactor"),
        )
        .await?;
        if r.supply_cap > 0 {
            transact(
                provider,
                pc,
                IPoolConfigurator::setSupplyCapCall {
                    asset: *asset,
                    newSupplyCap: U256::from(r.supply_cap),
                },
                step("setSupplyCap"),
            )
            .await?;
        }
        if r.borrow_cap > 0 {
            transact(
                provider,
                pc,
                IPoolConfigurator::setBorrowCapCall {
                    asset: *asset,
                    newBorrowCap: U256::from(r.borrow_cap),
                },
                step("setBorrowCap"),
            )
            .await?;
        }
        let data = poolc
            .getReserveData(*asset)
            .call()
            .await
            .map_err(|e| step_error(format!("reading Pool.getReserveData({sym})"), e))?;
        infos.push(ReserveInfo {
            symbol: sym.clone(),
            asset: *asset,
            aggregator: *feed,
            a_token: data.aTokenAddress,
            variable_debt_token: data.variableDebtTokenAddress,
            stable_debt_token: data.stableDebtTokenAddress,
            decimals: r.decimals,
            ltv: r.ltv,
            liquidation_threshold: r.liquidation_threshold,
            liquidation_bonus: r.liquidation_bonus,
        });
    }
    info!(%pool, reserves = infos.len(), "Aave v3 market deployed");
    Ok(AaveMarket {
        chain_id,
        deployed_block,
        addresses_provider,
        acl_manager,
        pool,
        pool_configurator,
        oracle,
        data_provider,
        admin,
        reserves: infos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_rays() {
        let r = RateStrategy::from_percent(90.0, 0.25, 2.7, 300.0);
        let e27 = U256::from(10u64).pow(U256::from(27));
        assert_eq!(r.optimal_usage_ratio, e27 * U256::from(9) / U256::from(10));
        assert_eq!(r.base_variable_borrow_rate, e27 / U256::from(400));
        assert_eq!(r.variable_rate_slope1, e27 * U256::from(27) / U256::from(1000));
        assert_eq!(r.variable_rate_slope2, e27 * U256::from(3));
    }

    #[test]
    fn default_reserves_are_valid_for_aave() {
        let rs = default_reserves();
        check_specs(&rs).unwrap();
        let symbols: Vec<_> = rs.iter().map(|r| r.symbol.as_str()).collect();
        assert_eq!(symbols, ["WETH", "WBTC", "wstETH", "USDC", "USDT", "DAI"]);
        for r in &rs {
            // Aave's PoolConfigurator: LTV <= LT, bonus > 100%, percentMul(LT, bonus) <= 100%.
            assert!(r.ltv < r.liquidation_threshold, "{}", r.symbol);
            assert!(r.liquidation_bonus > 10_000, "{}", r.symbol);
            let lt_times_bonus =
                (u32::from(r.liquidation_threshold) * u32::from(r.liquidation_bonus) + 5_000)
                    / 10_000;
            assert!(lt_times_bonus <= 10_000, "{}", r.symbol);
            assert!(r.rate.optimal_usage_ratio <= U256::from(10u64).pow(U256::from(27)));
        }
        assert_eq!(rs[0].initial_price, 3_000 * 100_000_000);
        assert_eq!(rs[3].decimals, 6);
    }

    #[test]
    fn specs_are_checked() {
        let mut rs = default_reserves();
        rs[1].symbol = "WETH".into();
        assert!(check_specs(&rs).unwrap_err().to_string().contains("listed twice"));
        let mut rs = default_reserves();
        rs[2].initial_price = 0;
        assert!(check_specs(&rs).unwrap_err().to_string().contains("wstETH"));
        assert!(check_specs(&[]).is_err());
    }

    #[test]
    fn market_json_round_trip_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let m = AaveMarket {
            chain_id: 31_337,
            deployed_block: 1,
            addresses_provider: Address::repeat_byte(1),
            acl_manager: Address::repeat_byte(2),
            pool: Address::repeat_byte(3),
            pool_configurator: Address::repeat_byte(4),
            oracle: Address::repeat_byte(5),
            data_provider: Address::repeat_byte(6),
            admin: Address::repeat_byte(7),
            reserves: vec![],
        };
        let path = dir.path().join("market.json");
        m.write_json(&path).unwrap();
        assert_eq!(AaveMarket::read_json(&path).unwrap(), m);
        std::fs::write(&path, "{").unwrap();
        let err = AaveMarket::read_json(&path).unwrap_err().to_string();
        assert!(err.contains("market.json"), "{err}");
        let err = AaveMarket::read_json(&dir.path().join("none.json")).unwrap_err().to_string();
        assert!(err.contains("none.json"), "{err}");
    }
}
