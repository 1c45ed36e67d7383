//! Account features as Polars lazy pipelines over a canonical daily account table, the same code
//! for the MakerDAO ETH-B history ([`maker_eth_b`]) and for ingested Aave v3 data
//! ([`aave_daily_accounts`]).
//!
//! # Inputs (canonical tables)
//! - **accounts**: one row per account and day with an open position: `date` (`Date`), `account`
//!   (`String`), `collateral_value` (USD, end of day), `debt` (USD, end of day, > 0),
//!   `liquidation_ratio` (collateral value / debt at which the position becomes liquidatable,
//!   in force at the end of the day: Maker's `mat`, Aave's `1 / liquidation threshold`).
//! - **events**: `timestamp` (`Datetime`), `account`, `kind` (one of
//!   [`crate::maker::KINDS`]: `open`, `deposit`, `withdraw`, `borrow`, `repay`,
//!   `liquidate`).
//! - **market**: one row per day, `date` and the [`crate::vaults::MARKET_FEATURES`]
//!   as [`crate::vaults::market_daily`] builds them.
//!
//! # No look-ahead
//! A feature of the row dated `d` uses only events with `timestamp < d + 1 00:00 UTC` (an event's
//! day is the UTC day of its timestamp; the windows below end at `d` inclusive), the account's
//! state at the end of `d`, and the market context of `d`. Only the labels [`LABELS`] look
//! forward: a liquidation in `[d + 1, d + 1 + h)` days for `h` = 1, 7, 30. The test
//! `features_ignore_events_after_the_row_day` appends later events and checks that no feature
//! of an earlier day moves.

use std::path::Path;

use polars::prelude::*;

use crate::{
    aave::{
        events::{AaveEvent, Record},
        positions::{MarketState, base_to_f64},
        store::Dataset,
    },
    error::{Error, Result},
    maker, prices,
    table::MS_PER_DAY,
    vaults::{self, COLLATERAL_RATIO_CAP, COLLATERAL_RATIO_FLOOR, MARKET_FEATURES},
};

/// The model features of [`account_features`], in matrix column order. All `f64`, finite.
///
/// | name | definition at the end of day `d` |
/// |---|---|
/// | `log_collateral_ratio` | `ln(cr)`, `cr = collateral_value / debt` clipped to [0.1, 20] |
/// | `distance_to_liquidation` | `cr / liquidation_ratio - 1` (below 0: liquidatable) |
/// | `liquidation_z` | `ln(cr / liquidation_ratio) / (max(σ₃₀, 0.01) · √7)`, clipped to [-5, 15]: the distance to liquidation in 7-day standard deviations of ETH's log return |
/// | `log_collateral_value` | `ln(1 + collateral_value)` |
/// | `log_debt` | `ln(1 + debt)` |
/// | `log_age_days` | `ln(1 + d - day of the account's first event)` |
/// | `debt_change_7d` | `(debt(d) - debt(d-7)) / max(debt(d), debt(d-7), 1)`, `debt(d-7) = 0` without a row that day |
/// | `deposits_7d`, `withdrawals_7d`, `borrows_7d`, `repays_7d` | `ln(1 + n)`, `n` events of that kind with day in `d-6..=d` |
/// | `deposits_30d`, `withdrawals_30d`, `borrows_30d`, `repays_30d` | the same over `d-29..=d` |
/// | `past_liquidations` | `ln(1 + n)`, `n` liquidation events of the account with day ≤ `d` |
/// | `eth_return_1d`, `eth_return_7d`, `eth_volatility_7d`, `eth_volatility_30d`, `eth_drawdown_30d` | market context, see [`vaults::market_daily`] |
pub const ACCOUNT_FEATURES: [&str; 21] = [
    "log_collateral_ratio",
    "distance_to_liquidation",
    "liquidation_z",
    "log_collateral_value",
    "log_debt",
    "log_age_days",
    "debt_change_7d",
    "deposits_7d",
    "withdrawals_7d",
    "borrows_7d",
    "repays_7d",
    "deposits_30d",
    "withdrawals_30d",
    "borrows_30d",
    "repays_30d",
    "past_liquidations",
    "eth_return_1d",
    "eth_return_7d",
    "eth_volatility_7d",
    "eth_volatility_30d",
    "eth_drawdown_30d",
];

