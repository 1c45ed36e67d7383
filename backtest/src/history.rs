//! The history a backtest replays: the MakerDAO ETH-B vault events, the daily ETH/USD price and the
//! parameters in force, loaded once and cut at any day.
//!
//! Two views come out of it:
//! - [`Features`] (one row per vault and day with the model features and a forward label), through
//!   the [`FeatureSource`] trait, whose `features(Some(t))` sees only the data known at the end of
//!   day `t`: that is what [`crate::lookahead`] checks;
//! - a [`Book`] for the policy replay: each vault's own flows (deposits, withdrawals, borrows,
//!   repayments) per day, without the recorded liquidations (a policy decides those), and the
//!   end-of-day prices.

use std::{collections::BTreeMap, path::Path};

use polars::prelude::*;
use zkrisk_pipeline::{
    features::{self, ACCOUNT_FEATURES, LABELS},
    maker, prices, vaults,
};

use crate::{Error, Result};

/// Milliseconds in a day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// MakerDAO ETH-B's liquidation penalty (`chop`, 13 %) from `ETHB-Parameter-Changes.csv`
/// (`CAT.ilks.chop` then `DOG.ilks.chop`, both 0.13, never changed in the file).
pub const ETH_B_CHOP: f64 = 1.13;

fn polars_err(what: &str, e: PolarsError) -> Error {
    Error::Data(format!("{what}: {e}"))
}

/// The ETH-B history: events, prices and liquidation-ratio changes.
#[derive(Debug, Clone)]
pub struct MakerHistory {
    events: DataFrame,
    /// Event timestamps (ms), in the order of `events`.
    timestamps: Vec<i64>,
    prices: DataFrame,
    /// Snapshot days of `prices`, in order.
    price_days: Vec<i64>,
    ratio: DataFrame,
    /// `(timestamp ms, liquidation ratio)` changes, in order.
    pub ratio_changes: Vec<(i64, f64)>,
    /// First and last day with an event.
    pub event_days: (i64, i64),
    /// WETH daily candles (`prices/daily-ohlcv/15.WETH-USD.csv`), for liquidations at the day's
    /// low; `None` when the file is absent.
    pub candles: Option<prices::DailyOhlcv>,
}

/// The WETH candles under a data directory.
pub const WETH_CANDLES: &str = "prices/daily-ohlcv/15.WETH-USD.csv";

fn datetime_ms(df: &DataFrame, name: &str) -> Result<Vec<i64>> {
    let c = df.column(name).map_err(|e| polars_err(name, e))?;
    let ca = c.datetime().map_err(|e| polars_err(name, e))?;
    Ok(ca.physical().iter().map(|v| v.unwrap_or(0)).collect())
}

fn date_days(df: &DataFrame, name: &str) -> Result<Vec<i64>> {
    let c = df.column(name).map_err(|e| polars_err(name, e))?;
    let c = c.cast(&DataType::Int32).map_err(|e| polars_err(name, e))?;
    Ok(c.i32()
        .map_err(|e| polars_err(name, e))?
        .iter()
        .map(|v| i64::from(v.unwrap_or(0)))
        .collect())
}

fn mask(df: &DataFrame, keep: Vec<bool>, what: &str) -> Result<DataFrame> {
    df.filter(&BooleanChunked::from_slice("keep".into(), &keep)).map_err(|e| polars_err(what, e))
}

impl MakerHistory {
    /// Loads `data_dir/maker-eth-b/` and `data_dir/prices/eth_usd_daily_coingecko.csv`.
    ///
    /// # Errors
    /// The loaders' errors, which name the file.
    pub fn load(data_dir: &Path) -> Result<Self> {
        let dir = data_dir.join("maker-eth-b");
        let events = maker::load_events(&dir)?.collect().map_err(|e| polars_err("events", e))?;
        let ratio = maker::load_liquidation_ratio(&dir)?;
        let price_file = data_dir.join("prices").join("eth_usd_daily_coingecko.csv");
        let prices =
            prices::load_daily_usd(&price_file)?.collect().map_err(|e| polars_err("prices", e))?;
        let mut history = Self::new(events, prices, ratio)?;
        let candles = data_dir.join(WETH_CANDLES);
        if candles.is_file() {
            history.candles = Some(prices::load_daily_ohlcv(&candles)?);
        }
        Ok(history)
    }

