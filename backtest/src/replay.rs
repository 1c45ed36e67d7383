//! Policy replay: the vaults' own flows and the daily prices, replayed under a parameter policy
//! that decides, each day, the loan-to-value (LTV), liquidation threshold (LT) and liquidation
//! bonus in force.
//!
//! # One day `d` under a policy
//! 1. **Decision.** The policy sees a [`DecisionView`]: the closes of the days before `d`, the
//!    positions at the end of `d − 1` under this same policy, and the parameters in force. Nothing
//!    dated `d` or later is in the view, by construction (the slices end there).
//! 2. **Flows** of `d`, per vault, in this order, at the price known at the start of `d` (the
//!    close of `d − 1`, `p₀`): deposits; repayments (debt floored at 0); borrows, capped so that
//!    `debt ≤ LTV · collateral · p₀` (what a cap cuts is *borrowing denied*); withdrawals, capped
//!    likewise (never below 0).
//! 3. **Liquidations** at the close `p` of `d`: a vault with debt above [`ReplayConfig::dust`]
//!    and `LT · collateral · p < debt` is liquidated whole (Maker's `bark`): collateral worth
//!    `min(collateral · p, debt · bonus)` (at `p · (1 − auction_discount)`) is seized, the debt
//!    is cleared, what the collateral does not cover is **bad debt**, and the rest of the
//!    collateral goes back to the owner. The vault then holds nothing; its later flows apply to
//!    an empty vault (withdrawals and repayments of nothing are no-ops).
//!
//! The recorded liquidations are not replayed: the policy decides them. A vault-day with a
//! position (collateral or debt above [`EMPTY`]) that the replay processes is one
//! **account-step**.

use serde::Serialize;
use zkrisk_models::market_risk::{
    Account, AssetRisk, JointReturns, LiquidationRules, Market, MonteCarlo, assess,
};

use crate::{
    Error, Result,
    history::{Book, Flow},
};

/// Amounts (ETH or DAI) at or below which a vault counts as empty: sums of decimal flows leave
/// float dust (e.g. 1e-9 ETH after withdrawing "everything"), and a threshold far above it keeps
/// the count independent of summation order. An empty vault is no account-step.
pub const EMPTY: f64 = 1e-6;

/// Collateral parameters as fractions: `ltv ≤ lt < 1`, `bonus ≥ 1` (1.05 = 5 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Params {
    /// Loan-to-value: the most a position may borrow per unit of collateral value.
    pub ltv: f64,
    /// Liquidation threshold: liquidation below `lt · collateral value < debt`.
    pub lt: f64,
    /// Liquidation bonus (penalty) as a factor.
    pub bonus: f64,
}

impl Params {
    /// Maker's form: liquidation ratio `mat` (e.g. 1.3) and penalty `chop` (e.g. 1.13); Maker
    /// draws and liquidates at the same ratio, so `ltv = lt = 1 / mat`.
    pub fn maker(mat: f64, chop: f64) -> Self {
        Self { ltv: 1.0 / mat, lt: 1.0 / mat, bonus: chop }
    }

    /// From Aave's basis points (`bonus_bps` 10 500 = 5 %).
    pub fn from_bps(ltv_bps: u16, lt_bps: u16, bonus_bps: u16) -> Self {
        Self {
            ltv: f64::from(ltv_bps) / 1e4,
            lt: f64::from(lt_bps) / 1e4,
            bonus: f64::from(bonus_bps) / 1e4,
        }
    }

    /// Checks `0 ≤ ltv ≤ lt < 1` and `bonus ≥ 1`.
    ///
    /// # Errors
    /// [`Error::Policy`] naming the rule.
    pub fn check(&self, who: &str) -> Result<()> {
        let ok = self.ltv >= 0.0 && self.ltv <= self.lt && self.lt < 1.0 && self.lt > 0.0;
        if !(ok && self.bonus >= 1.0 && self.bonus.is_finite()) {
            return Err(Error::Policy(format!(
                "{who}: parameters LTV {} LT {} bonus {} break 0 ≤ LTV ≤ LT < 1, bonus ≥ 1",
                self.ltv, self.lt, self.bonus
            )));
        }
        Ok(())
    }
}