/// The features the liquidation models use, a subset of [`ACCOUNT_FEATURES`]. The activity and
/// market-context features are built and tested, but with them both models ranked worse than the
/// collateral-ratio rule on the walk-forward hold-out of the Maker history (docs/models.md).
pub const MODEL_FEATURES: [&str; 3] =
    ["log_collateral_ratio", "distance_to_liquidation", "liquidation_z"];

/// Label columns of [`account_features`] with their horizons in days: a liquidation of the account
/// in `[d + 1, d + 1 + h)`.
pub const LABELS: [(&str, i32); 3] =
    [("liquidated_next_1d", 1), ("liquidated_next_7d", 7), ("liquidated_next_30d", 30)];

/// Activity kinds counted in trailing windows, with their feature stem.
const ACTIVITY: [(&str, &str); 4] = [
    ("deposit", "deposits"),
    ("withdraw", "withdrawals"),
    ("borrow", "borrows"),
    ("repay", "repays"),
];

fn day_int(name: &str) -> Expr {
    col(name).cast(DataType::Int32)
}

/// The account feature pipeline (lazy): canonical `accounts`, `events` and `market` tables in,
/// one row per account row out with `date`, `account`, `collateral_value`, `debt`,
/// `liquidation_ratio`, the [`ACCOUNT_FEATURES`] and the [`LABELS`], sorted by
/// `(date, account)`. Rows whose labels the data cannot see in full (right-censored) are kept;
/// see [`to_matrix`]'s `last_day`.
pub fn account_features(accounts: LazyFrame, events: LazyFrame, market: LazyFrame) -> LazyFrame {
    let accounts = accounts.with_column(day_int("date").alias("day"));
    let events = events.select([
        col("account"),
        col("kind"),
        col("timestamp").cast(DataType::Date).cast(DataType::Int32).alias("event_day"),
    ]);

    // Per account: first event day (for the age).
    let first =
        events.clone().group_by([col("account")]).agg([col("event_day").min().alias("first_day")]);

    // Events around each row: trailing 30 days for activity, all history for past liquidations,
    // 30 days ahead for the labels. One join, conditional counts.
    let keys = accounts.clone().select([col("account"), col("day")]);
    let near =
        keys.join(events, [col("account")], [col("account")], JoinArgs::new(JoinType::Inner));
    let is = |kind: &str| col("kind").eq(lit(kind));
    let count = |cond: Expr, name: &str| cond.cast(DataType::Float64).sum().alias(name);
    let ed = || col("event_day");
    let d = || col("day");
    let mut aggs = Vec::new();
    for (kind, stem) in ACTIVITY {
        for w in [7, 30] {
            aggs.push(count(
                is(kind).and(ed().lt_eq(d())).and(ed().gt(d() - lit(w))),
                &format!("{stem}_{w}d_n"),
            ));
        }
    }
    aggs.push(count(is("liquidate").and(ed().lt_eq(d())), "past_liquidations_n"));
    for (label, h) in LABELS {
        aggs.push(
            is("liquidate")
                .and(ed().gt(d()))
                .and(ed().lt(d() + lit(1 + h)))
                .any(false)
                .alias(label),
        );
    }
    let counts = near.group_by([col("account"), col("day")]).agg(aggs);

    // Debt seven days earlier: the same table shifted by a week.
    let week_ago = accounts.clone().select([
        col("account"),
        (col("day") + lit(7)).alias("day"),
        col("debt").alias("debt_week_ago"),
    ]);

    let on = || [col("account"), col("day")];
    let left = || JoinArgs::new(JoinType::Left);
    let mut activity = Vec::new();
    for (_, stem) in ACTIVITY {
        for w in [7, 30] {
            activity.push(
                col(format!("{stem}_{w}d_n"))
                    .fill_null(lit(0.0))
                    .log1p()
                    .alias(format!("{stem}_{w}d")),
            );
        }
    }
    let mut out = vec![
        col("date"),
        col("account"),
        col("collateral_value"),
        col("debt"),
        col("liquidation_ratio"),
    ];
    out.extend(ACCOUNT_FEATURES.iter().map(|f| col(*f)));
    out.extend(LABELS.iter().map(|(l, _)| col(*l).fill_null(lit(false))));
    let market = market.select(
        [col("date")]
            .into_iter()
            .chain(MARKET_FEATURES.iter().map(|f| col(*f)))
            .collect::<Vec<_>>(),
    );
    accounts
        .join(counts, on(), on(), left())
        .join(week_ago, on(), on(), left())
        .join(first, [col("account")], [col("account")], left())
        .join(market, [col("date")], [col("date")], left())
        .with_columns([
            (col("collateral_value") / col("debt"))
                .clip(lit(COLLATERAL_RATIO_FLOOR), lit(COLLATERAL_RATIO_CAP))
                .alias("cr"),
            col("debt_week_ago").fill_null(lit(0.0)),
        ])
        .with_columns([
            col("cr").log(lit(std::f64::consts::E)).alias("log_collateral_ratio"),
            (col("cr") / col("liquidation_ratio") - lit(1.0)).alias("distance_to_liquidation"),
            ((col("cr") / col("liquidation_ratio")).log(lit(std::f64::consts::E))
                / (col("eth_volatility_30d").clip_min(lit(0.01)) * lit(7f64.sqrt())))
            .clip(lit(-5.0), lit(15.0))
            .alias("liquidation_z"),
            col("collateral_value").log1p().alias("log_collateral_value"),
            col("debt").log1p().alias("log_debt"),
            (col("day") - col("first_day").fill_null(col("day")))
                .cast(DataType::Float64)
                .clip_min(lit(0.0))
                .log1p()
                .alias("log_age_days"),
            ((col("debt") - col("debt_week_ago"))
                / when(col("debt").gt(col("debt_week_ago")))
                    .then(col("debt"))
                    .otherwise(col("debt_week_ago"))
                    .clip_min(lit(1.0)))
            .alias("debt_change_7d"),
            col("past_liquidations_n").fill_null(lit(0.0)).log1p().alias("past_liquidations"),
        ])
        .with_columns(activity)
        .select(out)
        .sort(["date", "account"], SortMultipleOptions::default().with_maintain_order(true))
}

