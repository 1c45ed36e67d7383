//! zkrisk's policy under a risk steward: every `min_delay_days` the recommendation of
//! [`zkrisk_models::recommend`] for the book as it stood at the end of the previous day, and each
//! parameter moved toward it by at most `max_step_bps` (Aave's production Risk Steward: 50 bps
//! per 3 days for LTV, LT and bonus; `contracts/src/AaveRiskSteward.sol` enforces the same on
//! chain).

use serde::Serialize;
use zkrisk_models::{
    market_risk::{LiquidationRules, MonteCarlo},
    recommend::{AaveParams, RecommendConfig, ReserveInput, recommend, validate},
};
use zkrisk_pipeline::market::concentration;

use crate::{
    Result,
    replay::{DecisionView, Params, Policy, eth_returns, to_market},
};

/// Steward bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bounds {
    /// Largest move of LTV, LT or bonus per update, bps.
    pub max_step_bps: u16,
    /// Days between updates at least.
    pub min_delay_days: u16,
}

impl Default for Bounds {
    fn default() -> Self {
        Self { max_step_bps: 50, min_delay_days: 3 }
    }
}

/// One recommendation the policy saw, and where the steward let it go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StewardStep {
    /// Day the parameters apply from.
    pub day: i64,
    /// The recommendation (target) `(ltv, lt, bonus)` bps.
    pub target: (u16, u16, u16),
    /// The parameters applied `(ltv, lt, bonus)` bps.
    pub applied: (u16, u16, u16),
}

/// The policy.
#[derive(Debug, Clone)]
pub struct Steward {
    /// Name.
    pub name: String,
    /// Bounds.
    pub bounds: Bounds,
    /// Recommendation settings.
    pub recommend: RecommendConfig,
    /// Monte-Carlo per grid point (the seed is mixed with the day).
    pub mc: MonteCarlo,
    /// Days of return history the recommendation reads (the last ones before the decision).
    pub history_days: usize,
    /// Parameters in force, bps `(ltv, lt, bonus)`.
    pub current: (u16, u16, u16),
    /// Day of the last review (a recommendation computed, whether or not it moved anything).
    pub last_update: Option<i64>,
    /// Every recommendation seen.
    pub steps: Vec<StewardStep>,
}

/// Moves `from` toward `to` by at most `step`.
pub fn toward(from: u16, to: u16, step: u16) -> u16 {
    if to > from { from + (to - from).min(step) } else { from - (from - to).min(step) }
}

/// The bounded move of `current` toward `target`: each of LTV, LT and bonus by at most `step`,
/// then LTV ≤ LT and Aave's `LT · bonus ≤ 100 %` kept by lowering the bonus (then LT) further
/// only where the move itself broke them; `None` when the result fails Aave's checks.
pub fn bounded_move(
    current: (u16, u16, u16),
    target: (u16, u16, u16),
    step: u16,
) -> Option<(u16, u16, u16)> {
    let lt = toward(current.1, target.1, step);
    let ltv = toward(current.0, target.0, step).min(lt);
    let bonus = toward(current.2, target.2, step);
    let p = AaveParams {
        ltv,
        liquidation_threshold: lt,
        liquidation_bonus: bonus,
        supply_cap: 1,
        borrow_cap: 1,
    };
    validate(&p).ok().map(|()| (ltv, lt, bonus))
}

impl Policy for Steward {
    fn name(&self) -> &str {
        &self.name
    }

    fn decide(&mut self, view: &DecisionView<'_>) -> Result<Params> {
        let due =
            self.last_update.is_none_or(|d| view.day - d >= i64::from(self.bounds.min_delay_days));
        let (Some(&p), true) = (view.closes.last(), due) else {
            return Ok(bps(self.current));
        };
        let market = to_market(view.positions, p, &bps(self.current));
        if !market.accounts.iter().any(|a| a.debt[1] > 0.0) {
            return Ok(bps(self.current));
        }
        let returns = eth_returns(view.closes, self.history_days, view.day - 1);
        let collateral: Vec<f64> = market.accounts.iter().map(|a| a.collateral[0]).collect();
        let reserve = ReserveInput {
            asset: 0,
            supply_tokens: collateral.iter().sum(),
            borrow_tokens: 0.0,
            top10_collateral_share: concentration(&collateral).map_or(0.0, |(t, _)| t),
            top10_debt_share: 0.0,
        };
        let mc = MonteCarlo {
            seed: self.mc.seed ^ (view.day as u64).wrapping_mul(0x9E37_79B9),
            ..self.mc
        };
        let rec = recommend(
            &market,
            &returns,
            &LiquidationRules::WHOLE,
            &mc,
            &[reserve],
            &self.recommend,
        )?;
        let Some(r) = rec.first() else { return Ok(bps(self.current)) };
        let target = (r.params.ltv, r.params.liquidation_threshold, r.params.liquidation_bonus);
        let applied =
            bounded_move(self.current, target, self.bounds.max_step_bps).unwrap_or(self.current);
        self.last_update = Some(view.day);
        self.steps.push(StewardStep { day: view.day, target, applied });
        self.current = applied;
        Ok(bps(applied))
    }
}

