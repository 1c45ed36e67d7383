//! Risk-parameter recommendations per reserve from market risk: LTV, liquidation threshold,
//! liquidation bonus, supply cap and borrow cap, in the units Aave v3's `PoolConfigurator` takes.
//!
//! # Rules (for reserve `k`, history of its daily log returns `r`)
//! - **Tail drop** `q`: the `premium_quantile` (0.95) quantile of the one-day drops `1 − exp(r)`.
//! - **Bonus** = `10 000 + premium`, `premium = clamp(⌈q · 10 000⌉ rounded up to 25 bps,
//!   min_premium_bps, max_premium_bps)`: the liquidator is paid for holding the seized collateral
//!   through a bad (95th-percentile) day.
//! - **Liquidation threshold**: the largest `LT` on the grid `lt_min_bps, lt_min_bps + step, …,
//!   lt_max` such that the target holds at `LT` **and at every grid point below it** (so a
//!   stricter target can only lower `LT`), where `lt_max = min(lt_max_bps,
//!   ⌊10⁸ / bonus⌋)` keeps Aave's `LT · bonus ≤ 100 %`. The target: the chosen measure
//!   ([`Measure`]) of the bad debt attributed to `k` over the Monte-Carlo
//!   ([`crate::market_risk`]) is at most `max_fraction` of the reserve's size (its supply in USD).
//!   The market at a candidate `LT` is the **stress market** of `k`: every account with collateral
//!   in `k`, with `k`'s threshold and bonus set to the candidate's, and its debt scaled by
//!   `LT_new / LT_old` of its collateral-weighted threshold, i.e. each borrower keeps its
//!   current health factor and borrows more when the threshold allows it; with
//!   [`Stress::MaxBorrow`] (the default) every borrower's debt is moreover raised, if needed, to
//!   `LTV / LT` times its threshold-weighted collateral, the most the candidate LTV lets a
//!   position open with. Suppliers without debt stay without debt. An account's bad debt
//!   and liquidated collateral count for `k` in proportion to `k`'s share of its collateral value.
//!   When even `lt_min_bps` misses the target, `LT = lt_min_bps`, `LTV = 0` (no new borrowing
//!   against `k`) and [`Recommendation::target_met`] is false.
//!   When the bonus bound is below `lt_min_bps` (an empty grid), `LT = ⌊10⁸ / bonus⌋` instead.
//! - **LTV** = `LT − buffer`, `buffer = max(min_buffer_bps, ⌈LT · q⌉)`: a position opened at the
//!   maximum LTV survives a 95th-percentile day without liquidation.
//! - **Supply cap** = `⌈supply · (1 + h_s)⌉` whole tokens with headroom
//!   `h_s = clamp(1 − top10 collateral share, min_headroom, 1)`: the more the reserve's
//!   collateral sits with ten accounts, the less it may grow before the next review.
//! - **Borrow cap** = `⌈min(max(borrow, 0.1 · supply) · (1 + h_b), utilization_cap · supply
//!   cap)⌉` with `h_b` from the top-10 debt share likewise.
//! - Caps are at least 1 (Aave reads 0 as "no cap") and at most [`MAX_CAP`].
//!
//! Every output passes [`validate`], Aave's own checks in `PoolConfigurator`.

use serde::{Deserialize, Serialize};

use crate::{
    Error, Result,
    market_risk::{
        JointReturns, LiquidationRules, Market, MonteCarlo, entropic_var, expected_shortfall,
        simulate, value_at_risk,
    },
};

/// Largest supply or borrow cap Aave v3 accepts (`MAX_VALID_SUPPLY_CAP` = `2^36 − 1`).
pub const MAX_CAP: u64 = (1 << 36) - 1;

/// 100 % in basis points.
pub const BPS: u64 = 10_000;

/// The risk measure a target is set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// VaR(95 %) of bad debt.
    Var95,
    /// Expected shortfall (95 %) of bad debt.
    Es95,
    /// Entropic VaR (99 %) of bad debt.
    Evar99,
}

