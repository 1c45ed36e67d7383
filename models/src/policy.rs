//! The parameter rule: from one epoch's proven scores to the collateral parameters of a reserve.
//!
//! The same rule runs on-chain (`contracts/src/libraries/RiskRule.sol`), where `RiskOracle` checks
//! that an update's parameters are the rule applied to the scores the proof carries. Both copies
//! use the same names and are tested against the same vectors
//! (`contracts/test/fixtures/risk_rule_vectors.json`).
//!
//! With `n` scores `s_i = round(p_i · 2^bits)`:
//! - `risk_bps = ⌈Σ s_i · 10_000 / (n · 2^bits)⌉`: the epoch's mean liquidation probability in
//!   basis points, rounded up (favours the protocol);
//! - `cut = ⌈(LTV_MAX − LTV_MIN) · min(risk_bps, RISK_CAP) / RISK_CAP⌉`;
//! - `ltv = LTV_MAX − cut`, `liquidation_threshold = ltv + LT_BUFFER`,
//!   `liquidation_bonus = BONUS`.
//!
//! So a quiet market (mean 7-day liquidation probability 0) keeps LTV at 80%, and LTV falls
//! linearly to 50% as the mean probability rises to 20%.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Highest LTV the rule gives, in basis points.
pub const LTV_MAX_BPS: u64 = 8_000;
/// Lowest LTV the rule gives, in basis points.
pub const LTV_MIN_BPS: u64 = 5_000;
/// Mean probability (bps) at and above which LTV is at its minimum.
pub const RISK_CAP_BPS: u64 = 2_000;
/// Liquidation threshold above LTV, in basis points.
pub const LT_BUFFER_BPS: u64 = 500;
/// Liquidation bonus (Aave convention: 10_500 = 5% bonus).
pub const BONUS_BPS: u64 = 10_500;

/// Collateral parameters of a reserve in the units Aave's `PoolConfigurator` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollateralParams {
    /// Loan-to-value, bps.
    pub ltv: u16,
    /// Liquidation threshold, bps.
    pub liquidation_threshold: u16,
    /// Liquidation bonus, bps (10_000 = no bonus).
    pub liquidation_bonus: u16,
}

/// The rule's output: the parameters and the risk they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleOutput {
    /// Mean score in basis points, rounded up.
    pub risk_bps: u16,
    /// Parameters to apply.
    pub params: CollateralParams,
}

/// `⌈a · b / d⌉` without overflow for the ranges used here (u128 intermediate).
pub const fn mul_div_up(a: u128, b: u128, d: u128) -> u128 {
    (a * b).div_ceil(d)
}

/// `⌊a · b / d⌋` (u128 intermediate).
pub const fn mul_div_down(a: u128, b: u128, d: u128) -> u128 {
    a * b / d
}

/// Quantises a probability to the fixed point of the proof's outputs, `round(p · 2^bits)`.
pub fn to_fixed(p: f64, bits: u8) -> u64 {
    (p.clamp(0.0, 1.0) * (1u64 << bits) as f64).round() as u64
}

/// What a proof's public outputs are, and so how the rule reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// The outputs are probabilities, `round(p · 2^bits)` (the sigmoid is inside the circuit;
    /// the oracle's `ScoresOnly` layout).
    Identity,
    /// The outputs are logits, `round(z · 2^bits)` as field elements; the rule reads
    /// [`crate::link::probability_up`] of each (the oracle's `Logits` layout).
    Logistic,
    /// The outputs are logits packed three to an instance ([`crate::link::unpack`]); the rule reads
    /// the probability of each (the oracle's `PackedLogits` layout).
    PackedLogistic,
}