fn bps(p: (u16, u16, u16)) -> Params {
    Params::from_bps(p.0, p.1, p.2)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the target, a move stays within the bound on every parameter, keeps
        /// LTV ≤ LT, and passes Aave's checks (or is refused).
        #[test]
        fn a_bounded_move_never_exceeds_the_bound(
            ltv in 0u16..9_000, gap in 0u16..1_000, bonus in 10_001u16..11_000,
            t_ltv in 0u16..9_500, t_lt in 1u16..9_900, t_bonus in 10_001u16..12_000,
            step in 1u16..200,
        ) {
            let lt = (ltv + gap).min(9_000);
            let ltv = ltv.min(lt);
            prop_assume!(u32::from(lt) * u32::from(bonus) <= 100_000_000);
            if let Some((a, b, c)) = bounded_move((ltv, lt, bonus), (t_ltv, t_lt, t_bonus), step) {
                // LTV may follow LT down, never by more than LT moved (LTV ≤ LT before).
                prop_assert!(a.abs_diff(ltv) <= step && b.abs_diff(lt) <= step);
                prop_assert!(c.abs_diff(bonus) <= step);
                prop_assert!(a <= b);
                prop_assert!(u32::from(b) * u32::from(c) <= 100_000_000);
            }
        }
    }

    #[test]
    fn moves_are_bounded() {
        // (current, target, step, expected)
        let cases = [
            ((7692, 7692, 11300), (5373, 5800, 10750), 50, Some((7642, 7642, 11250))),
            ((7000, 7500, 10500), (7020, 7600, 10500), 50, Some((7020, 7550, 10500))),
            // LTV may not pass LT: LT falls 50, LTV follows it.
            ((7500, 7500, 10500), (7600, 7000, 10500), 50, Some((7450, 7450, 10500))),
            // LT · bonus > 100 % after the move: refused.
            ((8000, 9000, 11000), (8000, 9100, 11100), 50, None),
        ];
        for (cur, target, step, want) in cases {
            assert_eq!(bounded_move(cur, target, step), want, "{cur:?} → {target:?}");
        }
    }
}

/// zkrisk's on-chain rule ([`zkrisk_models::policy::apply`], the rule `RiskOracle` checks) under
/// the same steward bounds: every `min_delay_days`, the mean liquidation probability of the
/// vaults scored on the previous day sets a target LTV (80 % falling to 50 % as the mean rises
/// to 20 %), LT = LTV + 5 %, bonus 5 %, and each parameter moves toward it by at most
/// `max_step_bps`.
///
/// The scores are the walk-forward's out-of-sample predictions: the score of a vault on day
/// `d − 1` comes from a model fitted on labels that closed before its fold's validation window,
/// applied to features of the data known at the end of `d − 1`. The policy reads only the scores
/// dated before the day it decides ([`ScoreRule::scores_before`]).
#[derive(Debug, Clone)]
pub struct ScoreRule {
    /// Name.
    pub name: String,
    /// Bounds.
    pub bounds: Bounds,
    /// Fixed-point scores (`round(p · 2^bits)`) per day.
    pub scores: std::collections::BTreeMap<i64, Vec<u64>>,
    /// Fractional bits of the scores.
    pub bits: u8,
    /// Parameters in force, bps `(ltv, lt, bonus)`.
    pub current: (u16, u16, u16),
    /// Day of the last review.
    pub last_review: Option<i64>,
    /// Every review.
    pub steps: Vec<StewardStep>,
}

impl ScoreRule {
    /// The latest day's scores strictly before `day`, if they are from `day − 1`.
    pub fn scores_before(&self, day: i64) -> Option<&[u64]> {
        let (d, s) = self.scores.range(..day).next_back()?;
        (*d == day - 1).then_some(s.as_slice())
    }
}

impl Policy for ScoreRule {
    fn name(&self) -> &str {
        &self.name
    }

    fn decide(&mut self, view: &DecisionView<'_>) -> Result<Params> {
        let due =
            self.last_review.is_none_or(|d| view.day - d >= i64::from(self.bounds.min_delay_days));
        let target = match (due, self.scores_before(view.day)) {
            (true, Some(s)) if !s.is_empty() => zkrisk_models::policy::apply(s, self.bits)?.params,
            _ => return Ok(bps(self.current)),
        };
        let target = (target.ltv, target.liquidation_threshold, target.liquidation_bonus);
        let applied =
            bounded_move(self.current, target, self.bounds.max_step_bps).unwrap_or(self.current);
        self.last_review = Some(view.day);
        self.steps.push(StewardStep { day: view.day, target, applied });
        self.current = applied;
        Ok(bps(applied))
    }
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    #[test]
    fn the_rule_reads_yesterdays_scores_only_and_moves_in_bounded_steps() {
        let mut scores = std::collections::BTreeMap::new();
        scores.insert(9, vec![0, 0]); // quiet: target LTV 80 %
        scores.insert(10, vec![2048, 2048]); // certain liquidation: target LTV 50 %
        let mut rule = ScoreRule {
            name: "rule".into(),
            bounds: Bounds::default(),
            scores,
            bits: 11,
            current: (7_000, 7_500, 10_500),
            last_review: None,
            steps: vec![],
        };
        assert_eq!(rule.scores_before(10), Some(&[0, 0][..]));
        assert_eq!(rule.scores_before(12), None); // day 11 has no scores: hold
        let view = |day| DecisionView {
            day,
            closes: &[],
            positions: &[],
            current: Params::from_bps(7_000, 7_500, 10_500),
        };
        // Day 10 decides from day 9's quiet scores: up 50 bps.
        assert_eq!(rule.decide(&view(10)).unwrap(), Params::from_bps(7_050, 7_550, 10_500));
        // Day 11 is within the 3-day delay: unchanged.
        assert_eq!(rule.decide(&view(11)).unwrap(), Params::from_bps(7_050, 7_550, 10_500));
        // Day 13: no scores for day 12, hold.
        assert_eq!(rule.decide(&view(13)).unwrap(), Params::from_bps(7_050, 7_550, 10_500));
        assert_eq!(rule.steps.len(), 1);
        assert_eq!(rule.steps[0].target, (8_000, 8_500, 10_500));
    }
}