/// A vault under one policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Position {
    /// ETH.
    pub collateral: f64,
    /// DAI.
    pub debt: f64,
}

/// What a policy may look at when it decides the parameters of `day`.
#[derive(Debug, Clone, Copy)]
pub struct DecisionView<'a> {
    /// The day the parameters will apply to.
    pub day: i64,
    /// Closes of the days before `day` (the last one is `day − 1`'s).
    pub closes: &'a [f64],
    /// Positions at the end of `day − 1` under this policy, by vault.
    pub positions: &'a [Position],
    /// Parameters in force on `day − 1`.
    pub current: Params,
}

/// A parameter policy.
pub trait Policy {
    /// Name in reports.
    fn name(&self) -> &str;
    /// The parameters of `view.day`.
    ///
    /// # Errors
    /// The policy's own errors.
    fn decide(&mut self, view: &DecisionView<'_>) -> Result<Params>;
}

/// A path of `(first day, parameters)` steps, e.g. the history of a governance.
#[derive(Debug, Clone)]
pub struct Scheduled {
    /// Name.
    pub name: String,
    /// Steps sorted by day; the parameters of the last step at or before a day apply.
    pub steps: Vec<(i64, Params)>,
}

impl Policy for Scheduled {
    fn name(&self) -> &str {
        &self.name
    }

    fn decide(&mut self, view: &DecisionView<'_>) -> Result<Params> {
        let n = self.steps.partition_point(|(d, _)| *d <= view.day);
        n.checked_sub(1).map(|i| self.steps[i].1).ok_or_else(|| {
            Error::Policy(format!("{}: no parameters in force on day {}", self.name, view.day))
        })
    }
}

/// Settings of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReplayConfig {
    /// Share of the close an auction loses when it sells seized collateral (0 = at the close).
    pub auction_discount: f64,
    /// Debt (DAI) at or below which a vault is not liquidated.
    pub dust: f64,
    /// Check and execute liquidations at the lower of the close and the day's low (WETH candle)
    /// instead of the close.
    pub intraday_low: bool,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self { auction_discount: 0.0, dust: 1.0, intraday_low: false }
    }
}

/// One day of a replay, summed over vaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DayRecord {
    /// Day.
    pub day: i64,
    /// Parameters in force.
    pub params: Params,
    /// Close (USD per ETH).
    pub price: f64,
    /// Debt at the close, DAI.
    pub debt: f64,
    /// Collateral value at the close, USD.
    pub collateral_usd: f64,
    /// Borrowing power `Σ LTV · collateral value` at the close, USD.
    pub borrowing_power: f64,
    /// Vaults liquidated.
    pub liquidations: u32,
    /// Collateral seized, USD at the close.
    pub liquidated_usd: f64,
    /// Bad debt left by liquidations, DAI.
    pub bad_debt: f64,
    /// Borrows cut by the LTV cap, DAI.
    pub borrow_denied: f64,
}

/// The outcome of one liquidation, for a vault of `collateral` ETH and `debt` DAI at price `p`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Liquidation {
    /// ETH seized.
    pub seized: f64,
    /// Bad debt, DAI.
    pub bad_debt: f64,
}

/// Liquidates a whole vault: seize `min(collateral, debt · bonus / (p · (1 − discount)))`, bad
/// debt `max(0, debt − collateral · p · (1 − discount))`.
pub fn liquidate(collateral: f64, debt: f64, p: f64, bonus: f64, discount: f64) -> Liquidation {
    let sale = p * (1.0 - discount);
    let value = collateral * sale;
    let seized = if value <= debt * bonus { collateral } else { debt * bonus / sale };
    Liquidation { seized, bad_debt: (debt - value).max(0.0) }
}

