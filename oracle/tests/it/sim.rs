//! The Aave simulator on fresh anvils with the real Aave v3 market: liquidations after the June
//! 2022 drawdown, each one of an account below a health factor of 1, none left behind, and the
//! same seed giving byte-identical logs.

use std::path::Path;

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use zkrisk_oracle::{
    aave::{
        bindings::IPool,
        deploy::AaveMarket,
        sim::{PricePaths, SimConfig, SimReport, simulate},
    },
    chain::Anvil,
};
use zkrisk_pipeline::prices::day_from_ymd;

use crate::root;

/// (block, log index, address, topics, data) of every log.
type Logs = Vec<(u64, u64, Address, Vec<B256>, Bytes)>;

/// 2022-06-10 → 2022-06-18: ETH from 1,786 to a low of 892 USD (3AC, Celsius).
fn config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        accounts: 60,
        start: "2022-06-10".into(),
        days: 9,
        steps_per_day: 2,
        activity: 0.15,
    }
}

/// A fresh anvil whose clock starts two days before the window, with Aave deployed.
async fn market(root: &Path, cfg: &SimConfig) -> (Anvil, DynProvider, AaveMarket) {
    let genesis = u64::try_from(day_from_ymd(&cfg.start).unwrap() * 86_400 - 2 * 86_400).unwrap();
    crate::support::deployed_market(root, Some(genesis)).await
}

async fn run(root: &Path, cfg: &SimConfig) -> (Anvil, DynProvider, AaveMarket, SimReport) {
    let (anvil, p, m) = market(root, cfg).await;
    let prices = PricePaths::load(&root.join("data")).unwrap();
    let t = std::time::Instant::now();
    let report = simulate(&p, &m, &prices, &root.join("contracts/out"), cfg, |d| {
        eprintln!(
            "  day {} {} ETH {:.0} liquidations {} txs {}",
            d.day, d.date, d.eth_usd, d.liquidations, d.txs
        );
    })
    .await
    .unwrap();
    eprintln!(
        "seed {}: {} txs in {:.1} s ({:.0} tx/s), {} liquidations",
        cfg.seed,
        report.txs,
        t.elapsed().as_secs_f64(),
        report.tx_per_second,
        report.liquidations
    );
    (anvil, p, m, report)
}

async fn logs(p: &DynProvider, from: u64, to: u64) -> Logs {
    let logs = p.get_logs(&Filter::new().from_block(from).to_block(to)).await.unwrap();
    logs.into_iter()
        .map(|l| {
            (
                l.block_number.unwrap(),
                l.log_index.unwrap(),
                l.address(),
                l.topics().to_vec(),
                l.data().data.clone(),
            )
        })
        .collect()
}

async fn hf_at(p: &DynProvider, pool: Address, user: Address, block: u64) -> (U256, U256) {
    let r = IPool::new(pool, p.clone())
        .getUserAccountData(user)
        .block(block.into())
        .call()
        .await
        .unwrap();
    (r.healthFactor, r.totalCollateralBase)
}

