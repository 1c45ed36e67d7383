//! `zkrisk risk`: market risk (VaR, ES, EVaR of bad debt, LaR of liquidated collateral) by
//! Monte-Carlo and recommended risk parameters per reserve, for an ingested Aave v3 dataset or
//! the MakerDAO ETH-B vaults shipped in `data/`. Argument parsing and printing only; the method
//! lives in `zkrisk_models::{market_risk, recommend}` and `zkrisk_pipeline::market`.

use std::{path::PathBuf, time::Instant};

use eyre::WrapErr;
use serde_json::json;
use zkrisk_models::{
    market_risk::{
        Account, AssetRisk, JointReturns, LiquidationRules, Market, MonteCarlo, RiskSummary, assess,
    },
    recommend::{Measure, RecommendConfig, Recommendation, ReserveInput, Stress, recommend},
};
use zkrisk_pipeline::{
    aave::store,
    market::{self, MarketSnapshot, PriceSource},
    prices, vaults,
};

/// Arguments of `zkrisk risk`.
#[derive(clap::Args)]
pub(crate) struct RiskArgs {
    /// A directory written by `zkrisk ingest`. Without it, the MakerDAO ETH-B vaults of
    /// data/maker-eth-b at their last day (collateral ETH, debt DAI).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Block to rebuild the Aave positions at (default: the last ingested block).
    #[arg(long)]
    block: Option<u64>,
    /// Timestamp of that block (default: that of the last event at or before it).
    #[arg(long)]
    timestamp: Option<u64>,
    /// Monte-Carlo paths.
    #[arg(long, default_value_t = 10_000)]
    paths: usize,
    /// Horizon in days (1 = 24 h).
    #[arg(long, default_value_t = 1)]
    horizon_days: usize,
    /// Bootstrap block length in days (0: round(n^(1/3)) of the history).
    #[arg(long, default_value_t = 0)]
    block_len: usize,
    /// Seed of the random draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Days of joint return history at most (the last ones before the valuation day).
    #[arg(long, default_value_t = 1_095)]
    history_days: usize,
    /// Measure the recommendations' target is set on: var95, es95 or evar99.
    #[arg(long, default_value = "evar99")]
    target_measure: String,
    /// Borrowers in each reserve's stress market: max-borrow (borrow up to the candidate LTV)
    /// or constant-health (keep today's health factor).
    #[arg(long, default_value = "max-borrow")]
    stress: String,
    /// Target: the measure of bad debt at most this percentage of the reserve's supply (USD).
    #[arg(long, default_value_t = 1.0)]
    target_pct: f64,
    /// Monte-Carlo paths per grid point of the recommendation search.
    #[arg(long, default_value_t = 2_000)]
    recommend_paths: usize,
    /// Print the report as one JSON object on the last line of stdout.
    #[arg(long)]
    json: bool,
    /// Time the Monte-Carlo and report paths per second (also in the JSON).
    #[arg(long)]
    bench: bool,
}

struct Loaded {
    source: String,
    block: Option<u64>,
    snapshot: MarketSnapshot,
    /// Daily snapshots before the snapshot's day (for the features' look-back windows).
    earlier: Vec<MarketSnapshot>,
    sources: Vec<(String, PriceSource)>,
    rules: LiquidationRules,
    rules_name: &'static str,
}

