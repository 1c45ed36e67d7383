//! Daily vault states and their features: the training table for liquidation models.
//!
//! # No look-ahead
//! Every column of a row dated `d` except the label is computed from information available at the
//! end of day `d` (UTC):
//! - the vault's state is the running sum of its events with `timestamp < d + 1 00:00 UTC`;
//! - the price is the CoinGecko snapshot of `d + 1 00:00 UTC` (known at the end of `d`), and
//!   return and volatility windows look back only;
//! - the liquidation ratio is the one set before `d + 1 00:00 UTC`.
//!
//! Only the label looks forward: [`LABEL`] is true when the vault has a liquidation event with
//! timestamp in `[d + 1 00:00, d + 1 + horizon 00:00)` UTC. An event at exactly midnight belongs to
//! the day that starts then. The integration tests check that appending later events changes no
//! feature of an earlier day.

use std::{collections::BTreeMap, path::Path};

use polars::prelude::*;

use crate::{
    error::{Error, Result},
    maker, prices,
    table::{MS_PER_DAY, day_of_ms, format_day},
};

/// The model features, in matrix column order. All are `f64` and finite.
///
/// | name | definition at the end of day `d` |
/// |---|---|
/// | `log_collateral_ratio` | `ln(cr)`, `cr` = `collateral_ratio` clipped to [0.1, 20] |
/// | `distance_to_liquidation` | `cr / liquidation_ratio - 1` (below 0: liquidatable) |
/// | `log_debt` | `ln(1 + debt)`, debt in DAI |
/// | `eth_return_1d` | `p(d) / p(d - 1) - 1`, `p(x)` the end-of-day ETH/USD price of day `x` |
/// | `eth_return_7d` | `p(d) / p(d - 7) - 1` |
/// | `eth_volatility_30d` | sample standard deviation (n - 1) of the 30 daily log returns `ln(p(x) / p(x - 1))`, `x` in `d-29..=d`; not annualised |
/// | `log_age_days` | `ln(1 + d - first day of the vault)` (its first event of any kind) |
/// | `debt_change_7d` | `(debt(d) - debt(d - 7)) / max(debt(d), debt(d - 7), 1)`, in [-1, 1], debt before the vault's first event being 0 |
///
/// The ratio is clipped because beyond 20 (2,000 %) a vault is as safe as it gets, and below 0.1 the
/// data are wrong rather than the vault riskier; unclipped, a handful of such rows would dominate
/// both the fit and the fixed-point ranges of the proof circuit.
///
/// Where the price history is shorter than a window (only near its start, 2015 for ETH), the
/// windows use what exists: a return is taken from the earliest available end-of-day price in the
/// window (0 when there is none before `d`), and the volatility from the available returns (0 with
/// fewer than 2). Missing price days are filled forward, which adds zero returns.
pub const FEATURES: [&str; 8] = [
    "log_collateral_ratio",
    "distance_to_liquidation",
    "log_debt",
    "eth_return_1d",
    "eth_return_7d",
    "eth_volatility_30d",
    "log_age_days",
    "debt_change_7d",
];

/// The features of [`FEATURES`] a price-bound circuit computes from the collateral price it is given
/// (`zkrisk_models::onnx::export_logit_priced`): those that do not depend on the day's ETH price
/// `p(d)` and those proportional to it less one. `log_collateral_ratio` and `eth_volatility_30d` are
/// not affine in `p(d)` and are left out.
pub const PRICED_FEATURES: [&str; 6] = [
    "distance_to_liquidation",
    "log_debt",
    "eth_return_1d",
    "eth_return_7d",
    "log_age_days",
    "debt_change_7d",
];

/// How a feature of [`FEATURES`] moves with the day's ETH price `p(d)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceDependence {
    /// It does not depend on `p(d)`: a fact of the vault's history.
    Independent,
    /// `feature = slope · p(d) − 1`, `slope` free of `p(d)`: `distance_to_liquidation`
    /// (`collateral / (debt · liquidation_ratio)`, the vault's collateral being ETH and its debt DAI
    /// at par) and the returns (`1 / p(d − k)`, an earlier close). The ratio is clipped to [0.1, 20]
    /// first; for a vault beyond a bound the slope holds at `p(d)` only.
    Proportional,
    /// Not affine in `p(d)` (`ln` of the ratio, a volatility of log returns).
    Nonlinear,
}

/// How the feature `name` of [`FEATURES`] depends on `p(d)`; `None` for a name not in [`FEATURES`].
pub fn price_dependence(name: &str) -> Option<PriceDependence> {
    use PriceDependence::*;
    Some(match name {
        "distance_to_liquidation" | "eth_return_1d" | "eth_return_7d" => Proportional,
        "log_debt" | "log_age_days" | "debt_change_7d" => Independent,
        "log_collateral_ratio" | "eth_volatility_30d" => Nonlinear,
        _ => return None,
    })
}

