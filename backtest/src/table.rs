//! Model evaluation on any history in the canonical schema of `zkrisk_pipeline::features`, read
//! from Parquet: an Aave v3 dataset turned into accounts and events
//! (`features::aave_daily_accounts`), another Maker collateral type, or a synthetic market.
//!
//! | file | columns |
//! |---|---|
//! | accounts | `date` (Date), `account` (String), `collateral_value` (f64, USD, end of day), `debt` (f64, USD, > 0), `liquidation_ratio` (f64: collateral value / debt at which the position becomes liquidatable) |
//! | events | `timestamp` (Datetime), `account` (String), `kind` (String: `open`, `deposit`, `withdraw`, `borrow`, `repay`, `liquidate`) |
//!
//! The market context (ETH returns, volatility, drawdown) comes from the daily ETH/USD closes of
//! the data directory. [`TableFeatures`] is a [`FeatureSource`]: it cuts all three tables at a day
//! the same way as the ETH-B history, so the no-look-ahead guard applies unchanged. Only the model
//! evaluation runs on such a table; the policy replay needs each vault's flows, which the canonical
//! tables do not carry.

use std::{fs::File, path::Path};

use polars::prelude::*;
use zkrisk_pipeline::{features, prices, vaults};

use crate::{
    Error, Result,
    history::{FeatureSource, Features, MS_PER_DAY, busiest_liquidation_eves, features_of},
};

/// Canonical account and event tables with the ETH/USD closes.
#[derive(Debug, Clone)]
pub struct TableFeatures {
    accounts: DataFrame,
    account_days: Vec<i64>,
    events: DataFrame,
    event_ms: Vec<i64>,
    prices: DataFrame,
    price_days: Vec<i64>,
    /// Feature columns, each one of [`ACCOUNT_FEATURES`].
    pub names: Vec<String>,
    /// Label horizon in days (1, 7 or 30).
    pub horizon: i32,
}

fn err(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Data(format!("{}: {what}", path.display()))
}

fn read_parquet(path: &Path) -> Result<DataFrame> {
    let file = File::open(path).map_err(|e| err(path, e))?;
    ParquetReader::new(file).finish().map_err(|e| err(path, e))
}

/// Checks that `df` has `columns` of the given types (casting numbers to f64), naming the file
/// and the column otherwise.
fn conform(df: DataFrame, path: &Path, columns: &[(&str, DataType)]) -> Result<DataFrame> {
    let mut out = Vec::new();
    for (name, dtype) in columns {
        let c = df.column(name).map_err(|_| {
            let found: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
            err(path, format!("missing column `{name}` (found: {})", found.join(", ")))
        })?;
        let ok = match dtype {
            DataType::Float64 => c.dtype().is_primitive_numeric(),
            DataType::Datetime(..) => matches!(c.dtype(), DataType::Datetime(..)),
            other => c.dtype() == other,
        };
        if !ok {
            return Err(err(path, format!("column `{name}` is {}, expected {dtype}", c.dtype())));
        }
        let c = if *dtype == DataType::Float64 {
            c.cast(&DataType::Float64).map_err(|e| err(path, e))?
        } else if matches!(dtype, DataType::Datetime(..)) {
            c.cast(&DataType::Datetime(TimeUnit::Milliseconds, None)).map_err(|e| err(path, e))?
        } else {
            c.clone()
        };
        if c.null_count() > 0 {
            return Err(err(path, format!("column `{name}` has {} nulls", c.null_count())));
        }
        out.push(c);
    }
    DataFrame::new_infer_height(out).map_err(|e| err(path, e))
}

fn ints(c: &Column) -> Vec<i64> {
    match c.dtype() {
        DataType::Date => {
            c.date().map(|d| d.physical().iter().map(|v| i64::from(v.unwrap_or(0))).collect())
        }
        _ => c.datetime().map(|d| d.physical().iter().map(|v| v.unwrap_or(0)).collect()),
    }
    .unwrap_or_default()
}

fn keep(df: &DataFrame, mask: Vec<bool>) -> Result<DataFrame> {
    df.filter(&BooleanChunked::from_slice("keep".into(), &mask))
        .map_err(|e| Error::Data(e.to_string()))
}