/// The canonical account table of the MakerDAO ETH-B history: [`vaults::daily_states`]' rows
/// with `collateral_value = collateral × price`.
///
/// # Errors
/// Those of [`vaults::daily_states`].
pub fn maker_accounts(
    events: LazyFrame,
    prices: LazyFrame,
    ratio: &DataFrame,
) -> Result<DataFrame> {
    let states = vaults::daily_states(events, prices, ratio, 1)?;
    Ok(states
        .lazy()
        .select([
            col("date"),
            col("account"),
            (col("collateral") * col("price")).alias("collateral_value"),
            col("debt"),
            col("liquidation_ratio"),
        ])
        .collect()?)
}

/// The feature table of the MakerDAO ETH-B history in `data_dir` (`maker-eth-b/` and
/// `prices/eth_usd_daily_coingecko.csv`): [`account_features`] over [`maker_accounts`].
///
/// # Errors
/// Those of the loaders and of [`vaults::daily_states`] / [`vaults::market_daily`].
pub fn maker_eth_b(data_dir: &Path) -> Result<DataFrame> {
    let dir = data_dir.join("maker-eth-b");
    let events = maker::load_events(&dir)?;
    let ratio = maker::load_liquidation_ratio(&dir)?;
    let price_file = data_dir.join("prices").join("eth_usd_daily_coingecko.csv");
    let accounts = maker_accounts(events.clone(), prices::load_daily_usd(&price_file)?, &ratio)?;
    let days = accounts.column("date")?.cast(&DataType::Int32)?;
    let days = days.i32()?;
    let (Some(first), Some(last)) = (days.min(), days.max()) else {
        return Err(Error::Frame {
            frame: "states",
            column: "date".into(),
            reason: "no vault-day with debt".into(),
        });
    };
    let market = vaults::market_daily(
        prices::load_daily_usd(&price_file)?,
        i64::from(first),
        i64::from(last),
    )?;
    Ok(account_features(accounts.lazy(), events, market.lazy()).collect()?)
}

