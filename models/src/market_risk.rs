//! Market risk of a lending market by Monte-Carlo: the distribution of bad debt and of liquidated
//! collateral over a short horizon (24 h by default), from the market's positions and a block
//! bootstrap of the assets' joint daily returns.
//!
//! # Method
//! 1. **Scenarios.** A path is `horizon_days` daily steps. Each step is one row (one historical
//!    day) of the joint log-return matrix, all assets together, so the cross-asset dependence of
//!    that day is kept. Rows are drawn by a circular block bootstrap (Politis & Romano, 1992): a
//!    path starts at a uniformly drawn day and takes the following days in order, wrapping round
//!    at the end of the history and jumping to a fresh uniformly drawn day every `block_len`
//!    steps. Blocks keep runs of calm and turbulent days together (volatility clustering) for
//!    horizons longer than a day; for a one-day horizon every historical day is equally likely,
//!    so the 24 h distribution is the joint historical one.
//! 2. **Prices.** Each step multiplies every asset's price by `exp(r)` of the drawn row.
//! 3. **Liquidations** (at the end of each step, on the prices of that step): an account whose
//!    health factor `HF = Σ cᵢ pᵢ LTᵢ / Σ dⱼ pⱼ` is below 1 is liquidated in rounds until it is
//!    healthy, has no debt or has no collateral left. A round repays `close_factor` of the debt
//!    (all of it when `HF < full_close_below_hf`: Aave v3.0 uses 50 % and 0.95), and the liquidator
//!    seizes the repaid value times the bonus `B` (the collateral-value-weighted bonus of the
//!    account's collateral), taken pro rata from every collateral asset; when the collateral does
//!    not cover `repaid · B`, all of it is seized and only `collateral / B` is repaid (Aave's
//!    rule). Debt is repaid pro rata across the account's debt assets.
//! 4. **Losses** at the end of the path: bad debt is `Σ max(0, debt − collateral)` over accounts
//!    (USD at the path's final prices), liquidated collateral is the USD value seized over the
//!    path. Each account's contribution is multiplied by its [`Account::weight`] (1 for a market
//!    report; a share when only a part of an account is attributed to one reserve).
//! 5. **Measures** over the paths' losses: [`value_at_risk`], [`expected_shortfall`] and
//!    [`entropic_var`] (definitions on each function).
//!
//! Liquidations happen only at the end of a daily step, at that step's prices: liquidators that
//! act earlier inside the day would meet better prices, so the bad debt here is an upper bound
//! for the same path. Interest accrued over the horizon is ignored (it is small over a day).
//!
//! The random draws come from [`SplitMix64`] seeded with [`MonteCarlo::seed`]: the same inputs and
//! seed give bit-identical results.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Rounds of liquidation of one account in one step at most (each round either restores health,
/// repays everything, or exhausts the collateral after a few rounds; the cap guards edge cases).
pub const MAX_ROUNDS: u32 = 32;

/// Amounts below this many USD count as zero (dust left by pro-rata scaling).
pub const DUST_USD: f64 = 1e-9;

/// One asset of the market: its price and collateral parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetRisk {
    /// Symbol, e.g. `WETH`.
    pub symbol: String,
    /// Price now, USD per whole token.
    pub price: f64,
    /// Liquidation threshold as a fraction (Aave's bps / 10 000); 0 when the asset is not
    /// collateral.
    pub liquidation_threshold: f64,
    /// Liquidation bonus as a factor (Aave's bps / 10 000, e.g. 1.05).
    pub liquidation_bonus: f64,
}

/// One account: amounts in whole tokens, indexed like [`Market::assets`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Collateral (only balances that count as collateral), tokens per asset.
    pub collateral: Vec<f64>,
    /// Debt, tokens per asset.
    pub debt: Vec<f64>,
    /// Share of this account's bad debt and liquidated collateral that the report counts (1 for a
    /// whole account).
    pub weight: f64,
}

/// A market: assets and accounts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Market {
    /// The assets.
    pub assets: Vec<AssetRisk>,
    /// The accounts.
    pub accounts: Vec<Account>,
}

