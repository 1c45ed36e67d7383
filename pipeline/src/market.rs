//! Market-level views: snapshots of a whole market's positions (from an ingested Aave v3 dataset
//! or from the MakerDAO ETH-B vault states), the daily market features computed from them, and
//! the joint daily return history of the market's assets from `data/prices`.
//!
//! - [`aave_snapshot`] / [`aave_daily_snapshots`]: every account's supply, collateral and debt per
//!   reserve, in whole tokens, with the reserves' prices and collateral parameters, rebuilt with
//!   [`positions`](crate::aave::positions);
//! - [`maker_snapshots`]: the same for the ETH-B vaults of [`crate::vaults::load_maker_eth_b`]
//!   (collateral ETH, debt DAI);
//! - [`features`]: one row per day and market with utilization, concentration, debt at risk under
//!   price drops, realized volatility and drawdown (columns in [`FEATURE_COLUMNS`]);
//! - [`joint_returns`]: daily log returns of several assets on their common days.
//!
//! Pure: no network, no chain.

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
};

use polars::prelude::*;
use ruint::aliases::U256;

use crate::{
    aave::{
        events::{AaveEvent, Record},
        positions::{MarketState, ray_mul, rebuild},
        store::Dataset,
    },
    error::{Error, Result},
    prices::{self, DailyOhlcv},
    vaults,
};

/// Seconds per day.
const DAY: u64 = 86_400;

/// Symbols treated as USD stablecoins: the price drops of [`features`]' market-wide row leave
/// them unchanged.
pub const STABLECOINS: [&str; 8] = ["USDC", "USDT", "DAI", "LUSD", "FRAX", "GHO", "PYUSD", "USDS"];

/// MakerDAO ETH-B's liquidation penalty (`chop`), 13 %: the ETH-B liquidations in
/// `data/maker-eth-b` repay 44,247.79 DAI per 50,000 DAI bite (= 50,000 / 1.13).
pub const MAKER_ETH_B_CHOP: f64 = 1.13;

/// Whether `symbol` is one of [`STABLECOINS`] (case-insensitive).
pub fn is_stable(symbol: &str) -> bool {
    STABLECOINS.iter().any(|s| s.eq_ignore_ascii_case(symbol))
}

/// One asset of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotAsset {
    /// Symbol, e.g. `WETH`.
    pub symbol: String,
    /// Price, USD per whole token.
    pub price: f64,
    /// LTV, bps.
    pub ltv_bps: u16,
    /// Liquidation threshold, bps (0: not collateral).
    pub liquidation_threshold_bps: u16,
    /// Liquidation bonus, bps (10 000 + premium; 0 when never configured).
    pub liquidation_bonus_bps: u16,
}

/// One account of a snapshot: whole tokens per asset, indexed like [`MarketSnapshot::assets`].
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotAccount {
    /// The account (address or vault id).
    pub account: String,
    /// Everything supplied (aToken balance), collateral or not.
    pub supplied: Vec<f64>,
    /// The part of `supplied` that counts as collateral (flag on and threshold > 0).
    pub collateral: Vec<f64>,
    /// Debt.
    pub debt: Vec<f64>,
}

/// A market's positions at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketSnapshot {
    /// The UTC day (days since 1970-01-01).
    pub day: i64,
    /// Timestamp the balances are valued at (seconds).
    pub timestamp: u64,
    /// The assets.
    pub assets: Vec<SnapshotAsset>,
    /// The accounts (only those with any supply or debt).
    pub accounts: Vec<SnapshotAccount>,
}

impl MarketSnapshot {
    /// Index of `symbol` in [`Self::assets`].
    pub fn asset_index(&self, symbol: &str) -> Option<usize> {
        self.assets.iter().position(|a| a.symbol == symbol)
    }

    /// Total supplied of asset `k`, whole tokens.
    pub fn supply(&self, k: usize) -> f64 {
        self.accounts.iter().map(|a| a.supplied[k]).sum()
    }

    /// Total debt of asset `k`, whole tokens.
    pub fn borrowed(&self, k: usize) -> f64 {
        self.accounts.iter().map(|a| a.debt[k]).sum()
    }

    /// Health factor of account `i` with the prices multiplied by `factors` (one per asset).
    fn health(&self, i: usize, factors: &[f64]) -> f64 {
        let a = &self.accounts[i];
        let (mut clt, mut d) = (0.0, 0.0);
        for (k, s) in self.assets.iter().enumerate() {
            let p = s.price * factors[k];
            clt += a.collateral[k] * p * f64::from(s.liquidation_threshold_bps) / 1e4;
            d += a.debt[k] * p;
        }
        if d <= 0.0 { f64::INFINITY } else { clt / d }
    }