/// Rows of features split into the part that does not move with `p(d)` and the slope in it, so that
/// `feature = fixed + slope · p(d)` (row-major, like the values).
#[derive(Clone, Debug, PartialEq)]
pub struct PriceSplit {
    /// The part of each feature that does not move with the price.
    pub fixed: Vec<f64>,
    /// Each feature's slope in the price, per USD.
    pub slope: Vec<f64>,
}

/// Splits row-major `values` of the features `names` (each row computed at the ETH price
/// `prices[row]`, USD) into [`PriceSplit`]: an [`PriceDependence::Independent`] feature is all fixed;
/// a [`PriceDependence::Proportional`] one is `−1` fixed and slope `(feature + 1) / p(d)`.
///
/// # Errors
/// [`Error::Frame`] naming the feature when it is not in [`FEATURES`] or not affine in the price,
/// when the values are not `prices.len()` rows of `names.len()`, or when a price is not positive.
pub fn split_at_price(names: &[&str], values: &[f64], prices: &[f64]) -> Result<PriceSplit> {
    let deps = names
        .iter()
        .map(|n| match price_dependence(n) {
            None => Err(frame_err("features", n, "not one of the vault features")),
            Some(PriceDependence::Nonlinear) => Err(frame_err(
                "features",
                n,
                "is not affine in the ETH price: a price-bound circuit cannot compute it",
            )),
            Some(d) => Ok(d),
        })
        .collect::<Result<Vec<_>>>()?;
    let cols = names.len();
    if values.len() != prices.len() * cols {
        return Err(frame_err(
            "features",
            "values",
            format!("{} values for {} rows of {cols} features", values.len(), prices.len()),
        ));
    }
    let mut fixed = Vec::with_capacity(values.len());
    let mut slope = Vec::with_capacity(values.len());
    for (row, price) in prices.iter().enumerate() {
        if !(price.is_finite() && *price > 0.0) {
            return Err(frame_err("features", "price", format!("row {row}: price {price}")));
        }
        for (j, dep) in deps.iter().enumerate() {
            let x = values[row * cols + j];
            let (f, s) = match dep {
                PriceDependence::Proportional => (-1.0, (x + 1.0) / price),
                _ => (x, 0.0),
            };
            fixed.push(f);
            slope.push(s);
        }
    }
    Ok(PriceSplit { fixed, slope })
}

/// The label column: a liquidation of the vault within the horizon after the row's day.
///
/// The name stays `liquidated_next_7d` whatever `horizon_days` is passed to [`daily_states`].
pub const LABEL: &str = "liquidated_next_7d";

/// Debt (DAI) at or below which a vault is considered closed and produces no row.
pub const DUST_DAI: f64 = 100.0;

/// Floor applied to the collateral ratio in the ratio features.
pub const COLLATERAL_RATIO_FLOOR: f64 = 0.1;

/// Cap applied to the collateral ratio in the ratio features.
pub const COLLATERAL_RATIO_CAP: f64 = 20.0;

/// Trailing window of [`FEATURES`]' `eth_volatility_30d`, in daily returns.
const VOLATILITY_WINDOW: i64 = 30;

fn frame_err(frame: &'static str, column: &str, reason: impl Into<String>) -> Error {
    Error::Frame { frame, column: column.to_string(), reason: reason.into() }
}

fn column<'a>(df: &'a DataFrame, frame: &'static str, name: &str) -> Result<&'a Column> {
    df.column(name).map_err(|_| frame_err(frame, name, "missing column"))
}

/// Finite `f64` values of a numeric column (nulls and non-finite values are errors).
fn f64_values(df: &DataFrame, frame: &'static str, name: &str) -> Result<Vec<f64>> {
    let cast = column(df, frame, name)?
        .cast(&DataType::Float64)
        .map_err(|e| frame_err(frame, name, format!("not numeric: {e}")))?;
    let ca = cast.f64().map_err(|e| frame_err(frame, name, e.to_string()))?;
    ca.iter()
        .enumerate()
        .map(|(row, v)| match v {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(frame_err(frame, name, format!("null or non-finite value in row {row}"))),
        })
        .collect()
}

/// Millisecond timestamps of a `Datetime` column of any time unit.
fn ms_values(df: &DataFrame, frame: &'static str, name: &str) -> Result<Vec<i64>> {
    let col = column(df, frame, name)?;
    let per_ms = match col.dtype() {
        DataType::Datetime(TimeUnit::Milliseconds, _) => 1,
        DataType::Datetime(TimeUnit::Microseconds, _) => 1_000,
        DataType::Datetime(TimeUnit::Nanoseconds, _) => 1_000_000,
        other => {
            return Err(frame_err(frame, name, format!("expected Datetime, found {other}")));
        }
    };
    let ca = col.datetime().map_err(|e| frame_err(frame, name, e.to_string()))?;
    ca.physical()
        .iter()
        .enumerate()
        .map(|(row, v)| {
            v.map(|t| t.div_euclid(per_ms))
                .ok_or_else(|| frame_err(frame, name, format!("null in row {row}")))
        })
        .collect()
}

