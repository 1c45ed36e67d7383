//! The backtest's configuration (`backtest.toml`): every field has a default, unknown keys are
//! errors, and [`BacktestConfig::check`] turns it into a [`ValidConfig`] once, naming the key of
//! any bad value.
//!
//! ```
//! use zkrisk_backtest::config::BacktestConfig;
//!
//! let cfg = BacktestConfig::from_toml("from = \"2021-06-01\"\n[model]\nhorizon = 30\n").unwrap();
//! let valid = cfg.check().unwrap();
//! assert_eq!(valid.model.horizon, 30);
//! assert!(BacktestConfig::from_toml("[model]\nhorizn = 7\n").unwrap_err().to_string().contains("horizn"));
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zkrisk_models::recommend::Measure;
use zkrisk_pipeline::{
    features::{ACCOUNT_FEATURES, MODEL_FEATURES},
    prices::day_from_ymd,
};

use crate::{Error, Result};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BacktestConfig {
    /// Data directory (holds `maker-eth-b/` and `prices/`); relative paths are resolved against
    /// the project root. Default: `data`.
    pub data_dir: PathBuf,
    /// First evaluated day, `YYYY-MM-DD`: first walk-forward test day and first replayed day.
    pub from: String,
    /// Last evaluated day, `YYYY-MM-DD`; empty: the last day of the vault data.
    pub to: String,
    /// Seed of every random draw (Monte-Carlo, stress variants).
    pub seed: u64,
    /// Walk-forward model evaluation.
    pub model: ModelConfig,
    /// Policy replay.
    pub policy: PolicyConfig,
    /// Forward-looking Monte-Carlo risk of each policy's book.
    pub risk: RiskConfig,
    /// Stress scenarios.
    pub stress: StressConfig,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            from: "2021-04-01".into(),
            to: String::new(),
            seed: 1,
            model: ModelConfig::default(),
            policy: PolicyConfig::default(),
            risk: RiskConfig::default(),
            stress: StressConfig::default(),
        }
    }
}

/// Walk-forward model evaluation (the folds of `zkrisk train`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Run it.
    pub enabled: bool,
    /// Label horizon in days: 1, 7 or 30.
    pub horizon: i32,
    /// Feature columns, from the account features of `zkrisk_pipeline::features`.
    pub features: Vec<String>,
    /// Days per test fold.
    pub test_days: i32,
    /// Days of validation (calibration, early stopping) before each test fold.
    pub validation_days: i32,
    /// Evaluate the models on this canonical account table (Parquet, see [`crate::table`])
    /// instead of the ETH-B history; relative to the project root. Empty: ETH-B.
    pub accounts: String,
    /// The canonical event table that goes with `accounts`.
    pub events: String,
    /// Evaluate the models on an Aave v3 dataset written by `zkrisk ingest` (its directory,
    /// relative to the project root) instead of the ETH-B history: daily positions from its events,
    /// market context from its WETH price feed. Empty: not used.
    pub aave: String,
    /// Decision days the no-look-ahead guard cuts the data at (spread over the folds' starts; the
    /// guard adds the days before the three busiest liquidation days); 0 turns the guard off.
    pub lookahead_checkpoints: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            horizon: 7,
            features: MODEL_FEATURES.iter().map(|s| (*s).to_string()).collect(),
            test_days: 91,
            validation_days: 90,
            lookahead_checkpoints: 3,
            accounts: String::new(),
            events: String::new(),
            aave: String::new(),
        }
    }
}