impl Market {
    /// Checks shapes and ranges: every account has one amount per asset, amounts and prices are
    /// finite and non-negative, thresholds in `[0, 1)` and bonuses at least 1.
    ///
    /// # Errors
    /// [`Error::Shape`] or [`Error::InvalidParam`] naming what is wrong.
    pub fn check(&self) -> Result<()> {
        for a in &self.assets {
            let bad = |name, reason: String| Err(Error::InvalidParam { name, reason });
            if !(a.price.is_finite() && a.price > 0.0) {
                return bad("price", format!("{}: {} is not a positive price", a.symbol, a.price));
            }
            if !(0.0..1.0).contains(&a.liquidation_threshold) {
                return bad(
                    "liquidation_threshold",
                    format!("{}: {} not in [0, 1)", a.symbol, a.liquidation_threshold),
                );
            }
            if !(a.liquidation_bonus.is_finite() && a.liquidation_bonus >= 1.0) {
                return bad(
                    "liquidation_bonus",
                    format!("{}: {} is below 1", a.symbol, a.liquidation_bonus),
                );
            }
        }
        let n = self.assets.len();
        for (i, acc) in self.accounts.iter().enumerate() {
            if acc.collateral.len() != n || acc.debt.len() != n {
                return Err(Error::Shape(format!(
                    "account {i} has {} collateral and {} debt amounts for {n} assets",
                    acc.collateral.len(),
                    acc.debt.len()
                )));
            }
            let ok = |x: &f64| x.is_finite() && *x >= 0.0;
            if !acc.collateral.iter().all(ok) || !acc.debt.iter().all(ok) || !ok(&acc.weight) {
                return Err(Error::InvalidParam {
                    name: "accounts",
                    reason: format!("account {i} has a negative or non-finite amount or weight"),
                });
            }
        }
        Ok(())
    }

    /// Total debt, USD at current prices (weights ignored).
    pub fn total_debt_usd(&self) -> f64 {
        self.accounts
            .iter()
            .map(|a| a.debt.iter().zip(&self.assets).map(|(d, s)| d * s.price).sum::<f64>())
            .sum()
    }

    /// Total collateral, USD at current prices (weights ignored).
    pub fn total_collateral_usd(&self) -> f64 {
        self.accounts
            .iter()
            .map(|a| a.collateral.iter().zip(&self.assets).map(|(c, s)| c * s.price).sum::<f64>())
            .sum()
    }

    /// Each account's health factor at current prices (`f64::INFINITY` without debt).
    pub fn health_factors(&self) -> Vec<f64> {
        let prices: Vec<f64> = self.assets.iter().map(|a| a.price).collect();
        self.accounts
            .iter()
            .map(|a| {
                let s = AccountState { c: a.collateral.clone(), d: a.debt.clone() };
                s.health(&self.assets, &prices).0
            })
            .collect()
    }
}

/// How liquidations close positions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LiquidationRules {
    /// Share of the debt one liquidation may repay while `HF ≥ full_close_below_hf`.
    pub close_factor: f64,
    /// Below this health factor a liquidation may repay all the debt.
    pub full_close_below_hf: f64,
}

impl LiquidationRules {
    /// Aave v3.0: 50 % of the debt, all of it below a health factor of 0.95
    /// (`DEFAULT_LIQUIDATION_CLOSE_FACTOR`, `CLOSE_FACTOR_HF_THRESHOLD`).
    pub const AAVE_V3: Self = Self { close_factor: 0.5, full_close_below_hf: 0.95 };
    /// The whole position at once (MakerDAO's `dog.bark` liquidates the whole vault).
    pub const WHOLE: Self = Self { close_factor: 1.0, full_close_below_hf: 1.0 };
}

impl Default for LiquidationRules {
    fn default() -> Self {
        Self::AAVE_V3
    }
}

/// Joint daily log returns: one row per day, one column per symbol (row-major).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JointReturns {
    /// Column names, e.g. `["WETH", "USDC"]`.
    pub symbols: Vec<String>,
    /// Day number (days since 1970-01-01, UTC) of each row.
    pub days: Vec<i64>,
    /// `ln(close_d / close_{d-1})`, `days.len() × symbols.len()`, row-major.
    pub log_returns: Vec<f64>,
}