impl Measure {
    /// The measure of a sample of losses.
    ///
    /// # Errors
    /// As [`value_at_risk`].
    pub fn of(self, losses: &[f64]) -> Result<f64> {
        match self {
            Self::Var95 => value_at_risk(losses, 0.95),
            Self::Es95 => expected_shortfall(losses, 0.95),
            Self::Evar99 => entropic_var(losses, 0.99),
        }
    }
}

impl std::str::FromStr for Measure {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "var95" => Ok(Self::Var95),
            "es95" => Ok(Self::Es95),
            "evar99" => Ok(Self::Evar99),
            _ => Err(Error::InvalidParam {
                name: "measure",
                reason: format!("`{s}`: expected var95, es95 or evar99"),
            }),
        }
    }
}

/// How borrowers behave in a reserve's stress market (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stress {
    /// Every borrower keeps its current health factor: debt scales with its collateral-weighted
    /// threshold.
    ConstantHealth,
    /// As [`Stress::ConstantHealth`], and every borrower borrows at least up to the candidate
    /// LTV (debt ≥ `LTV / LT` × its threshold-weighted collateral): the market the parameters
    /// allow, not only the one there is.
    MaxBorrow,
}

impl std::str::FromStr for Stress {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "constant-health" => Ok(Self::ConstantHealth),
            "max-borrow" => Ok(Self::MaxBorrow),
            _ => Err(Error::InvalidParam {
                name: "stress",
                reason: format!("`{s}`: expected constant-health or max-borrow"),
            }),
        }
    }
}

/// The recommendation's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecommendConfig {
    /// Measure the target is set on.
    pub measure: Measure,
    /// Borrowers' behaviour in the stress market.
    pub stress: Stress,
    /// Largest measure of bad debt, as a fraction of the reserve's supply in USD.
    pub max_fraction: f64,
    /// Lowest liquidation threshold of the grid, bps.
    pub lt_min_bps: u16,
    /// Highest liquidation threshold of the grid, bps.
    pub lt_max_bps: u16,
    /// Grid step, bps.
    pub lt_step_bps: u16,
    /// Quantile of one-day drops that sets the bonus and the LTV buffer.
    pub premium_quantile: f64,
    /// Smallest liquidation premium, bps.
    pub min_premium_bps: u16,
    /// Largest liquidation premium, bps.
    pub max_premium_bps: u16,
    /// Smallest gap between LT and LTV, bps.
    pub min_buffer_bps: u16,
    /// Smallest cap headroom (fraction of the current amount).
    pub min_headroom: f64,
    /// Borrow cap at most this fraction of the supply cap.
    pub utilization_cap: f64,
}

impl Default for RecommendConfig {
    fn default() -> Self {
        Self {
            measure: Measure::Evar99,
            stress: Stress::MaxBorrow,
            max_fraction: 0.01,
            lt_min_bps: 5_000,
            lt_max_bps: 9_500,
            lt_step_bps: 50,
            premium_quantile: 0.95,
            min_premium_bps: 250,
            max_premium_bps: 1_500,
            min_buffer_bps: 100,
            min_headroom: 0.1,
            utilization_cap: 0.9,
        }
    }
}

impl RecommendConfig {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming the field.
    pub fn check(&self) -> Result<()> {
        let bad = |name, reason: String| Err(Error::InvalidParam { name, reason });
        if !(self.max_fraction.is_finite() && self.max_fraction >= 0.0) {
            return bad("max_fraction", format!("{} is not ≥ 0", self.max_fraction));
        }
        if self.lt_min_bps == 0 || self.lt_min_bps > self.lt_max_bps || self.lt_max_bps >= 10_000 {
            return bad(
                "lt_min_bps",
                format!("need 0 < {} ≤ {} < 10000", self.lt_min_bps, self.lt_max_bps),
            );
        }
        if self.lt_step_bps == 0 {
            return bad("lt_step_bps", "must be positive".into());
        }
        if !(self.premium_quantile > 0.0 && self.premium_quantile < 1.0) {
            return bad("premium_quantile", format!("{} not in (0, 1)", self.premium_quantile));
        }
        if self.min_premium_bps == 0
            || self.min_premium_bps > self.max_premium_bps
            || self.max_premium_bps > 5_000
        {
            return bad(
                "min_premium_bps",
                format!("need 0 < {} ≤ {} ≤ 5000", self.min_premium_bps, self.max_premium_bps),
            );
        }
        if !(0.0..=1.0).contains(&self.min_headroom) {
            return bad("min_headroom", format!("{} not in [0, 1]", self.min_headroom));
        }
        if !(self.utilization_cap > 0.0 && self.utilization_cap <= 1.0) {
            return bad("utilization_cap", format!("{} not in (0, 1]", self.utilization_cap));
        }
        Ok(())
    }
}