    fn debt_usd(&self, i: usize) -> f64 {
        let a = &self.accounts[i];
        self.assets.iter().enumerate().map(|(k, s)| a.debt[k] * s.price).sum()
    }
}

fn u256_tokens(v: U256, decimals: u8) -> f64 {
    f64::from(v) / 10f64.powi(i32::from(decimals))
}

fn bps(v: U256) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// The snapshot of an Aave market rebuilt to `state.block`, balances valued at time `t`.
///
/// The liquidation bonus of each reserve is the last `CollateralConfigurationChanged` in
/// `records` up to `state.block` (the rebuilt state does not keep it). Reserves appear in the
/// order of the dataset's metadata (`symbols`: asset address → symbol, decimals).
///
/// # Errors
/// [`Error::Rebuild`] when a reserve has no decimals or no price, or an account uses e-mode
/// (as [`MarketState::account_data`]).
pub fn aave_snapshot(
    state: &MarketState,
    records: &[Record],
    symbols: &[(String, String, u8)],
    t: u64,
) -> Result<MarketSnapshot> {
    let mut bonus = HashMap::new();
    for r in records.iter().take_while(|r| r.meta.block_number <= state.block) {
        note_bonus(&mut bonus, r);
    }
    snapshot_with(state, &bonus, symbols, t, (t / DAY) as i64)
}

/// Records the liquidation bonus of a `CollateralConfigurationChanged` event.
fn note_bonus(bonus: &mut HashMap<String, u16>, r: &Record) {
    if let AaveEvent::CollateralConfigurationChanged { asset, liquidation_bonus, .. } = &r.event {
        bonus.insert(asset.clone(), bps(*liquidation_bonus));
    }
}

fn snapshot_with(
    state: &MarketState,
    bonus: &HashMap<String, u16>,
    symbols: &[(String, String, u8)],
    t: u64,
    day: i64,
) -> Result<MarketSnapshot> {
    let mut assets = Vec::new();
    let mut index = Vec::new();
    for (asset, symbol, decimals) in symbols {
        let Some(reserve) = state.reserves.get(asset) else { continue };
        let price = f64::from(state.price(asset)?) / 1e8;
        assets.push(SnapshotAsset {
            symbol: symbol.clone(),
            price,
            ltv_bps: bps(reserve.ltv),
            liquidation_threshold_bps: bps(reserve.liquidation_threshold),
            liquidation_bonus_bps: bonus.get(asset).copied().unwrap_or(0),
        });
        index.push((asset.as_str(), reserve, *decimals));
    }
    let n = assets.len();
    let mut accounts = Vec::new();
    for (user, holdings) in &state.users {
        // Same checks as getUserAccountData (e-mode, unknown reserves).
        state.account_data(user, t)?;
        let mut acc = SnapshotAccount {
            account: user.clone(),
            supplied: vec![0.0; n],
            collateral: vec![0.0; n],
            debt: vec![0.0; n],
        };
        for (k, (asset, reserve, decimals)) in index.iter().enumerate() {
            let Some(p) = holdings.get(*asset) else { continue };
            let supplied =
                u256_tokens(ray_mul(p.scaled_a, reserve.normalized_income(t)?)?, *decimals);
            acc.supplied[k] = supplied;
            if p.collateral && !reserve.liquidation_threshold.is_zero() {
                acc.collateral[k] = supplied;
            }
            if p.borrowing && !p.scaled_debt.is_zero() {
                acc.debt[k] =
                    u256_tokens(ray_mul(p.scaled_debt, reserve.normalized_debt(t)?)?, *decimals);
            }
        }
        if acc.supplied.iter().chain(&acc.debt).any(|x| *x > 0.0) {
            accounts.push(acc);
        }
    }
    Ok(MarketSnapshot { day, timestamp: t, assets, accounts })
}

/// `(asset, symbol, decimals)` of every reserve of a dataset, in its metadata order.
pub fn dataset_symbols(data: &Dataset) -> Vec<(String, String, u8)> {
    data.checkpoint
        .reserves
        .iter()
        .map(|r| (r.asset.clone(), r.symbol.clone(), r.decimals))
        .collect()
}