impl JointReturns {
    /// Number of days.
    pub const fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether there is no day.
    pub const fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The returns of day `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        let k = self.symbols.len();
        &self.log_returns[i * k..(i + 1) * k]
    }

    /// The column of `symbol`, as a vector over days.
    pub fn column(&self, symbol: &str) -> Option<Vec<f64>> {
        let j = self.symbols.iter().position(|s| s == symbol)?;
        Some((0..self.len()).map(|i| self.row(i)[j]).collect())
    }

    /// Checks the shape and that every return is finite.
    ///
    /// # Errors
    /// [`Error::Shape`] or [`Error::InvalidParam`].
    pub fn check(&self) -> Result<()> {
        if self.days.is_empty() {
            return Err(Error::Shape("joint returns have no day".into()));
        }
        if self.log_returns.len() != self.days.len() * self.symbols.len() {
            return Err(Error::Shape(format!(
                "{} returns for {} days × {} symbols",
                self.log_returns.len(),
                self.days.len(),
                self.symbols.len()
            )));
        }
        if let Some(i) = self.log_returns.iter().position(|r| !r.is_finite()) {
            return Err(Error::InvalidParam {
                name: "log_returns",
                reason: format!("non-finite return on day {}", self.days[i / self.symbols.len()]),
            });
        }
        Ok(())
    }
}

/// The Monte-Carlo's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonteCarlo {
    /// Number of paths.
    pub paths: usize,
    /// Daily steps per path (1 = 24 h).
    pub horizon_days: usize,
    /// Days per bootstrap block; 0 picks [`default_block_len`] of the history.
    pub block_len: usize,
    /// Seed of the random draws.
    pub seed: u64,
}

impl Default for MonteCarlo {
    fn default() -> Self {
        Self { paths: 10_000, horizon_days: 1, block_len: 0, seed: 1 }
    }
}

/// Block length of the bootstrap for a history of `days` days: `max(1, round(days^(1/3)))`, the
/// order `n^(1/3)` that minimises the error of block-bootstrap variance and distribution
/// estimates (Hall, Horowitz & Jing, 1995); 7 days for about a year of history, which also keeps
/// whole weeks of clustered volatility together.
pub fn default_block_len(days: usize) -> usize {
    ((days as f64).cbrt().round() as usize).max(1)
}

/// SplitMix64 (Steele, Lea & Flood, 2014): a 64-bit state advanced by the golden-ratio constant
/// and mixed by two multiply-xorshift rounds. Fast, seedable with any value (including 0), and
/// good enough for drawing bootstrap indices; not cryptographic.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub const fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..n` (Lemire's multiply-shift; the bias is below `n / 2^64`).
    /// Returns 0 for `n = 0`.
    pub const fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// A uniform float in `[0, 1)` (53 random bits).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Per-path outcomes of a simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Simulation {
    /// Bad debt of each path, USD.
    pub bad_debt: Vec<f64>,
    /// Collateral seized by liquidations on each path, USD.
    pub liquidated: Vec<f64>,
    /// Block length used.
    pub block_len: usize,
}

/// Summary of a simulation: the market's size and the tail measures of its losses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskSummary {
    /// Paths simulated.
    pub paths: usize,
    /// Horizon, days.
    pub horizon_days: usize,
    /// Bootstrap block length, days.
    pub block_len: usize,
    /// Days of joint history the paths were drawn from.
    pub history_days: usize,
    /// Debt now, USD.
    pub total_debt_usd: f64,
    /// Collateral now, USD.
    pub total_collateral_usd: f64,
    /// Bad debt if prices do not move: what liquidating the accounts already below a health
    /// factor of 1 leaves uncovered now, USD (part of every path's bad debt).
    pub bad_debt_now: f64,
    /// VaR(95 %) of bad debt, USD.
    pub var95_bad_debt: f64,
    /// Expected shortfall (95 %) of bad debt, USD.
    pub es95_bad_debt: f64,
    /// Entropic VaR (99 %) of bad debt, USD.
    pub evar99_bad_debt: f64,
    /// Mean bad debt, USD.
    pub mean_bad_debt: f64,
    /// Largest bad debt over the paths, USD.
    pub max_bad_debt: f64,
    /// Share of paths with bad debt above [`DUST_USD`].
    pub p_bad_debt: f64,
    /// LaR(95 %): 95th percentile of liquidated collateral, USD.
    pub lar95_liquidated: f64,
    /// Mean liquidated collateral, USD.
    pub mean_liquidated: f64,
}

#[derive(Clone)]
struct AccountState {
    c: Vec<f64>,
    d: Vec<f64>,
}

