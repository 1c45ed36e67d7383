//! A real Aave v3.0 market on anvil: deployment from `@aave/core-v3`'s artifacts, then supply,
//! borrow, a price drop and a liquidation with real transactions.

use alloy::{
    primitives::{Address, I256, U256},
    providers::DynProvider,
    sol_types::{SolError, SolEvent},
};
use zkrisk_oracle::{
    aave::{
        bindings::{
            IACLManager, IAaveOracle, IAaveProtocolDataProvider, IPool, IPoolAddressesProvider,
            PriceFeed, TestERC20,
        },
        deploy::{AaveMarket, default_reserves, deploy_aave},
    },
    chain::{self, ANVIL_DEV_KEY, Anvil},
};

use crate::root;

/// anvil's second and third development accounts (public, local chains only).
const LIQUIDATOR_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const BORROWER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

fn wad(x: u64) -> U256 {
    U256::from(x) * U256::from(10u64).pow(U256::from(18))
}

/// A USD amount in Aave's base currency (8 decimals).
fn usd(x: u64) -> U256 {
    U256::from(x) * U256::from(100_000_000u64)
}

fn usdc(x: u64) -> U256 {
    U256::from(x) * U256::from(1_000_000u64)
}

/// Sends a contract call and asserts that it was mined successfully.
macro_rules! send {
    ($call:expr, $what:expr) => {{
        let receipt = $call
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", $what))
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "{} failed", $what);
        receipt
    }};
}

/// What Aave's `Error(string)` revert says (Aave v3 reverts with numeric codes).
fn revert_reason<T>(r: Result<T, alloy::contract::Error>) -> String {
    let Err(e) = r else { panic!("expected a revert") };
    let data = e.as_revert_data().unwrap_or_else(|| panic!("not a revert: {e}"));
    alloy::sol_types::Revert::abi_decode(&data).map(|r| r.reason).unwrap_or_default()
}

/// The health factor from the data provider's per-reserve balances, the oracle's prices and each
/// reserve's liquidation threshold, the way Aave's `GenericLogic` defines it (1e18 = 1).
async fn health_factor_from_data_provider(
    provider: &DynProvider,
    m: &AaveMarket,
    user: Address,
) -> f64 {
    let dp = IAaveProtocolDataProvider::new(m.data_provider, provider.clone());
    let oracle = IAaveOracle::new(m.oracle, provider.clone());
    let (mut weighted_collateral, mut debt) = (0.0, 0.0);
    for r in &m.reserves {
        let u = dp.getUserReserveData(r.asset, user).call().await.unwrap();
        let conf = dp.getReserveConfigurationData(r.asset).call().await.unwrap();
        let price: f64 = oracle.getAssetPrice(r.asset).call().await.unwrap().to::<u128>() as f64;
        let unit = 10f64.powi(i32::from(r.decimals));
        let value = |amount: U256| amount.to::<u128>() as f64 / unit * price;
        if u.usageAsCollateralEnabled {
            let lt = conf.liquidationThreshold.to::<u64>() as f64 / 10_000.0;
            weighted_collateral += value(u.currentATokenBalance) * lt;
        }
        debt += value(u.currentVariableDebt) + value(u.currentStableDebt);
    }
    weighted_collateral / debt * 1e18
}