/// The snapshot of an ingested dataset at `block`, valued at `timestamp` (the block's).
///
/// # Errors
/// As [`rebuild`] and [`aave_snapshot`].
pub fn aave_snapshot_at(data: &Dataset, block: u64, timestamp: u64) -> Result<MarketSnapshot> {
    let state = rebuild(&data.records, &data.checkpoint, block)?;
    aave_snapshot(&state, &data.records, &dataset_symbols(data), timestamp)
}

/// One snapshot per UTC day of an ingested dataset, at the end of the day (balances valued at
/// the next midnight), from the first day on which every initialised reserve has a price to the
/// day of the last event. Days without events repeat the previous state.
///
/// # Errors
/// As [`MarketState::apply`] and [`aave_snapshot`].
pub fn aave_daily_snapshots(data: &Dataset) -> Result<Vec<MarketSnapshot>> {
    let symbols = dataset_symbols(data);
    let mut state = MarketState::new(&data.checkpoint);
    let mut bonus = HashMap::new();
    let mut out = Vec::new();
    let Some(first) = data.records.first() else { return Ok(out) };
    let mut day = first.meta.block_timestamp / DAY;
    let flush = |state: &MarketState,
                 bonus: &HashMap<String, u16>,
                 day: u64,
                 out: &mut Vec<MarketSnapshot>|
     -> Result<()> {
        let priced = state.reserves.keys().all(|a| state.price(a).is_ok());
        if priced && !state.reserves.is_empty() {
            out.push(snapshot_with(state, bonus, &symbols, (day + 1) * DAY, day as i64)?);
        }
        Ok(())
    };
    for r in &data.records {
        let d = r.meta.block_timestamp / DAY;
        while d > day {
            flush(&state, &bonus, day, &mut out)?;
            day += 1;
        }
        state.apply(r)?;
        note_bonus(&mut bonus, r);
    }
    flush(&state, &bonus, day, &mut out)?;
    Ok(out)
}

fn frame_err(column: &str, reason: impl Into<String>) -> Error {
    Error::Frame { frame: "states", column: column.into(), reason: reason.into() }
}

/// One snapshot per day of a MakerDAO ETH-B state table ([`vaults::daily_states`]: `date,
/// account, collateral, debt, price, liquidation_ratio`). Assets: `ETH` (price of the day,
/// liquidation threshold `1 / liquidation_ratio`, bonus [`MAKER_ETH_B_CHOP`]) and `DAI` (at par:
/// Maker values debt at 1 USD). Collateral is ETH, debt DAI; only vaults with debt appear (the
/// table's rows).
///
/// # Errors
/// [`Error::Frame`] for a missing or ill-typed column.
pub fn maker_snapshots(states: &DataFrame) -> Result<Vec<MarketSnapshot>> {
    let days: Vec<i64> = states
        .column("date")
        .map_err(|_| frame_err("date", "missing column"))?
        .cast(&DataType::Int32)?
        .i32()?
        .iter()
        .map(|d| d.map(i64::from).ok_or_else(|| frame_err("date", "null date")))
        .collect::<Result<_>>()?;
    let accounts: Vec<String> = states
        .column("account")
        .map_err(|_| frame_err("account", "missing column"))?
        .str()
        .map_err(|_| frame_err("account", "not a string column"))?
        .iter()
        .map(|a| a.map(str::to_string).ok_or_else(|| frame_err("account", "null account")))
        .collect::<Result<_>>()?;
    let collateral = vaults::column_f64(states, "collateral")?;
    let debt = vaults::column_f64(states, "debt")?;
    let price = vaults::column_f64(states, "price")?;
    let ratio = vaults::column_f64(states, "liquidation_ratio")?;
    let mut by_day: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, d) in days.iter().enumerate() {
        by_day.entry(*d).or_default().push(i);
    }
    let mut out = Vec::with_capacity(by_day.len());
    for (day, rows) in by_day {
        let first = rows[0];
        let lt = (1e4 / ratio[first]).floor().clamp(0.0, 9_999.0) as u16;
        out.push(MarketSnapshot {
            day,
            timestamp: u64::try_from(day + 1).unwrap_or(0) * DAY,
            assets: vec![
                SnapshotAsset {
                    symbol: "ETH".into(),
                    price: price[first],
                    ltv_bps: lt,
                    liquidation_threshold_bps: lt,
                    liquidation_bonus_bps: (MAKER_ETH_B_CHOP * 1e4).round() as u16,
                },
                SnapshotAsset {
                    symbol: "DAI".into(),
                    price: 1.0,
                    ltv_bps: 0,
                    liquidation_threshold_bps: 0,
                    liquidation_bonus_bps: 0,
                },
            ],
            accounts: rows
                .iter()
                .map(|i| SnapshotAccount {
                    account: accounts[*i].clone(),
                    supplied: vec![collateral[*i], 0.0],
                    collateral: vec![collateral[*i], 0.0],
                    debt: vec![0.0, debt[*i]],
                })
                .collect(),
        });
    }
    Ok(out)
}