impl AccountState {
    /// (health factor, collateral USD, debt USD).
    fn health(&self, assets: &[AssetRisk], prices: &[f64]) -> (f64, f64, f64) {
        let (mut c, mut clt, mut d) = (0.0, 0.0, 0.0);
        for ((a, p), (ci, di)) in assets.iter().zip(prices).zip(self.c.iter().zip(&self.d)) {
            c += ci * p;
            clt += ci * p * a.liquidation_threshold;
            d += di * p;
        }
        let hf = if d <= DUST_USD { f64::INFINITY } else { clt / d };
        (hf, c, d)
    }

    /// Liquidates while unhealthy; returns the USD value seized.
    fn liquidate(&mut self, assets: &[AssetRisk], prices: &[f64], rules: &LiquidationRules) -> f64 {
        let mut seized = 0.0;
        for _ in 0..MAX_ROUNDS {
            let (hf, c, d) = self.health(assets, prices);
            if hf >= 1.0 || d <= DUST_USD || c <= DUST_USD {
                break;
            }
            let bonus = assets
                .iter()
                .zip(prices)
                .zip(&self.c)
                .map(|((a, p), ci)| ci * p * a.liquidation_bonus)
                .sum::<f64>()
                / c;
            let factor = if hf < rules.full_close_below_hf { 1.0 } else { rules.close_factor };
            let mut repay = factor * d;
            let mut seize = repay * bonus;
            if seize >= c {
                seize = c;
                repay = c / bonus;
            }
            let (keep_c, keep_d) = (1.0 - seize / c, 1.0 - repay / d);
            for x in &mut self.c {
                *x *= keep_c.max(0.0);
            }
            for x in &mut self.d {
                *x *= keep_d.max(0.0);
            }
            seized += seize;
        }
        seized
    }
}

/// Runs the Monte-Carlo (see the module docs). `returns` must have a column for every asset of
/// the market, by symbol.
///
/// # Errors
/// [`Error::Shape`] / [`Error::InvalidParam`] for an invalid market, returns without a column for
/// one of the market's assets, or zero paths or horizon.
pub fn simulate(
    market: &Market,
    returns: &JointReturns,
    rules: &LiquidationRules,
    mc: &MonteCarlo,
) -> Result<Simulation> {
    market.check()?;
    returns.check()?;
    if mc.paths == 0 || mc.horizon_days == 0 {
        return Err(Error::InvalidParam {
            name: "monte_carlo",
            reason: "paths and horizon_days must be at least 1".into(),
        });
    }
    if !(rules.close_factor > 0.0 && rules.close_factor <= 1.0) {
        return Err(Error::InvalidParam {
            name: "close_factor",
            reason: format!("{} not in (0, 1]", rules.close_factor),
        });
    }
    let columns =
        market
            .assets
            .iter()
            .map(|a| {
                returns.symbols.iter().position(|s| *s == a.symbol).ok_or_else(|| {
                    Error::Shape(format!("no return history for asset {}", a.symbol))
                })
            })
            .collect::<Result<Vec<usize>>>()?;
    let n = returns.len();
    let block_len = if mc.block_len == 0 { default_block_len(n) } else { mc.block_len };
    // Accounts without debt can never be liquidated nor leave bad debt.
    let active: Vec<(&Account, AccountState)> = market
        .accounts
        .iter()
        .filter(|a| a.weight > 0.0 && a.debt.iter().any(|d| *d > 0.0))
        .map(|a| (a, AccountState { c: a.collateral.clone(), d: a.debt.clone() }))
        .collect();
    let mut rng = SplitMix64::new(mc.seed);
    let mut bad_debt = Vec::with_capacity(mc.paths);
    let mut liquidated = Vec::with_capacity(mc.paths);
    let mut states: Vec<AccountState> = active.iter().map(|(_, s)| s.clone()).collect();
    let mut prices = vec![0.0; market.assets.len()];
    let mut log_price = vec![0.0; market.assets.len()];
    for _ in 0..mc.paths {
        for (s, (_, s0)) in states.iter_mut().zip(&active) {
            s.c.copy_from_slice(&s0.c);
            s.d.copy_from_slice(&s0.d);
        }
        log_price.iter_mut().for_each(|x| *x = 0.0);
        let mut seized = vec![0.0; states.len()];
        let mut day = 0;
        for step in 0..mc.horizon_days {
            day = if step % block_len == 0 { rng.below(n) } else { (day + 1) % n };
            let row = returns.row(day);
            for (j, col) in columns.iter().enumerate() {
                log_price[j] += row[*col];
                prices[j] = market.assets[j].price * log_price[j].exp();
            }
            for (s, z) in states.iter_mut().zip(&mut seized) {
                *z += s.liquidate(&market.assets, &prices, rules);
            }
        }
        let (mut bad, mut liq) = (0.0, 0.0);
        for ((s, z), (a, _)) in states.iter().zip(&seized).zip(&active) {
            let (_, c, d) = s.health(&market.assets, &prices);
            bad += a.weight * (d - c).max(0.0);
            liq += a.weight * z;
        }
        bad_debt.push(bad);
        liquidated.push(liq);
    }
    Ok(Simulation { bad_debt, liquidated, block_len })
}