    /// A history from the canonical tables ([`maker::load_events`],
    /// [`prices::load_daily_usd`], [`maker::load_liquidation_ratio`]).
    ///
    /// # Errors
    /// [`Error::Data`] for a missing column or an empty event table.
    pub fn new(events: DataFrame, prices: DataFrame, ratio: DataFrame) -> Result<Self> {
        let timestamps = datetime_ms(&events, "timestamp")?;
        let price_days = date_days(&prices, "date")?;
        let ratio_changes: Vec<(i64, f64)> = datetime_ms(&ratio, "timestamp")?
            .into_iter()
            .zip(vaults::column_f64(&ratio, "liquidation_ratio")?)
            .collect();
        let days = timestamps.iter().map(|t| t.div_euclid(MS_PER_DAY));
        let (first, last) = days.fold((i64::MAX, i64::MIN), |(a, b), d| (a.min(d), b.max(d)));
        if first > last {
            return Err(Error::Data("the event table is empty".into()));
        }
        Ok(Self {
            events,
            timestamps,
            prices,
            price_days,
            ratio,
            ratio_changes,
            event_days: (first, last),
            candles: None,
        })
    }

    /// The tables cut at the end of day `until`: events with `timestamp < until + 1 00:00 UTC`
    /// and price snapshots dated `≤ until + 1` (the snapshot of `d + 1 00:00` is `d`'s close).
    fn cut(&self, until: Option<i64>) -> Result<(DataFrame, DataFrame)> {
        let Some(t) = until else { return Ok((self.events.clone(), self.prices.clone())) };
        let end = (t + 1) * MS_PER_DAY;
        let events =
            mask(&self.events, self.timestamps.iter().map(|x| *x < end).collect(), "events")?;
        let prices =
            mask(&self.prices, self.price_days.iter().map(|d| *d <= t + 1).collect(), "prices")?;
        Ok((events, prices))
    }

    /// The account feature table ([`features::account_features`]) from the data known at the end
    /// of `until` (all data for `None`).
    ///
    /// # Errors
    /// The pipeline's errors.
    pub fn feature_table(&self, until: Option<i64>) -> Result<DataFrame> {
        let (events, prices) = self.cut(until)?;
        let accounts =
            features::maker_accounts(events.clone().lazy(), prices.clone().lazy(), &self.ratio)?;
        let days = date_days(&accounts, "date")?;
        let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else {
            return Err(Error::Data("no vault-day with debt".into()));
        };
        let market = vaults::market_daily(prices.lazy(), *first, *last)?;
        features::account_features(accounts.lazy(), events.lazy(), market.lazy())
            .collect()
            .map_err(|e| polars_err("features", e))
    }

    /// The replay book: flows per vault and day and end-of-day prices.
    ///
    /// # Errors
    /// [`Error::Data`] for an ill-typed column.
    pub fn book(&self) -> Result<Book> {
        let ev = &self.events;
        let accounts: Vec<String> = ev
            .column("account")
            .and_then(|c| c.str().cloned())
            .map_err(|e| polars_err("account", e))?
            .iter()
            .map(|a| a.unwrap_or_default().to_string())
            .collect();
        let kinds: Vec<String> = ev
            .column("kind")
            .and_then(|c| c.str().cloned())
            .map_err(|e| polars_err("kind", e))?
            .iter()
            .map(|a| a.unwrap_or_default().to_string())
            .collect();
        let dc = vaults::column_f64(ev, "collateral_delta")?;
        let dd = vaults::column_f64(ev, "debt_delta")?;
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &accounts {
            let n = index.len();
            index.entry(a.as_str()).or_insert(n);
        }
        // Vault ids in order of first appearance are not stable across cuts; sort them.
        let mut names: Vec<&str> = index.keys().copied().collect();
        names.sort_unstable();
        let id: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut flows: BTreeMap<(i64, usize), Flow> = BTreeMap::new();
        let mut real = Vec::new();
        for i in 0..accounts.len() {
            let day = self.timestamps[i].div_euclid(MS_PER_DAY);
            let vault = id[accounts[i].as_str()];
            if kinds[i] == "liquidate" {
                real.push(RealLiquidation { day, vault, collateral: -dc[i], debt: -dd[i] });
                continue;
            }
            let f = flows.entry((day, vault)).or_insert(Flow { day, vault, ..Flow::default() });
            if dc[i] > 0.0 {
                f.deposit += dc[i];
            } else {
                f.withdraw -= dc[i];
            }
            if dd[i] > 0.0 {
                f.borrow += dd[i];
            } else {
                f.repay -= dd[i];
            }
        }
        // End-of-day prices: the close of `d` is the snapshot of `d + 1`, filled forward.
        let values = vaults::column_f64(&self.prices, "price")?;
        let snaps: BTreeMap<i64, f64> = self.price_days.iter().copied().zip(values).collect();
        let (Some(first), Some(last)) = (snaps.keys().next(), snaps.keys().next_back()) else {
            return Err(Error::Data("the price table is empty".into()));
        };
        let price_first_day = first - 1;
        let closes: Vec<f64> = (price_first_day..last - 1 + 1)
            .map(|d| snaps.range(..=d + 1).next_back().map_or(f64::NAN, |(_, p)| *p))
            .collect();
        let lows = match &self.candles {
            Some(c) => (price_first_day..price_first_day + closes.len() as i64)
                .map(|d| c.candle(d).map_or(f64::NAN, |(_, _, low, _)| low))
                .collect(),
            None => Vec::new(),
        };
        Ok(Book {
            vaults: names.iter().map(|s| (*s).to_string()).collect(),
            flows: flows.into_values().collect(),
            price_first_day,
            closes,
            lows,
            real_liquidations: real,
        })
    }