/// Columns of [`features`], after `date` (Date) and `market` (String), all `f64` (null where
/// undefined):
///
/// | column | definition for market `k` on day `d` |
/// |---|---|
/// | `supply_usd` | Σ supplied of `k` × price (row `ALL`: over every asset) |
/// | `debt_usd` | Σ debt of `k` × price |
/// | `utilization` | `debt_usd / supply_usd` (null when nothing is supplied); for a Maker market the `ALL` row is the aggregate loan-to-value (supply = collateral) |
/// | `accounts` | accounts with supply or debt in `k` |
/// | `top10_collateral_share` | share of `k`'s collateral (USD) held by the 10 largest holders |
/// | `hhi_collateral` | Herfindahl–Hirschman index `Σ sᵢ²` of the holders' collateral shares, in (0, 1] |
/// | `top10_debt_share`, `hhi_debt` | the same for debt of `k` |
/// | `debt_at_risk_10`, `_20`, `_30` | debt (USD, all assets) of the accounts that are healthy now (HF ≥ 1) and liquidatable (HF < 1) once `k`'s price falls 10/20/30 % (row `ALL`: every non-stable asset falls, [`STABLECOINS`] keep their price) |
/// | `volatility_7d`, `volatility_30d` | sample standard deviation of the last 7 / 30 daily log returns of `k`'s price up to `d` (not annualised; null with fewer than 2 returns) |
/// | `drawdown_30d` | `1 − p(d) / max p over d−29..=d` |
///
/// Concentration is over accounts; volatility and drawdown use the snapshots' own prices (the
/// market's oracle), so they look back only.
pub const FEATURE_COLUMNS: [&str; 14] = [
    "supply_usd",
    "debt_usd",
    "utilization",
    "accounts",
    "top10_collateral_share",
    "hhi_collateral",
    "top10_debt_share",
    "hhi_debt",
    "debt_at_risk_10",
    "debt_at_risk_20",
    "debt_at_risk_30",
    "volatility_7d",
    "volatility_30d",
    "drawdown_30d",
];

/// Drops of [`features`]' debt-at-risk columns.
pub const PRICE_DROPS: [f64; 3] = [0.10, 0.20, 0.30];

/// Top-10 share and HHI of positive amounts (`None` when they sum to 0).
pub fn concentration(amounts: &[f64]) -> Option<(f64, f64)> {
    let total: f64 = amounts.iter().filter(|x| **x > 0.0).sum();
    if total <= 0.0 {
        return None;
    }
    let mut v: Vec<f64> = amounts.iter().filter(|x| **x > 0.0).map(|x| x / total).collect();
    v.sort_by(|a, b| b.total_cmp(a));
    Some((v.iter().take(10).sum(), v.iter().map(|s| s * s).sum()))
}

