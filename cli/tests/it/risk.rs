//! `zkrisk risk` on a real Aave v3 market: deployed on anvil, driven by the simulator through the
//! June 2022 crash, ingested to Parquet, then measured. The report's risk figures are finite and
//! ordered, the recommendations pass Aave's validation, and the same seed gives the same JSON.

use std::{path::Path, process::Command};

use alloy::providers::Provider;
use serde_json::Value;
use zkrisk_models::recommend::{AaveParams, validate};
use zkrisk_oracle::{
    aave::sim::SimConfig,
    ingest::{IngestConfig, ToBlock, ingest},
};
use zkrisk_pipeline::{
    aave::{positions, store},
    market,
};

use crate::{root, support};

fn risk(data: &Path, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["--root", root().to_str().unwrap(), "risk", "--data", data.to_str().unwrap()])
        .args(["--json", "--paths", "2000", "--recommend-paths", "200"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_on_a_simulated_aave_market() {
    let root = root();
    let cfg = SimConfig {
        seed: 5,
        accounts: 60,
        start: "2022-06-10".into(),
        days: 5,
        steps_per_day: 2,
        activity: 0.2,
    };
    let genesis = 1_654_732_800; // 2022-06-09
    let (anvil, plain, market, _) = support::simulated_market(&root, &cfg, genesis).await;
    let head = plain.get_block_number().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut config =
        IngestConfig::new(anvil.url(), market.pool, 0, ToBlock::Number(head), tmp.path());
    config.confirmations = 0;
    ingest(&config, &mut |_| {}).await.unwrap();

    // The snapshot the command measures holds, account by account, the collateral and debt that
    // getUserAccountData reports (rebuilt exactly from the events).
    let data = store::load(tmp.path()).unwrap();
    let t = data.records.last().unwrap().meta.block_timestamp;
    let snap = market::aave_snapshot_at(&data, head, t).unwrap();
    let state = positions::rebuild(&data.records, &data.checkpoint, head).unwrap();
    for acc in &snap.accounts {
        let want = state.account_data(&acc.account, t).unwrap();
        let usd = |v: &[f64]| v.iter().zip(&snap.assets).map(|(x, a)| x * a.price).sum::<f64>();
        let (c, d) = (
            positions::base_to_f64(want.total_collateral_base),
            positions::base_to_f64(want.total_debt_base),
        );
        assert!((usd(&acc.collateral) - c).abs() <= 1e-6 * c.max(1.0), "{}: {c}", acc.account);
        assert!((usd(&acc.debt) - d).abs() <= 1e-6 * d.max(1.0), "{}: {d}", acc.account);
    }
    // Daily market features of the whole dataset: one row per day and market (6 reserves + ALL).
    let days = market::aave_daily_snapshots(&data).unwrap();
    let features = market::features(&days).unwrap();
    assert_eq!(features.height(), days.len() * 7);
    assert!(days.len() >= 5, "{} days", days.len());
    let util = features.column("utilization").unwrap().f64().unwrap();
    assert!(util.iter().flatten().all(|u| (0.0..=1.0).contains(&u)));
    // The last day's snapshot is the final state, valued at midnight instead of at the last block.
    let total = |s: &market::MarketSnapshot| -> f64 {
        s.accounts.iter().flat_map(|a| a.debt.iter().zip(&s.assets).map(|(d, x)| d * x.price)).sum()
    };
    assert_eq!(days.last().unwrap().day, snap.day);
    assert!(days.windows(2).all(|w| w[1].day == w[0].day + 1));
    let (end, now) = (total(days.last().unwrap()), total(&snap));
    assert!(end >= now && end <= now * 1.001, "{end} vs {now}");

    let a = risk(tmp.path(), &[]);
    let r = &a["risk"];
    let f = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {a}"));
    assert!(f("total_debt_usd") > 0.0, "the simulated market has debt: {a}");
    let (var, es, evar, lar) =
        (f("var95_bad_debt"), f("es95_bad_debt"), f("evar99_bad_debt"), f("lar95_liquidated"));
    for x in [var, es, evar, lar] {
        assert!(x.is_finite() && x >= 0.0, "{a}");
    }
    assert!(var <= es + 1e-6 && es <= evar + 1e-6 && evar <= f("max_bad_debt") + 1e-6, "{r}");
    // Leveraged debt and a history with the 2022 crashes: some paths liquidate, and some leave
    // more bad debt than the market already has at unchanged prices.
    assert!(f("mean_liquidated") > 0.0, "{r}");
    assert!(evar > 0.0 && f("max_bad_debt") > f("bad_debt_now"), "{r}");
    assert_eq!(a["history"]["symbols"].as_array().unwrap().len(), 6);
    // No look-ahead: the history ends the day before the valuation day.
    assert!(a["history"]["to"].as_str().unwrap() < a["date"].as_str().unwrap(), "{a}");
    let reserves = a["reserves"].as_array().unwrap();
    assert_eq!(reserves.len(), 6, "{a}");
    for x in reserves {
        let p: AaveParams = serde_json::from_value(x["recommended"].clone()).unwrap();
        validate(&p).unwrap_or_else(|e| panic!("{e}: {x}"));
        assert!(p.supply_cap >= 1 && p.borrow_cap >= 1);
    }

    // Same seed, same JSON; another seed, other paths.
    let b = risk(tmp.path(), &[]);
    assert_eq!(a, b);
    let c = risk(tmp.path(), &["--seed", "2"]);
    assert_ne!(a["risk"], c["risk"]);
    // A week's horizon in 7-day blocks.
    let w = risk(tmp.path(), &["--horizon-days", "7", "--block-len", "7"]);
    assert_eq!(w["monte_carlo"]["block_len"], 7);
    let wf = |k: &str| w["risk"][k].as_f64().unwrap();
    assert!(wf("lar95_liquidated") > 0.0 && wf("es95_bad_debt").is_finite(), "{w}");
    assert!(wf("evar99_bad_debt") > wf("bad_debt_now"), "{w}");
    drop(anvil);
}