/// Applies one day's flows to a vault at the start-of-day price `p0` under `params`; returns the
/// borrowing denied.
pub fn apply_flow(pos: &mut Position, f: &Flow, p0: f64, params: &Params) -> f64 {
    pos.collateral += f.deposit;
    pos.debt = (pos.debt - f.repay).max(0.0);
    let room = (params.ltv * pos.collateral * p0 - pos.debt).max(0.0);
    let take = f.borrow.min(room);
    pos.debt += take;
    let free = if pos.debt <= 0.0 {
        pos.collateral
    } else if params.ltv > 0.0 && p0 > 0.0 {
        (pos.collateral - pos.debt / (params.ltv * p0)).max(0.0)
    } else {
        0.0
    };
    pos.collateral -= f.withdraw.min(free);
    f.borrow - take
}

/// The result of replaying one policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyRun {
    /// Policy name.
    pub name: String,
    /// One record per day.
    pub days: Vec<DayRecord>,
    /// Positions at the end of the last day.
    #[serde(skip)]
    pub positions: Vec<Position>,
    /// Vault-days processed.
    pub account_steps: u64,
    /// Days on which the parameters differ from the day before.
    pub parameter_changes: u32,
    /// Liquidations per vault.
    #[serde(skip)]
    pub liquidated_vaults: Vec<u32>,
    /// Every liquidation as `(day, vault)`.
    #[serde(skip)]
    pub liquidation_events: Vec<(i64, usize)>,
}

impl PolicyRun {
    /// Parameters in force on the last day.
    pub fn last_params(&self) -> Option<Params> {
        self.days.last().map(|d| d.params)
    }
}

/// Replays `book` from the end-of-day positions `start` (of day `from − 1`) over `from..=to`
/// under `policy`, calling `step` after each day with the day's record and positions.
///
/// # Errors
/// [`Error::Data`] when the prices do not cover a day; the policy's errors and
/// [`Error::Policy`] for parameters that break [`Params::check`].
// The book, the span, the start and the policy are all independent inputs of one replay.
#[allow(clippy::too_many_arguments)]
pub fn replay(
    book: &Book,
    start: &[Position],
    from: i64,
    to: i64,
    initial: Params,
    policy: &mut dyn Policy,
    cfg: &ReplayConfig,
    mut step: impl FnMut(&DayRecord, &[Position]),
) -> Result<PolicyRun> {
    let mut pos = start.to_vec();
    pos.resize(book.vaults.len(), Position::default());
    let mut liquidated_vaults = vec![0u32; book.vaults.len()];
    let mut current = initial;
    let mut k = book.flows.partition_point(|f| f.day < from);
    let mut days = Vec::with_capacity(usize::try_from(to - from + 1).unwrap_or(0));
    let (mut steps, mut changes) = (0u64, 0u32);
    let mut events = Vec::new();
    let missing =
        |d: i64| Error::Data(format!("no ETH/USD close for {}", zkrisk_pipeline::prices::ymd(d)));
    for day in from..=to {
        let p0 = book.close(day - 1).ok_or_else(|| missing(day - 1))?;
        let p = book.close(day).ok_or_else(|| missing(day))?;
        // The price liquidations meet: the close, or the day's low.
        let q = book.liquidation_price(day, cfg.intraday_low).unwrap_or(p);
        let view = DecisionView { day, closes: book.closes_before(day), positions: &pos, current };
        let params = policy.decide(&view)?;
        params.check(policy.name())?;
        if params != current {
            changes += 1;
        }
        current = params;
        let mut denied = 0.0;
        while k < book.flows.len() && book.flows[k].day == day {
            let f = &book.flows[k];
            denied += apply_flow(&mut pos[f.vault], f, p0, &params);
            k += 1;
        }
        let mut r = DayRecord {
            day,
            params,
            price: p,
            debt: 0.0,
            collateral_usd: 0.0,
            borrowing_power: 0.0,
            liquidations: 0,
            liquidated_usd: 0.0,
            bad_debt: 0.0,
            borrow_denied: denied,
        };
        for (v, s) in pos.iter_mut().enumerate() {
            if s.collateral <= EMPTY && s.debt <= EMPTY {
                continue;
            }
            steps += 1;
            if s.debt > cfg.dust && params.lt * s.collateral * q < s.debt {
                let l = liquidate(s.collateral, s.debt, q, params.bonus, cfg.auction_discount);
                r.liquidations += 1;
                r.liquidated_usd += l.seized * q;
                r.bad_debt += l.bad_debt;
                liquidated_vaults[v] += 1;
                events.push((day, v));
                *s = Position::default();
                continue;
            }
            r.debt += s.debt;
            r.collateral_usd += s.collateral * p;
            r.borrowing_power += params.ltv * s.collateral * p;
        }
        step(&r, &pos);
        days.push(r);
    }
    Ok(PolicyRun {
        name: policy.name().to_string(),
        days,
        positions: pos,
        account_steps: steps,
        parameter_changes: changes,
        liquidated_vaults,
        liquidation_events: events,
    })
}

