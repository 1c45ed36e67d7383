//! `zkrisk ingest` against a real Aave v3 market on anvil with simulated activity: the Parquet it
//! writes rebuilds every account exactly as `Pool.getUserAccountData` reports it, survives refused
//! ranges and outages with byte-identical output, and refuses bad input without touching what is
//! stored.

use std::{path::Path, time::Duration};

use alloy::{
    eips::BlockId,
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
};
use zkrisk_oracle::{
    Error,
    aave::{
        bindings::IPool,
        deploy::AaveMarket,
        sim::{SimConfig, SimReport},
    },
    chain::{self, ANVIL_DEV_KEY, Anvil},
    ingest::{IngestConfig, IngestReport, ToBlock, ingest},
};
use zkrisk_pipeline::{
    aave::{events::AaveEvent, positions, store},
    prices::day_from_ymd,
};

use crate::{
    proxy, root,
    support::{self, snapshot},
};

/// A simulated market: `days` days from 2022-06-10 (ETH halves in a week: liquidations).
async fn simulated(
    root: &Path,
    seed: u64,
    accounts: usize,
    days: u32,
) -> (Anvil, DynProvider, AaveMarket, SimReport) {
    let cfg = SimConfig {
        seed,
        accounts,
        start: "2022-06-10".into(),
        days,
        steps_per_day: 2,
        activity: 0.15,
    };
    let genesis = u64::try_from(day_from_ymd(&cfg.start).unwrap() * 86_400 - 86_400).unwrap();
    support::simulated_market(root, &cfg, genesis).await
}

fn config(url: &str, pool: Address, to: u64, out: &Path) -> IngestConfig {
    let mut c = IngestConfig::new(url, pool, 0, ToBlock::Number(to), out);
    c.confirmations = 0;
    c.partition_blocks = 64;
    c.max_range = 64;
    c.attempts = 4;
    c.backoff = Duration::from_millis(20);
    c
}