fn load(root: &std::path::Path, a: &RiskArgs) -> eyre::Result<Loaded> {
    let Some(dir) = &a.data else {
        let states = vaults::load_maker_eth_b(&root.join("data"), 7)
            .wrap_err("MakerDAO ETH-B vault states from data/")?;
        let mut earlier = market::maker_snapshots(&states)?;
        let snapshot = earlier.pop().ok_or_else(|| eyre::eyre!("no ETH-B vault state in data/"))?;
        return Ok(Loaded {
            source: "maker-eth-b".into(),
            block: None,
            snapshot,
            earlier,
            sources: market::maker_price_sources(),
            rules: LiquidationRules::WHOLE,
            rules_name: "whole vault (MakerDAO dog.bark)",
        });
    };
    let data = store::load(dir).wrap_err_with(|| format!("--data {}", dir.display()))?;
    let last = data.checkpoint.next_block.saturating_sub(1);
    let block = a.block.unwrap_or(last);
    if block > last {
        eyre::bail!("--block {block} is past the last ingested block {last}");
    }
    let timestamp = match a.timestamp {
        Some(t) => t,
        None => data
            .records
            .iter()
            .rev()
            .find(|r| r.meta.block_number <= block)
            .map(|r| r.meta.block_timestamp)
            .ok_or_else(|| eyre::eyre!("no event at or before block {block}: pass --timestamp"))?,
    };
    let snapshot = market::aave_snapshot_at(&data, block, timestamp)?;
    let mut earlier = market::aave_daily_snapshots(&data)?;
    earlier.retain(|s| s.day < snapshot.day);
    let sources = snapshot
        .assets
        .iter()
        .map(|s| {
            market::aave_price_source(&s.symbol)
                .map(|p| (s.symbol.clone(), p))
                .ok_or_else(|| eyre::eyre!("no price history in data/prices for {}", s.symbol))
        })
        .collect::<eyre::Result<Vec<_>>>()?;
    Ok(Loaded {
        source: dir.display().to_string(),
        block: Some(block),
        snapshot,
        earlier,
        sources,
        rules: LiquidationRules::AAVE_V3,
        rules_name: "Aave v3.0 (close factor 50 %, 100 % below HF 0.95)",
    })
}

fn to_market(s: &MarketSnapshot) -> Market {
    Market {
        assets: s
            .assets
            .iter()
            .map(|a| AssetRisk {
                symbol: a.symbol.clone(),
                price: a.price,
                liquidation_threshold: f64::from(a.liquidation_threshold_bps) / 1e4,
                liquidation_bonus: f64::from(a.liquidation_bonus_bps.max(10_000)) / 1e4,
            })
            .collect(),
        accounts: s
            .accounts
            .iter()
            .map(|a| Account {
                collateral: a.collateral.clone(),
                debt: a.debt.clone(),
                weight: 1.0,
            })
            .collect(),
    }
}

fn reserve_inputs(s: &MarketSnapshot) -> Vec<ReserveInput> {
    (0..s.assets.len())
        .filter(|k| s.assets[*k].liquidation_threshold_bps > 0)
        .map(|k| {
            let share = |v: Vec<f64>| market::concentration(&v).map_or(0.0, |(top, _)| top);
            ReserveInput {
                asset: k,
                supply_tokens: s.supply(k),
                borrow_tokens: s.borrowed(k),
                top10_collateral_share: share(s.accounts.iter().map(|a| a.collateral[k]).collect()),
                top10_debt_share: share(s.accounts.iter().map(|a| a.debt[k]).collect()),
            }
        })
        .collect()
}

