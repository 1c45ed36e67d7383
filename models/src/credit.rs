//! Credit score: a wallet's probability of liquidation within 30 days mapped onto 300–850.
//!
//! # Mapping
//! With odds of *not* being liquidated `o(p) = (1 - p) / p`,
//!
//! ```text
//! score(p) = 300 + 550 · σ( (ln o(p) - ln o₀) / s ),   σ(t) = 1 / (1 + e^(-t))
//! ```
//!
//! where `o₀ = (1 - p₀) / p₀` is the odds at the anchor probability `p₀` (score 575, the middle of
//! the range) and `s` the log-odds scale. The map is strictly decreasing in `p` on (0, 1)
//! (a composition of strictly monotone functions), tends to 850 as `p → 0` and to 300 as
//! `p → 1`, and equals exactly 850 at `p = 0` and 300 at `p = 1`. Around the anchor it behaves
//! like FICO's points-to-double-odds scaling: doubling the odds adds `550 / 4 · ln 2 / s` points
//! (≈ 64 with the defaults `p₀ = 2 %`, `s = 1.5`). A higher score means a safer wallet.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Lowest score.
pub const MIN_SCORE: f64 = 300.0;
/// Highest score.
pub const MAX_SCORE: f64 = 850.0;

/// Parameters of the score mapping (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CreditScale {
    /// Probability of liquidation within 30 days that scores 575; in (0, 1).
    pub anchor_probability: f64,
    /// Log-odds scale `s`; > 0 (smaller spreads scores faster around the anchor).
    pub log_odds_scale: f64,
}

impl Default for CreditScale {
    fn default() -> Self {
        Self { anchor_probability: 0.02, log_odds_scale: 1.5 }
    }
}

impl CreditScale {
    /// Checks the parameters.
    pub fn check(self) -> Result<Self> {
        if !(self.anchor_probability > 0.0 && self.anchor_probability < 1.0) {
            return Err(Error::InvalidParam {
                name: "anchor_probability",
                reason: format!("{} is not in (0, 1)", self.anchor_probability),
            });
        }
        if !(self.log_odds_scale.is_finite() && self.log_odds_scale > 0.0) {
            return Err(Error::InvalidParam {
                name: "log_odds_scale",
                reason: format!("{} is not > 0", self.log_odds_scale),
            });
        }
        Ok(self)
    }

    /// The score of a probability of liquidation within 30 days, in [300, 850].
    ///
    /// Errors when `p` is not in [0, 1].
    pub fn score(&self, p: f64) -> Result<f64> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::InvalidParam {
                name: "probability",
                reason: format!("{p} is not in [0, 1]"),
            });
        }
        if p == 0.0 {
            return Ok(MAX_SCORE);
        }
        if p == 1.0 {
            return Ok(MIN_SCORE);
        }
        let p0 = self.anchor_probability;
        let t = (((1.0 - p) / p).ln() - ((1.0 - p0) / p0).ln()) / self.log_odds_scale;
        Ok(MIN_SCORE + (MAX_SCORE - MIN_SCORE) / (1.0 + (-t).exp()))
    }

    /// The score rounded to the nearest integer (what a feed publishes).
    pub fn score_rounded(&self, p: f64) -> Result<u16> {
        Ok(self.score(p)?.round() as u16)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn end_points_and_anchor() {
        let s = CreditScale::default();
        let cases = [(0.0, 850.0), (1.0, 300.0), (0.02, 575.0)];
        for (p, want) in cases {
            assert!((s.score(p).unwrap() - want).abs() < 1e-9, "p {p}");
        }
        assert!(s.score(1e-9).unwrap() > 849.0);
        assert!(s.score(1.0 - 1e-9).unwrap() < 301.0);
        assert!(s.score(-0.1).is_err() && s.score(f64::NAN).is_err());
        assert!(CreditScale { anchor_probability: 1.0, ..s }.check().is_err());
        assert!(CreditScale { log_odds_scale: 0.0, ..s }.check().is_err());
    }

    #[test]
    fn table_is_strictly_decreasing() {
        let s = CreditScale::default();
        let ps = [0.0, 1e-6, 1e-4, 0.001, 0.01, 0.02, 0.05, 0.1, 0.3, 0.5, 0.9, 0.999, 1.0];
        let scores: Vec<f64> = ps.iter().map(|p| s.score(*p).unwrap()).collect();
        for w in scores.windows(2) {
            assert!(w[0] > w[1], "{scores:?}");
        }
    }

    proptest! {
        #[test]
        fn monotone_and_bounded(a in 1e-6f64..0.999_999, b in 1e-6f64..0.999_999) {
            let s = CreditScale::default();
            let (sa, sb) = (s.score(a).unwrap(), s.score(b).unwrap());
            prop_assert!((MIN_SCORE..=MAX_SCORE).contains(&sa));
            if a < b {
                prop_assert!(sa > sb);
            }
        }
    }
}