/// One row per account and day from an ingested Aave v3 dataset: the canonical account table
/// (`date`, `account`, `collateral_value` and `debt` in the market's base currency (USD),
/// `liquidation_ratio = 1 / weighted liquidation threshold`) at the end of every UTC day that
/// from the first to the last record (days without records included), for accounts with debt; and the canonical event table (`timestamp`,
/// `account`, `kind`) of supplies (deposit), withdrawals, borrows, repays and liquidations.
///
/// The state of day `d` replays every record with block timestamp `< d + 1 00:00 UTC` and reads
/// [`MarketState::account_data`] at that instant.
///
/// # Errors
/// Those of [`MarketState::apply`] and [`MarketState::account_data`].
pub fn aave_daily_accounts(data: &Dataset) -> Result<(DataFrame, DataFrame)> {
    let mut state = MarketState::new(&data.checkpoint);
    let (mut ev_ts, mut ev_acc, mut ev_kind) = (Vec::new(), Vec::new(), Vec::new());
    let (mut days, mut accs, mut coll, mut debt, mut ratio) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let records: &[Record] = &data.records;
    let day_of = |r: &Record| (r.meta.block_timestamp as i64 * 1000).div_euclid(MS_PER_DAY);
    let (Some(first_day), Some(last_day)) =
        (records.first().map(day_of), records.last().map(day_of))
    else {
        return Ok((empty_accounts()?, empty_events()?));
    };
    let mut i = 0;
    for day in first_day..=last_day {
        while i < records.len() && day_of(&records[i]) == day {
            let r = &records[i];
            state.apply(r)?;
            let (who, kind) = match &r.event {
                AaveEvent::Supply { on_behalf_of, .. } => (Some(on_behalf_of), "deposit"),
                AaveEvent::Withdraw { user, .. } => (Some(user), "withdraw"),
                AaveEvent::Borrow { on_behalf_of, .. } => (Some(on_behalf_of), "borrow"),
                AaveEvent::Repay { user, .. } => (Some(user), "repay"),
                AaveEvent::LiquidationCall { user, .. } => (Some(user), "liquidate"),
                _ => (None, ""),
            };
            if let Some(who) = who {
                ev_ts.push(r.meta.block_timestamp as i64 * 1000);
                ev_acc.push(who.clone());
                ev_kind.push(kind);
            }
            i += 1;
        }
        let end = u64::try_from((day + 1) * MS_PER_DAY / 1000).unwrap_or(u64::MAX);
        let users: Vec<String> = state.accounts().map(str::to_string).collect();
        for user in users {
            let a = state.account_data(&user, end)?;
            let d = base_to_f64(a.total_debt_base);
            let lt = a.current_liquidation_threshold.to::<u64>() as f64 / 10_000.0;
            if d <= 0.0 || lt <= 0.0 {
                continue;
            }
            days.push(i32::try_from(day).unwrap_or(i32::MAX));
            accs.push(user);
            coll.push(base_to_f64(a.total_collateral_base));
            debt.push(d);
            ratio.push(1.0 / lt);
        }
    }
    let accounts = DataFrame::new_infer_height(vec![
        date_column(days),
        Column::new("account".into(), accs),
        Column::new("collateral_value".into(), coll),
        Column::new("debt".into(), debt),
        Column::new("liquidation_ratio".into(), ratio),
    ])?;
    let ts = Int64Chunked::from_vec("timestamp".into(), ev_ts)
        .into_datetime(TimeUnit::Milliseconds, None)
        .into_series();
    let events = DataFrame::new_infer_height(vec![
        ts.into(),
        Column::new("account".into(), ev_acc),
        Column::new("kind".into(), ev_kind),
    ])?;
    Ok((accounts, events))
}

fn date_column(days: Vec<i32>) -> Column {
    Int32Chunked::from_vec("date".into(), days).into_date().into_series().into()
}

fn empty_accounts() -> Result<DataFrame> {
    Ok(DataFrame::new_infer_height(vec![
        date_column(Vec::new()),
        Column::new("account".into(), Vec::<String>::new()),
        Column::new("collateral_value".into(), Vec::<f64>::new()),
        Column::new("debt".into(), Vec::<f64>::new()),
        Column::new("liquidation_ratio".into(), Vec::<f64>::new()),
    ])?)
}

fn empty_events() -> Result<DataFrame> {
    let ts = Int64Chunked::from_vec("timestamp".into(), Vec::new())
        .into_datetime(TimeUnit::Milliseconds, None)
        .into_series();
    Ok(DataFrame::new_infer_height(vec![
        ts.into(),
        Column::new("account".into(), Vec::<String>::new()),
        Column::new("kind".into(), Vec::<&str>::new()),
    ])?)
}

