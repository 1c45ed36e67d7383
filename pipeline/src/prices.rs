//! Daily price loaders: CoinGecko daily snapshots ([`load_daily_usd`]), daily OHLC candles
//! ([`load_daily_ohlcv`]) and candles built from a column of daily snapshots
//! ([`load_daily_snapshot_ohlc`]).

use std::{collections::BTreeMap, path::Path};

use polars::prelude::*;

use crate::{
    error::{Error, Result},
    table::{CsvTable, day_of_ms, format_day, parse_date},
};

/// The day number (days since 1970-01-01, UTC) of a `YYYY-MM-DD` date, `None` if it is not a
/// valid calendar date.
pub fn day_from_ymd(date: &str) -> Option<i64> {
    parse_date(date)
}

/// The `YYYY-MM-DD` date of a day number (inverse of [`day_from_ymd`]).
pub fn ymd(day: i64) -> String {
    format_day(day)
}

/// Daily OHLC candles of one asset in USD, one per UTC day, sorted by day and without gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyOhlcv {
    /// The day of each candle (days since 1970-01-01, UTC), strictly increasing by one.
    pub days: Vec<i64>,
    /// Price at the start of the day.
    pub open: Vec<f64>,
    /// Highest price of the day.
    pub high: Vec<f64>,
    /// Lowest price of the day.
    pub low: Vec<f64>,
    /// Price at the end of the day.
    pub close: Vec<f64>,
    /// Days whose high or low contradicted the open and close (see [`load_daily_ohlcv`]) and were
    /// clipped to them.
    pub repaired: Vec<i64>,
}

impl DailyOhlcv {
    /// Number of days.
    pub const fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether there is no day.
    pub const fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The row of `day`, if the series covers it.
    pub fn index_of(&self, day: i64) -> Option<usize> {
        let first = *self.days.first()?;
        let i = usize::try_from(day - first).ok()?;
        (i < self.days.len()).then_some(i)
    }

    /// The candle of `day` as `(open, high, low, close)`.
    pub fn candle(&self, day: i64) -> Option<(f64, f64, f64, f64)> {
        let i = self.index_of(day)?;
        Some((self.open[i], self.high[i], self.low[i], self.close[i]))
    }

    /// The candles as a frame `date (Date), open, high, low, close (f64)`.
    ///
    /// # Errors
    /// [`Error::Polars`] if the frame cannot be built.
    pub fn to_frame(&self) -> Result<DataFrame> {
        let dates = Int32Chunked::from_vec(
            "date".into(),
            self.days.iter().map(|d| i32::try_from(*d).unwrap_or(i32::MAX)).collect(),
        )
        .into_date()
        .into_series();
        Ok(DataFrame::new_infer_height(vec![
            dates.into(),
            Column::new("open".into(), self.open.clone()),
            Column::new("high".into(), self.high.clone()),
            Column::new("low".into(), self.low.clone()),
            Column::new("close".into(), self.close.clone()),
        ])?)
    }

    /// Checks that days are strictly consecutive; `path` names the file in the error.
    fn check_consecutive(&self, path: &Path, column: &str) -> Result<()> {
        for (row, pair) in self.days.windows(2).enumerate() {
            if pair[1] == pair[0] {
                return Err(Error::DuplicateDate {
                    path: path.to_path_buf(),
                    date: format_day(pair[0]),
                    first_line: row + 2,
                    second_line: row + 3,
                });
            }
            if pair[1] != pair[0] + 1 {
                return Err(Error::Value {
                    path: path.to_path_buf(),
                    line: row + 3,
                    column: column.to_string(),
                    value: format_day(pair[1]),
                    reason: format!(
                        "days must follow each other without gaps (previous row: {})",
                        format_day(pair[0])
                    ),
                });
            }
        }
        Ok(())
    }
}

fn positive_price(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err("price must be a finite number ≥ 0".to_string()),
    }
}

fn date_cell(s: &str) -> std::result::Result<i64, String> {
    parse_date(s).ok_or_else(|| "not a date `YYYY-MM-DD`".to_string())
}