/// What the recommendation needs to know about one reserve besides the market's positions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReserveInput {
    /// Index of the reserve in [`Market::assets`].
    pub asset: usize,
    /// Total supplied, whole tokens (every deposit, collateral or not).
    pub supply_tokens: f64,
    /// Total borrowed, whole tokens.
    pub borrow_tokens: f64,
    /// Share of the reserve's collateral held by its ten largest accounts, in `[0, 1]`.
    pub top10_collateral_share: f64,
    /// Share of the reserve's debt owed by its ten largest borrowers, in `[0, 1]`.
    pub top10_debt_share: f64,
}

/// Collateral parameters and caps in the units of Aave v3's `PoolConfigurator`
/// (`configureReserveAsCollateral`, `setSupplyCap`, `setBorrowCap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AaveParams {
    /// LTV, bps.
    pub ltv: u16,
    /// Liquidation threshold, bps.
    pub liquidation_threshold: u16,
    /// Liquidation bonus, bps, `10 000 + premium` (0 when the threshold is 0).
    pub liquidation_bonus: u16,
    /// Supply cap, whole tokens (0 = none).
    pub supply_cap: u64,
    /// Borrow cap, whole tokens (0 = none).
    pub borrow_cap: u64,
}

/// A reserve's recommendation and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The reserve's symbol.
    pub symbol: String,
    /// The parameters.
    pub params: AaveParams,
    /// Whether the target holds at the recommended threshold (false: even the grid's lowest
    /// threshold misses it, and LTV is 0).
    pub target_met: bool,
    /// Supply of the reserve, USD.
    pub reserve_size_usd: f64,
    /// The target: largest allowed measure of bad debt, USD.
    pub target_usd: f64,
    /// The measure of the bad debt attributed to the reserve at the recommended threshold, USD.
    pub measure_usd: f64,
    /// The `premium_quantile` one-day drop of the reserve's price.
    pub tail_drop: f64,
    /// Grid points evaluated.
    pub evaluations: usize,
}

/// Aave v3's checks on collateral parameters and caps (`PoolConfigurator`):
/// `LTV ≤ LT`; when `LT > 0`, `bonus > 10 000` and `LT · bonus ≤ 10 000 · 10 000` (stricter by
/// rounding than Aave's `percentMul(LT, bonus) ≤ 10 000`); when `LT = 0`, `bonus = 0`; caps at most
/// [`MAX_CAP`].
///
/// # Errors
/// [`Error::InvalidParam`] saying which rule fails.
pub fn validate(p: &AaveParams) -> Result<()> {
    let fail = |reason: String| Err(Error::InvalidParam { name: "aave_params", reason });
    if p.ltv > p.liquidation_threshold {
        return fail(format!("LTV {} > LT {}", p.ltv, p.liquidation_threshold));
    }
    if p.liquidation_threshold > 0 {
        if u64::from(p.liquidation_bonus) <= BPS {
            return fail(format!("bonus {} ≤ 10000 with LT > 0", p.liquidation_bonus));
        }
        if u64::from(p.liquidation_threshold) * u64::from(p.liquidation_bonus) > BPS * BPS {
            return fail(format!(
                "LT {} · bonus {} > 10000²",
                p.liquidation_threshold, p.liquidation_bonus
            ));
        }
    } else if p.liquidation_bonus != 0 {
        return fail(format!("bonus {} with LT 0", p.liquidation_bonus));
    }
    if p.supply_cap > MAX_CAP || p.borrow_cap > MAX_CAP {
        return fail(format!("caps {} / {} above {MAX_CAP}", p.supply_cap, p.borrow_cap));
    }
    Ok(())
}