    /// The liquidation ratio in force at the end of `day`.
    pub fn ratio_at(&self, day: i64) -> Option<f64> {
        let end = (day + 1) * MS_PER_DAY;
        let n = self.ratio_changes.partition_point(|(t, _)| *t < end);
        n.checked_sub(1).map(|i| self.ratio_changes[i].1)
    }
}

/// One vault's own flows on one day (amounts ≥ 0: ETH for collateral, DAI for debt).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Flow {
    /// Day (days since 1970-01-01).
    pub day: i64,
    /// Vault index in [`Book::vaults`].
    pub vault: usize,
    /// ETH deposited.
    pub deposit: f64,
    /// ETH withdrawn.
    pub withdraw: f64,
    /// DAI borrowed.
    pub borrow: f64,
    /// DAI repaid.
    pub repay: f64,
}

/// A liquidation recorded on chain (for comparison with the replay).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RealLiquidation {
    /// Day.
    pub day: i64,
    /// Vault index.
    pub vault: usize,
    /// ETH sent to auction.
    pub collateral: f64,
    /// DAI of debt removed.
    pub debt: f64,
}

/// What the policy replay runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct Book {
    /// Vault names; [`Flow::vault`] indexes them.
    pub vaults: Vec<String>,
    /// Flows sorted by `(day, vault)`, one per vault and day with any.
    pub flows: Vec<Flow>,
    /// Day of `closes[0]`.
    pub price_first_day: i64,
    /// End-of-day ETH/USD of every day from `price_first_day` (filled forward).
    pub closes: Vec<f64>,
    /// The day's low (WETH candle) aligned with `closes`, NaN where no candle; may be empty.
    pub lows: Vec<f64>,
    /// The liquidations the chain recorded (reference only; the replay ignores them).
    pub real_liquidations: Vec<RealLiquidation>,
}

impl Book {
    /// The close of `day`, if the prices cover it.
    pub fn close(&self, day: i64) -> Option<f64> {
        usize::try_from(day - self.price_first_day).ok().and_then(|i| self.closes.get(i).copied())
    }

    /// The price a liquidation check of `day` uses: the close, or with `intraday` the lower of
    /// the close and the day's low where a candle exists.
    pub fn liquidation_price(&self, day: i64, intraday: bool) -> Option<f64> {
        let close = self.close(day)?;
        if !intraday {
            return Some(close);
        }
        let low = usize::try_from(day - self.price_first_day)
            .ok()
            .and_then(|i| self.lows.get(i).copied());
        Some(low.filter(|l| l.is_finite() && *l > 0.0).map_or(close, |l| l.min(close)))
    }

    /// The closes of every day before `day` (what is known at its start).
    pub fn closes_before(&self, day: i64) -> &[f64] {
        let n = usize::try_from(day - self.price_first_day).unwrap_or(0).min(self.closes.len());
        &self.closes[..n]
    }