/// Daily end-of-day prices (`date`, `price` in USD) of `asset` from an ingested Aave v3 dataset:
/// the answer of the asset's price source (followed through `AssetSourceUpdated` and a Chainlink
/// proxy's aggregator) in force at the end of each UTC day, from `first_day` to the day of the last
/// record. Days before the first answer take the first answer (a flat history: zero returns), so
/// that [`vaults::market_daily`] always finds its 30-day lookback.
///
/// # Errors
/// [`Error::Frame`] when the dataset holds no answer for `asset`'s source.
pub fn aave_price_days(data: &Dataset, asset: &str, first_day: i64) -> Result<DataFrame> {
    let answers_for: std::collections::HashMap<&str, &str> = data
        .checkpoint
        .contracts
        .iter()
        .filter_map(|c| Some((c.address.as_str(), c.answers_for.as_deref()?)))
        .collect();
    let mut source: Option<&str> = None;
    let mut answers: std::collections::HashMap<&str, f64> = std::collections::HashMap::new();
    let mut closes: Vec<(i64, f64)> = Vec::new();
    let day_of = |r: &Record| (r.meta.block_timestamp as i64 * 1000).div_euclid(MS_PER_DAY);
    for r in &data.records {
        match &r.event {
            AaveEvent::AssetSourceUpdated { asset: a, source: s } if a == asset => {
                source = Some(s.as_str());
            }
            AaveEvent::AnswerUpdated { current, .. } => {
                let from = answers_for.get(r.meta.contract.as_str()).copied();
                let from = from.unwrap_or(r.meta.contract.as_str());
                if let Ok(v) = current.parse::<f64>() {
                    answers.insert(from, v / 1e8);
                }
            }
            _ => continue,
        }
        if let Some(p) = source.and_then(|s| answers.get(s)).copied().filter(|p| *p > 0.0) {
            let day = day_of(r);
            match closes.last_mut() {
                Some((d, v)) if *d == day => *v = p,
                _ => closes.push((day, p)),
            }
        }
    }
    let Some(&(_, first_price)) = closes.first() else {
        return Err(Error::Frame {
            frame: "aave",
            column: "AnswerUpdated".into(),
            reason: format!("no price answer for asset {asset} in the dataset"),
        });
    };
    let last_day = data.records.last().map_or(first_day, day_of).max(first_day);
    let (mut days, mut values) = (Vec::new(), Vec::new());
    let (mut k, mut price) = (0, first_price);
    for day in first_day..=last_day {
        while k < closes.len() && closes[k].0 <= day {
            price = closes[k].1;
            k += 1;
        }
        days.push(i32::try_from(day).unwrap_or(i32::MAX));
        values.push(price);
    }
    Ok(DataFrame::new_infer_height(vec![date_column(days), Column::new("price".into(), values)])?)
}

/// The account features of the last day of an ingested Aave v3 dataset (the day of its last
/// record), every account with debt, as [`account_features`] builds them for the Maker history:
/// positions from [`aave_daily_accounts`], market context from `price_asset`'s price source
/// ([`aave_price_days`], e.g. WETH). The rows of earlier days are computed and dropped. Label
/// columns are present but unknown (the future is not in the data).
///
/// # Errors
/// Those of [`aave_daily_accounts`], [`aave_price_days`] and [`to_matrix`].
pub fn aave_latest_features(data: &Dataset, price_asset: &str) -> Result<FeatureMatrix> {
    let (accounts, events) = aave_daily_accounts(data)?;
    if accounts.height() == 0 {
        return to_matrix(&empty_features()?);
    }
    let days = accounts.column("date")?.cast(&DataType::Int32)?;
    let days = days.i32()?;
    let (first, last) =
        (i64::from(days.min().unwrap_or_default()), i64::from(days.max().unwrap_or_default()));
    let prices = aave_price_days(data, price_asset, first - 31)?;
    let market = vaults::market_daily(prices.lazy(), first, last)?;
    let last_date = i32::try_from(last).unwrap_or(i32::MAX);
    let table = account_features(accounts.lazy(), events.lazy(), market.lazy())
        .filter(col("date").cast(DataType::Int32).eq(lit(last_date)))
        .collect()?;
    to_matrix(&table)
}