/// The probabilities the rule reads from a proof's outputs, and their fractional bits.
///
/// # Errors
/// An output that is not a score of `bits` bits ([`Link::Identity`]) or not a field element
/// ([`Link::Logistic`]), named by index.
pub fn probabilities(
    outputs: &[ruint::aliases::U256],
    bits: u8,
    link: Link,
) -> Result<(Vec<u64>, u8)> {
    match link {
        Link::Identity => {
            let scores = outputs
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    u64::try_from(*v).map_err(|_| Error::InvalidParam {
                        name: "scores",
                        reason: format!("score {i} = {v} is not a probability"),
                    })
                })
                .collect::<Result<_>>()?;
            Ok((scores, bits))
        }
        Link::Logistic => {
            Ok((crate::link::probabilities_up(outputs, bits)?, crate::link::PROB_BITS))
        }
        Link::PackedLogistic => {
            let logits = crate::link::unpack_all(outputs)?;
            Ok((crate::link::probabilities_up(&logits, bits)?, crate::link::PROB_BITS))
        }
    }
}

/// The proof's outputs read through `link` as probabilities in [0, 1] (what the oracle reads, as
/// floats for display); empty when an output is not a score.
pub fn probabilities_f64(outputs: &[ruint::aliases::U256], bits: u8, link: Link) -> Vec<f64> {
    probabilities(outputs, bits, link)
        .map(|(p, b)| {
            let one = (1u128 << b) as f64;
            p.iter().map(|v| *v as f64 / one).collect()
        })
        .unwrap_or_default()
}

/// The largest `|native_i − fixed_i / 2^bits|`: how far proven probabilities are from the model's.
pub fn max_abs_error(native: &[f64], fixed: &[u64], bits: u8) -> f64 {
    let one = (1u128 << bits) as f64;
    native.iter().zip(fixed).map(|(p, s)| (p - *s as f64 / one).abs()).fold(0.0, f64::max)
}

/// Applies the rule to a proof's outputs read through `link`, as `RiskOracle` does.
///
/// # Errors
/// As [`probabilities`] and [`apply`].
pub fn apply_outputs(outputs: &[ruint::aliases::U256], bits: u8, link: Link) -> Result<RuleOutput> {
    let (p, bits) = probabilities(outputs, bits, link)?;
    apply(&p, bits)
}