async fn run(c: &IngestConfig) -> IngestReport {
    ingest(c, &mut |_| {}).await.unwrap_or_else(|e| panic!("ingest failed: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingested_events_rebuild_every_account_and_survive_faults() {
    let root = root();
    let (_anvil, p, market, sim) = simulated(&root, 7, 60, 9).await;
    assert!(sim.liquidations > 0, "the window must contain liquidations: {sim:?}");
    let head = p.get_block_number().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // 1. Straight from the node.
    let direct = tmp.path().join("direct");
    let report = run(&config(_anvil.url(), market.pool, head, &direct)).await;
    assert_eq!(report.to_block, head);
    assert!(report.partitions >= 2, "{report:?}");
    let data = store::load(&direct).unwrap();
    let count = |f: fn(&AaveEvent) -> bool| data.records.iter().filter(|r| f(&r.event)).count();
    assert_eq!(count(|e| matches!(e, AaveEvent::LiquidationCall { .. })) as u64, sim.liquidations);
    assert_eq!(count(|e| matches!(e, AaveEvent::Supply { .. })) as u64, sim.supplies);
    assert_eq!(count(|e| matches!(e, AaveEvent::Borrow { .. })) as u64, sim.borrows);
    assert_eq!(count(|e| matches!(e, AaveEvent::ReserveInitialized { .. })), market.reserves.len());
    assert!(count(|e| matches!(e, AaveEvent::AnswerUpdated { .. })) > 9 * 4);

    // 2. Rebuilt accounts equal getUserAccountData at several blocks, liquidation blocks included.
    let first_liquidation = data
        .records
        .iter()
        .find(|r| matches!(r.event, AaveEvent::LiquidationCall { .. }))
        .map(|r| r.meta.block_number)
        .unwrap();
    let mut blocks: Vec<u64> =
        (1..=4).map(|k| market.deployed_block + (head - market.deployed_block) * k / 4).collect();
    blocks.extend([first_liquidation - 1, first_liquidation]);
    blocks.sort_unstable();
    blocks.dedup();
    let pool = IPool::new(market.pool, p.clone());
    let mut checked = 0;
    let mut with_debt = 0;
    let mut at_head = 0;
    for &b in &blocks {
        let header = p.get_block_by_number(b.into()).await.unwrap().unwrap().header;
        let state = positions::rebuild(&data.records, &data.checkpoint, b).unwrap();
        for user in state.accounts() {
            let ours = state.account_data(user, header.timestamp).unwrap();
            let theirs = pool
                .getUserAccountData(user.parse().unwrap())
                .block(BlockId::number(b))
                .call()
                .await
                .unwrap();
            let at = format!("account {user} at block {b}");
            assert_eq!(ours.total_collateral_base, theirs.totalCollateralBase, "{at}");
            assert_eq!(ours.total_debt_base, theirs.totalDebtBase, "{at}");
            assert_eq!(ours.available_borrows_base, theirs.availableBorrowsBase, "{at}");
            assert_eq!(
                ours.current_liquidation_threshold, theirs.currentLiquidationThreshold,
                "{at}"
            );
            assert_eq!(ours.ltv, theirs.ltv, "{at}");
            if theirs.healthFactor == U256::MAX {
                assert_eq!(ours.health_factor, U256::MAX, "{at}");
            } else {
                let (a, t) = (f64::from(ours.health_factor), f64::from(theirs.healthFactor));
                assert!((a - t).abs() <= 1e-9 * t, "{at}: health factor {a} vs {t}");
                with_debt += 1;
            }
            checked += 1;
            at_head += usize::from(b == head);
        }
    }
    // Every account the simulator opened is among those checked at the last block.
    assert!(at_head > sim.accounts, "{at_head} accounts at the head, {} opened", sim.accounts);
    assert!(with_debt >= 60, "only {with_debt} indebted account-blocks of {checked} checked");

    // 3. Through a provider that refuses wide ranges and fails every 5th request: same bytes.
    let faulty = proxy::start(
        _anvil.url(),
        proxy::Faults { max_log_span: Some(5), fail_every: Some(5), ..Default::default() },
    )
    .await;
    let through = tmp.path().join("through-faults");
    let r = run(&config(&faulty.url, market.pool, head, &through)).await;
    assert!(r.range_splits > 0 && r.retries > 0, "faults were not exercised: {r:?}");
    let refused = faulty.counters.refused.load(std::sync::atomic::Ordering::SeqCst);
    let failed = faulty.counters.failed.load(std::sync::atomic::Ordering::SeqCst);
    assert!(refused > 0 && failed > 0, "proxy refused {refused}, failed {failed}");
    assert_eq!(r.logs, report.logs);
    assert_eq!(snapshot(&through), snapshot(&direct), "faults changed the output");

    // 4. A second run of a finished directory adds nothing and changes nothing; a run that goes
    //    further resumes at the checkpoint.
    let before = snapshot(&direct);
    let mut again = config(_anvil.url(), market.pool, head, &direct);
    let r = run(&again).await;
    assert_eq!((r.partitions, r.logs, r.resumed), (0, 0, true));
    assert_eq!(snapshot(&direct), before);
    let (admin, _) = chain::signer_provider(_anvil.url(), ANVIL_DEV_KEY).unwrap();
    let feed = zkrisk_oracle::aave::bindings::PriceFeed::new(market.reserves[0].aggregator, admin);
    feed.setAnswer(alloy::primitives::I256::try_from(123_400_000_000_i64).unwrap())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    again.to_block = ToBlock::Latest;
    let r = run(&again).await;
    assert_eq!((r.started_at, r.logs, r.resumed), (head + 1, 1, true), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_stored_data_is_left_intact() {
    let root = root();
    let (anvil, plain, market) = support::deployed_market(&root, None).await;
    let head = plain.get_block_number().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("data");
    run(&config(anvil.url(), market.pool, head, &out)).await;
    let stored = snapshot(&out);
    let err = |c: IngestConfig| async move {
        ingest(&c, &mut |_| {}).await.expect_err("bad input must be refused")
    };

    // Unreachable endpoint (nothing listens on port 9): retried, then a clear error; the path and
    // query of the URL (where providers put keys) never appear.
    let mut c = config("http://127.0.0.1:9/v2/SECRET-KEY?token=SECRET", market.pool, head, &out);
    c.attempts = 2;
    let e = err(c).await;
    assert!(matches!(e, Error::RpcUnavailable { attempts: 2, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("http://127.0.0.1:9") && !msg.contains("SECRET"), "{msg}");

    // A permanent provider error is not retried: one request, then the provider's message.
    let no_logs = proxy::start(
        anvil.url(),
        proxy::Faults { unsupported: Some("eth_getLogs"), ..Default::default() },
    )
    .await;
    let e = err(config(&no_logs.url, market.pool, head, &tmp.path().join("other"))).await;
    let msg = e.to_string();
    assert!(
        matches!(e, Error::Rpc(_)) && msg.contains("eth_getLogs") && msg.contains("does not exist"),
        "{msg}"
    );
    // One refused request per partition in flight at most; none of them retried.
    let refused = no_logs.counters.unsupported.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=4).contains(&refused), "{refused} eth_getLogs requests");

    // An address that is not a pool: a token, and an account without code.
    let token = market.reserves[0].asset;
    let e = err(config(anvil.url(), token, head, &out)).await.to_string();
    assert!(e.contains("--pool") && e.contains("not an Aave v3 Pool"), "{e}");
    let e = err(config(anvil.url(), Address::repeat_byte(0x42), head, &out)).await.to_string();
    assert!(e.contains("--pool") && e.contains("no contract"), "{e}");

    // A range past the head, and past the head minus the confirmations.
    let e = err(config(anvil.url(), market.pool, head + 10, &out)).await.to_string();
    assert!(
        e.contains(&format!("--to {}", head + 10)) && e.contains("past the confirmed head"),
        "{e}"
    );
    let mut c = config(anvil.url(), market.pool, head, &out);
    c.confirmations = 3;
    let e = err(c).await.to_string();
    assert!(e.contains("past the confirmed head") && e.contains("3 confirmations"), "{e}");

    // The same directory for another --from: refused, it belongs to another run.
    let mut c = config(anvil.url(), market.pool, head, &out);
    c.from_block = 1;
    let e = err(c).await.to_string();
    assert!(e.contains(store::CHECKPOINT_FILE) && e.contains("--from"), "{e}");

    // A corrupt checkpoint.
    let checkpoint = out.join(store::CHECKPOINT_FILE);
    let good = std::fs::read(&checkpoint).unwrap();
    std::fs::write(&checkpoint, &good[..good.len() / 2]).unwrap();
    let e = err(config(anvil.url(), market.pool, head, &out)).await.to_string();
    assert!(e.contains(store::CHECKPOINT_FILE) && e.contains("not a valid checkpoint"), "{e}");
    std::fs::write(&checkpoint, &good).unwrap();

    // None of it touched what was stored.
    assert_eq!(snapshot(&out), stored);
}