impl TableFeatures {
    /// Reads the two Parquet files and the ETH/USD closes (`prices/eth_usd_daily_coingecko.csv`
    /// of `data_dir`).
    ///
    /// # Errors
    /// [`Error::Data`] naming the file and column of a missing or ill-typed column; the loaders'
    /// errors.
    pub fn load(
        accounts: &Path,
        events: &Path,
        data_dir: &Path,
        names: Vec<String>,
        horizon: i32,
    ) -> Result<Self> {
        let a = conform(
            read_parquet(accounts)?,
            accounts,
            &[
                ("date", DataType::Date),
                ("account", DataType::String),
                ("collateral_value", DataType::Float64),
                ("debt", DataType::Float64),
                ("liquidation_ratio", DataType::Float64),
            ],
        )?;
        let e = conform(
            read_parquet(events)?,
            events,
            &[
                ("timestamp", DataType::Datetime(TimeUnit::Milliseconds, None)),
                ("account", DataType::String),
                ("kind", DataType::String),
            ],
        )?;
        let price_file = data_dir.join("prices").join("eth_usd_daily_coingecko.csv");
        let p = prices::load_daily_usd(&price_file)?.collect().map_err(|e| err(&price_file, e))?;
        Self::new(a, e, p, names, horizon)
    }

    /// From an Aave v3 dataset written by `zkrisk ingest` (`dir`): the daily account and event
    /// tables of [`features::aave_daily_accounts`], and the market context from the dataset's own
    /// WETH price feed ([`features::aave_price_days`]).
    ///
    /// # Errors
    /// [`Error::Data`] naming `dir` when it holds no dataset, no WETH reserve or no account with
    /// debt; the pipeline's errors.
    pub fn from_aave(dir: &Path, names: Vec<String>, horizon: i32) -> Result<Self> {
        let data = zkrisk_pipeline::aave::store::load(dir).map_err(|e| err(dir, e))?;
        let weth =
            data.checkpoint.reserves.iter().find(|r| r.symbol == "WETH").ok_or_else(|| {
                err(dir, "no WETH reserve: the market context needs the ETH price feed")
            })?;
        let (accounts, events) = features::aave_daily_accounts(&data).map_err(|e| err(dir, e))?;
        let first = accounts.column("date").map(ints).unwrap_or_default().into_iter().min();
        let first = first.ok_or_else(|| err(dir, "no account with debt"))?;
        let prices =
            features::aave_price_days(&data, &weth.asset, first - 31).map_err(|e| err(dir, e))?;
        Self::new(accounts, events, prices, names, horizon)
    }

    /// From frames already in the canonical schema (`prices` as from `prices::load_daily_usd`).
    ///
    /// # Errors
    /// [`Error::Data`] for an empty account table.
    pub fn new(
        accounts: DataFrame,
        events: DataFrame,
        prices: DataFrame,
        names: Vec<String>,
        horizon: i32,
    ) -> Result<Self> {
        let col = |df: &DataFrame, n: &str| {
            df.column(n).map(ints).map_err(|e| Error::Data(format!("{n}: {e}")))
        };
        let account_days = col(&accounts, "date")?;
        if account_days.is_empty() {
            return Err(Error::Data("the account table is empty".into()));
        }
        let event_ms = col(&events, "timestamp")?;
        let price_days = col(&prices, "date")?;
        Ok(Self { accounts, account_days, events, event_ms, prices, price_days, names, horizon })
    }
}

impl FeatureSource for TableFeatures {
    fn features(&self, until: Option<i32>) -> Result<Features> {
        let (accounts, events, prices) = match until.map(i64::from) {
            None => (self.accounts.clone(), self.events.clone(), self.prices.clone()),
            Some(t) => (
                keep(&self.accounts, self.account_days.iter().map(|d| *d <= t).collect())?,
                keep(
                    &self.events,
                    self.event_ms.iter().map(|m| *m < (t + 1) * MS_PER_DAY).collect(),
                )?,
                keep(&self.prices, self.price_days.iter().map(|d| *d <= t + 1).collect())?,
            ),
        };
        let days: Vec<i64> = accounts.column("date").map(ints).unwrap_or_default();
        let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else {
            return Err(Error::Data("no account-day before the cut".into()));
        };
        let market = vaults::market_daily(prices.lazy(), *first, *last)?;
        let table = features::account_features(accounts.lazy(), events.lazy(), market.lazy())
            .collect()
            .map_err(|e| Error::Data(format!("features: {e}")))?;
        features_of(&table, &self.names, self.horizon)
    }

    /// The day before each of the three days with the most `liquidate` events.
    fn probe_days(&self) -> Vec<i32> {
        let Ok(kinds) = self.events.column("kind").and_then(|c| c.str().cloned()) else {
            return Vec::new();
        };
        busiest_liquidation_eves(&kinds, &self.event_ms)
    }
}
