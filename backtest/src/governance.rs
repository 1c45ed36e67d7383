//! Aave's governance history of collateral parameters (`data/aave-governance`, derived from
//! bgd-labs' proposal diffs): every LTV, liquidation-threshold and liquidation-bonus change of
//! every Aave v2/v3 market. The backtest takes its static policy from it (Aave v3 Ethereum WETH
//! before its first recorded change) and reports how large governance's own steps were, beside
//! the steward's 50 bps bound.
//!
//! Values come as `80 %`, `80.5 % [8050]`, `8050` (bps) or empty; a bonus in percent (`5 %`) is
//! the premium, so `5 %` is 10 500 in Aave's units. The date is the proposal's name date (else its
//! file's first commit), not the on-chain execution time.

use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use crate::{Error, Result};

/// The two files of the folder.
pub const FILES: [&str; 2] =
    ["reserve_param_changes_early_proposals.csv", "reserve_param_changes_v3_proposals.csv"];

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `YYYYMMDD` (name date or first commit day).
    pub date: String,
    /// The proposal diff's name (it names the market).
    pub diff: String,
    /// Asset symbol.
    pub asset: String,
    /// `ltv`, `liquidationThreshold` or `liquidationBonus`.
    pub parameter: String,
    /// Value before, bps (Aave's units).
    pub before: Option<u32>,
    /// Value after, bps.
    pub after: Option<u32>,
}

/// Parses a value (`80 %`, `80.5 % [8050]`, `8050`, `5 %` for a bonus) into Aave's bps.
pub fn parse_bps(parameter: &str, raw: &str) -> Option<u32> {
    let raw = raw.trim();
    if let (Some(a), Some(b)) = (raw.find('['), raw.find(']')) {
        return raw.get(a + 1..b)?.trim().parse().ok();
    }
    if let Some(pct) = raw.strip_suffix('%') {
        let x: f64 = pct.trim().parse().ok()?;
        let bps = (x * 100.0).round() as u32;
        return Some(if parameter == "liquidationBonus" { 10_000 + bps } else { bps });
    }
    raw.parse().ok()
}

fn strings(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<String>> {
    let c = df
        .column(name)
        .map_err(|_| Error::Data(format!("{}: missing column `{name}`", path.display())))?;
    let c = c
        .cast(&DataType::String)
        .map_err(|e| Error::Data(format!("{}: {name}: {e}", path.display())))?;
    Ok(c.str()
        .map_err(|e| Error::Data(format!("{}: {name}: {e}", path.display())))?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

/// Loads the LTV, threshold and bonus changes of both files in `dir`, sorted by date.
///
/// # Errors
/// [`Error::Data`] naming the file when it is missing or lacks a column.
pub fn load(dir: &Path) -> Result<Vec<Change>> {
    let mut out = Vec::new();
    for file in FILES {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(Error::Data(format!("missing {}", path.display())));
        }
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.clone()))
            .and_then(|r| r.finish())
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        let cols = [
            "name_date",
            "file_first_commit_date",
            "diff_name",
            "asset",
            "parameter",
            "value_before_raw",
            "value_after_raw",
        ];
        let mut c =
            cols.iter().map(|n| strings(&df, n, &path)).collect::<Result<Vec<_>>>()?.into_iter();
        let mut next = || c.next().unwrap_or_default();
        let (name_date, first_commit, diff, asset, parameter, before, after) =
            (next(), next(), next(), next(), next(), next(), next());
        for (i, parameter) in parameter.iter().enumerate() {
            if !["ltv", "liquidationThreshold", "liquidationBonus"].contains(&parameter.as_str()) {
                continue;
            }
            let date = if name_date[i].len() == 8 {
                name_date[i].clone()
            } else {
                first_commit[i].get(..10).unwrap_or("").replace('-', "")
            };
            out.push(Change {
                date,
                diff: diff[i].clone(),
                asset: asset[i].clone(),
                parameter: parameter.clone(),
                before: parse_bps(parameter, &before[i]),
                after: parse_bps(parameter, &after[i]),
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.date, &a.diff, &a.asset, &a.parameter).cmp(&(&b.date, &b.diff, &b.asset, &b.parameter))
    });
    Ok(out)
}

/// Whether a diff belongs to Aave v3's Ethereum core market (not its Lido or EtherFi instances).
pub fn is_v3_ethereum_core(diff: &str) -> bool {
    let lower = diff.to_ascii_lowercase();
    (lower.starts_with("aavev3ethereum_") || lower.contains("aavev3eth"))
        && !lower.contains("lido")
        && !lower.contains("etherfi")
}

/// `(ltv, lt)` bps of `asset` on Aave v3 Ethereum before its first recorded change of either, and
/// that change's date.
pub fn first_v3_ethereum(changes: &[Change], asset: &str) -> Option<(u32, u32, String)> {
    let rows: Vec<&Change> = changes
        .iter()
        .filter(|c| c.asset == asset && is_v3_ethereum_core(&c.diff) && c.before.is_some())
        .collect();
    let date = rows.first()?.date.clone();
    let before = |p: &str| {
        rows.iter().filter(|c| c.date == date).find(|c| c.parameter == p).and_then(|c| c.before)
    };
    Some((before("ltv")?, before("liquidationThreshold")?, date))
}

/// How large governance's steps were, per parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepSummary {
    /// `ltv`, `liquidationThreshold` or `liquidationBonus`.
    pub parameter: String,
    /// Changes with a value before and after that differ (listings and removals excluded:
    /// a value of 0 on either side).
    pub steps: usize,
    /// Median `|after − before|`, bps.
    pub median_step_bps: u32,
    /// Share of steps of at most 50 bps (what a Risk Steward may do per update).
    pub within_50_bps: f64,
}

/// [`StepSummary`] of each parameter.
pub fn step_summary(changes: &[Change]) -> Vec<StepSummary> {
    ["ltv", "liquidationThreshold", "liquidationBonus"]
        .iter()
        .map(|p| {
            let mut steps: Vec<u32> = changes
                .iter()
                .filter(|c| c.parameter == *p)
                .filter_map(|c| match (c.before, c.after) {
                    (Some(a), Some(b))
                        if a > 0 && b > 0 && a != b && a != 10_000 && b != 10_000 =>
                    {
                        Some(a.abs_diff(b))
                    }
                    _ => None,
                })
                .collect();
            steps.sort_unstable();
            let n = steps.len();
            StepSummary {
                parameter: (*p).to_string(),
                steps: n,
                median_step_bps: steps.get(n / 2).copied().unwrap_or(0),
                within_50_bps: if n == 0 {
                    0.0
                } else {
                    steps.iter().filter(|s| **s <= 50).count() as f64 / n as f64
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_every_written_form() {
        for (p, raw, want) in [
            ("ltv", "80 %", Some(8_000)),
            ("ltv", "80.5 % [8050]", Some(8_050)),
            ("liquidationThreshold", "8250", Some(8_250)),
            ("liquidationBonus", "5 %", Some(10_500)),
            ("liquidationBonus", "7.5 %", Some(10_750)),
            ("liquidationBonus", "10400", Some(10_400)),
            ("ltv", "", None),
            ("ltv", "-", None),
        ] {
            assert_eq!(parse_bps(p, raw), want, "{p} {raw}");
        }
        assert!(is_v3_ethereum_core(
            "preAaveV3EthRiskParams_20230529Change_postAaveV3EthRiskParams"
        ));
        assert!(!is_v3_ethereum_core("AaveV3EthereumLido_WETHLTV0AaveV3LidoInstance_20240729"));
    }
}