/// Policies replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Static policy: LTV, bps. Unset: Aave v3 Ethereum WETH's before its first recorded change
    /// in `data/aave-governance` (80 % before 2023-05-29).
    pub static_ltv_bps: Option<u16>,
    /// Static policy: liquidation threshold, bps. Unset: as `static_ltv_bps` (82.5 %).
    pub static_lt_bps: Option<u16>,
    /// Static policy: liquidation bonus, bps (10 500 = 5 %, Aave v3 Ethereum WETH's; the
    /// governance files record no change of it).
    pub static_bonus_bps: u16,
    /// Steward: largest move per update of LTV, LT and bonus, bps.
    pub max_step_bps: u16,
    /// Steward: days between updates at least.
    pub min_delay_days: u16,
    /// Recommendation: Monte-Carlo paths per grid point.
    pub recommend_paths: usize,
    /// Recommendation: days of return history.
    pub history_days: usize,
    /// Recommendation: the measure of bad debt the target is set on (var95, es95, evar99).
    pub measure: String,
    /// Recommendation: target, the measure at most this percentage of the collateral (USD).
    pub target_pct: f64,
    /// Share of the close lost when seized collateral is sold (0 ≤ x < 1).
    pub auction_discount: f64,
    /// The price liquidations are checked and executed at: `close`, or `low` (the lower of the
    /// close and the day's low of the WETH candles in `prices/daily-ohlcv/`, where they exist).
    pub liquidation_price: String,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            static_ltv_bps: None,
            static_lt_bps: None,
            static_bonus_bps: 10_500,
            max_step_bps: 50,
            min_delay_days: 3,
            recommend_paths: 500,
            history_days: 365,
            measure: "evar99".into(),
            target_pct: 1.0,
            auction_discount: 0.0,
            liquidation_price: "close".into(),
        }
    }
}

/// Forward-looking 24 h risk of each policy's book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Monte-Carlo paths.
    pub paths: usize,
    /// Days between two measurements.
    pub every_days: i64,
    /// Days of return history.
    pub history_days: usize,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self { paths: 1_000, every_days: 30, history_days: 365 }
    }
}

/// A named window of the price history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Name in reports.
    pub name: String,
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
}

/// Stress scenarios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StressConfig {
    /// Named historical windows.
    pub windows: Vec<Window>,
    /// Also the worst `worst` non-overlapping windows of `window_days` by drawdown.
    pub worst: usize,
    /// Length of the searched windows, days.
    pub window_days: i64,
    /// The worst windows are searched from this day (`YYYY-MM-DD`) to the last replayed day; the
    /// default leaves out ETH's first trading year.
    pub worst_since: String,
    /// Shocked variants scale each window's drawdown by this factor (≥ 1).
    pub shock: f64,
    /// Seeded reorderings of each window's daily returns.
    pub variants: usize,
    /// Besides the last day's book, stress the book of every `every_days` from the first day
    /// (0: the last day's only).
    pub every_days: i64,
}

impl Default for StressConfig {
    fn default() -> Self {
        let w = |name: &str, from: &str, to: &str| Window {
            name: name.into(),
            from: from.into(),
            to: to.into(),
        };
        Self {
            windows: vec![
                w("March 2020", "2020-03-05", "2020-03-16"),
                w("May 2021", "2021-05-11", "2021-05-23"),
                w("May-June 2022", "2022-05-04", "2022-06-18"),
            ],
            worst: 3,
            window_days: 14,
            worst_since: "2017-01-01".into(),
            shock: 1.5,
            variants: 8,
            every_days: 91,
        }
    }
}

/// A checked configuration: dates as day numbers, names resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidConfig {
    /// The configuration as given.
    pub raw: BacktestConfig,
    /// First day.
    pub from: i64,
    /// Last day (`None`: the data's).
    pub to: Option<i64>,
    /// Model settings.
    pub model: ModelConfig,
    /// Target measure.
    pub measure: Measure,
    /// Windows as day ranges.
    pub windows: Vec<(String, i64, i64)>,
    /// First day of the worst-window search.
    pub worst_since: i64,
    /// Liquidations at the day's low.
    pub intraday_low: bool,
}

fn date(key: &str, s: &str) -> Result<i64> {
    day_from_ymd(s).ok_or_else(|| Error::Config(format!("{key}: `{s}` is not a YYYY-MM-DD date")))
}