/// Loads daily OHLCV candles (`Date,Open,High,Low,Close,...`, e.g.
/// `data/prices/daily-ohlcv/15.WETH-USD.csv`; other columns are ignored). `Date` is the UTC day
/// of the candle: `Open` is the price at its start, `Close` at its end.
///
/// Open and close must be positive. A day whose low is above `min(open, close)`, whose high is
/// below `max(open, close)`, or whose low is not positive contradicts its own candle; its low and
/// high are clipped to `min(open, close)` and `max(open, close)` and the day is listed in
/// [`DailyOhlcv::repaired`] (the WETH file has two such days, 2021-11-16 and 2021-11-17, with a
/// low of 0 and a high of 33,329).
///
/// # Errors
/// [`Error::MissingFile`], [`Error::Schema`] (a missing column), [`Error::Value`] (an unparsable
/// date or price, a non-positive open or close, a gap between days), [`Error::DuplicateDate`],
/// [`Error::Empty`]; all name the file.
pub fn load_daily_ohlcv(path: &Path) -> Result<DailyOhlcv> {
    let table = CsvTable::read(path, &["Date", "Open", "High", "Low", "Close"])?;
    let days = table.parse("Date", date_cell)?;
    let strictly_positive = |s: &str| match positive_price(s) {
        Ok(p) if p > 0.0 => Ok(p),
        _ => Err("price must be a positive finite number".to_string()),
    };
    let open = table.parse("Open", strictly_positive)?;
    let close = table.parse("Close", strictly_positive)?;
    let mut high = table.parse("High", positive_price)?;
    let mut low = table.parse("Low", positive_price)?;
    if table.len() == 0 {
        return Err(Error::Empty { path: path.to_path_buf(), what: "no candles".into() });
    }
    let mut repaired = Vec::new();
    for i in 0..days.len() {
        let (lo, hi) = (open[i].min(close[i]), open[i].max(close[i]));
        if low[i] <= 0.0 || low[i] > lo || high[i] < hi {
            low[i] = lo;
            high[i] = hi;
            repaired.push(days[i]);
        }
    }
    let out = DailyOhlcv { days, open, high, low, close, repaired };
    out.check_consecutive(path, "Date")?;
    Ok(out)
}

/// Builds daily candles from one column of daily snapshots (`Date,<column>`, e.g. the `DAI`
/// column of `data/prices/primary_token_price.csv`), where the value dated `D` was taken at the
/// start of `D`: the candle of `D` opens at the snapshot of `D`, closes at the snapshot of `D + 1`,
/// and its high and low are the larger and smaller of the two (the intraday range is unknown).
/// The last snapshot only closes the day before it, so the result has one day fewer than the file.
///
/// # Errors
/// [`Error::MissingFile`], [`Error::Schema`], [`Error::Value`] (an unparsable date, a price that
/// is not positive, a gap), [`Error::DuplicateDate`], [`Error::Empty`] (fewer than two rows); all
/// name the file.
pub fn load_daily_snapshot_ohlc(path: &Path, column: &str) -> Result<DailyOhlcv> {
    let table = CsvTable::read(path, &["Date", column])?;
    let days = table.parse("Date", date_cell)?;
    let price = table.parse(column, |s| match positive_price(s) {
        Ok(p) if p > 0.0 => Ok(p),
        _ => Err("price must be a positive finite number".to_string()),
    })?;
    if days.len() < 2 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: format!("fewer than two `{column}` snapshots"),
        });
    }
    let snapshots = DailyOhlcv {
        days: days.clone(),
        open: price.clone(),
        high: price.clone(),
        low: price.clone(),
        close: price.clone(),
        repaired: Vec::new(),
    };
    snapshots.check_consecutive(path, "Date")?;
    let n = days.len() - 1;
    let (open, close) = (price[..n].to_vec(), price[1..].to_vec());
    Ok(DailyOhlcv {
        days: days[..n].to_vec(),
        high: open.iter().zip(&close).map(|(o, c)| o.max(*c)).collect(),
        low: open.iter().zip(&close).map(|(o, c)| o.min(*c)).collect(),
        open,
        close,
        repaired: Vec::new(),
    })
}