/// [`simulate`] and its [`RiskSummary`].
///
/// # Errors
/// As [`simulate`].
pub fn assess(
    market: &Market,
    returns: &JointReturns,
    rules: &LiquidationRules,
    mc: &MonteCarlo,
) -> Result<RiskSummary> {
    let sim = simulate(market, returns, rules, mc)?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Ok(RiskSummary {
        paths: mc.paths,
        horizon_days: mc.horizon_days,
        block_len: sim.block_len,
        history_days: returns.len(),
        total_debt_usd: market.total_debt_usd(),
        total_collateral_usd: market.total_collateral_usd(),
        bad_debt_now: bad_debt_now(market, rules),
        var95_bad_debt: value_at_risk(&sim.bad_debt, 0.95)?,
        es95_bad_debt: expected_shortfall(&sim.bad_debt, 0.95)?,
        evar99_bad_debt: entropic_var(&sim.bad_debt, 0.99)?,
        mean_bad_debt: mean(&sim.bad_debt),
        max_bad_debt: sim.bad_debt.iter().copied().fold(0.0, f64::max),
        p_bad_debt: sim.bad_debt.iter().filter(|b| **b > DUST_USD).count() as f64
            / sim.bad_debt.len() as f64,
        lar95_liquidated: value_at_risk(&sim.liquidated, 0.95)?,
        mean_liquidated: mean(&sim.liquidated),
    })
}

/// Bad debt (USD) left by liquidating, at current prices, every account below a health factor of
/// 1 (weights applied).
pub fn bad_debt_now(market: &Market, rules: &LiquidationRules) -> f64 {
    let prices: Vec<f64> = market.assets.iter().map(|a| a.price).collect();
    market
        .accounts
        .iter()
        .map(|a| {
            let mut s = AccountState { c: a.collateral.clone(), d: a.debt.clone() };
            s.liquidate(&market.assets, &prices, rules);
            let (_, c, d) = s.health(&market.assets, &prices);
            a.weight * (d - c).max(0.0)
        })
        .sum()
}

fn check_losses(losses: &[f64], level: f64) -> Result<()> {
    if losses.is_empty() {
        return Err(Error::Shape("no losses to measure".into()));
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::InvalidParam {
            name: "level",
            reason: format!("{level} not in (0, 1)"),
        });
    }
    if losses.iter().any(|x| !x.is_finite()) {
        return Err(Error::InvalidParam { name: "losses", reason: "non-finite loss".into() });
    }
    Ok(())
}