/// The `q`-quantile of one-day drops `1 − exp(r)` (0 when the asset never fell).
fn tail_drop(log_returns: &[f64], q: f64) -> Result<f64> {
    let drops: Vec<f64> = log_returns.iter().map(|r| (1.0 - r.exp()).max(0.0)).collect();
    value_at_risk(&drops, q)
}

/// A fraction in basis points, rounded up, ignoring float noise below 10⁻⁶ bps (so that a drop of
/// `1 − exp(ln 0.9)` is 1,000 bps, not 1,001).
fn bps_up(x: f64) -> u64 {
    (x * BPS as f64 - 1e-6).ceil().max(0.0) as u64
}

fn cap(x: f64) -> u64 {
    if !x.is_finite() || x <= 1.0 {
        return 1;
    }
    (x.ceil() as u64).min(MAX_CAP)
}

/// The bad debt attributed to `k` on each path of the stress market at threshold `lt` and
/// bonus `bonus` (fractions); with `borrow_ratio = Some(LTV / LT)`, borrowers borrow at least up
/// to the LTV.
#[allow(clippy::too_many_arguments)]
fn stress_losses(
    market: &Market,
    k: usize,
    lt: f64,
    bonus: f64,
    borrow_ratio: Option<f64>,
    returns: &JointReturns,
    rules: &LiquidationRules,
    mc: &MonteCarlo,
) -> Result<Vec<f64>> {
    let mut assets = market.assets.clone();
    assets[k].liquidation_threshold = lt;
    assets[k].liquidation_bonus = bonus;
    let mut accounts = Vec::new();
    for a in market.accounts.iter().filter(|a| a.collateral[k] > 0.0) {
        let value = |lts: &[crate::market_risk::AssetRisk], weighted: bool| -> f64 {
            a.collateral
                .iter()
                .zip(lts)
                .map(|(c, s)| c * s.price * if weighted { s.liquidation_threshold } else { 1.0 })
                .sum()
        };
        let (old, new, total) =
            (value(&market.assets, true), value(&assets, true), value(&assets, false));
        let mut scale = if old > 0.0 { new / old } else { 1.0 };
        let debt: f64 = a.debt.iter().zip(&assets).map(|(d, s)| d * s.price).sum();
        if let (Some(ratio), true) = (borrow_ratio, debt > 0.0) {
            scale = scale.max(new * ratio / debt);
        }
        let mut s = a.clone();
        s.debt.iter_mut().for_each(|d| *d *= scale);
        s.weight = a.weight * a.collateral[k] * assets[k].price / total;
        accounts.push(s);
    }
    if accounts.is_empty() {
        return Ok(vec![0.0; mc.paths.max(1)]);
    }
    Ok(simulate(&Market { assets, accounts }, returns, rules, mc)?.bad_debt)
}