/// Sample standard deviation (n − 1); `None` with fewer than 2 values.
fn std_dev(x: &[f64]) -> Option<f64> {
    if x.len() < 2 {
        return None;
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    Some((x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt())
}

/// Debt (USD) of accounts healthy now and liquidatable once the prices are multiplied by
/// `factors`.
fn debt_at_risk(s: &MarketSnapshot, factors: &[f64]) -> f64 {
    let ones = vec![1.0; s.assets.len()];
    (0..s.accounts.len())
        .filter(|i| s.health(*i, &ones) >= 1.0 && s.health(*i, factors) < 1.0)
        .map(|i| s.debt_usd(i))
        .sum::<f64>()
        + 0.0 // an empty sum is −0.0
}

/// The market features of every snapshot (sorted by day), one row per day and market: one
/// market per asset plus `ALL` (the whole market). Columns: `date`, `market`, then
/// [`FEATURE_COLUMNS`].
///
/// # Errors
/// [`Error::Polars`] if the frame cannot be built.
pub fn features(snapshots: &[MarketSnapshot]) -> Result<DataFrame> {
    let n_cols = FEATURE_COLUMNS.len();
    let mut dates: Vec<i32> = Vec::new();
    let mut markets: Vec<String> = Vec::new();
    let mut cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); n_cols];
    let mut history: HashMap<String, Vec<(i64, f64)>> = HashMap::new();
    let mut sorted: Vec<&MarketSnapshot> = snapshots.iter().collect();
    sorted.sort_by_key(|s| s.day);
    for s in sorted {
        let n = s.assets.len();
        for a in &s.assets {
            history.entry(a.symbol.clone()).or_default().push((s.day, a.price));
        }
        for k in 0..=n {
            // USD value of the market's part of one account's amounts.
            let in_k = |v: &[f64]| -> f64 {
                if k == n {
                    v.iter().zip(&s.assets).map(|(x, a)| x * a.price).sum()
                } else {
                    v[k] * s.assets[k].price
                }
            };
            let supply: f64 = s.accounts.iter().map(|a| in_k(&a.supplied)).sum();
            let debt: f64 = s.accounts.iter().map(|a| in_k(&a.debt)).sum();
            let coll: Vec<f64> = s.accounts.iter().map(|a| in_k(&a.collateral)).collect();
            let debts: Vec<f64> = s.accounts.iter().map(|a| in_k(&a.debt)).collect();
            let holders = s
                .accounts
                .iter()
                .filter(|a| in_k(&a.supplied) > 0.0 || in_k(&a.debt) > 0.0)
                .count();
            let (top_c, hhi_c) = concentration(&coll).unzip();
            let (top_d, hhi_d) = concentration(&debts).unzip();
            let mut row = vec![
                Some(supply),
                Some(debt),
                (supply > 0.0).then(|| debt / supply),
                Some(holders as f64),
                top_c,
                hhi_c,
                top_d,
                hhi_d,
            ];
            for drop in PRICE_DROPS {
                let factors: Vec<f64> = (0..n)
                    .map(|j| {
                        let hit = if k == n { !is_stable(&s.assets[j].symbol) } else { j == k };
                        if hit { 1.0 - drop } else { 1.0 }
                    })
                    .collect();
                row.push(Some(debt_at_risk(s, &factors)));
            }
            if k < n {
                let h = &history[&s.assets[k].symbol];
                let window = |days: i64| -> Vec<f64> {
                    let recent: Vec<&(i64, f64)> =
                        h.iter().filter(|(d, _)| *d > s.day - days - 1).collect();
                    recent
                        .windows(2)
                        .filter(|w| w[1].0 - w[0].0 == 1 && w[0].1 > 0.0 && w[1].1 > 0.0)
                        .map(|w| (w[1].1 / w[0].1).ln())
                        .collect()
                };
                let high =
                    h.iter().filter(|(d, _)| *d > s.day - 30).map(|(_, p)| *p).fold(0.0, f64::max);
                row.push(std_dev(&window(7)));
                row.push(std_dev(&window(30)));
                row.push((high > 0.0).then(|| 1.0 - s.assets[k].price / high));
            } else {
                row.extend([None, None, None]);
            }
            for (c, v) in cols.iter_mut().zip(row) {
                c.push(v);
            }
            dates.push(i32::try_from(s.day).unwrap_or(i32::MAX));
            markets.push(if k == n { "ALL".to_string() } else { s.assets[k].symbol.clone() });
        }
    }
    let mut columns: Vec<Column> = vec![
        Int32Chunked::from_vec("date".into(), dates).into_date().into_series().into(),
        Column::new("market".into(), markets),
    ];
    for (name, values) in FEATURE_COLUMNS.iter().zip(cols) {
        columns.push(Column::new((*name).into(), values));
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

/// Where the daily closes of an asset come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceSource {
    /// A daily OHLCV file (`prices::load_daily_ohlcv`), path relative to the data directory.
    Ohlcv(String),
    /// A column of daily snapshots (`prices::load_daily_snapshot_ohlc`).
    Snapshot(String, String),
    /// A CoinGecko export (`prices::load_daily_usd`); the close of `d` is the snapshot of `d + 1`.
    CoinGecko(String),
    /// Always 1 USD (a debt the protocol values at par, such as DAI in Maker).
    Par,
}

/// The shipped price history of an Aave reserve symbol (`data/README.md`): WETH, WBTC, wstETH,
/// USDC, USDT from `prices/daily-ohlcv/`, DAI from `prices/primary_token_price.csv`.
pub fn aave_price_source(symbol: &str) -> Option<PriceSource> {
    let file = match symbol.to_ascii_uppercase().as_str() {
        "WETH" | "ETH" => "15.WETH-USD.csv",
        "WBTC" => "18.WBTC-USD.csv",
        "WSTETH" => "14.WSTETH-USD.csv",
        "USDC" => "7.USDC-USD.csv",
        "USDT" => "3.USDT-USD.csv",
        "DAI" => {
            return Some(PriceSource::Snapshot(
                "prices/primary_token_price.csv".into(),
                "DAI".into(),
            ));
        }
        _ => return None,
    };
    Some(PriceSource::Ohlcv(format!("prices/daily-ohlcv/{file}")))
}

/// The sources of the MakerDAO ETH-B market: ETH from the CoinGecko file, DAI at par.
pub fn maker_price_sources() -> Vec<(String, PriceSource)> {
    vec![
        ("ETH".into(), PriceSource::CoinGecko("prices/eth_usd_daily_coingecko.csv".into())),
        ("DAI".into(), PriceSource::Par),
    ]
}

/// Daily log returns of several assets on the days all of them have.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnHistory {
    /// Column names.
    pub symbols: Vec<String>,
    /// Day of each row (the return from the close of `day − 1` to the close of `day`).
    pub days: Vec<i64>,
    /// Row-major `days × symbols`.
    pub log_returns: Vec<f64>,
}