pub(crate) fn risk(root: PathBuf, a: RiskArgs) -> eyre::Result<()> {
    let measure: Measure = a.target_measure.parse()?;
    let stress: Stress = a.stress.parse()?;
    if !(a.target_pct.is_finite() && a.target_pct >= 0.0) {
        eyre::bail!("--target-pct {}: expected a percentage ≥ 0", a.target_pct);
    }
    let loaded = load(&root, &a)?;
    let snap = &loaded.snapshot;
    // The last day whose close is known at the valuation time.
    let until = i64::try_from(snap.timestamp / 86_400).unwrap_or(i64::MAX) - 1;
    let history =
        market::joint_returns(&root.join("data"), &loaded.sources, until, a.history_days)?;
    let returns = JointReturns {
        symbols: history.symbols,
        days: history.days,
        log_returns: history.log_returns,
    };
    let features = market_features(&loaded)?;
    let m = to_market(snap);
    let mc = MonteCarlo {
        paths: a.paths,
        horizon_days: a.horizon_days,
        block_len: a.block_len,
        seed: a.seed,
    };
    let started = Instant::now();
    let summary = assess(&m, &returns, &loaded.rules, &mc)?;
    let seconds = started.elapsed().as_secs_f64();
    let cfg = RecommendConfig {
        measure,
        stress,
        max_fraction: a.target_pct / 100.0,
        ..Default::default()
    };
    let reserves = reserve_inputs(snap);
    let rec_mc = MonteCarlo { paths: a.recommend_paths, ..mc };
    let started = Instant::now();
    let recs = recommend(&m, &returns, &loaded.rules, &rec_mc, &reserves, &cfg)?;
    let rec_seconds = started.elapsed().as_secs_f64();
    let with_debt = snap.accounts.iter().filter(|x| x.debt.iter().any(|d| *d > 0.0)).count();
    let (from, to) = (
        returns.days.first().map(|d| prices::ymd(*d)),
        returns.days.last().map(|d| prices::ymd(*d)),
    );
    let paths_per_second = a.paths as f64 / seconds.max(1e-9);
    if a.json {
        let mut report = json!({
            "source": loaded.source,
            "block": loaded.block,
            "timestamp": snap.timestamp,
            "date": prices::ymd(snap.day),
            "accounts": snap.accounts.len(),
            "accounts_with_debt": with_debt,
            "liquidation_rules": loaded.rules_name,
            "history": { "from": from, "to": to, "days": returns.days.len(),
                "symbols": returns.symbols },
            "monte_carlo": { "paths": mc.paths, "horizon_days": mc.horizon_days,
                "block_len": summary.block_len, "seed": mc.seed },
            "features": features,
            "risk": summary,
            "target": { "measure": a.target_measure, "pct_of_reserve_supply": a.target_pct,
                "stress": a.stress,
                "paths_per_grid_point": rec_mc.paths },
            "reserves": recs.iter().map(|r| reserve_json(snap, r)).collect::<Vec<_>>(),
        });
        if a.bench {
            report["bench"] = json!({
                "monte_carlo_seconds": seconds,
                "paths_per_second": paths_per_second,
                "account_paths_per_second": paths_per_second * with_debt as f64,
                "recommend_seconds": rec_seconds,
            });
        }
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    print_human(&loaded, &summary, &recs, with_debt, (from, to));
    print_features(&features);
    println!(
        "  bench        {} paths in {seconds:.3} s: {paths_per_second:.0} paths/s \
         ({:.0} account-paths/s); recommendations {rec_seconds:.2} s",
        mc.paths,
        paths_per_second * with_debt as f64
    );
    Ok(())
}

/// The market features of the snapshot's day (one object per market), with the earlier days as
/// look-back.
fn market_features(l: &Loaded) -> eyre::Result<Vec<serde_json::Value>> {
    let mut all = l.earlier.clone();
    all.push(l.snapshot.clone());
    let f = market::features(&all)?;
    let rows = l.snapshot.assets.len() + 1;
    let markets = f.column("market")?.str()?.clone();
    let mut out = Vec::with_capacity(rows);
    for i in f.height().saturating_sub(rows)..f.height() {
        let mut row = serde_json::Map::new();
        row.insert("market".into(), json!(markets.get(i)));
        for name in market::FEATURE_COLUMNS {
            row.insert(name.into(), json!(f.column(name)?.f64()?.get(i)));
        }
        out.push(serde_json::Value::Object(row));
    }
    Ok(out)
}

fn print_features(rows: &[serde_json::Value]) {
    println!(
        "  {:<8} {:>14} {:>14} {:>7} {:>7} {:>7} {:>13} {:>13} {:>13} {:>7} {:>7} {:>6}",
        "market",
        "supply USD",
        "debt USD",
        "util",
        "top10c",
        "HHIc",
        "at risk -10%",
        "at risk -20%",
        "at risk -30%",
        "vol7d",
        "vol30d",
        "dd30d"
    );
    for r in rows {
        let v = |k: &str| r[k].as_f64().map_or("-".to_string(), |x| format!("{x:.4}"));
        let usd = |k: &str| r[k].as_f64().map_or("-".to_string(), |x| format!("{x:.0}"));
        println!(
            "  {:<8} {:>14} {:>14} {:>7} {:>7} {:>7} {:>13} {:>13} {:>13} {:>7} {:>7} {:>6}",
            r["market"].as_str().unwrap_or("?"),
            usd("supply_usd"),
            usd("debt_usd"),
            v("utilization"),
            v("top10_collateral_share"),
            v("hhi_collateral"),
            usd("debt_at_risk_10"),
            usd("debt_at_risk_20"),
            usd("debt_at_risk_30"),
            v("volatility_7d"),
            v("volatility_30d"),
            v("drawdown_30d"),
        );
    }
}

fn reserve_json(s: &MarketSnapshot, r: &Recommendation) -> serde_json::Value {
    let current = s.asset_index(&r.symbol).map(|k| {
        let a = &s.assets[k];
        json!({ "ltv": a.ltv_bps, "liquidation_threshold": a.liquidation_threshold_bps,
            "liquidation_bonus": a.liquidation_bonus_bps, "price_usd": a.price,
            "supply_tokens": s.supply(k), "borrow_tokens": s.borrowed(k) })
    });
    json!({
        "symbol": r.symbol,
        "current": current,
        "recommended": r.params,
        "target_met": r.target_met,
        "reserve_size_usd": r.reserve_size_usd,
        "target_usd": r.target_usd,
        "measure_usd": r.measure_usd,
        "tail_drop_95": r.tail_drop,
        "grid_points": r.evaluations,
    })
}

fn print_human(
    l: &Loaded,
    s: &RiskSummary,
    recs: &[Recommendation],
    with_debt: usize,
    (from, to): (Option<String>, Option<String>),
) {
    let snap = &l.snapshot;
    println!(
        "\nzkrisk risk — {}{} at {} ({} accounts, {} with debt)",
        l.source,
        l.block.map(|b| format!(" block {b}")).unwrap_or_default(),
        prices::ymd(snap.day),
        snap.accounts.len(),
        with_debt
    );
    println!(
        "  market       collateral {:.0} USD, debt {:.0} USD, bad debt now {:.2} USD; \
         liquidations: {}",
        s.total_collateral_usd, s.total_debt_usd, s.bad_debt_now, l.rules_name
    );
    println!(
        "  history      {} days of joint daily returns, {} → {} ({})",
        s.history_days,
        from.unwrap_or_default(),
        to.unwrap_or_default(),
        l.sources.iter().map(|(x, _)| x.as_str()).collect::<Vec<_>>().join(", ")
    );
    println!(
        "  monte-carlo  {} paths, {} day(s), circular block bootstrap, block {} days",
        s.paths, s.horizon_days, s.block_len
    );
    println!(
        "  bad debt     VaR95 {:.2}  ES95 {:.2}  EVaR99 {:.2}  mean {:.2}  max {:.2} USD; \
         P(bad debt > 0) {:.4}",
        s.var95_bad_debt,
        s.es95_bad_debt,
        s.evar99_bad_debt,
        s.mean_bad_debt,
        s.max_bad_debt,
        s.p_bad_debt
    );
    println!(
        "  liquidated   LaR95 {:.2}  mean {:.2} USD of collateral",
        s.lar95_liquidated, s.mean_liquidated
    );
    println!(
        "  {:<8} {:>17} {:>17} {:>17} {:>16} {:>16} {:>6} {:>14}",
        "reserve",
        "LTV now→rec",
        "LT now→rec",
        "bonus now→rec",
        "supply cap",
        "borrow cap",
        "met",
        "measure USD"
    );
    for r in recs {
        let Some(k) = snap.asset_index(&r.symbol) else { continue };
        let a = &snap.assets[k];
        let p = r.params;
        println!(
            "  {:<8} {:>8}→{:<8} {:>8}→{:<8} {:>8}→{:<8} {:>16} {:>16} {:>6} {:>14.2}",
            r.symbol,
            a.ltv_bps,
            p.ltv,
            a.liquidation_threshold_bps,
            p.liquidation_threshold,
            a.liquidation_bonus_bps,
            p.liquidation_bonus,
            p.supply_cap,
            p.borrow_cap,
            r.target_met,
            r.measure_usd
        );
    }
}