/// Totals of a [`PolicyRun`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunTotals {
    /// Liquidations.
    pub liquidations: u32,
    /// Distinct vaults liquidated.
    pub vaults_liquidated: u32,
    /// Collateral seized, USD.
    pub liquidated_usd: f64,
    /// Bad debt, DAI.
    pub bad_debt: f64,
    /// Borrowing denied by the LTV cap, DAI.
    pub borrow_denied: f64,
    /// Mean daily borrowing power, USD.
    pub mean_borrowing_power: f64,
    /// Mean daily debt, DAI.
    pub mean_debt: f64,
    /// Historical LaR(95 %): 95th percentile of daily seized collateral, USD.
    pub lar95_daily: f64,
    /// Historical VaR(95 %) of daily bad debt, DAI.
    pub var95_daily_bad_debt: f64,
    /// Largest daily bad debt, DAI.
    pub max_daily_bad_debt: f64,
    /// Days on which the parameters changed.
    pub parameter_changes: u32,
    /// Account-steps.
    pub account_steps: u64,
}

/// Sums a run.
///
/// # Errors
/// [`Error::Data`] for a run without days.
pub fn totals(run: &PolicyRun) -> Result<RunTotals> {
    if run.days.is_empty() {
        return Err(Error::Data(format!("{}: the replay covers no day", run.name)));
    }
    let n = run.days.len() as f64;
    let liq: Vec<f64> = run.days.iter().map(|d| d.liquidated_usd).collect();
    let bad: Vec<f64> = run.days.iter().map(|d| d.bad_debt).collect();
    Ok(RunTotals {
        liquidations: run.days.iter().map(|d| d.liquidations).sum(),
        vaults_liquidated: run.liquidated_vaults.iter().filter(|n| **n > 0).count() as u32,
        liquidated_usd: liq.iter().sum(),
        bad_debt: bad.iter().sum(),
        borrow_denied: run.days.iter().map(|d| d.borrow_denied).sum(),
        mean_borrowing_power: run.days.iter().map(|d| d.borrowing_power).sum::<f64>() / n,
        mean_debt: run.days.iter().map(|d| d.debt).sum::<f64>() / n,
        lar95_daily: zkrisk_models::market_risk::value_at_risk(&liq, 0.95)?,
        var95_daily_bad_debt: zkrisk_models::market_risk::value_at_risk(&bad, 0.95)?,
        max_daily_bad_debt: bad.iter().copied().fold(0.0, f64::max),
        parameter_changes: run.parameter_changes,
        account_steps: run.account_steps,
    })
}

/// The ETH/DAI market of `positions` at price `p` under `params`, for [`zkrisk_models`]'
/// Monte-Carlo and recommendation (DAI at par, not collateral).
pub fn to_market(positions: &[Position], p: f64, params: &Params) -> Market {
    Market {
        assets: vec![
            AssetRisk {
                symbol: "ETH".into(),
                price: p,
                liquidation_threshold: params.lt,
                liquidation_bonus: params.bonus,
            },
            AssetRisk {
                symbol: "DAI".into(),
                price: 1.0,
                liquidation_threshold: 0.0,
                liquidation_bonus: 1.0,
            },
        ],
        accounts: positions
            .iter()
            .filter(|s| s.debt > 0.0 || s.collateral > 0.0)
            .map(|s| Account {
                collateral: vec![s.collateral, 0.0],
                debt: vec![0.0, s.debt],
                weight: 1.0,
            })
            .collect(),
    }
}