fn closes(data_dir: &Path, source: &PriceSource) -> Result<Option<BTreeMap<i64, f64>>> {
    let from_ohlcv = |o: DailyOhlcv| o.days.into_iter().zip(o.close).collect();
    Ok(Some(match source {
        PriceSource::Ohlcv(f) => from_ohlcv(prices::load_daily_ohlcv(&data_dir.join(f))?),
        PriceSource::Snapshot(f, c) => {
            from_ohlcv(prices::load_daily_snapshot_ohlc(&data_dir.join(f), c)?)
        }
        PriceSource::CoinGecko(f) => {
            let df = prices::load_daily_usd(&data_dir.join(f))?.collect()?;
            let days = df.column("date")?.cast(&DataType::Int32)?;
            let p: Vec<Option<f64>> = df.column("price")?.f64()?.iter().collect();
            days.i32()?.iter().zip(p).filter_map(|(d, p)| Some((i64::from(d?) - 1, p?))).collect()
        }
        PriceSource::Par => return Ok(None),
    }))
}

/// Joint daily log returns of `sources` (symbol, source; paths relative to `data_dir`) over the
/// last `max_days` days up to and including `until_day` on which every non-par asset has a close
/// on the day and the day before; [`PriceSource::Par`] assets get 0.
///
/// # Errors
/// Loader errors naming the file; [`Error::Empty`] when no common day exists.
pub fn joint_returns(
    data_dir: &Path,
    sources: &[(String, PriceSource)],
    until_day: i64,
    max_days: usize,
) -> Result<ReturnHistory> {
    let series = sources.iter().map(|(_, s)| closes(data_dir, s)).collect::<Result<Vec<_>>>()?;
    let candidates: Vec<i64> = match series.iter().flatten().next() {
        Some(first) => first.keys().copied().filter(|d| *d <= until_day).collect(),
        None => (until_day - max_days as i64 + 1..=until_day).collect(),
    };
    let mut days = Vec::new();
    let mut rows = Vec::new();
    for d in candidates {
        let row: Option<Vec<f64>> = series
            .iter()
            .map(|s| match s {
                None => Some(0.0),
                Some(m) => {
                    let (a, b) = (m.get(&(d - 1))?, m.get(&d)?);
                    Some((b / a).ln())
                }
            })
            .collect();
        if let Some(r) = row {
            days.push(d);
            rows.push(r);
        }
    }
    let skip = days.len().saturating_sub(max_days);
    if days.len() == skip {
        return Err(Error::Empty {
            path: data_dir.join("prices"),
            what: format!(
                "no day up to {} on which {} all have prices",
                prices::ymd(until_day),
                sources.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(ReturnHistory {
        symbols: sources.iter().map(|(s, _)| s.clone()).collect(),
        days: days[skip..].to_vec(),
        log_returns: rows[skip..].concat(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(symbol: &str, price: f64, lt: u16) -> SnapshotAsset {
        SnapshotAsset {
            symbol: symbol.into(),
            price,
            ltv_bps: lt.saturating_sub(500),
            liquidation_threshold_bps: lt,
            liquidation_bonus_bps: if lt > 0 { 10_500 } else { 0 },
        }
    }

    fn account(name: &str, eth: f64, usdc_supplied: f64, usdc_debt: f64) -> SnapshotAccount {
        SnapshotAccount {
            account: name.into(),
            supplied: vec![eth, usdc_supplied],
            collateral: vec![eth, 0.0],
            debt: vec![0.0, usdc_debt],
        }
    }

    /// ETH at `price` (LT 80 %), USDC (not collateral).
    /// - a: 1 ETH, 1,000 USDC debt → HF = 0.8 · p / 1,000;
    /// - b: 2 ETH, 1,400 USDC debt;
    /// - c: supplies 10,000 USDC.
    fn snapshot(day: i64, price: f64) -> MarketSnapshot {
        MarketSnapshot {
            day,
            timestamp: (day as u64 + 1) * DAY,
            assets: vec![asset("ETH", price, 8_000), asset("USDC", 1.0, 0)],
            accounts: vec![
                account("a", 1.0, 0.0, 1_000.0),
                account("b", 2.0, 0.0, 1_400.0),
                account("c", 0.0, 10_000.0, 0.0),
            ],
        }
    }

    fn get(df: &DataFrame, market: &str, day: usize, col: &str) -> Option<f64> {
        let m = df.column("market").unwrap().str().unwrap();
        let rows: Vec<usize> = (0..df.height()).filter(|i| m.get(*i) == Some(market)).collect();
        df.column(col).unwrap().f64().unwrap().get(rows[day])
    }

    #[test]
    fn features_by_hand() {
        // ETH 1,500 then 2,000 then 1,800.
        let snaps = vec![snapshot(100, 1_500.0), snapshot(101, 2_000.0), snapshot(102, 1_800.0)];
        let df = features(&snaps).unwrap();
        assert_eq!(df.height(), 9);
        assert_eq!(df.width(), 2 + FEATURE_COLUMNS.len());
        // Day 102: ETH supply 3 · 1,800 = 5,400; USDC supply 10,000 and debt 2,400.
        assert_eq!(get(&df, "ETH", 2, "supply_usd"), Some(5_400.0));
        assert_eq!(get(&df, "USDC", 2, "utilization"), Some(0.24));
        assert_eq!(get(&df, "ALL", 2, "utilization"), Some(2_400.0 / 15_400.0));
        // Collateral shares 1/3 and 2/3: top-10 1, HHI 5/9.
        assert_eq!(get(&df, "ETH", 2, "top10_collateral_share"), Some(1.0));
        assert!((get(&df, "ETH", 2, "hhi_collateral").unwrap() - 5.0 / 9.0).abs() < 1e-12);
        assert_eq!(get(&df, "ETH", 2, "top10_debt_share"), None);
        assert!(
            (get(&df, "USDC", 2, "hhi_debt").unwrap()
                - (1.0f64 / 2.4).powi(2)
                - (1.4f64 / 2.4).powi(2))
            .abs()
                < 1e-12
        );
        // HF at 1,800: a 1.44, b 2.057. −10 %: a 1.296; −20 %: a 1.152; −30 %: a 1.008 — all
        // healthy. At 1,500 (day 100): a 1.2 → −20 % 0.96: 1,000 at risk; −30 % 0.84 and b
        // 0.8·2·1,050/1,400 = 1.2: still 1,000.
        assert_eq!(get(&df, "ETH", 2, "debt_at_risk_30"), Some(0.0));
        assert_eq!(get(&df, "ETH", 0, "debt_at_risk_10"), Some(0.0));
        assert_eq!(get(&df, "ETH", 0, "debt_at_risk_20"), Some(1_000.0));
        assert_eq!(get(&df, "ALL", 0, "debt_at_risk_30"), Some(1_000.0));
        // USDC never moves in its own row: nothing at risk.
        assert_eq!(get(&df, "USDC", 0, "debt_at_risk_30"), Some(0.0));
        // Volatility: returns ln(4/3), ln(0.9); sample sd of two values = |a − b| / √2.
        let want = ((4.0f64 / 3.0).ln() - 0.9f64.ln()).abs() / 2f64.sqrt();
        assert!((get(&df, "ETH", 2, "volatility_7d").unwrap() - want).abs() < 1e-12);
        assert_eq!(get(&df, "ETH", 1, "volatility_7d"), None);
        assert!((get(&df, "ETH", 2, "drawdown_30d").unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(get(&df, "ALL", 2, "volatility_30d"), None);
    }

    #[test]
    fn concentration_table() {
        assert_eq!(concentration(&[0.0, 0.0]), None);
        assert_eq!(concentration(&[5.0]), Some((1.0, 1.0)));
        let (top, hhi) = concentration(&[1.0; 20]).unwrap();
        assert!((top - 0.5).abs() < 1e-12 && (hhi - 0.05).abs() < 1e-12);
    }

    #[test]
    fn maker_states_become_snapshots() {
        let df = df!(
            "date" => [19_000i32, 19_000, 19_001],
            "account" => ["1", "2", "1"],
            "collateral" => [10.0, 5.0, 10.0],
            "debt" => [5_000.0, 3_000.0, 5_000.0],
            "price" => [1_000.0, 1_000.0, 900.0],
            "liquidation_ratio" => [1.3, 1.3, 1.3],
        )
        .unwrap();
        let df = df.lazy().with_column(col("date").cast(DataType::Date)).collect().unwrap();
        let snaps = maker_snapshots(&df).unwrap();
        assert_eq!(snaps.len(), 2);
        assert_eq!(snaps[0].accounts.len(), 2);
        assert_eq!(snaps[0].assets[0].liquidation_threshold_bps, 7_692);
        assert_eq!(snaps[0].assets[0].liquidation_bonus_bps, 11_300);
        assert_eq!(snaps[1].assets[0].price, 900.0);
        assert_eq!(snaps[1].borrowed(1), 5_000.0);
        let f = features(&snaps).unwrap();
        // Aggregate LTV of day 19,001: 5,000 / 9,000.
        assert!((get(&f, "ALL", 1, "utilization").unwrap() - 5.0 / 9.0).abs() < 1e-12);
    }

    #[test]
    fn maker_features_on_shipped_data() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        let states = vaults::load_maker_eth_b(&data, 7).unwrap();
        let snaps = maker_snapshots(&states).unwrap();
        let f = features(&snaps).unwrap();
        assert_eq!(f.height(), snaps.len() * 3);
        let col = |c: &str| f.column(c).unwrap().f64().unwrap().clone();
        let (top, hhi, util) =
            (col("top10_collateral_share"), col("hhi_collateral"), col("utilization"));
        let markets = f.column("market").unwrap().str().unwrap().clone();
        for i in 0..f.height() {
            if let (Some(t), Some(h)) = (top.get(i), hhi.get(i)) {
                assert!(h > 0.0 && h <= t + 1e-12 && t <= 1.0 + 1e-12, "row {i}");
            }
            if markets.get(i) == Some("ALL") {
                assert!(util.get(i).unwrap() > 0.0, "row {i}");
            }
        }
        let last = f.height() - 3;
        let dar = |c: &str| col(c).get(last).unwrap();
        assert!(dar("debt_at_risk_10") <= dar("debt_at_risk_20"));
        assert!(dar("debt_at_risk_20") <= dar("debt_at_risk_30"));
        eprintln!("{}", f.slice(last as i64, 3));
    }

    #[test]
    fn joint_returns_of_shipped_files() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        let until = prices::day_from_ymd("2022-06-13").unwrap();
        let sources: Vec<(String, PriceSource)> = ["WETH", "WBTC", "wstETH", "USDC", "USDT", "DAI"]
            .iter()
            .map(|s| ((*s).to_string(), aave_price_source(s).unwrap()))
            .collect();
        let r = joint_returns(&data, &sources, until, 10_000).unwrap();
        // wstETH starts 2021-10-22: its first return is on 10-23.
        assert_eq!(prices::ymd(r.days[0]), "2021-10-23");
        assert_eq!(*r.days.last().unwrap(), until);
        assert_eq!(r.log_returns.len(), r.days.len() * 6);
        let short = joint_returns(&data, &sources, until, 30).unwrap();
        assert_eq!(short.days.len(), 30);
        let maker = joint_returns(&data, &maker_price_sources(), until, 365).unwrap();
        assert_eq!(maker.days.len(), 365);
        assert!(maker.log_returns.chunks(2).all(|r| r[1] == 0.0));
        // ETH fell from 1,5xx to 1,2xx on 2022-06-13 (CoinGecko closes).
        assert!(maker.log_returns[2 * 364] < -0.1, "{}", maker.log_returns[2 * 364]);
        assert!(joint_returns(&data, &sources, 0, 10).is_err());
    }
}