/// Day numbers (days since 1970-01-01) of a `Date` column.
fn day_values(df: &DataFrame, frame: &'static str, name: &str) -> Result<Vec<i64>> {
    let col = column(df, frame, name)?;
    let ca = col
        .date()
        .map_err(|_| frame_err(frame, name, format!("expected Date, found {}", col.dtype())))?;
    ca.physical()
        .iter()
        .enumerate()
        .map(|(row, v)| {
            v.map(i64::from).ok_or_else(|| frame_err(frame, name, format!("null in row {row}")))
        })
        .collect()
}

fn string_values(df: &DataFrame, frame: &'static str, name: &str) -> Result<Vec<String>> {
    let col = column(df, frame, name)?;
    let ca = col
        .str()
        .map_err(|_| frame_err(frame, name, format!("expected String, found {}", col.dtype())))?;
    ca.iter()
        .enumerate()
        .map(|(row, v)| {
            v.map(str::to_string)
                .ok_or_else(|| frame_err(frame, name, format!("null in row {row}")))
        })
        .collect()
}

/// End-of-day prices with forward fill and the market-wide features.
struct Market {
    /// Price snapshots by day (the price at the start of that day).
    snapshots: BTreeMap<i64, f64>,
    /// First day whose end-of-day price exists (the day before the first snapshot).
    first_day: i64,
}

impl Market {
    fn new(prices: LazyFrame) -> Result<Self> {
        let df = prices.collect()?;
        let days = day_values(&df, "prices", "date")?;
        let values = f64_values(&df, "prices", "price")?;
        let mut snapshots = BTreeMap::new();
        for (day, price) in days.into_iter().zip(values) {
            if price <= 0.0 {
                return Err(frame_err(
                    "prices",
                    "price",
                    format!("non-positive price on {}", format_day(day)),
                ));
            }
            if snapshots.insert(day, price).is_some() {
                return Err(frame_err(
                    "prices",
                    "date",
                    format!("duplicate date {}", format_day(day)),
                ));
            }
        }
        let first_day = snapshots.keys().next().map_or(i64::MAX, |d| d - 1);
        Ok(Self { snapshots, first_day })
    }

    /// Price known at the end of `day`: the latest snapshot taken at or before `day + 1` 00:00.
    fn end_of_day(&self, day: i64) -> Option<f64> {
        self.snapshots.range(..=day + 1).next_back().map(|(_, p)| *p)
    }

    fn price(&self, day: i64) -> Result<f64> {
        self.end_of_day(day).ok_or_else(|| Error::MissingPrice { date: format_day(day) })
    }

    /// Simple return over `k` days, shortened to the available history.
    fn simple_return(&self, day: i64, k: i64) -> Result<f64> {
        let base = (day - k).max(self.first_day);
        if base >= day {
            return Ok(0.0);
        }
        Ok(self.price(day)? / self.price(base)? - 1.0)
    }

    /// Sample standard deviation of the daily log returns ending at `day`.
    fn volatility(&self, day: i64) -> Result<f64> {
        self.volatility_over(day, VOLATILITY_WINDOW)
    }

    /// Largest end-of-day price over the `window` days ending at `day` (available history only).
    fn high(&self, day: i64, window: i64) -> Result<f64> {
        let start = (day - window + 1).max(self.first_day);
        (start..=day).map(|x| self.price(x)).try_fold(0.0_f64, |m, p| Ok(m.max(p?)))
    }

    /// Sample standard deviation of the `window` daily log returns ending at `day`.
    fn volatility_over(&self, day: i64, window: i64) -> Result<f64> {
        let start = (day - window + 1).max(self.first_day + 1);
        let returns = (start..=day)
            .map(|x| Ok((self.price(x)? / self.price(x - 1)?).ln()))
            .collect::<Result<Vec<f64>>>()?;
        if returns.len() < 2 {
            return Ok(0.0);
        }
        let n = returns.len() as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Ok(var.sqrt())
    }
}

/// The liquidation ratio in force at the end of `day` (set strictly before `day + 1` 00:00).
fn ratio_at_end_of(changes: &[(i64, f64)], day: i64) -> Result<f64> {
    let end = (day + 1) * MS_PER_DAY;
    let n = changes.partition_point(|(ts, _)| *ts < end);
    n.checked_sub(1)
        .map(|i| changes[i].1)
        .ok_or_else(|| Error::MissingLiquidationRatio { date: format_day(day) })
}

