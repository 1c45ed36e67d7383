//! Daily price loaders.

use std::{collections::BTreeMap, path::Path};

use polars::prelude::*;

use crate::{
    error::{Error, Result},
    table::{CsvTable, day_of_ms, format_day},
};

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