    /// Last day with a close.
    pub const fn last_price_day(&self) -> i64 {
        self.price_first_day + self.closes.len() as i64 - 1
    }
}

/// Model inputs of every account-day: one forward label, features computed from the past.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Column names.
    pub names: Vec<String>,
    /// Row-major values.
    pub values: Vec<f64>,
    /// The label of each row.
    pub labels: Vec<bool>,
    /// Day of each row.
    pub dates: Vec<i32>,
    /// Account of each row.
    pub accounts: Vec<String>,
}

impl Features {
    /// Number of rows.
    pub const fn rows(&self) -> usize {
        self.labels.len()
    }

    /// The values of row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        let c = self.names.len();
        &self.values[i * c..(i + 1) * c]
    }
}

/// Anything that computes features from the data known at the end of a day.
pub trait FeatureSource {
    /// The features of every account-day, from the data known at the end of `until` (all data
    /// for `None`). A feature that obeys the no-look-ahead rule has the same value for a row
    /// dated `d ≤ t` whether it is computed with `until = Some(t)` or `None`.
    ///
    /// # Errors
    /// The source's own errors.
    fn features(&self, until: Option<i32>) -> Result<Features>;

    /// Days worth cutting the data at besides the decision days: the days just before the most
    /// eventful ones, where a feature that reads the future has the most future to read (a leak
    /// of a label is only visible at a cut followed by a positive label).
    fn probe_days(&self) -> Vec<i32> {
        Vec::new()
    }
}

/// The ETH-B features: chosen columns of [`ACCOUNT_FEATURES`] and one of [`LABELS`].
#[derive(Debug, Clone)]
pub struct MakerFeatures<'a> {
    /// The history.
    pub history: &'a MakerHistory,
    /// Feature columns, each one of [`ACCOUNT_FEATURES`].
    pub names: Vec<String>,
    /// Label horizon in days, one of [`LABELS`]' (1, 7, 30).
    pub horizon: i32,
}

impl FeatureSource for MakerFeatures<'_> {
    /// The day before each of the three days with the most liquidation rows.
    fn probe_days(&self) -> Vec<i32> {
        let kinds = self.history.events.column("kind").ok().and_then(|c| c.str().ok().cloned());
        let Some(kinds) = kinds else { return Vec::new() };
        busiest_liquidation_eves(&kinds, &self.history.timestamps)
    }

    fn features(&self, until: Option<i32>) -> Result<Features> {
        let table = self.history.feature_table(until.map(i64::from))?;
        features_of(&table, &self.names, self.horizon)
    }
}

/// The model columns `names` (each one of [`ACCOUNT_FEATURES`]) and the label of `horizon` days of
/// an account-feature table.
pub(crate) fn features_of(table: &DataFrame, names: &[String], horizon: i32) -> Result<Features> {
    let m = features::to_matrix(table)?;
    let label = LABELS
        .iter()
        .position(|(_, h)| *h == horizon)
        .ok_or_else(|| Error::Config(format!("horizon {horizon}: expected one of 1, 7, 30")))?;
    let cols = names
        .iter()
        .map(|n| {
            ACCOUNT_FEATURES.iter().position(|a| a == n).ok_or_else(|| {
                Error::Config(format!("model.features: `{n}` is not an account feature"))
            })
        })
        .collect::<Result<Vec<usize>>>()?;
    let (all, width) = (&m.values, m.cols);
    let values = (0..m.rows).flat_map(|i| cols.iter().map(move |j| all[i * width + j])).collect();
    Ok(Features {
        names: names.to_vec(),
        values,
        labels: m.labels[label].clone(),
        dates: m.dates,
        accounts: m.accounts,
    })
}

/// The day before each of the three days with the most `liquidate` events (`kinds` and event
/// timestamps in ms, in the same order).
pub(crate) fn busiest_liquidation_eves(kinds: &StringChunked, timestamps_ms: &[i64]) -> Vec<i32> {
    let mut per_day: BTreeMap<i64, usize> = BTreeMap::new();
    for (k, t) in kinds.iter().zip(timestamps_ms) {
        if k == Some("liquidate") {
            *per_day.entry(t.div_euclid(MS_PER_DAY)).or_default() += 1;
        }
    }
    let mut days: Vec<(i64, usize)> = per_day.into_iter().collect();
    days.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    days.iter().take(3).filter_map(|(d, _)| i32::try_from(d - 1).ok()).collect()
}