impl BacktestConfig {
    /// Parses TOML.
    ///
    /// # Errors
    /// [`Error::Config`] with the parser's message (it names the key and the line).
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Config(e.to_string()))
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`Error::Config`] naming the key.
    pub fn check(&self) -> Result<ValidConfig> {
        let bad = |key: &str, reason: String| Err(Error::Config(format!("{key}: {reason}")));
        let from = date("from", &self.from)?;
        let to = if self.to.is_empty() { None } else { Some(date("to", &self.to)?) };
        if let Some(t) = to
            && t < from
        {
            return bad("to", format!("{} is before from {}", self.to, self.from));
        }
        let m = &self.model;
        if ![1, 7, 30].contains(&m.horizon) {
            return bad("model.horizon", format!("{}: expected 1, 7 or 30", m.horizon));
        }
        if m.features.is_empty() {
            return bad("model.features", "empty".into());
        }
        for f in &m.features {
            if !ACCOUNT_FEATURES.contains(&f.as_str()) {
                return bad(
                    "model.features",
                    format!("`{f}` is not one of {}", ACCOUNT_FEATURES.join(", ")),
                );
            }
        }
        if !m.features.iter().any(|f| f == "log_collateral_ratio") {
            return bad(
                "model.features",
                "must include log_collateral_ratio (the baseline ranks by it)".into(),
            );
        }
        if m.accounts.is_empty() != m.events.is_empty() {
            return bad(
                "model.accounts",
                "set both model.accounts and model.events, or neither".into(),
            );
        }
        if !m.aave.is_empty() && !m.accounts.is_empty() {
            return bad("model.aave", "set model.aave or model.accounts/events, not both".into());
        }
        if m.test_days < 1 || m.validation_days < 1 {
            return bad("model.test_days", "test_days and validation_days must be ≥ 1".into());
        }
        let p = &self.policy;
        if let (Some(ltv), Some(lt)) = (p.static_ltv_bps, p.static_lt_bps)
            && !(ltv <= lt && lt > 0 && lt < 10_000)
        {
            return bad("policy.static_lt_bps", format!("need 0 ≤ LTV {ltv} ≤ LT {lt} < 10000"));
        }
        if p.static_ltv_bps.is_some() != p.static_lt_bps.is_some() {
            return bad(
                "policy.static_ltv_bps",
                "set both static_ltv_bps and static_lt_bps, or neither".into(),
            );
        }
        if p.static_bonus_bps < 10_000 {
            return bad("policy.static_bonus_bps", format!("{} < 10000", p.static_bonus_bps));
        }
        if p.max_step_bps == 0 || p.min_delay_days == 0 {
            return bad(
                "policy.max_step_bps",
                "max_step_bps and min_delay_days must be ≥ 1".into(),
            );
        }
        if p.recommend_paths == 0 || p.history_days < 30 {
            return bad(
                "policy.recommend_paths",
                "recommend_paths ≥ 1 and history_days ≥ 30".into(),
            );
        }
        let measure: Measure = p.measure.parse().map_err(|_| {
            Error::Config(format!(
                "policy.measure: `{}`: expected var95, es95 or evar99",
                p.measure
            ))
        })?;
        if !(p.target_pct.is_finite() && p.target_pct >= 0.0) {
            return bad("policy.target_pct", format!("{} is not ≥ 0", p.target_pct));
        }
        let intraday_low = match p.liquidation_price.as_str() {
            "close" => false,
            "low" => true,
            other => {
                return bad(
                    "policy.liquidation_price",
                    format!("`{other}`: expected close or low"),
                );
            }
        };
        if !(0.0..1.0).contains(&p.auction_discount) {
            return bad("policy.auction_discount", format!("{} not in [0, 1)", p.auction_discount));
        }
        let r = &self.risk;
        if r.paths == 0 || r.every_days < 1 || r.history_days < 30 {
            return bad("risk.paths", "paths ≥ 1, every_days ≥ 1, history_days ≥ 30".into());
        }
        let s = &self.stress;
        if !(s.shock.is_finite() && s.shock >= 1.0) {
            return bad("stress.shock", format!("{} is below 1", s.shock));
        }
        if s.every_days < 0 {
            return bad("stress.every_days", format!("{} < 0", s.every_days));
        }
        if s.window_days < 2 {
            return bad("stress.window_days", format!("{} < 2", s.window_days));
        }
        let windows = s
            .windows
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let a = date(&format!("stress.windows[{i}].from"), &w.from)?;
                let b = date(&format!("stress.windows[{i}].to"), &w.to)?;
                if b <= a {
                    return Err(Error::Config(format!("stress.windows[{i}].to: not after from")));
                }
                Ok((w.name.clone(), a, b))
            })
            .collect::<Result<Vec<_>>>()?;
        let worst_since = date("stress.worst_since", &s.worst_since)?;
        Ok(ValidConfig {
            raw: self.clone(),
            from,
            to,
            model: m.clone(),
            measure,
            windows,
            worst_since,
            intraday_low,
        })
    }
}
