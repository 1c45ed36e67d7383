//! Loaders for the MakerDAO ETH-B vault dataset shipped in `data/maker-eth-b/`.
//!
//! The files come from `fsc-data-science/MKR-Elasticity-ETHB` (MIT); see `data/README.md`. Amounts
//! are already decimal-adjusted (ETH, DAI) and every `BLOCK_TIMESTAMP` is UTC.

use std::path::Path;

use polars::prelude::*;

use crate::{
    error::{Error, Result},
    table::CsvTable,
};

/// Vault creations: `BLOCK_NUMBER, BLOCK_TIMESTAMP, VAULT_NUMBER, ILK, URN_ADDRESS`.
pub const CREATIONS_FILE: &str = "ethb_vault_creations.csv";
/// Collateral deposits: `..., VAULT_NUMBER, DEPOSIT_AMOUNT_ADJ` (ETH, positive).
pub const DEPOSITS_FILE: &str = "ethb_vault_deposits.csv";
/// Collateral withdrawals: `..., VAULT_NUMBER, WITHDRAWN_AMOUNT_ADJ` (ETH, written negative).
pub const WITHDRAWALS_FILE: &str = "ethb_vault_withdrawals.csv";
/// DAI borrows: `..., VAULT_NUMBER, DAI_MINTED`.
pub const BORROWS_FILE: &str = "ethb_dai_borrows.csv";
/// DAI repayments: `..., VAULT_NUMBER, DAI_REPAYED`.
pub const REPAYMENTS_FILE: &str = "ethb_dai_repayments.csv";
/// Liquidations: `..., VAULT_NUMBER, COLLATERAL_LIQUIDATED_AMOUNT` (ETH), `DAI_REPAYED_AMOUNT`.
pub const LIQUIDATIONS_FILE: &str = "ethb_vault_liquidations.csv";
/// ETH-B parameter changes (starts with a UTF-8 byte-order mark):
/// `BLOCK, TIMESTAMP, TX_HASH, SOURCE, PARAMETER, ILK, FROM_VALUE, TO_VALUE, SOURCE_TYPE`.
pub const PARAMETER_CHANGES_FILE: &str = "ETHB-Parameter-Changes.csv";
/// The `PARAMETER` value of liquidation-ratio changes (`mat` of the ilk in Maker's Spotter).
pub const LIQUIDATION_RATIO_PARAMETER: &str = "SPOTTER.ilks.mat";
/// The collateral type of this dataset.
pub const ILK: &str = "ETH-B";

/// The event kinds of the canonical event table, in their tie-break order within a block.
pub const KINDS: [&str; 6] = ["open", "deposit", "withdraw", "borrow", "repay", "liquidate"];

/// Position of `kind` in [`KINDS`], if it is one.
pub(crate) fn kind_rank(kind: &str) -> Option<usize> {
    KINDS.iter().position(|k| *k == kind)
}