/// Joint daily log returns of ETH and DAI (0) over the last `days` of `closes`.
pub fn eth_returns(closes: &[f64], days: usize, last_day: i64) -> JointReturns {
    let start = closes.len().saturating_sub(days + 1);
    let window = &closes[start..];
    let mut log_returns = Vec::new();
    let mut out_days = Vec::new();
    for (i, w) in window.windows(2).enumerate() {
        log_returns.extend([(w[1] / w[0]).ln(), 0.0]);
        out_days.push(last_day - (window.len() as i64 - 2 - i as i64));
    }
    JointReturns { symbols: vec!["ETH".into(), "DAI".into()], days: out_days, log_returns }
}

/// Forward-looking 24 h risk of a book: the Monte-Carlo's VaR(95 %) and ES(95 %) of bad debt and
/// LaR(95 %)
/// of seized collateral ([`zkrisk_models::market_risk::assess`], whole-vault liquidations).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ForwardRisk {
    /// Day of the book.
    pub day: i64,
    /// VaR(95 %) of bad debt, USD.
    pub var95: f64,
    /// Expected shortfall (95 %) of bad debt, USD.
    pub es95: f64,
    /// LaR(95 %), USD.
    pub lar95: f64,
}

/// [`ForwardRisk`] of `positions` at the end of `day` (close `closes.last()`), from the last
/// `history` daily returns up to that close.
///
/// # Errors
/// The Monte-Carlo's errors.
pub fn forward_risk(
    positions: &[Position],
    closes: &[f64],
    day: i64,
    params: &Params,
    history: usize,
    mc: &MonteCarlo,
) -> Result<ForwardRisk> {
    let p = closes.last().copied().ok_or_else(|| Error::Data("no close".into()))?;
    let market = to_market(positions, p, params);
    if market.accounts.is_empty() {
        return Ok(ForwardRisk { day, var95: 0.0, es95: 0.0, lar95: 0.0 });
    }
    let returns = eth_returns(closes, history, day);
    let s = assess(&market, &returns, &LiquidationRules::WHOLE, mc)?;
    Ok(ForwardRisk {
        day,
        var95: s.var95_bad_debt,
        es95: s.es95_bad_debt,
        lar95: s.lar95_liquidated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(day: i64, vault: usize, deposit: f64, borrow: f64) -> Flow {
        Flow { day, vault, deposit, borrow, ..Flow::default() }
    }

    /// Three vaults opened on day 1 at ETH 1 000 (close of day 0), penalty 13 %:
    /// - A: 10 ETH, borrows 6 000;
    /// - B: 10 ETH, asks 9 500 (capped at `LTV · 10 000`);
    /// - C: 1 ETH, borrows 500.
    ///
    /// Closes: day 1 1 000, day 2 850, day 3 600.
    ///
    /// **Ratio 150 %** (LTV = LT = 2/3). B gets 6 666.67 (2 833.33 denied) and sits exactly at the
    /// boundary on day 1 (2/3 · 10 000 is not < 6 666.67). Day 2 at 850: A (2/3 · 8 500 =
    /// 5 666.67 < 6 000) and B are liquidated, each covered (8 500 ≥ debt · 1.13), seizing
    /// 6 000 · 1.13 and 6 666.67 · 1.13 USD, no bad debt; C (566.67 ≥ 500) is safe. Day 3 at 600: C
    /// (400 < 500) is liquidated, seizing 565 USD of its 600.
    ///
    /// **Ratio 110 %** (LTV = LT = 1/1.1). B gets 9 090.91 (409.09 denied). Day 2 at 850: B
    /// (7 727.27 < 9 090.91) is liquidated, under water: all 10 ETH (8 500 USD) seized, bad debt
    /// 590.91; A and C are safe. Day 3 at 600: A (5 454.55 < 6 000) is liquidated, its 6 000 USD
    /// cover the debt but not the penalty (all seized, bad debt 0); C (545.45 ≥ 500) is safe.
    fn book() -> Book {
        Book {
            vaults: vec!["A".into(), "B".into(), "C".into()],
            flows: vec![
                flow(1, 0, 10.0, 6_000.0),
                flow(1, 1, 10.0, 9_500.0),
                flow(1, 2, 1.0, 500.0),
            ],
            price_first_day: 0,
            closes: vec![1_000.0, 1_000.0, 850.0, 600.0],
            lows: vec![],
            real_liquidations: vec![],
        }
    }

    fn run(mat: f64) -> PolicyRun {
        let p = Params::maker(mat, 1.13);
        let mut policy = Scheduled { name: "s".into(), steps: vec![(0, p)] };
        replay(&book(), &[], 1, 3, p, &mut policy, &ReplayConfig::default(), |_, _| {}).unwrap()
    }

    #[test]
    fn hand_worked_three_vaults() {
        let r = run(1.5);
        let d: Vec<(u32, f64, f64)> =
            r.days.iter().map(|d| (d.liquidations, d.liquidated_usd, d.bad_debt)).collect();
        assert_eq!(d[0], (0, 0.0, 0.0));
        assert_eq!(d[1].0, 2);
        assert!((d[1].1 - (6_000.0 * 1.13 + 20_000.0 / 3.0 * 1.13)).abs() < 1e-6, "{d:?}");
        assert_eq!(d[1].2, 0.0);
        assert_eq!(d[2].0, 1);
        assert!((d[2].1 - 565.0).abs() < 1e-9);
        assert!((r.days[0].borrow_denied - (9_500.0 - 20_000.0 / 3.0)).abs() < 1e-6);
        let t = totals(&r).unwrap();
        assert_eq!((t.liquidations, t.vaults_liquidated, t.parameter_changes), (3, 3, 0));
        // A kept the owner's change: 10 − 6 780 / 850 ETH; the policy's book holds no vault.
        assert!(r.positions.iter().all(|p| *p == Position::default()));
        // Account-steps: 3 vaults on day 1 and day 2, only C on day 3.
        assert_eq!(r.account_steps, 7);

        let r = run(1.1);
        assert!((r.days[0].borrow_denied - (9_500.0 - 10_000.0 / 1.1)).abs() < 1e-6);
        let d: Vec<(u32, f64, f64)> =
            r.days.iter().map(|d| (d.liquidations, d.liquidated_usd, d.bad_debt)).collect();
        assert_eq!(d[0], (0, 0.0, 0.0));
        assert_eq!((d[1].0, d[1].1), (1, 8_500.0));
        assert!((d[1].2 - (10_000.0 / 1.1 - 8_500.0)).abs() < 1e-6, "{d:?}");
        assert_eq!(d[2], (1, 6_000.0, 0.0));
        assert_eq!(r.positions[2], Position { collateral: 1.0, debt: 500.0 });
    }

    #[test]
    fn liquidations_at_the_days_low() {
        // Ratio 150 %, a low of 600 on day 2 (close 850): all three fall that day, at 600. A:
        // 6 000 of collateral for 6 000 of debt, all seized, no bad debt; B: 6 000 for 6 666.67,
        // bad debt 666.67; C: 600 for 500, 565 seized.
        let mut b = book();
        b.lows = vec![f64::NAN, f64::NAN, 600.0, f64::NAN];
        let p = Params::maker(1.5, 1.13);
        let mut policy = Scheduled { name: "s".into(), steps: vec![(0, p)] };
        let cfg = ReplayConfig { intraday_low: true, ..ReplayConfig::default() };
        let r = replay(&b, &[], 1, 3, p, &mut policy, &cfg, |_, _| {}).unwrap();
        let d = &r.days[1];
        assert_eq!(d.liquidations, 3);
        assert!((d.bad_debt - (20_000.0 / 3.0 - 6_000.0)).abs() < 1e-6, "{d:?}");
        assert!((d.liquidated_usd - (6_000.0 + 6_000.0 + 565.0)).abs() < 1e-6, "{d:?}");
        // The close is still what the book is valued at.
        assert_eq!(d.price, 850.0);
        assert_eq!(b.liquidation_price(2, false), Some(850.0));
        assert_eq!(b.liquidation_price(3, true), Some(600.0)); // no candle: the close
    }

    #[test]
    fn liquidation_accounting() {
        // Covered: seize debt · bonus.
        let l = liquidate(10.0, 5_000.0, 1_000.0, 1.1, 0.0);
        assert!((l.seized - 5.5).abs() < 1e-12 && l.bad_debt == 0.0);
        // Under water: seize all, bad debt = debt − value.
        let l = liquidate(4.0, 5_000.0, 1_000.0, 1.1, 0.0);
        assert_eq!((l.seized, l.bad_debt), (4.0, 1_000.0));
        // An auction discount of 10 % sells at 900: 5 000 · 1.1 / 900 ETH.
        let l = liquidate(10.0, 5_000.0, 1_000.0, 1.1, 0.1);
        assert!((l.seized - 5_500.0 / 900.0).abs() < 1e-12);
    }

    #[test]
    fn withdrawals_and_borrows_are_capped_by_ltv() {
        let p = Params::maker(2.0, 1.13);
        let mut s = Position { collateral: 10.0, debt: 0.0 };
        // Borrow 4 000 at 1 000 (cap 5 000), then withdraw 5 ETH: only 2 ETH are free.
        let f = Flow { day: 0, vault: 0, borrow: 4_000.0, withdraw: 5.0, ..Flow::default() };
        assert_eq!(apply_flow(&mut s, &f, 1_000.0, &p), 0.0);
        assert_eq!(s, Position { collateral: 8.0, debt: 4_000.0 });
        // Repaying more than owed closes the debt, and then everything may leave.
        let f = Flow { day: 1, vault: 0, repay: 9_000.0, withdraw: 20.0, ..Flow::default() };
        apply_flow(&mut s, &f, 1_000.0, &p);
        assert_eq!(s, Position::default());
    }

    #[test]
    fn parameter_changes_are_counted_and_checked() {
        let a = Params::maker(1.5, 1.13);
        let b = Params::maker(1.6, 1.13);
        let mut policy = Scheduled { name: "s".into(), steps: vec![(0, a), (2, b), (3, a)] };
        let r = replay(&book(), &[], 1, 3, a, &mut policy, &ReplayConfig::default(), |_, _| {})
            .unwrap();
        assert_eq!(r.parameter_changes, 2);
        let bad = Params { ltv: 0.9, lt: 0.8, bonus: 1.1 };
        let mut policy = Scheduled { name: "bad".into(), steps: vec![(0, bad)] };
        let e = replay(&book(), &[], 1, 3, a, &mut policy, &ReplayConfig::default(), |_, _| {})
            .unwrap_err();
        assert!(e.to_string().contains("bad: parameters"), "{e}");
    }

    #[test]
    fn a_policy_sees_only_the_past() {
        struct Spy(Vec<(i64, usize)>);
        impl Policy for Spy {
            fn name(&self) -> &str {
                "spy"
            }
            fn decide(&mut self, v: &DecisionView<'_>) -> Result<Params> {
                self.0.push((v.day, v.closes.len()));
                Ok(v.current)
            }
        }
        let mut spy = Spy(vec![]);
        replay(
            &book(),
            &[],
            1,
            3,
            Params::maker(1.5, 1.13),
            &mut spy,
            &ReplayConfig::default(),
            |_, _| {},
        )
        .unwrap();
        // On day d the view holds the closes of days 0..d (d of them), never d's own.
        assert_eq!(spy.0, vec![(1, 1), (2, 2), (3, 3)]);
    }
}