/// Recommends parameters for each reserve of `reserves` (rules in the module docs).
///
/// # Errors
/// [`Error::InvalidParam`] / [`Error::Shape`] for an invalid config, market or returns, a reserve
/// index outside the market, or a reserve without a return history.
pub fn recommend(
    market: &Market,
    returns: &JointReturns,
    rules: &LiquidationRules,
    mc: &MonteCarlo,
    reserves: &[ReserveInput],
    cfg: &RecommendConfig,
) -> Result<Vec<Recommendation>> {
    cfg.check()?;
    market.check()?;
    returns.check()?;
    let mut out = Vec::with_capacity(reserves.len());
    for r in reserves {
        let asset = market.assets.get(r.asset).ok_or_else(|| Error::InvalidParam {
            name: "asset",
            reason: format!("reserve index {} outside the market's assets", r.asset),
        })?;
        let history = returns.column(&asset.symbol).ok_or_else(|| {
            Error::Shape(format!("no return history for reserve {}", asset.symbol))
        })?;
        let drop = tail_drop(&history, cfg.premium_quantile)?;
        let premium = (bps_up(drop).div_ceil(25) * 25)
            .clamp(u64::from(cfg.min_premium_bps), u64::from(cfg.max_premium_bps));
        let bonus = BPS + premium;
        let lt_cap = u64::from(cfg.lt_max_bps).min(BPS * BPS / bonus);
        let size = r.supply_tokens.max(0.0) * asset.price;
        let target = cfg.max_fraction * size;
        let mut best: Option<(u64, f64)> = None;
        let mut first_miss = None;
        let mut evaluations = 0;
        let mut lt = u64::from(cfg.lt_min_bps);
        let buffer =
            |lt: u64| u64::from(cfg.min_buffer_bps).max(bps_up(lt as f64 / BPS as f64 * drop));
        while lt <= lt_cap {
            let ratio = lt.saturating_sub(buffer(lt)) as f64 / lt as f64;
            let losses = stress_losses(
                market,
                r.asset,
                lt as f64 / BPS as f64,
                bonus as f64 / BPS as f64,
                (cfg.stress == Stress::MaxBorrow).then_some(ratio),
                returns,
                rules,
                mc,
            )?;
            evaluations += 1;
            let m = cfg.measure.of(&losses)?;
            if m > target {
                first_miss = Some(m);
                break;
            }
            best = Some((lt, m));
            lt += u64::from(cfg.lt_step_bps);
        }
        let (lt, ltv, measure, met) = match best {
            Some((lt, m)) => (lt, lt.saturating_sub(buffer(lt)), m, true),
            // Nothing on the grid passes (or the grid is empty because the bonus bound is below
            // its start): the lowest valid threshold, and no new borrowing.
            None => {
                (u64::from(cfg.lt_min_bps).min(lt_cap), 0, first_miss.unwrap_or(f64::NAN), false)
            }
        };
        // LT ≤ lt_cap < 10 000 and bonus ≤ 15 000 by the config's checks: both fit in u16.
        let to_u16 = |x: u64| u16::try_from(x).unwrap_or(u16::MAX);
        let h_s = (1.0 - r.top10_collateral_share).clamp(cfg.min_headroom, 1.0);
        let supply_cap = cap(r.supply_tokens * (1.0 + h_s));
        let h_b = (1.0 - r.top10_debt_share).clamp(cfg.min_headroom, 1.0);
        let borrow_cap = cap((r.borrow_tokens.max(0.1 * r.supply_tokens) * (1.0 + h_b))
            .min(cfg.utilization_cap * supply_cap as f64));
        let params = AaveParams {
            ltv: to_u16(ltv),
            liquidation_threshold: to_u16(lt),
            liquidation_bonus: to_u16(bonus),
            supply_cap,
            borrow_cap,
        };
        validate(&params)?;
        out.push(Recommendation {
            symbol: asset.symbol.clone(),
            params,
            target_met: met,
            reserve_size_usd: size,
            target_usd: target,
            measure_usd: measure,
            tail_drop: drop,
            evaluations,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_risk::{Account, AssetRisk, SplitMix64};

    /// A random market of `n` accounts over ETH (collateral), BTC (collateral) and USD (debt),
    /// and `days` days of random joint returns with crash days.
    fn random_case(seed: u64, n: usize, days: usize) -> (Market, JointReturns, Vec<ReserveInput>) {
        let mut rng = SplitMix64::new(seed);
        let assets = vec![
            AssetRisk {
                symbol: "ETH".into(),
                price: 2_000.0,
                liquidation_threshold: 0.5 + 0.4 * rng.unit(),
                liquidation_bonus: 1.05,
            },
            AssetRisk {
                symbol: "BTC".into(),
                price: 30_000.0,
                liquidation_threshold: 0.5 + 0.4 * rng.unit(),
                liquidation_bonus: 1.08,
            },
            AssetRisk {
                symbol: "USD".into(),
                price: 1.0,
                liquidation_threshold: 0.8,
                liquidation_bonus: 1.04,
            },
        ];
        let accounts = (0..n)
            .map(|_| {
                let (e, b, u) = (10.0 * rng.unit(), rng.unit(), 1_000.0 * rng.unit());
                let value = e * 2_000.0 * assets[0].liquidation_threshold
                    + b * 30_000.0 * assets[1].liquidation_threshold
                    + u * 0.8;
                let hf = 1.0 + rng.unit();
                Account { collateral: vec![e, b, u], debt: vec![0.0, 0.0, value / hf], weight: 1.0 }
            })
            .collect();
        let scale = 0.02 + 0.2 * rng.unit();
        let log_returns = (0..days)
            .flat_map(|_| {
                let common = scale * (rng.unit() - 0.6);
                [common, common * (0.5 + rng.unit()), 0.001 * (rng.unit() - 0.5)]
            })
            .collect();
        let returns = JointReturns {
            symbols: vec!["ETH".into(), "BTC".into(), "USD".into()],
            days: (0..days as i64).collect(),
            log_returns,
        };
        let reserves = (0..3)
            .map(|i| ReserveInput {
                asset: i,
                supply_tokens: [120.0, 8.0, 2e6][i] * (0.5 + rng.unit()),
                borrow_tokens: [10.0, 1.0, 1e6][i] * rng.unit(),
                top10_collateral_share: rng.unit(),
                top10_debt_share: rng.unit(),
            })
            .collect();
        (Market { assets, accounts }, returns, reserves)
    }

    const MC: MonteCarlo = MonteCarlo { paths: 300, horizon_days: 1, block_len: 0, seed: 3 };

    #[test]
    fn stricter_target_never_raises_the_threshold() {
        for seed in 0..4 {
            let (m, r, reserves) = random_case(seed, 25, 120);
            for (measure, stress) in [
                (Measure::Var95, Stress::ConstantHealth),
                (Measure::Evar99, Stress::MaxBorrow),
                (Measure::Es95, Stress::MaxBorrow),
            ] {
                let mut last: Option<Vec<u16>> = None;
                for frac in [0.05, 0.01, 0.003, 0.001, 0.0] {
                    let cfg = RecommendConfig {
                        measure,
                        stress,
                        max_fraction: frac,
                        lt_step_bps: 250,
                        ..Default::default()
                    };
                    let recs = recommend(&m, &r, &LiquidationRules::AAVE_V3, &MC, &reserves, &cfg)
                        .unwrap();
                    let lts: Vec<u16> =
                        recs.iter().map(|x| x.params.liquidation_threshold).collect();
                    if let Some(prev) = &last {
                        for (a, b) in lts.iter().zip(prev) {
                            assert!(a <= b, "seed {seed} {measure:?} {frac}: {lts:?} > {prev:?}");
                        }
                    }
                    last = Some(lts);
                }
            }
        }
    }

    #[test]
    fn outputs_always_pass_aave_validation() {
        for seed in 0..40 {
            let (m, r, reserves) = random_case(100 + seed, 8, 60);
            let mut rng = SplitMix64::new(seed);
            let lo = 1_000 + (rng.below(80) as u16) * 100;
            let cfg = RecommendConfig {
                measure: [Measure::Var95, Measure::Es95, Measure::Evar99][rng.below(3)],
                stress: [Stress::ConstantHealth, Stress::MaxBorrow][rng.below(2)],
                max_fraction: [0.0, 1e-4, 0.01, 0.5][rng.below(4)],
                lt_min_bps: lo,
                lt_max_bps: lo + (rng.below(9_999 - usize::from(lo)) as u16),
                lt_step_bps: 1 + rng.below(500) as u16,
                min_premium_bps: 1 + rng.below(400) as u16,
                max_premium_bps: 400 + rng.below(4_600) as u16,
                premium_quantile: 0.5 + 0.49 * rng.unit(),
                ..Default::default()
            };
            let mc = MonteCarlo { paths: 50, ..MC };
            let recs = recommend(&m, &r, &LiquidationRules::AAVE_V3, &mc, &reserves, &cfg).unwrap();
            for x in &recs {
                validate(&x.params).unwrap_or_else(|e| panic!("seed {seed}: {e} {x:?}"));
                assert!(x.params.liquidation_threshold >= cfg.lt_min_bps || !x.target_met);
                assert!(x.params.supply_cap >= 1 && x.params.borrow_cap >= 1);
                assert!(x.params.borrow_cap <= x.params.supply_cap);
                if x.target_met {
                    assert!(x.measure_usd <= x.target_usd);
                } else {
                    assert_eq!(x.params.ltv, 0);
                }
            }
        }
    }

    #[test]
    fn grid_above_the_bonus_bound_falls_back_to_a_valid_threshold() {
        let (m, r, reserves) = random_case(7, 10, 60);
        // Premium ≥ 10 % → LT ≤ ⌊10⁸ / 11,000⌋ = 9,090 < 9,400: the grid is empty.
        let cfg = RecommendConfig {
            lt_min_bps: 9_400,
            lt_max_bps: 9_900,
            min_premium_bps: 1_000,
            ..Default::default()
        };
        for x in recommend(&m, &r, &LiquidationRules::AAVE_V3, &MC, &reserves, &cfg).unwrap() {
            validate(&x.params).unwrap();
            assert!(!x.target_met && x.params.ltv == 0 && x.evaluations == 0, "{x:?}");
            assert_eq!(
                u64::from(x.params.liquidation_threshold),
                BPS * BPS / u64::from(x.params.liquidation_bonus)
            );
        }
    }

    #[test]
    fn validation_table() {
        let ok = AaveParams {
            ltv: 8_000,
            liquidation_threshold: 8_250,
            liquidation_bonus: 10_500,
            supply_cap: 100,
            borrow_cap: 50,
        };
        assert!(validate(&ok).is_ok());
        let cases = [
            AaveParams { ltv: 8_300, ..ok },
            AaveParams { liquidation_bonus: 10_000, ..ok },
            AaveParams { liquidation_threshold: 9_600, liquidation_bonus: 10_500, ..ok },
            AaveParams { ltv: 0, liquidation_threshold: 0, liquidation_bonus: 10_500, ..ok },
            AaveParams { supply_cap: MAX_CAP + 1, ..ok },
        ];
        for c in cases {
            assert!(validate(&c).is_err(), "{c:?}");
        }
        assert!(
            validate(&AaveParams { ltv: 0, liquidation_threshold: 0, liquidation_bonus: 0, ..ok })
                .is_ok()
        );
        assert_eq!("evar99".parse::<Measure>().unwrap(), Measure::Evar99);
        assert_eq!("max-borrow".parse::<Stress>().unwrap(), Stress::MaxBorrow);
        assert!("var99".parse::<Measure>().is_err());
    }

    #[test]
    fn bonus_and_buffer_follow_the_tail_drop() {
        // ETH falls 10 % on one day in ten, else rises 1 %: the 95 % drop is 10 %.
        let days = 200;
        let r = JointReturns {
            symbols: vec!["ETH".into(), "USD".into()],
            days: (0..days).collect(),
            log_returns: (0..days)
                .flat_map(|d| [if d % 10 == 0 { 0.9f64.ln() } else { 0.01 }, 0.0])
                .collect(),
        };
        let m = Market {
            assets: vec![
                AssetRisk {
                    symbol: "ETH".into(),
                    price: 2_000.0,
                    liquidation_threshold: 0.8,
                    liquidation_bonus: 1.05,
                },
                AssetRisk {
                    symbol: "USD".into(),
                    price: 1.0,
                    liquidation_threshold: 0.0,
                    liquidation_bonus: 1.0,
                },
            ],
            accounts: vec![Account {
                collateral: vec![1.0, 0.0],
                debt: vec![0.0, 0.0],
                weight: 1.0,
            }],
        };
        let reserves = [ReserveInput {
            asset: 0,
            supply_tokens: 1.0,
            borrow_tokens: 0.0,
            top10_collateral_share: 1.0,
            top10_debt_share: 0.0,
        }];
        let recs = recommend(
            &m,
            &r,
            &LiquidationRules::AAVE_V3,
            &MC,
            &reserves,
            &RecommendConfig::default(),
        )
        .unwrap();
        let p = recs[0].params;
        // Drop 0.1 (up to rounding) → premium 1,000 bps; no debt → LT at the cap
        // min(9,500, ⌊10⁸ / 11,000⌋ = 9,090) on the 50-bps grid from 5,000: 9,050.
        assert!((recs[0].tail_drop - 0.1).abs() < 1e-12);
        assert_eq!(p.liquidation_bonus, 11_000);
        assert_eq!(p.liquidation_threshold, 9_050);
        assert_eq!(p.ltv, 9_050 - 905);
        // Top-10 share 1 → headroom 10 %: ⌈1.1⌉ = 2 tokens; borrow ⌈max(0, 0.1)·2⌉ = 1.
        assert_eq!((p.supply_cap, p.borrow_cap), (2, 1));
        assert!(recs[0].target_met);
    }
}