#[tokio::test]
async fn real_aave_market_supply_borrow_liquidate() {
    let root = root();
    let anvil = Anvil::spawn(&root.join("contracts/node_modules/.bin/anvil"), None).await.unwrap();
    let (admin_p, admin) = chain::signer_provider(anvil.url(), ANVIL_DEV_KEY).unwrap();
    let (liq_p, liquidator) = chain::signer_provider(anvil.url(), LIQUIDATOR_KEY).unwrap();
    let (bor_p, borrower) = chain::signer_provider(anvil.url(), BORROWER_KEY).unwrap();

    let t = std::time::Instant::now();
    let m = deploy_aave(
        &admin_p,
        &root.join("contracts/node_modules/@aave/core-v3/artifacts"),
        &root.join("contracts/out"),
        &default_reserves(),
    )
    .await
    .unwrap();
    eprintln!("deploy_aave: {:.1} s", t.elapsed().as_secs_f64());

    // The market is wired the way Aave wires it.
    assert_eq!(m.chain_id, 31_337);
    assert_eq!(m.admin, admin);
    assert!(m.deployed_block >= 1);
    let ap = IPoolAddressesProvider::new(m.addresses_provider, admin_p.clone());
    assert_eq!(ap.getPool().call().await.unwrap(), m.pool);
    assert_eq!(ap.getPoolConfigurator().call().await.unwrap(), m.pool_configurator);
    assert_eq!(ap.getPriceOracle().call().await.unwrap(), m.oracle);
    assert_eq!(ap.getACLManager().call().await.unwrap(), m.acl_manager);
    assert_eq!(ap.getPoolDataProvider().call().await.unwrap(), m.data_provider);
    assert!(
        IACLManager::new(m.acl_manager, admin_p.clone()).isPoolAdmin(admin).call().await.unwrap()
    );
    let pool = IPool::new(m.pool, admin_p.clone());
    assert_eq!(pool.ADDRESSES_PROVIDER().call().await.unwrap(), m.addresses_provider);
    let listed = pool.getReservesList().call().await.unwrap();
    assert_eq!(listed, m.reserves.iter().map(|r| r.asset).collect::<Vec<_>>());
    let weth = m.reserve("WETH").unwrap().clone();
    let usdc_r = m.reserve("USDC").unwrap().clone();
    let dp = IAaveProtocolDataProvider::new(m.data_provider, admin_p.clone());
    let c = dp.getReserveConfigurationData(weth.asset).call().await.unwrap();
    assert_eq!(
        (c.decimals, c.ltv, c.liquidationThreshold, c.liquidationBonus, c.reserveFactor),
        (
            U256::from(18),
            U256::from(8_050),
            U256::from(8_300),
            U256::from(10_500),
            U256::from(1_500)
        )
    );
    assert!(c.usageAsCollateralEnabled && c.borrowingEnabled && c.isActive);
    assert!(!c.stableBorrowRateEnabled && !c.isFrozen);
    let caps = dp.getReserveCaps(weth.asset).call().await.unwrap();
    assert_eq!((caps.borrowCap, caps.supplyCap), (U256::from(1_400_000), U256::from(1_800_000)));
    assert_eq!(dp.getLiquidationProtocolFee(weth.asset).call().await.unwrap(), U256::ZERO);
    let data = pool.getReserveData(weth.asset).call().await.unwrap();
    assert_eq!(data.aTokenAddress, weth.a_token);
    assert_eq!(data.variableDebtTokenAddress, weth.variable_debt_token);
    // The configuration bitmap holds LTV in bits 0-15 and LT in bits 16-31.
    let bits = pool.getConfiguration(weth.asset).call().await.unwrap();
    assert_eq!(bits & U256::from(0xffff), U256::from(8_050));
    assert_eq!((bits >> 16) & U256::from(0xffff), U256::from(8_300));
    let oracle = IAaveOracle::new(m.oracle, admin_p.clone());
    assert_eq!(oracle.getSourceOfAsset(weth.asset).call().await.unwrap(), weth.aggregator);
    assert_eq!(oracle.getAssetPrice(weth.asset).call().await.unwrap(), usd(3_000));
    assert_eq!(oracle.getAssetPrice(usdc_r.asset).call().await.unwrap(), usd(1));

    // The liquidator supplies USDC liquidity; the borrower supplies 10 WETH and borrows 20,000 USDC.
    let usdc_l = TestERC20::new(usdc_r.asset, liq_p.clone());
    send!(usdc_l.mint(liquidator, usdc(110_000)), "mint USDC");
    send!(usdc_l.approve(m.pool, U256::MAX), "approve USDC");
    let pool_l = IPool::new(m.pool, liq_p.clone());
    send!(pool_l.supply(usdc_r.asset, usdc(100_000), liquidator, 0), "supply USDC");
    let weth_b = TestERC20::new(weth.asset, bor_p.clone());
    send!(weth_b.mint(borrower, wad(10)), "mint WETH");
    send!(weth_b.approve(m.pool, U256::MAX), "approve WETH");
    let pool_b = IPool::new(m.pool, bor_p.clone());
    let r = send!(pool_b.supply(weth.asset, wad(10), borrower, 0), "supply WETH");
    assert!(r.inner.logs().iter().any(|l| l.topic0() == Some(&IPool::Supply::SIGNATURE_HASH)));
    // Borrowing beyond LTV (80.5% of 30,000 USD) is refused with Aave's COLLATERAL_CANNOT_COVER_NEW_BORROW (36).
    let too_much = pool_b.borrow(usdc_r.asset, usdc(24_200), U256::from(2), 0, borrower);
    assert_eq!(revert_reason(too_much.call().await), "36");
    let r =
        send!(pool_b.borrow(usdc_r.asset, usdc(20_000), U256::from(2), 0, borrower), "borrow USDC");
    let borrow =
        r.inner.logs().iter().find_map(|l| IPool::Borrow::decode_log(&l.inner).ok()).unwrap();
    assert_eq!(
        (borrow.reserve, borrow.onBehalfOf, borrow.amount),
        (usdc_r.asset, borrower, usdc(20_000))
    );
    assert_eq!(borrow.interestRateMode, 2);
    assert_eq!(
        TestERC20::new(usdc_r.asset, bor_p.clone()).balanceOf(borrower).call().await.unwrap(),
        usdc(20_000)
    );

    let acct = pool.getUserAccountData(borrower).call().await.unwrap();
    assert_eq!(acct.totalCollateralBase, usd(30_000));
    assert!(acct.totalDebtBase >= usd(20_000));
    assert!(acct.totalDebtBase < usd(20_000) + U256::from(1_000_000u64), "{}", acct.totalDebtBase);
    assert_eq!(acct.currentLiquidationThreshold, U256::from(8_300));
    assert_eq!(acct.ltv, U256::from(8_050));
    let hf = acct.healthFactor.to::<u128>() as f64;
    // 30,000 × 0.83 / 20,000 = 1.245, less a few seconds of interest.
    assert!((hf / 1e18 - 1.245).abs() < 1e-4, "health factor {hf}");
    let hf_dp = health_factor_from_data_provider(&admin_p, &m, borrower).await;
    assert!((hf - hf_dp).abs() / hf < 1e-9, "pool {hf} vs data provider {hf_dp}");

    // Healthy: no liquidation (HEALTH_FACTOR_NOT_BELOW_THRESHOLD, 45).
    let liq = pool_l.liquidationCall(weth.asset, usdc_r.asset, borrower, usdc(10_000), false);
    assert_eq!(revert_reason(liq.call().await), "45");
    // Only the feed's owner moves the price.
    let stranger_feed = PriceFeed::new(weth.aggregator, liq_p.clone());
    assert!(stranger_feed.setAnswer(I256::try_from(1).unwrap()).call().await.is_err());

    // ETH falls to 2,000 USD: 20,000 × 0.83 / 20,000 < 1.
    let feed = PriceFeed::new(weth.aggregator, admin_p.clone());
    let r = send!(feed.setAnswer(I256::from_raw(usd(2_000))), "setAnswer");
    let updated = r
        .inner
        .logs()
        .iter()
        .find_map(|l| PriceFeed::AnswerUpdated::decode_log(&l.inner).ok())
        .unwrap();
    assert_eq!(updated.roundId, U256::from(2));
    let acct = pool.getUserAccountData(borrower).call().await.unwrap();
    let hf_low = acct.healthFactor.to::<u128>() as f64;
    assert!(hf_low < 1e18 && (hf_low / 1e18 - 0.83).abs() < 1e-4, "health factor {hf_low}");
    let hf_dp = health_factor_from_data_provider(&admin_p, &m, borrower).await;
    assert!((hf_low - hf_dp).abs() / hf_low < 1e-9, "pool {hf_low} vs data provider {hf_dp}");

    // Liquidate 10,000 USDC of debt: the liquidator receives 10,000 / 2,000 × 105% = 5.25 WETH.
    let r = send!(
        pool_l.liquidationCall(weth.asset, usdc_r.asset, borrower, usdc(10_000), false),
        "liquidationCall"
    );
    let ev = r
        .inner
        .logs()
        .iter()
        .find_map(|l| IPool::LiquidationCall::decode_log(&l.inner).ok())
        .expect("LiquidationCall event");
    assert_eq!((ev.collateralAsset, ev.debtAsset, ev.user), (weth.asset, usdc_r.asset, borrower));
    assert_eq!(ev.debtToCover, usdc(10_000));
    assert_eq!(ev.liquidatedCollateralAmount, wad(525) / U256::from(100));
    assert_eq!(ev.liquidator, liquidator);
    let got = TestERC20::new(weth.asset, liq_p.clone()).balanceOf(liquidator).call().await.unwrap();
    assert_eq!(got, wad(525) / U256::from(100));
    let u = dp.getUserReserveData(weth.asset, borrower).call().await.unwrap();
    assert_eq!(u.currentATokenBalance, wad(10) - wad(525) / U256::from(100));
    let after = pool.getUserAccountData(borrower).call().await.unwrap();
    // 4.75 WETH × 2,000 × 0.83 / 10,000 USDC: below 1 still, since the bonus came out of the
    // collateral (a position this far under water gets no healthier from a 5%-bonus liquidation).
    assert_eq!(after.totalCollateralBase, usd(9_500));
    let hf_after = after.healthFactor.to::<u128>() as f64 / 1e18;
    assert!((hf_after - 0.7885).abs() < 1e-4, "health factor after {hf_after}");
    assert!(
        after.totalDebtBase < usd(10_000) + U256::from(1_000_000u64),
        "{}",
        after.totalDebtBase
    );

    // The market file round-trips.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aave.json");
    m.write_json(&path).unwrap();
    assert_eq!(AaveMarket::read_json(&path).unwrap(), m);
    anvil.stop().await.unwrap();
}

/// A missing artifact directory is named with the way to fix it, before anything is sent.
#[tokio::test]
async fn missing_artifacts_are_named() {
    let root = root();
    let anvil = Anvil::spawn(&root.join("contracts/node_modules/.bin/anvil"), None).await.unwrap();
    let (p, _) = chain::signer_provider(anvil.url(), ANVIL_DEV_KEY).unwrap();
    let err = deploy_aave(
        &p,
        "/nonexistent/artifacts".as_ref(),
        &root.join("contracts/out"),
        &default_reserves(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("Pool") && err.contains("scripts/setup.sh"), "{err}");
    anvil.stop().await.unwrap();
}