#[tokio::test]
async fn simulation_liquidates_after_a_real_drawdown_and_is_reproducible() {
    let root = root();
    let cfg = config(11);
    let (_a1, p1, m1, r1) = run(&root, &cfg).await;
    eprintln!("{}", serde_json::to_string_pretty(&r1).unwrap());

    assert_eq!(r1.failed_txs, 0, "no simulated transaction reverts");
    assert_eq!(r1.accounts, r1.account_list.len());
    assert!(r1.accounts >= 40, "most of the 60 accounts joined: {}", r1.accounts);
    assert!(r1.supplies > 0 && r1.borrows > 0 && r1.repays > 0 && r1.withdrawals > 0, "{r1:?}");
    assert!(r1.liquidations > 0, "ETH halved: some positions were liquidated");

    // The chain holds the events the report counts.
    let pool_logs = |sig: B256| {
        Filter::new()
            .address(m1.pool)
            .event_signature(sig)
            .from_block(r1.first_block)
            .to_block(r1.last_block)
    };
    let liqs = p1.get_logs(&pool_logs(IPool::LiquidationCall::SIGNATURE_HASH)).await.unwrap();
    assert_eq!(liqs.len() as u64, r1.liquidations);
    for (sig, count) in [
        (IPool::Supply::SIGNATURE_HASH, r1.supplies),
        (IPool::Borrow::SIGNATURE_HASH, r1.borrows),
        (IPool::Repay::SIGNATURE_HASH, r1.repays),
        (IPool::Withdraw::SIGNATURE_HASH, r1.withdrawals),
    ] {
        assert_eq!(p1.get_logs(&pool_logs(sig)).await.unwrap().len() as u64, count);
    }
    // The node mines on its own again.
    let automine: bool = p1.raw_request("anvil_getAutomine".into(), ()).await.unwrap();
    assert!(automine);
    let gas_limit = p1.get_block(r1.last_block.into()).await.unwrap().unwrap().header.gas_limit;
    assert!(gas_limit > 1_000_000_000, "the simulator's blocks hold whole batches");
    // The limit applies from the next block on; mine one to see it.
    let _: serde_json::Value = p1.raw_request("evm_mine".into(), ()).await.unwrap();
    let next = p1.get_block(alloy::eips::BlockId::latest()).await.unwrap().unwrap();
    assert!(next.header.gas_limit < 1_000_000_000, "gas limit restored: {}", next.header.gas_limit);

    // Every liquidated account was below a health factor of 1 just before its liquidation block.
    for l in &liqs {
        let e = l.log_decode::<IPool::LiquidationCall>().unwrap().inner.data;
        let block = l.block_number.unwrap();
        let (hf, _) = hf_at(&p1, m1.pool, e.user, block - 1).await;
        assert!(
            hf < U256::from(10u64.pow(18)),
            "{} liquidated at block {block} with HF {hf}",
            e.user
        );
        assert_eq!(e.liquidator, r1.liquidator);
    }

    // No account is left below 1 with collateral to seize: the liquidator's last pass got them all.
    for user in &r1.account_list {
        let (hf, collateral) = hf_at(&p1, m1.pool, *user, r1.last_block).await;
        assert!(
            hf >= U256::from(10u64.pow(18)) || collateral.is_zero(),
            "{user} left with HF {hf} and collateral {collateral}"
        );
    }

    // The same seed on a fresh chain: the same logs, byte for byte.
    let (_a2, p2, _m2, r2) = run(&root, &cfg).await;
    assert_eq!((r2.first_block, r2.last_block), (r1.first_block, r1.last_block));
    let l1 = logs(&p1, r1.first_block, r1.last_block).await;
    let l2 = logs(&p2, r2.first_block, r2.last_block).await;
    assert!(l1.len() > 1_000, "{} logs", l1.len());
    assert!(l1 == l2, "same seed, same logs");

    // Another seed: other accounts, other logs.
    let (_a3, p3, _m3, r3) = run(&root, &config(12)).await;
    let l3 = logs(&p3, r3.first_block, r3.last_block).await;
    assert_ne!(l1, l3);
    assert_ne!(r1.account_list, r3.account_list);
}

#[tokio::test]
async fn prices_that_do_not_cover_the_window_are_named() {
    let root = root();
    let prices = PricePaths::load(&root.join("data")).unwrap();
    // Nothing listens there: the check comes before any request.
    let p = ProviderBuilder::new().connect_http("http://127.0.0.1:9".parse().unwrap()).erased();
    let reserves: Vec<serde_json::Value> = ["WETH", "WBTC", "wstETH", "USDC", "USDT", "DAI"]
        .iter()
        .map(|s| {
            serde_json::json!({
                "symbol": s, "asset": Address::ZERO, "aggregator": Address::ZERO,
                "a_token": Address::ZERO, "variable_debt_token": Address::ZERO,
                "stable_debt_token": Address::ZERO, "decimals": 18, "ltv": 8000,
                "liquidation_threshold": 8250, "liquidation_bonus": 10500
            })
        })
        .collect();
    let market: AaveMarket = serde_json::from_value(serde_json::json!({
        "chain_id": 31337, "deployed_block": 1, "addresses_provider": Address::ZERO,
        "acl_manager": Address::ZERO, "pool": Address::ZERO, "pool_configurator": Address::ZERO,
        "oracle": Address::ZERO, "data_provider": Address::ZERO, "admin": Address::ZERO,
        "reserves": reserves
    }))
    .unwrap();
    let out = root.join("contracts/out");
    // wstETH candles start on 2021-10-22.
    let cfg = SimConfig { start: "2021-10-01".into(), ..SimConfig::default() };
    let err = simulate(&p, &market, &prices, &out, &cfg, |_| {}).await.unwrap_err().to_string();
    assert!(err.contains("wstETH") && err.contains("2021-10-01"), "{err}");
    // DAI snapshots end on 2022-07-01, so the last DAI candle is 2022-06-30.
    let cfg = SimConfig { start: "2022-06-25".into(), days: 7, ..SimConfig::default() };
    let err = simulate(&p, &market, &prices, &out, &cfg, |_| {}).await.unwrap_err().to_string();
    assert!(err.contains("DAI") && err.contains("2022-07-01"), "{err}");
    let mut missing = market.clone();
    missing.reserves.retain(|r| r.symbol != "USDT");
    let err = simulate(&p, &missing, &prices, &out, &SimConfig::default(), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no USDT reserve"), "{err}");
}