/// Loads a CoinGecko daily USD price export (`snapped_at,price`, e.g.
/// `data/prices/eth_usd_daily_coingecko.csv`, with `snapped_at` like `2015-08-07 00:00:00 UTC`).
///
/// Returns one row per day, sorted by date:
///
/// | column | type | meaning |
/// |---|---|---|
/// | `date` | `Date` | UTC day of the snapshot |
/// | `price` | `f64` | USD price snapped at the **start** (about 00:00 UTC) of `date` |
///
/// The price on `date` is therefore known at the end of the previous day: the end-of-day price
/// of day `d` is the row dated `d + 1` (this is what [`crate::vaults::daily_states`] uses).
/// CoinGecko snapshots are taken at 00:00 UTC; two rows of the ETH file (2018-01-30 and
/// 2018-02-08) were snapped a few minutes later and are kept under their date. Days may be
/// missing (2015-08-09 is); consumers fill forward.
///
/// # Errors
/// [`Error::MissingFile`], [`Error::Schema`] (missing `snapped_at` or `price`), [`Error::Value`]
/// (an unparsable time, or a price that is not a positive finite number), and
/// [`Error::DuplicateDate`] when two rows fall on the same UTC day; all name the file.
pub fn load_daily_usd(path: &Path) -> Result<LazyFrame> {
    let table = CsvTable::read(path, &["snapped_at", "price"])?;
    let snapped = table.timestamps_ms("snapped_at")?;
    let prices = table.parse("price", |s| match s.parse::<f64>() {
        Ok(p) if p.is_finite() && p > 0.0 => Ok(p),
        _ => Err("price must be a positive finite number".to_string()),
    })?;
    let mut by_day: BTreeMap<i64, (usize, f64)> = BTreeMap::new();
    for (row, (ms, price)) in snapped.iter().zip(&prices).enumerate() {
        let day = day_of_ms(*ms);
        if let Some((first_row, _)) = by_day.insert(day, (row, *price)) {
            return Err(Error::DuplicateDate {
                path: path.to_path_buf(),
                date: format_day(day),
                first_line: first_row + 2,
                second_line: row + 2,
            });
        }
    }
    let dates = Int32Chunked::from_vec(
        "date".into(),
        by_day.keys().map(|d| i32::try_from(*d).unwrap_or(i32::MAX)).collect(),
    )
    .into_date()
    .into_series();
    let df = DataFrame::new_infer_height(vec![
        dates.into(),
        Column::new("price".into(), by_day.values().map(|(_, p)| *p).collect::<Vec<_>>()),
    ])?;
    Ok(df.lazy())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn csv(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn ohlcv_reads_and_repairs() {
        let f = csv("Date,Open,High,Low,Close,Volume\n2022-05-01,10,12,9,11,5\n\
             2022-05-02,11,30000,0.0,10,5\n2022-05-03,10,10.5,9.5,10,5\n");
        let d = load_daily_ohlcv(f.path()).unwrap();
        assert_eq!(d.days, vec![19_113, 19_114, 19_115]);
        assert_eq!(d.candle(19_113), Some((10.0, 12.0, 9.0, 11.0)));
        assert_eq!(d.candle(19_114), Some((11.0, 11.0, 10.0, 10.0)));
        assert_eq!(d.repaired, vec![19_114]);
        assert_eq!(d.index_of(19_112), None);
        assert_eq!(d.index_of(19_116), None);
        assert_eq!(ymd(d.days[0]), "2022-05-01");
        assert_eq!(day_from_ymd("2022-05-01"), Some(19_113));
        let frame = d.to_frame().unwrap();
        assert_eq!(frame.height(), 3);
    }

    #[test]
    fn ohlcv_errors_name_the_file() {
        for (text, want) in [
            ("Date,Open,High,Low\n", "column `Close`"),
            ("Date,Open,High,Low,Close\n2022-05-01,0,1,1,1\n", ":2: column `Open`"),
            ("Date,Open,High,Low,Close\n2022-5-01,1,1,1,1\n", "column `Date`"),
            ("Date,Open,High,Low,Close\n", "no candles"),
            (
                "Date,Open,High,Low,Close\n2022-05-01,1,1,1,1\n2022-05-03,1,1,1,1\n",
                ":3: column `Date`",
            ),
            (
                "Date,Open,High,Low,Close\n2022-05-01,1,1,1,1\n2022-05-01,1,1,1,1\n",
                "duplicate date 2022-05-01",
            ),
        ] {
            let f = csv(text);
            let err = load_daily_ohlcv(f.path()).unwrap_err().to_string();
            assert!(err.contains(&f.path().display().to_string()), "{err}");
            assert!(err.contains(want), "{err} lacks {want}");
        }
        let missing = Path::new("/nonexistent/prices.csv");
        assert!(load_daily_ohlcv(missing).unwrap_err().to_string().contains("/nonexistent"));
    }

    #[test]
    fn snapshots_become_candles() {
        let f = csv(",Date,DAI\n1,2022-05-01,1.0\n2,2022-05-02,0.98\n3,2022-05-03,1.01\n");
        let d = load_daily_snapshot_ohlc(f.path(), "DAI").unwrap();
        assert_eq!(d.days, vec![19_113, 19_114]);
        assert_eq!(d.candle(19_113), Some((1.0, 1.0, 0.98, 0.98)));
        assert_eq!(d.candle(19_114), Some((0.98, 1.01, 0.98, 1.01)));
        let f = csv("Date,DAI\n2022-05-01,1.0\n");
        assert!(load_daily_snapshot_ohlc(f.path(), "DAI").unwrap_err().to_string().contains("DAI"));
        let f = csv("Date,DAI\n2022-05-01,1.0\n2022-05-02,\n");
        let err = load_daily_snapshot_ohlc(f.path(), "DAI").unwrap_err().to_string();
        assert!(err.contains(":3: column `DAI`"), "{err}");
    }

    #[test]
    fn shipped_files_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/prices");
        for name in ["15.WETH-USD", "18.WBTC-USD", "14.WSTETH-USD", "7.USDC-USD", "3.USDT-USD"] {
            let d = load_daily_ohlcv(&root.join(format!("daily-ohlcv/{name}.csv"))).unwrap();
            assert!(d.index_of(day_from_ymd("2022-06-18").unwrap()).is_some(), "{name}");
        }
        let weth = load_daily_ohlcv(&root.join("daily-ohlcv/15.WETH-USD.csv")).unwrap();
        assert_eq!(
            weth.repaired.iter().map(|d| ymd(*d)).collect::<Vec<_>>(),
            ["2021-11-16", "2021-11-17"]
        );
        let dai = load_daily_snapshot_ohlc(&root.join("primary_token_price.csv"), "DAI").unwrap();
        assert_eq!(ymd(*dai.days.last().unwrap()), "2022-06-30");
    }
}