fn empty_features() -> Result<DataFrame> {
    let mut columns =
        vec![date_column(Vec::new()), Column::new("account".into(), Vec::<String>::new())];
    for name in ["debt"].iter().chain(ACCOUNT_FEATURES.iter()) {
        columns.push(Column::new((*name).into(), Vec::<f64>::new()));
    }
    for (name, _) in LABELS {
        columns.push(Column::new(name.into(), Vec::<bool>::new()));
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

/// A row-major feature matrix with one label per horizon, for the models crate.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureMatrix {
    /// Number of rows (account-days).
    pub rows: usize,
    /// Number of columns, `ACCOUNT_FEATURES.len()`.
    pub cols: usize,
    /// `rows × cols` values, columns in [`ACCOUNT_FEATURES`] order.
    pub values: Vec<f64>,
    /// Labels per horizon, in [`LABELS`] order.
    pub labels: Vec<Vec<bool>>,
    /// Day of each row (days since 1970-01-01, UTC).
    pub dates: Vec<i32>,
    /// Account of each row.
    pub accounts: Vec<String>,
    /// Debt of each row (USD).
    pub debt: Vec<f64>,
}

impl FeatureMatrix {
    /// The same rows with only the named columns (in that order) of [`ACCOUNT_FEATURES`].
    ///
    /// # Errors
    /// [`Error::Frame`] when a name is not one of [`ACCOUNT_FEATURES`].
    pub fn select(&self, names: &[&str]) -> Result<Self> {
        let keep = names
            .iter()
            .map(|n| {
                ACCOUNT_FEATURES.iter().position(|a| a == n).ok_or_else(|| Error::Frame {
                    frame: "features",
                    column: (*n).to_string(),
                    reason: "not an account feature".into(),
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        let values = (0..self.rows)
            .flat_map(|i| keep.iter().map(move |j| self.values[i * self.cols + j]))
            .collect();
        Ok(Self { cols: keep.len(), values, ..self.clone() })
    }
}

/// Converts an [`account_features`] table into a [`FeatureMatrix`] (same row order).
///
/// # Errors
/// [`Error::Frame`] when a column is missing, ill-typed, null or non-finite.
pub fn to_matrix(table: &DataFrame) -> Result<FeatureMatrix> {
    let rows = table.height();
    let features = ACCOUNT_FEATURES
        .iter()
        .map(|name| vaults::column_f64(table, name))
        .collect::<Result<Vec<_>>>()?;
    let mut values = Vec::with_capacity(rows * features.len());
    for i in 0..rows {
        values.extend(features.iter().map(|f| f[i]));
    }
    let mut labels = Vec::new();
    for (name, _) in LABELS {
        let c = table.column(name).map_err(|_| Error::Frame {
            frame: "features",
            column: name.into(),
            reason: "missing column".into(),
        })?;
        let ca = c.bool().map_err(|e| Error::Frame {
            frame: "features",
            column: name.into(),
            reason: e.to_string(),
        })?;
        labels.push(ca.iter().map(|v| v.unwrap_or(false)).collect());
    }
    let dates = table.column("date")?.cast(&DataType::Int32)?;
    let dates = dates.i32()?.iter().map(|d| d.unwrap_or(i32::MIN)).collect();
    let accounts =
        table.column("account")?.str()?.iter().map(|a| a.unwrap_or_default().to_string()).collect();
    let debt = vaults::column_f64(table, "debt")?;
    Ok(FeatureMatrix { rows, cols: ACCOUNT_FEATURES.len(), values, labels, dates, accounts, debt })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = MS_PER_DAY;

    fn events(rows: &[(i64, &str, &str)]) -> LazyFrame {
        let ts = Int64Chunked::from_vec("timestamp".into(), rows.iter().map(|r| r.0).collect())
            .into_datetime(TimeUnit::Milliseconds, None)
            .into_series();
        DataFrame::new_infer_height(vec![
            ts.into(),
            Column::new("account".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()),
            Column::new("kind".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
        ])
        .unwrap()
        .lazy()
    }

    fn accounts(days: std::ops::Range<i32>) -> LazyFrame {
        let n = days.len();
        DataFrame::new_infer_height(vec![
            Int32Chunked::from_vec("date".into(), days.collect()).into_date().into_series().into(),
            Column::new("account".into(), vec!["a"; n]),
            Column::new("collateral_value".into(), vec![300.0; n]),
            Column::new("debt".into(), vec![150.0; n]),
            Column::new("liquidation_ratio".into(), vec![1.5; n]),
        ])
        .unwrap()
        .lazy()
    }

    fn market(days: std::ops::Range<i32>) -> LazyFrame {
        let n = days.len();
        let mut cols: Vec<Column> = vec![
            Int32Chunked::from_vec("date".into(), days.collect()).into_date().into_series().into(),
        ];
        for f in MARKET_FEATURES {
            cols.push(Column::new(f.into(), vec![0.02; n]));
        }
        DataFrame::new_infer_height(cols).unwrap().lazy()
    }

    fn feature(df: &DataFrame, name: &str) -> Vec<f64> {
        vaults::column_f64(df, name).unwrap()
    }

    #[test]
    fn features_ignore_events_after_the_row_day() {
        let base = [
            (100 * DAY, "a", "open"),
            (100 * DAY + 5, "a", "deposit"),
            (101 * DAY, "a", "borrow"),
            (104 * DAY + 7, "a", "repay"),
        ];
        let later = [(105 * DAY, "a", "deposit"), (106 * DAY, "a", "liquidate")];
        let all: Vec<_> = base.iter().chain(later.iter()).copied().collect();
        let run = |ev: &[(i64, &str, &str)]| {
            account_features(accounts(100..110), events(ev), market(100..110)).collect().unwrap()
        };
        let (short, long) = (run(&base), run(&all));
        // Days 100..=104 (rows 0..5) see only the base events.
        for f in ACCOUNT_FEATURES {
            assert_eq!(feature(&short, f)[..5], feature(&long, f)[..5], "{f}");
        }
        // The later events do show from their own day on, and in the earlier labels.
        assert_eq!(feature(&long, "deposits_7d")[5], 2f64.ln_1p());
        assert_eq!(feature(&short, "deposits_7d")[5], 1f64.ln_1p());
        assert_eq!(feature(&long, "past_liquidations")[6], 1f64.ln_1p());
        assert_eq!(feature(&long, "past_liquidations")[5], 0.0);
        let m = to_matrix(&long).unwrap();
        // The liquidation on day 106: 1-day label on day 105 only, 7-day label on days 100..=105.
        assert_eq!(
            m.labels[0],
            vec![false, false, false, false, false, true, false, false, false, false]
        );
        assert_eq!(m.labels[1][..6], [true; 6]);
        assert!(!m.labels[1][6]);
    }

    #[test]
    fn windows_and_ratios() {
        let ev = [(90 * DAY, "a", "open"), (93 * DAY, "a", "borrow"), (100 * DAY, "a", "borrow")];
        let df =
            account_features(accounts(100..102), events(&ev), market(100..102)).collect().unwrap();
        // Day 100: borrows on days 93 (outside 7 d: 100 - 7 = 93) and 100.
        assert_eq!(feature(&df, "borrows_7d")[0], 1f64.ln_1p());
        assert_eq!(feature(&df, "borrows_30d")[0], 2f64.ln_1p());
        assert_eq!(feature(&df, "log_age_days")[0], 10f64.ln_1p());
        assert!((feature(&df, "distance_to_liquidation")[0] - (2.0 / 1.5 - 1.0)).abs() < 1e-12);
        // No row a week earlier: debt then counts as 0, the change is +1.
        assert_eq!(feature(&df, "debt_change_7d")[0], 1.0);
        let z = (2.0_f64 / 1.5).ln() / (0.02 * 7f64.sqrt());
        assert!((feature(&df, "liquidation_z")[0] - z).abs() < 1e-12);
    }

    /// One account on a hand-worked Aave market: 1 WETH at 2,000 USD (LT 80 %) against 1,000
    /// USDC borrowed on day 6; day 7 has no record; ETH falls to 1,500 USD on day 8.
    #[test]
    fn aave_accounts_one_row_per_day_with_debt() {
        use ruint::aliases::U256;

        use crate::aave::{
            events::LogMeta,
            positions::WAD,
            store::{Checkpoint, FORMAT_VERSION, ReserveMeta, WatchedContract},
        };
        const WETH: &str = "0x00000000000000000000000000000000000000e1";
        const USDC: &str = "0x00000000000000000000000000000000000000c1";
        const PROXY: &str = "0x00000000000000000000000000000000000000f1";
        const AGGREGATOR: &str = "0x00000000000000000000000000000000000000a9";
        const USDC_FEED: &str = "0x00000000000000000000000000000000000000f2";
        const ALICE: &str = "0x00000000000000000000000000000000000000b0";
        let rec = |block: u64, contract: &str, event: AaveEvent| Record {
            meta: LogMeta {
                block_number: block,
                block_timestamp: block * 86_400 + 60,
                tx_hash: format!("0x{block:064x}"),
                log_index: 0,
                contract: contract.into(),
            },
            event,
        };
        let init = |asset: &str, a_token: &str| AaveEvent::ReserveInitialized {
            asset: asset.into(),
            a_token: a_token.into(),
            stable_debt_token: "0x00".into(),
            variable_debt_token: "0x00".into(),
            interest_rate_strategy_address: "0x00".into(),
        };
        let answer = |usd: u64| AaveEvent::AnswerUpdated {
            current: (usd * 100_000_000).to_string(),
            round_id: U256::from(1u8),
            updated_at: U256::ZERO,
        };
        let records = vec![
            rec(1, "cfg", init(WETH, "0xa1")),
            rec(1, "cfg", init(USDC, "0xa2")),
            rec(
                2,
                "cfg",
                AaveEvent::CollateralConfigurationChanged {
                    asset: WETH.into(),
                    ltv: U256::from(7_500u64),
                    liquidation_threshold: U256::from(8_000u64),
                    liquidation_bonus: U256::from(10_500u64),
                },
            ),
            rec(
                3,
                "oracle",
                AaveEvent::AssetSourceUpdated { asset: WETH.into(), source: PROXY.into() },
            ),
            rec(
                3,
                "oracle",
                AaveEvent::AssetSourceUpdated { asset: USDC.into(), source: USDC_FEED.into() },
            ),
            rec(4, AGGREGATOR, answer(2_000)),
            rec(4, USDC_FEED, answer(1)),
            rec(
                5,
                "pool",
                AaveEvent::Supply {
                    reserve: WETH.into(),
                    user: ALICE.into(),
                    on_behalf_of: ALICE.into(),
                    amount: WAD,
                    referral_code: 0,
                },
            ),
            rec(
                5,
                "pool",
                AaveEvent::ReserveUsedAsCollateral {
                    reserve: WETH.into(),
                    user: ALICE.into(),
                    enabled: true,
                },
            ),
            rec(
                6,
                "pool",
                AaveEvent::Borrow {
                    reserve: USDC.into(),
                    user: ALICE.into(),
                    on_behalf_of: ALICE.into(),
                    amount: U256::from(1_000_000_000u64),
                    interest_rate_mode: 2,
                    borrow_rate: U256::ZERO,
                    referral_code: 0,
                },
            ),
            rec(8, AGGREGATOR, answer(1_500)),
        ];
        let checkpoint = Checkpoint {
            version: FORMAT_VERSION,
            chain_id: 1,
            pool: "0x01".into(),
            from_block: 0,
            partition_blocks: 10,
            next_block: 100,
            last_block_hash: None,
            contracts: vec![WatchedContract {
                address: AGGREGATOR.into(),
                role: "aggregator".into(),
                since_block: 0,
                answers_for: Some(PROXY.into()),
            }],
            reserves: vec![
                ReserveMeta { asset: WETH.into(), symbol: "WETH".into(), decimals: 18 },
                ReserveMeta { asset: USDC.into(), symbol: "USDC".into(), decimals: 6 },
            ],
        };
        let data = Dataset { checkpoint, records };
        let (accounts, events) = aave_daily_accounts(&data).unwrap();
        let days: Vec<i32> = accounts
            .column("date")
            .unwrap()
            .cast(&DataType::Int32)
            .unwrap()
            .i32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(days, vec![6, 7, 8]);
        assert_eq!(feature(&accounts, "collateral_value"), vec![2_000.0, 2_000.0, 1_500.0]);
        assert_eq!(feature(&accounts, "debt"), vec![1_000.0; 3]);
        assert_eq!(feature(&accounts, "liquidation_ratio"), vec![1.25; 3]);
        assert_eq!(events.height(), 2); // the supply (deposit) and the borrow
        // The same feature pipeline runs on it.
        let df = account_features(accounts.lazy(), events.lazy(), market(6..9)).collect().unwrap();
        let want = 2.0 / 1.25 - 1.0;
        assert!((feature(&df, "distance_to_liquidation")[0] - want).abs() < 1e-12);
        assert_eq!(feature(&df, "borrows_7d"), vec![1f64.ln_1p(); 3]);

        // WETH's price through its proxy's aggregator, flat before the first answer (days 2, 3).
        let p = aave_price_days(&data, WETH, 2).unwrap();
        assert_eq!(feature(&p, "price"), [[2_000.0; 6].as_slice(), &[1_500.0]].concat());
        let err = aave_price_days(&data, "0x0000000000000000000000000000000000000bad", 2);
        assert!(err.unwrap_err().to_string().contains("no price answer"));
        // The epoch's rows: the last day only, the same features.
        let latest = aave_latest_features(&data, WETH).unwrap();
        assert_eq!((latest.rows, latest.dates.clone()), (1, vec![8]));
        assert_eq!((latest.accounts[0].as_str(), latest.debt[0]), (ALICE, 1_000.0));
        assert!((latest.values[1] - (1.5 / 1.25 - 1.0)).abs() < 1e-12, "{:?}", latest.values);
    }
}