/// Builds the daily vault-state table (one row per vault and day with open debt) with the
/// [`FEATURES`] and the [`LABEL`]; see the [module docs](self) for the no-look-ahead rules.
///
/// Inputs: `events` as from [`maker::load_events`] (columns `timestamp`, `account`, `kind`,
/// `collateral_delta`, `debt_delta`, optionally `block`; any order), `prices` as from
/// [`prices::load_daily_usd`], `liquidation_ratio` as from [`maker::load_liquidation_ratio`].
///
/// A vault's state at the end of day `d` replays its events with `timestamp < d + 1 00:00 UTC` in
/// canonical order: collateral (ETH) = deposits - withdrawals - liquidated collateral; debt (DAI)
/// = borrows - repayments - DAI repaid by liquidations, floored at 0 after every event. Stability
/// fees are not in the data, so debt is principal only and a repayment larger than the recorded
/// debt (it also paid fees) just closes the debt. Collateral is floored at 0 the same way: the
/// data record the collateral sent to auction, not what the old auctions returned to the vault.
///
/// Rows are produced for every calendar day from the vault's first event (of any kind) to the last
/// day with any event in `events`, on the days where debt > [`DUST_DAI`] and collateral > 0.
/// Columns, sorted by
/// `(date, account)`:
///
/// | column | type | meaning |
/// |---|---|---|
/// | `date` | `Date` | the day `d` (UTC) |
/// | `account` | `String` | the vault |
/// | `collateral` | `f64` | ETH at the end of `d` |
/// | `debt` | `f64` | DAI at the end of `d` (> [`DUST_DAI`]) |
/// | `price` | `f64` | ETH/USD at the end of `d` (snapshot of `d + 1 00:00`, filled forward) |
/// | `collateral_ratio` | `f64` | `collateral * price / debt` |
/// | `liquidation_ratio` | `f64` | ratio in force at the end of `d` |
/// | [`FEATURES`] | `f64` | finite |
/// | [`LABEL`] | `bool` | a liquidation of the vault in `[d + 1, d + 1 + horizon_days)` |
///
/// Labels of the last `horizon_days` days are right-censored (the data end before the window
/// does): a `false` there means "no liquidation seen before the data end". Drop those days from a
/// hold-out if that matters.
///
/// # Errors
/// [`Error::InvalidHorizon`] for `horizon_days == 0`; [`Error::Frame`] for a missing or ill-typed
/// input column or an unknown `kind`; [`Error::MissingPrice`] / [`Error::MissingLiquidationRatio`]
/// when a needed day has no price / ratio.
pub fn daily_states(
    events: LazyFrame,
    prices: LazyFrame,
    liquidation_ratio: &DataFrame,
    horizon_days: u32,
) -> Result<DataFrame> {
    if horizon_days == 0 {
        return Err(Error::InvalidHorizon(horizon_days));
    }
    let horizon = i64::from(horizon_days);
    let market = Market::new(prices)?;
    let mut ratios: Vec<(i64, f64)> =
        ms_values(liquidation_ratio, "liquidation_ratio", "timestamp")?
            .into_iter()
            .zip(f64_values(liquidation_ratio, "liquidation_ratio", "liquidation_ratio")?)
            .collect();
    ratios.sort_by_key(|(ts, _)| *ts);

    let ev = events.collect()?;
    let timestamps = ms_values(&ev, "events", "timestamp")?;
    let accounts = string_values(&ev, "events", "account")?;
    let kinds = string_values(&ev, "events", "kind")?
        .iter()
        .map(|k| {
            maker::kind_rank(k)
                .ok_or_else(|| frame_err("events", "kind", format!("unknown kind `{k}`")))
        })
        .collect::<Result<Vec<usize>>>()?;
    let collateral_deltas = f64_values(&ev, "events", "collateral_delta")?;
    let debt_deltas = f64_values(&ev, "events", "debt_delta")?;
    let blocks: Vec<f64> = if ev.column("block").is_ok() {
        f64_values(&ev, "events", "block")?
    } else {
        vec![0.0; ev.height()]
    };
    let liquidate = maker::kind_rank("liquidate");

    let mut by_account: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, account) in accounts.iter().enumerate() {
        by_account.entry(account.as_str()).or_default().push(i);
    }
    let Some(last_day) = timestamps.iter().map(|t| day_of_ms(*t)).max() else {
        return empty_states();
    };

    // Vault-level columns.
    let mut out_days: Vec<i32> = Vec::new();
    let mut out_accounts: Vec<&str> = Vec::new();
    let mut out_collateral = Vec::new();
    let mut out_debt = Vec::new();
    let mut out_log_age = Vec::new();
    let mut out_debt_change = Vec::new();
    let mut out_label = Vec::new();
    let mut first_day_all = last_day;
    for (account, mut idx) in by_account {
        idx.sort_by(|&a, &b| {
            (timestamps[a], blocks[a], kinds[a])
                .partial_cmp(&(timestamps[b], blocks[b], kinds[b]))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let first_day = day_of_ms(timestamps[idx[0]]);
        first_day_all = first_day_all.min(first_day);
        let liquidation_days: Vec<i64> = idx
            .iter()
            .filter(|&&i| Some(kinds[i]) == liquidate)
            .map(|&i| day_of_ms(timestamps[i]))
            .collect();
        let (mut collateral, mut debt) = (0.0_f64, 0.0_f64);
        let mut debt_by_day: Vec<f64> = Vec::new();
        let mut next = 0;
        for day in first_day..=last_day {
            while next < idx.len() && day_of_ms(timestamps[idx[next]]) == day {
                let i = idx[next];
                // Floored like debt: the data record collateral sent to auction, not what old
                // auctions returned, so a liquidated vault could otherwise go below zero.
                collateral = (collateral + collateral_deltas[i]).max(0.0);
                debt = (debt + debt_deltas[i]).max(0.0);
                next += 1;
            }
            debt_by_day.push(debt);
            // A vault-day is a position only with debt above dust and some collateral.
            if debt <= DUST_DAI || collateral <= 0.0 {
                continue;
            }
            let age = day - first_day;
            let debt_week_ago = usize::try_from(age - 7).map_or(0.0, |k| debt_by_day[k]);
            let from = liquidation_days.partition_point(|l| *l < day + 1);
            let label = liquidation_days.get(from).is_some_and(|l| *l < day + 1 + horizon);
            out_days.push(
                i32::try_from(day)
                    .map_err(|_| frame_err("events", "timestamp", "date out of range"))?,
            );
            out_accounts.push(account);
            out_collateral.push(collateral);
            out_debt.push(debt);
            out_log_age.push((age as f64).ln_1p());
            out_debt_change.push((debt - debt_week_ago) / debt.max(debt_week_ago).max(1.0));
            out_label.push(label);
        }
    }

    // Market-level columns, one row per day.
    let mut m_days = Vec::new();
    let (mut m_price, mut m_r1, mut m_r7, mut m_vol, mut m_ratio) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for day in first_day_all..=last_day {
        m_days.push(
            i32::try_from(day)
                .map_err(|_| frame_err("events", "timestamp", "date out of range"))?,
        );
        m_price.push(market.price(day)?);
        m_r1.push(market.simple_return(day, 1)?);
        m_r7.push(market.simple_return(day, 7)?);
        m_vol.push(market.volatility(day)?);
        m_ratio.push(ratio_at_end_of(&ratios, day)?);
    }

    let date_column = |days: Vec<i32>| -> Column {
        Int32Chunked::from_vec("date".into(), days).into_date().into_series().into()
    };
    let vault_days = DataFrame::new_infer_height(vec![
        date_column(out_days),
        Column::new("account".into(), out_accounts),
        Column::new("collateral".into(), out_collateral),
        Column::new("debt".into(), out_debt),
        Column::new("log_age_days".into(), out_log_age),
        Column::new("debt_change_7d".into(), out_debt_change),
        Column::new(LABEL.into(), out_label),
    ])?;
    let market_days = DataFrame::new_infer_height(vec![
        date_column(m_days),
        Column::new("price".into(), m_price),
        Column::new("eth_return_1d".into(), m_r1),
        Column::new("eth_return_7d".into(), m_r7),
        Column::new("eth_volatility_30d".into(), m_vol),
        Column::new("liquidation_ratio".into(), m_ratio),
    ])?;
    let states = assemble(vault_days.lazy(), market_days.lazy()).collect()?;
    check_finite(&states)?;
    Ok(states)
}

/// Joins vault and market columns and derives the ratio features (lazy).
fn assemble(vault_days: LazyFrame, market_days: LazyFrame) -> LazyFrame {
    let mut columns = vec![
        col("date"),
        col("account"),
        col("collateral"),
        col("debt"),
        col("price"),
        col("collateral_ratio"),
        col("liquidation_ratio"),
    ];
    columns.extend(FEATURES.iter().map(|f| col(*f)));
    columns.push(col(LABEL));
    vault_days
        .join(market_days, [col("date")], [col("date")], JoinArgs::new(JoinType::Left))
        .with_column((col("collateral") * col("price") / col("debt")).alias("collateral_ratio"))
        .with_column(
            col("collateral_ratio")
                .clip(lit(COLLATERAL_RATIO_FLOOR), lit(COLLATERAL_RATIO_CAP))
                .alias("clipped_ratio"),
        )
        .with_columns([
            col("clipped_ratio").log(lit(std::f64::consts::E)).alias("log_collateral_ratio"),
            (col("clipped_ratio") / col("liquidation_ratio") - lit(1.0))
                .alias("distance_to_liquidation"),
            col("debt").log1p().alias("log_debt"),
        ])
        .select(columns)
        .sort(["date", "account"], SortMultipleOptions::default().with_maintain_order(true))
}

fn check_finite(states: &DataFrame) -> Result<()> {
    let days = day_values(states, "states", "date")?;
    let accounts = string_values(states, "states", "account")?;
    for name in ["price", "collateral_ratio", "liquidation_ratio"].iter().chain(FEATURES.iter()) {
        let ca = column(states, "states", name)?
            .f64()
            .map_err(|e| frame_err("states", name, e.to_string()))?;
        if let Some(row) = ca.iter().position(|v| !v.is_some_and(f64::is_finite)) {
            return Err(frame_err(
                "states",
                name,
                format!(
                    "non-finite value for vault {} on {}",
                    accounts[row],
                    format_day(days[row])
                ),
            ));
        }
    }
    Ok(())
}

fn empty_states() -> Result<DataFrame> {
    let mut columns: Vec<Column> = vec![
        Int32Chunked::from_vec("date".into(), Vec::new()).into_date().into_series().into(),
        Column::new("account".into(), Vec::<String>::new()),
    ];
    for name in ["collateral", "debt", "price", "collateral_ratio", "liquidation_ratio"]
        .iter()
        .chain(FEATURES.iter())
    {
        columns.push(Column::new((*name).into(), Vec::<f64>::new()));
    }
    columns.push(Column::new(LABEL.into(), Vec::<bool>::new()));
    Ok(DataFrame::new_infer_height(columns)?)
}

/// Columns of [`market_daily`], after `date`.
pub const MARKET_FEATURES: [&str; 5] = [
    "eth_return_1d",
    "eth_return_7d",
    "eth_volatility_7d",
    "eth_volatility_30d",
    "eth_drawdown_30d",
];

/// One row per day in `first_day..=last_day` (days since 1970-01-01) with the ETH market context
/// known at the end of that day: `date` (`Date`), `price` and the [`MARKET_FEATURES`]:
/// `eth_return_1d`, `eth_return_7d` and `eth_volatility_30d` as in [`FEATURES`];
/// `eth_volatility_7d` the same over 7 returns; `eth_drawdown_30d = p(d) / max(p(x), x in
/// d-29..=d) - 1` (≤ 0). Only end-of-day prices of days ≤ `d` enter a row.
///
/// # Errors
/// [`Error::MissingPrice`] when a needed day has no price; [`Error::Frame`] for bad input.
pub fn market_daily(prices: LazyFrame, first_day: i64, last_day: i64) -> Result<DataFrame> {
    let market = Market::new(prices)?;
    let mut days = Vec::new();
    let mut cols: [Vec<f64>; 6] = Default::default();
    for day in first_day..=last_day {
        days.push(
            i32::try_from(day).map_err(|_| frame_err("prices", "date", "date out of range"))?,
        );
        let price = market.price(day)?;
        cols[0].push(price);
        cols[1].push(market.simple_return(day, 1)?);
        cols[2].push(market.simple_return(day, 7)?);
        cols[3].push(market.volatility_over(day, 7)?);
        cols[4].push(market.volatility_over(day, 30)?);
        cols[5].push(price / market.high(day, 30)? - 1.0);
    }
    let mut columns: Vec<Column> =
        vec![Int32Chunked::from_vec("date".into(), days).into_date().into_series().into()];
    let names = ["price"].into_iter().chain(MARKET_FEATURES);
    for (name, values) in names.zip(cols) {
        columns.push(Column::new(name.into(), values));
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

/// Loads `data_dir/maker-eth-b/` and `data_dir/prices/eth_usd_daily_coingecko.csv` and returns
/// [`daily_states`] for them.
///
/// # Errors
/// Any error of [`maker::load_events`], [`maker::load_liquidation_ratio`],
/// [`prices::load_daily_usd`] or [`daily_states`].
pub fn load_maker_eth_b(data_dir: &Path, horizon_days: u32) -> Result<DataFrame> {
    let dir = data_dir.join("maker-eth-b");
    let events = maker::load_events(&dir)?;
    let ratio = maker::load_liquidation_ratio(&dir)?;
    let prices =
        prices::load_daily_usd(&data_dir.join("prices").join("eth_usd_daily_coingecko.csv"))?;
    daily_states(events, prices, &ratio, horizon_days)
}

/// The values of a numeric column of a [`daily_states`] table (e.g. `debt`, `price`), as `f64`.
///
/// # Errors
/// [`Error::Frame`] when the column is missing, not numeric, or holds a null or non-finite value.
pub fn column_f64(states: &DataFrame, name: &str) -> Result<Vec<f64>> {
    f64_values(states, "states", name)
}

/// A row-major feature matrix with labels, ready for the models crate.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// Number of rows (vault-days).
    pub rows: usize,
    /// Number of columns, `FEATURES.len()` (fewer after [`Matrix::select`]).
    pub cols: usize,
    /// `rows * cols` values; row `i` is `values[i * cols..(i + 1) * cols]`, columns in
    /// [`FEATURES`] order (or the order [`Matrix::select`] was given).
    pub values: Vec<f64>,
    /// The [`LABEL`] of each row.
    pub labels: Vec<bool>,
    /// The day of each row, in days since 1970-01-01 (UTC); use it for time-ordered splits.
    pub dates: Vec<i32>,
    /// The vault of each row.
    pub accounts: Vec<String>,
}

impl Matrix {
    /// The same rows with only the named features, in that order.
    ///
    /// # Errors
    /// [`Error::Frame`] naming a feature that is not one of [`FEATURES`], or when this matrix
    /// was already narrowed.
    pub fn select(&self, names: &[&str]) -> Result<Self> {
        if self.cols != FEATURES.len() {
            return Err(frame_err("matrix", "features", "select works on the full feature matrix"));
        }
        let idx = names
            .iter()
            .map(|n| {
                FEATURES
                    .iter()
                    .position(|h| h == n)
                    .ok_or_else(|| frame_err("matrix", n, "not one of the vault features"))
            })
            .collect::<Result<Vec<_>>>()?;
        let values = (0..self.rows)
            .flat_map(|r| idx.iter().map(move |j| self.values[r * self.cols + j]))
            .collect();
        Ok(Self { cols: names.len(), values, ..self.clone() })
    }

    /// The features of row `i`.
    ///
    /// # Panics
    /// If `i >= self.rows`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }
}

/// Converts a [`daily_states`] table into a [`Matrix`] (same row order).
///
/// # Errors
/// [`Error::Frame`] when a feature, the label, `date` or `account` is missing, has the wrong type,
/// or holds a null or non-finite value.
pub fn to_matrix(states: &DataFrame) -> Result<Matrix> {
    let rows = states.height();
    let features = FEATURES
        .iter()
        .map(|name| f64_values(states, "states", name))
        .collect::<Result<Vec<_>>>()?;
    let mut values = Vec::with_capacity(rows * FEATURES.len());
    for i in 0..rows {
        values.extend(features.iter().map(|f| f[i]));
    }
    let label = column(states, "states", LABEL)?;
    let labels = label
        .bool()
        .map_err(|_| {
            frame_err("states", LABEL, format!("expected Boolean, found {}", label.dtype()))
        })?
        .iter()
        .enumerate()
        .map(|(row, v)| v.ok_or_else(|| frame_err("states", LABEL, format!("null in row {row}"))))
        .collect::<Result<Vec<bool>>>()?;
    let dates = day_values(states, "states", "date")?
        .into_iter()
        .map(|d| i32::try_from(d).unwrap_or(i32::MAX))
        .collect();
    let accounts = string_values(states, "states", "account")?;
    Ok(Matrix { rows, cols: FEATURES.len(), values, labels, dates, accounts })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market(snapshots: &[(i64, f64)]) -> Market {
        let first_day = snapshots.first().map_or(i64::MAX, |(d, _)| d - 1);
        Market { snapshots: snapshots.iter().copied().collect(), first_day }
    }

    #[test]
    fn end_of_day_prices_fill_forward_and_never_look_ahead() {
        // Snapshots on days 10, 11 and 13 (12 missing).
        let m = market(&[(10, 100.0), (11, 110.0), (13, 130.0)]);
        for (day, want) in [
            (8, None),
            (9, Some(100.0)),
            (10, Some(110.0)),
            (11, Some(110.0)),
            (12, Some(130.0)),
            (20, Some(130.0)),
        ] {
            assert_eq!(m.end_of_day(day), want, "day {day}");
        }
    }

    #[test]
    fn returns_use_available_history() {
        let m = market(&[(10, 100.0), (11, 110.0), (12, 121.0), (13, 99.0)]);
        // (day, k, expected): end-of-day prices p(9)=100, p(10)=110, p(11)=121, p(12)=99.
        for (day, k, want) in [
            (9, 1, 0.0),
            (10, 1, 110.0 / 100.0 - 1.0),
            (12, 1, 99.0 / 121.0 - 1.0),
            (12, 7, 99.0 / 100.0 - 1.0),
            (11, 2, 121.0 / 100.0 - 1.0),
        ] {
            assert_eq!(m.simple_return(day, k).unwrap(), want, "day {day} k {k}");
        }
    }

    #[test]
    fn volatility_is_the_sample_std_of_log_returns() {
        let m = market(&[(10, 100.0), (11, 110.0), (12, 121.0), (13, 99.0)]);
        assert_eq!(m.volatility(9).unwrap(), 0.0);
        assert_eq!(m.volatility(10).unwrap(), 0.0); // a single return
        let r = [1.1_f64.ln(), 1.1_f64.ln(), (99.0_f64 / 121.0).ln()];
        let mean = r.iter().sum::<f64>() / 3.0;
        let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!((m.volatility(12).unwrap() - sd).abs() < 1e-12);
        // A constant price has zero volatility.
        let flat = market(&(0..40).map(|d| (d, 5.0)).collect::<Vec<_>>());
        assert_eq!(flat.volatility(39).unwrap(), 0.0);
    }

    #[test]
    fn drawdown_and_short_volatility() {
        let m = market(&[(10, 100.0), (11, 110.0), (12, 121.0), (13, 99.0)]);
        assert_eq!(m.high(12, 30).unwrap(), 121.0);
        assert_eq!(m.high(12, 1).unwrap(), 99.0);
        assert_eq!(m.volatility_over(12, 2).unwrap(), {
            let r = [1.1_f64.ln(), (99.0_f64 / 121.0).ln()];
            let mean = (r[0] + r[1]) / 2.0;
            ((r[0] - mean).powi(2) + (r[1] - mean).powi(2)).sqrt()
        });
    }

    #[test]
    fn ratio_in_force_at_end_of_day() {
        let changes = [(10 * MS_PER_DAY + 5, 1.3), (12 * MS_PER_DAY, 1.5)];
        for (day, want) in
            [(10, Some(1.3)), (11, Some(1.3)), (12, Some(1.5)), (30, Some(1.5)), (9, None)]
        {
            assert_eq!(ratio_at_end_of(&changes, day).ok(), want, "day {day}");
        }
    }

    #[test]
    fn price_split_recomposes_the_features_and_moves_only_the_proportional_ones() {
        let names = PRICED_FEATURES;
        // Two rows at 1,500 and 2,000 USD: distance 0.5 and -0.1, returns, and three free features.
        let values = [
            0.5, 9.2, 0.02, -0.05, 3.1, 0.25, //
            -0.1, 11.0, -0.08, 0.1, 0.0, -1.0,
        ];
        let prices = [1_500.0, 2_000.0];
        let split = split_at_price(&names, &values, &prices).unwrap();
        for (row, price) in prices.iter().enumerate() {
            for (j, name) in names.iter().enumerate() {
                let k = row * 6 + j;
                let at = |p: f64| split.fixed[k] + split.slope[k] * p;
                assert!((at(*price) - values[k]).abs() < 1e-12, "{name} row {row}");
                let moved = at(price * 1.1) - values[k];
                match price_dependence(name).unwrap() {
                    PriceDependence::Proportional => {
                        // 10 % more ETH: (x + 1) grows by 10 %.
                        assert!((moved - 0.1 * (values[k] + 1.0)).abs() < 1e-12, "{name}");
                    }
                    _ => assert_eq!(moved, 0.0, "{name}"),
                }
            }
        }
        // Every vault feature has a dependence, and the priced ones are all affine.
        for f in FEATURES {
            assert!(price_dependence(f).is_some(), "{f}");
        }
        assert!(
            PRICED_FEATURES.iter().all(|f| price_dependence(f) != Some(PriceDependence::Nonlinear))
        );
    }

    #[test]
    fn price_split_refuses_what_it_cannot_split() {
        let err = |names: &[&str], values: &[f64], prices: &[f64]| {
            split_at_price(names, values, prices).unwrap_err().to_string()
        };
        let e = err(&["log_collateral_ratio"], &[0.3], &[1_000.0]);
        assert!(e.contains("log_collateral_ratio") && e.contains("not affine"), "{e}");
        assert!(err(&["ltv"], &[0.3], &[1_000.0]).contains("ltv"));
        assert!(err(&["log_debt"], &[0.3, 0.4], &[1_000.0]).contains("2 values for 1 rows"));
        assert!(err(&["log_debt"], &[0.3], &[0.0]).contains("row 0: price 0"));
    }

    #[test]
    fn select_keeps_the_named_columns_in_order() {
        let m = Matrix {
            rows: 2,
            cols: FEATURES.len(),
            values: (0..16).map(f64::from).collect(),
            labels: vec![false, true],
            dates: vec![1, 2],
            accounts: vec!["a".into(), "b".into()],
        };
        let s = m.select(&["log_debt", "log_collateral_ratio"]).unwrap();
        assert_eq!((s.cols, s.values.clone()), (2, vec![2.0, 0.0, 10.0, 8.0]));
        assert_eq!(s.labels, m.labels);
        assert!(m.select(&["nope"]).unwrap_err().to_string().contains("nope"));
        assert!(s.select(&["log_debt"]).is_err());
    }
}