/// How one source file maps onto canonical events.
struct Source {
    file: &'static str,
    kind: &'static str,
    /// Amount column giving the collateral delta, and whether the file writes it negative.
    collateral: Option<(&'static str, Sign)>,
    /// Amount column giving the debt delta, with its sign in the file.
    debt: Option<(&'static str, Sign)>,
}

/// Sign of an amount as written in a file, and the sign of its effect on the vault.
#[derive(Clone, Copy)]
enum Sign {
    /// Written >= 0, adds to the vault.
    AddsPositive,
    /// Written >= 0, removes from the vault.
    RemovesPositive,
    /// Written <= 0, removes from the vault.
    RemovesNegative,
}

impl Sign {
    fn delta(self, x: f64) -> std::result::Result<f64, String> {
        match self {
            Self::AddsPositive | Self::RemovesPositive if x < 0.0 => {
                Err("expected an amount >= 0".to_string())
            }
            Self::RemovesNegative if x > 0.0 => Err("expected an amount <= 0".to_string()),
            Self::AddsPositive => Ok(x),
            Self::RemovesPositive => Ok(-x),
            Self::RemovesNegative => Ok(x),
        }
    }
}

const SOURCES: [Source; 6] = [
    Source { file: CREATIONS_FILE, kind: "open", collateral: None, debt: None },
    Source {
        file: DEPOSITS_FILE,
        kind: "deposit",
        collateral: Some(("DEPOSIT_AMOUNT_ADJ", Sign::AddsPositive)),
        debt: None,
    },
    Source {
        file: WITHDRAWALS_FILE,
        kind: "withdraw",
        collateral: Some(("WITHDRAWN_AMOUNT_ADJ", Sign::RemovesNegative)),
        debt: None,
    },
    Source {
        file: BORROWS_FILE,
        kind: "borrow",
        collateral: None,
        debt: Some(("DAI_MINTED", Sign::AddsPositive)),
    },
    Source {
        file: REPAYMENTS_FILE,
        kind: "repay",
        collateral: None,
        debt: Some(("DAI_REPAYED", Sign::RemovesPositive)),
    },
    Source {
        file: LIQUIDATIONS_FILE,
        kind: "liquidate",
        collateral: Some(("COLLATERAL_LIQUIDATED_AMOUNT", Sign::RemovesPositive)),
        debt: Some(("DAI_REPAYED_AMOUNT", Sign::RemovesPositive)),
    },
];

/// One canonical event, before it becomes a row.
struct Event {
    block: u64,
    timestamp_ms: i64,
    account: String,
    kind: &'static str,
    collateral_delta: f64,
    debt_delta: f64,
}

fn read_source(dir: &Path, source: &Source, out: &mut Vec<Event>) -> Result<()> {
    let mut required = vec!["BLOCK_NUMBER", "BLOCK_TIMESTAMP", "VAULT_NUMBER"];
    required.extend(source.collateral.iter().chain(source.debt.iter()).map(|(c, _)| *c));
    let table = CsvTable::read(&dir.join(source.file), &required)?;
    let blocks = table.u64s("BLOCK_NUMBER")?;
    let timestamps = table.timestamps_ms("BLOCK_TIMESTAMP")?;
    let accounts = table.parse("VAULT_NUMBER", |s| {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(s.to_string())
        } else {
            Err("not a vault number".to_string())
        }
    })?;
    let amounts = |spec: Option<(&str, Sign)>| -> Result<Vec<f64>> {
        match spec {
            None => Ok(vec![0.0; table.len()]),
            Some((column, sign)) => table.parse(column, |s| {
                let x: f64 = s.parse().map_err(|_| "not a number".to_string())?;
                if !x.is_finite() {
                    return Err("not a finite number".to_string());
                }
                sign.delta(x)
            }),
        }
    };
    let collateral = amounts(source.collateral)?;
    let debt = amounts(source.debt)?;
    for (i, account) in accounts.into_iter().enumerate() {
        out.push(Event {
            block: blocks[i],
            timestamp_ms: timestamps[i],
            account,
            kind: source.kind,
            collateral_delta: collateral[i],
            debt_delta: debt[i],
        });
    }
    Ok(())
}

/// Loads the canonical ETH-B event table from the CSV files in `dir` (normally
/// `data/maker-eth-b`).
///
/// One row per event (every row of the six event files becomes exactly one event), sorted by
/// `(timestamp, block, kind order, account)` where the kind order is that of [`KINDS`]:
///
/// | column | type | meaning |
/// |---|---|---|
/// | `block` | `u64` | block number |
/// | `timestamp` | `Datetime(ms)` | block time; **UTC**, stored without a time-zone tag (see below) |
/// | `account` | `String` | the vault number |
/// | `kind` | `String` | one of [`KINDS`] |
/// | `collateral_delta` | `f64` | change of the vault's collateral, ETH, signed |
/// | `debt_delta` | `f64` | change of the vault's debt, DAI, signed |
///
/// `open` rows have both deltas 0. A `liquidate` row has `collateral_delta = -collateral
/// liquidated` and `debt_delta = -DAI repaid` (the debt the liquidation removed from the vault).
/// Withdrawals are written negative in the source and are kept negative.
///
/// The timestamp has no Polars time-zone tag because tz-aware datetimes need Polars' `timezones`
/// feature (without it, printing such a frame panics); all values are UTC.
///
/// # Errors
/// [`Error::MissingFile`] for a missing file, [`Error::Schema`] for a missing column,
/// [`Error::Value`] for an unparsable or wrongly-signed cell (all naming the file).
pub fn load_events(dir: &Path) -> Result<LazyFrame> {
    if !dir.is_dir() {
        return Err(Error::MissingFile { path: dir.to_path_buf() });
    }
    let mut events = Vec::new();
    for source in &SOURCES {
        read_source(dir, source, &mut events)?;
    }
    events.sort_by(|a, b| {
        (a.timestamp_ms, a.block, kind_rank(a.kind), &a.account).cmp(&(
            b.timestamp_ms,
            b.block,
            kind_rank(b.kind),
            &b.account,
        ))
    });
    let timestamps =
        Int64Chunked::from_vec("timestamp".into(), events.iter().map(|e| e.timestamp_ms).collect())
            .into_datetime(TimeUnit::Milliseconds, None)
            .into_series();
    let df = DataFrame::new_infer_height(vec![
        Column::new("block".into(), events.iter().map(|e| e.block).collect::<Vec<_>>()),
        timestamps.into(),
        Column::new(
            "account".into(),
            events.iter().map(|e| e.account.as_str()).collect::<Vec<_>>(),
        ),
        Column::new("kind".into(), events.iter().map(|e| e.kind).collect::<Vec<_>>()),
        Column::new(
            "collateral_delta".into(),
            events.iter().map(|e| e.collateral_delta).collect::<Vec<_>>(),
        ),
        Column::new("debt_delta".into(), events.iter().map(|e| e.debt_delta).collect::<Vec<_>>()),
    ])?;
    Ok(df.lazy())
}

/// Loads the history of ETH-B's liquidation ratio from [`PARAMETER_CHANGES_FILE`] in `dir`.
///
/// Keeps the rows with `PARAMETER == "SPOTTER.ilks.mat"` and `ILK == "ETH-B"` and returns, sorted
/// by time:
///
/// | column | type | meaning |
/// |---|---|---|
/// | `timestamp` | `Datetime(ms)` | when the change took effect (UTC, no time-zone tag) |
/// | `liquidation_ratio` | `f64` | the new ratio, e.g. `1.3` for 130% |
///
/// A ratio is in force from its timestamp (inclusive) until the next change. In the shipped data
/// there is one change: 1.3 from 2020-10-19 14:00:52 UTC, before ETH-B's first vault event.
///
/// # Errors
/// [`Error::MissingFile`], [`Error::Schema`], [`Error::Value`] (naming the file), and
/// [`Error::Empty`] when the file holds no liquidation-ratio change.
pub fn load_liquidation_ratio(dir: &Path) -> Result<DataFrame> {
    let table = CsvTable::read(
        &dir.join(PARAMETER_CHANGES_FILE),
        &["TIMESTAMP", "PARAMETER", "ILK", "TO_VALUE"],
    )?;
    let parameters = table.strings("PARAMETER")?;
    let ilks = table.strings("ILK")?;
    let timestamps = table.timestamps_ms("TIMESTAMP")?;
    let values = table.optional_strings("TO_VALUE")?;
    let mut rows = Vec::new();
    for (row, ((parameter, ilk), ts)) in parameters.iter().zip(&ilks).zip(&timestamps).enumerate() {
        if *parameter != LIQUIDATION_RATIO_PARAMETER || *ilk != ILK {
            continue;
        }
        let value = values[row].unwrap_or("");
        let ratio = value.trim().parse::<f64>().ok().filter(|r| r.is_finite() && *r > 0.0);
        let Some(ratio) = ratio else {
            return Err(Error::Value {
                path: table.path().to_path_buf(),
                line: row + 2,
                column: "TO_VALUE".to_string(),
                value: value.to_string(),
                reason: "liquidation ratio must be a positive number".to_string(),
            });
        };
        rows.push((*ts, ratio));
    }
    if rows.is_empty() {
        return Err(Error::Empty {
            path: table.path().to_path_buf(),
            what: format!("no `{LIQUIDATION_RATIO_PARAMETER}` change for {ILK}"),
        });
    }
    rows.sort_by_key(|(ts, _)| *ts);
    let timestamps =
        Int64Chunked::from_vec("timestamp".into(), rows.iter().map(|(ts, _)| *ts).collect())
            .into_datetime(TimeUnit::Milliseconds, None)
            .into_series();
    Ok(DataFrame::new_infer_height(vec![
        timestamps.into(),
        Column::new("liquidation_ratio".into(), rows.iter().map(|(_, r)| *r).collect::<Vec<_>>()),
    ])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_signs() {
        for (sign, x, want) in [
            (Sign::AddsPositive, 2.0, Some(2.0)),
            (Sign::AddsPositive, -2.0, None),
            (Sign::RemovesPositive, 2.0, Some(-2.0)),
            (Sign::RemovesPositive, -2.0, None),
            (Sign::RemovesNegative, -2.0, Some(-2.0)),
            (Sign::RemovesNegative, 2.0, None),
            (Sign::RemovesNegative, 0.0, Some(0.0)),
        ] {
            assert_eq!(sign.delta(x).ok(), want, "{x}");
        }
    }

    #[test]
    fn kinds_are_ranked() {
        assert_eq!(kind_rank("open"), Some(0));
        assert_eq!(kind_rank("liquidate"), Some(5));
        assert_eq!(kind_rank("bark"), None);
    }
}