/// Applies the rule to one epoch's scores (fixed point with `bits` fractional bits).
pub fn apply(scores: &[u64], bits: u8) -> Result<RuleOutput> {
    if scores.is_empty() {
        return Err(Error::Shape("the rule needs at least one score".into()));
    }
    if bits > 32 {
        return Err(Error::InvalidParam { name: "bits", reason: format!("{bits} > 32") });
    }
    let one = 1u128 << bits;
    if let Some(i) = scores.iter().position(|s| u128::from(*s) > one) {
        return Err(Error::InvalidParam {
            name: "scores",
            reason: format!("score {i} = {} is above 1.0 (2^{bits})", scores[i]),
        });
    }
    let sum: u128 = scores.iter().map(|s| u128::from(*s)).sum();
    let risk_bps = mul_div_up(sum, 10_000, scores.len() as u128 * one);
    let r = risk_bps.min(u128::from(RISK_CAP_BPS));
    let cut = mul_div_up(u128::from(LTV_MAX_BPS - LTV_MIN_BPS), r, u128::from(RISK_CAP_BPS));
    let ltv = u128::from(LTV_MAX_BPS) - cut;
    // All values are ≤ 10_500 by construction.
    Ok(RuleOutput {
        risk_bps: risk_bps as u16,
        params: CollateralParams {
            ltv: ltv as u16,
            liquidation_threshold: (ltv + u128::from(LT_BUFFER_BPS)) as u16,
            liquidation_bonus: BONUS_BPS as u16,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_as_floats_follow_the_link() {
        let u = |v: u64| ruint::aliases::U256::from(v);
        assert_eq!(probabilities_f64(&[u(1), u(4)], 2, Link::Identity), [0.25, 1.0]);
        // A logit of 0 is probability one half (rounded up by at most 2^-32).
        let half = probabilities_f64(&[u(0)], 28, Link::Logistic)[0];
        assert!((half - 0.5).abs() <= 2f64.powi(-32), "{half}");
        // An output that is no score at all: nothing to show.
        assert!(probabilities_f64(&[ruint::aliases::U256::MAX], 2, Link::Identity).is_empty());
    }

    #[test]
    fn rule_table() {
        // (scores, bits, risk_bps, ltv)
        let cases: &[(&[u64], u8, u16, u16)] = &[
            (&[0, 0], 11, 0, 8000),
            (&[2048], 11, 10_000, 5000),   // certain liquidation: capped
            (&[410], 11, 2002, 5000),      // just above the cap
            (&[205, 205], 11, 1001, 6498), // ⌈3000·1001/2000⌉ = 1502
            (&[1], 11, 5, 7992),           // ⌈10000/2048⌉ = 5, ⌈3000·5/2000⌉ = 8
        ];
        for (scores, bits, risk, ltv) in cases {
            let out = apply(scores, *bits).unwrap();
            assert_eq!(out.risk_bps, *risk, "{scores:?}");
            assert_eq!(out.params.ltv, *ltv, "{scores:?}");
            assert_eq!(out.params.liquidation_threshold, ltv + 500);
            assert_eq!(out.params.liquidation_bonus, 10_500);
        }
    }

    #[test]
    fn logits_go_through_the_link() {
        use crate::link::{PROB_BITS, logit_to_field};
        // Two logits of 0 are two probabilities of ½ rounded up by one unit (2^-32), so the mean
        // rounds up to 5,001 bps: capped risk.
        let z = [logit_to_field(0.0, 24), logit_to_field(0.0, 24)];
        let out = apply_outputs(&z, 24, Link::Logistic).unwrap();
        assert_eq!(out.risk_bps, 5_001);
        assert_eq!(out.params.ltv, 5_000);
        // A logit of −5 is p = 0.6693 %: ⌈66.93⌉ = 67 bps.
        let out = apply_outputs(&[logit_to_field(-5.0, 24)], 24, Link::Logistic).unwrap();
        assert_eq!(out.risk_bps, 67);
        let (p, bits) = probabilities(&[logit_to_field(-5.0, 24)], 24, Link::Logistic).unwrap();
        assert_eq!(bits, PROB_BITS);
        assert!((p[0] as f64 / 2f64.powi(32) - 1.0 / (1.0 + 5f64.exp())).abs() < 1e-9);
        // The identity link reads scores as they are, and refuses what is not one.
        let s = [ruint::aliases::U256::from(1024u64)];
        assert_eq!(apply_outputs(&s, 11, Link::Identity).unwrap(), apply(&[1024], 11).unwrap());
        let e = apply_outputs(&[z[0], crate::link::to_field(-1)], 11, Link::Identity);
        assert!(e.unwrap_err().to_string().contains("score 1"));
    }

    #[test]
    fn max_abs_error_of_fixed_point_probabilities() {
        assert_eq!(max_abs_error(&[0.5, 0.25], &[1 << 31, 1 << 30], 32), 0.0);
        assert!(
            (max_abs_error(&[0.5, 0.0], &[1 << 31, 1 << 20], 32) - 2f64.powi(-12)).abs() < 1e-15
        );
    }

    #[test]
    fn rule_rejects_bad_scores() {
        assert!(apply(&[], 11).is_err());
        assert!(apply(&[2049], 11).unwrap_err().to_string().contains("score 0"));
    }

    #[test]
    fn rule_is_monotone_and_bounded() {
        let mut last = u16::MAX;
        for s in (0..=2048).step_by(7) {
            let p = apply(&[s, s], 11).unwrap().params;
            assert!(p.ltv <= last, "ltv rose at score {s}");
            assert!((5000..=8000).contains(&p.ltv));
            // Aave's own check: LT · bonus ≤ 100%.
            assert!(u32::from(p.liquidation_threshold) * 10_500 / 10_000 <= 10_000);
            last = p.ltv;
        }
    }

    #[test]
    fn quantisation_rounds_to_nearest() {
        assert_eq!(to_fixed(0.5, 11), 1024);
        assert_eq!(to_fixed(1.0, 11), 2048);
        assert_eq!(to_fixed(-0.1, 11), 0);
        assert_eq!(to_fixed(0.000_24, 11), 0);
        assert_eq!(to_fixed(0.000_25, 11), 1);
    }
}