fn sorted(losses: &[f64]) -> Vec<f64> {
    let mut v = losses.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// VaR at `level` (e.g. 0.95): the empirical `level`-quantile of the losses, the smallest loss
/// `x` with `P(L ≤ x) ≥ level`, i.e. the `⌈level · n⌉`-th smallest of `n` losses.
///
/// # Errors
/// [`Error::Shape`] for no losses, [`Error::InvalidParam`] for a level outside `(0, 1)` or a
/// non-finite loss.
pub fn value_at_risk(losses: &[f64], level: f64) -> Result<f64> {
    check_losses(losses, level)?;
    let v = sorted(losses);
    let k = ((level * v.len() as f64 - 1e-9).ceil() as usize).clamp(1, v.len());
    Ok(v[k - 1])
}

/// Expected shortfall at `level`: the mean of the `⌈(1 − level) · n⌉` largest of `n` losses.
///
/// # Errors
/// As [`value_at_risk`].
pub fn expected_shortfall(losses: &[f64], level: f64) -> Result<f64> {
    check_losses(losses, level)?;
    let v = sorted(losses);
    let m = (((1.0 - level) * v.len() as f64 - 1e-9).ceil() as usize).clamp(1, v.len());
    Ok(v[v.len() - m..].iter().sum::<f64>() / m as f64)
}

/// Entropic VaR at `level` (Ahmadi-Javid, 2012), on the empirical distribution of the losses:
///
/// `EVaR(L) = inf_{z > 0} (1/z) · ln( E[exp(z L)] / (1 − level) )`.
///
/// It is the tightest upper bound on VaR (and on expected shortfall) at `level` that the
/// Chernoff inequality gives; `ES ≤ EVaR ≤ max L`. With `u = 1/z` the objective
/// `u · ln E[exp(L/u)] − u · ln(1 − level)` is convex (a perspective of the cumulant generating
/// function), tends to `max L` as `u → 0` and exceeds `max L` for
/// `u > max L / ln(1/(1 − level))`, so a golden-section search over that interval (losses scaled
/// by their maximum, log-sum-exp for stability) finds it; the result is the smaller of that
/// minimum and `max L`.
///
/// # Errors
/// As [`value_at_risk`].
pub fn entropic_var(losses: &[f64], level: f64) -> Result<f64> {
    check_losses(losses, level)?;
    let scale = losses.iter().copied().fold(0.0, f64::max);
    if scale <= 0.0 {
        // All losses ≤ 0: the objective tends to the maximum loss.
        return Ok(losses.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    }
    let l: Vec<f64> = losses.iter().map(|x| x / scale).collect();
    let ln_n = (l.len() as f64).ln();
    let tail = -(1.0 - level).ln();
    // Objective in scaled units; the max of `l` is 1.
    let f = |u: f64| {
        let z = 1.0 / u;
        let s: f64 = l.iter().map(|x| ((x - 1.0) * z).exp()).sum();
        // u · (ln Σ exp(l/u) − ln n) + u · tail, with ln Σ exp(l/u) = 1/u + ln Σ exp((l−1)/u).
        1.0 + u * (s.ln() - ln_n + tail)
    };
    let (mut a, mut b) = (0.0_f64, 1.0 / tail);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut x1, mut x2) = (b - g * (b - a), a + g * (b - a));
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..200 {
        if f1 <= f2 {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - g * (b - a);
            f1 = f(x1);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (b - a);
            f2 = f(x2);
        }
        if b - a < 1e-12 {
            break;
        }
    }
    Ok(scale * f1.min(f2).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(symbol: &str, price: f64, lt: f64, bonus: f64) -> AssetRisk {
        AssetRisk {
            symbol: symbol.into(),
            price,
            liquidation_threshold: lt,
            liquidation_bonus: bonus,
        }
    }

    fn eth_usdc(accounts: &[(f64, f64)]) -> Market {
        Market {
            assets: vec![asset("ETH", 2_000.0, 0.8, 1.05), asset("USDC", 1.0, 0.0, 1.0)],
            accounts: accounts
                .iter()
                .map(|(eth, usdc)| Account {
                    collateral: vec![*eth, 0.0],
                    debt: vec![0.0, *usdc],
                    weight: 1.0,
                })
                .collect(),
        }
    }

    /// Two assets, `days` days of returns drawn from a fat-tailed toy distribution.
    fn toy_returns(days: usize, seed: u64) -> JointReturns {
        let mut rng = SplitMix64::new(seed);
        let mut r = Vec::new();
        for _ in 0..days {
            let u = rng.unit();
            let shock = if u < 0.05 { -0.4 * rng.unit() } else { 0.08 * (rng.unit() - 0.5) };
            r.extend([shock, 0.0]);
        }
        JointReturns {
            symbols: vec!["ETH".into(), "USDC".into()],
            days: (0..days as i64).collect(),
            log_returns: r,
        }
    }

    fn fixed(eth: f64) -> JointReturns {
        JointReturns {
            symbols: vec!["ETH".into(), "USDC".into()],
            days: vec![0],
            log_returns: vec![eth.ln(), 0.0],
        }
    }

    const MC: MonteCarlo = MonteCarlo { paths: 2_000, horizon_days: 1, block_len: 0, seed: 7 };

    #[test]
    fn no_debt_no_risk() {
        let m = eth_usdc(&[(10.0, 0.0), (3.0, 0.0)]);
        let s = assess(&m, &toy_returns(300, 1), &LiquidationRules::AAVE_V3, &MC).unwrap();
        assert_eq!(s.var95_bad_debt, 0.0);
        assert_eq!(s.evar99_bad_debt, 0.0);
        assert_eq!(s.lar95_liquidated, 0.0);
        assert_eq!(s.total_debt_usd, 0.0);
        assert_eq!(s.bad_debt_now, 0.0);
        // An account already under water: 1 ETH (2,000 USD) against 2,500 USDC.
        let m = eth_usdc(&[(1.0, 2_500.0), (1.0, 100.0)]);
        let want = 2_500.0 - 2_000.0 / 1.05;
        assert!((bad_debt_now(&m, &LiquidationRules::AAVE_V3) - want).abs() < 1e-9);
        let s = assess(&m, &fixed(1.0), &LiquidationRules::AAVE_V3, &MC).unwrap();
        assert!((s.var95_bad_debt - want).abs() < 1e-9);
    }

    #[test]
    fn var_is_monotone_in_leverage() {
        let returns = toy_returns(400, 3);
        let mut last = (0.0, 0.0, 0.0);
        for ltv in [0.3, 0.5, 0.6, 0.7, 0.75, 0.79] {
            // Ten accounts of 1..10 ETH at the same loan-to-value.
            let m = eth_usdc(
                &(1..=10).map(|e| (f64::from(e), f64::from(e) * 2_000.0 * ltv)).collect::<Vec<_>>(),
            );
            let s = assess(&m, &returns, &LiquidationRules::AAVE_V3, &MC).unwrap();
            let now = (s.var95_bad_debt, s.es95_bad_debt, s.evar99_bad_debt);
            assert!(now.0 >= last.0 && now.1 >= last.1 && now.2 >= last.2, "{ltv}: {now:?}");
            assert!(s.evar99_bad_debt >= s.es95_bad_debt - 1e-9);
            last = now;
        }
        assert!(last.1 > 0.0, "79 % LTV against 40 % drops must leave bad debt: {last:?}");
    }

    /// A −50 % ETH day, worked by hand:
    /// - A: 1 ETH, 1,500 USDC. After the shock C = 1,000, HF = 800/1,500 = 0.533 < 0.95: the
    ///   whole debt may be repaid but 1,500 · 1.05 > 1,000, so all collateral is seized and
    ///   1,000/1.05 = 952.38 repaid: bad debt 547.62, seized 1,000.
    /// - B: 10 ETH, 6,000 USDC. C = 10,000, HF = 8,000/6,000 = 1.33: untouched.
    /// - C: 2 ETH, 1,950 USDC. C = 2,000, HF = 1,600/1,950 = 0.8205 < 0.95: repay 1,950, seize
    ///   2,047.5 > 2,000, so seize 2,000, repay 1,904.76: bad debt 45.24.
    /// - D: 2 ETH, 1,600 USDC. C = 2,000, HF = 1.0: healthy (not below 1).
    ///
    /// Then one account of 2.1 ETH and 1,700 USDC: C = 2,100, HF = 1,680/1,700 = 0.98824 ≥ 0.95:
    /// repay 850, seize 892.5 → C 1,207.5, D 850, HF 1.1365: done after one round.
    #[test]
    fn minus_fifty_percent_matches_hand_computation() {
        let m = eth_usdc(&[(1.0, 1_500.0), (10.0, 6_000.0), (2.0, 1_950.0), (2.0, 1_600.0)]);
        let mc = MonteCarlo { paths: 5, ..MC };
        let sim = simulate(&m, &fixed(0.5), &LiquidationRules::AAVE_V3, &mc).unwrap();
        let bad = (1_500.0 - 1_000.0 / 1.05) + (1_950.0 - 2_000.0 / 1.05);
        for (b, l) in sim.bad_debt.iter().zip(&sim.liquidated) {
            assert!((b - bad).abs() < 1e-6, "{b} vs {bad}");
            assert!((l - 3_000.0).abs() < 1e-6, "{l}");
        }
        let s = assess(&m, &fixed(0.5), &LiquidationRules::AAVE_V3, &mc).unwrap();
        assert!((s.var95_bad_debt - bad).abs() < 1e-6);
        assert!((s.evar99_bad_debt - bad).abs() < 1e-6);
        assert!((s.lar95_liquidated - 3_000.0).abs() < 1e-6);

        // The 50 % close factor, one round.
        let m = eth_usdc(&[(2.1, 1_700.0)]);
        let sim = simulate(&m, &fixed(0.5), &LiquidationRules::AAVE_V3, &mc).unwrap();
        assert_eq!(sim.bad_debt[0], 0.0);
        assert!((sim.liquidated[0] - 892.5).abs() < 1e-9, "{}", sim.liquidated[0]);
        // Whole-position rules seize debt · bonus at once.
        let sim = simulate(&m, &fixed(0.5), &LiquidationRules::WHOLE, &mc).unwrap();
        assert!((sim.liquidated[0] - 1_785.0).abs() < 1e-9, "{}", sim.liquidated[0]);
    }

    #[test]
    fn same_seed_same_paths_and_block_bootstrap_keeps_runs() {
        let m = eth_usdc(&[(1.0, 1_500.0), (5.0, 7_000.0)]);
        let r = toy_returns(100, 9);
        let mc = MonteCarlo { paths: 500, horizon_days: 5, block_len: 5, seed: 11 };
        let a = simulate(&m, &r, &LiquidationRules::AAVE_V3, &mc).unwrap();
        let b = simulate(&m, &r, &LiquidationRules::AAVE_V3, &mc).unwrap();
        assert_eq!(a, b);
        let c = simulate(&m, &r, &LiquidationRules::AAVE_V3, &MonteCarlo { seed: 12, ..mc });
        assert_ne!(a, c.unwrap());
        assert_eq!(default_block_len(250), 6);
        assert_eq!(default_block_len(343), 7);
        assert_eq!(default_block_len(0), 1);
    }

    #[test]
    fn tail_measures() {
        let losses: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(value_at_risk(&losses, 0.95).unwrap(), 95.0);
        assert_eq!(expected_shortfall(&losses, 0.95).unwrap(), 98.0);
        let e = entropic_var(&losses, 0.99).unwrap();
        assert!(e >= expected_shortfall(&losses, 0.99).unwrap() - 1e-9 && e <= 100.0, "{e}");
        assert_eq!(entropic_var(&[0.0; 10], 0.99).unwrap(), 0.0);
        assert!((entropic_var(&[5.0; 10], 0.99).unwrap() - 5.0).abs() < 1e-9);
        // Two points: P(L = 1) = 0.5. EVaR_0.5 = inf (1/z) ln((1 + e^z)/2 / 0.5) → 1 as z → ∞.
        let two = [0.0, 1.0];
        assert!((entropic_var(&two, 0.5).unwrap() - 1.0).abs() < 1e-6);
        // Gaussian check: EVaR of N(0, 1) at 0.99 is sqrt(−2 ln 0.01) = 3.035; a large sample
        // shifted to be positive gets close.
        let mut rng = SplitMix64::new(5);
        let g: Vec<f64> = (0..200_000)
            .map(|_| {
                let (u, v) = (rng.unit().max(1e-300), rng.unit());
                10.0 + (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
            })
            .collect();
        let e = entropic_var(&g, 0.99).unwrap();
        assert!((e - 13.035).abs() < 0.05, "{e}");
        assert!(value_at_risk(&[], 0.95).is_err());
        assert!(value_at_risk(&[1.0], 1.0).is_err());
    }

    #[test]
    fn bad_inputs_are_rejected() {
        let mut m = eth_usdc(&[(1.0, 100.0)]);
        m.accounts[0].debt.pop();
        assert!(simulate(&m, &fixed(0.9), &LiquidationRules::AAVE_V3, &MC).is_err());
        let m = eth_usdc(&[(1.0, 100.0)]);
        let mut r = fixed(0.9);
        r.symbols[0] = "BTC".into();
        let err = simulate(&m, &r, &LiquidationRules::AAVE_V3, &MC).unwrap_err().to_string();
        assert!(err.contains("ETH"), "{err}");
        let zero = MonteCarlo { paths: 0, ..MC };
        assert!(simulate(&m, &fixed(0.9), &LiquidationRules::AAVE_V3, &zero).is_err());
    }
}
