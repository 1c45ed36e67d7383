//! Platt scaling: a two-parameter logistic map from a model's logit to a calibrated probability,
//! fitted on a validation window later than the training rows.
//!
//! `p = σ(a · logit + b)`. Because it is affine in the logit, it folds into the last linear layer
//! of a model ([`crate::LogisticModel::calibrated`], [`crate::MlpModel::calibrated`]), so the graph
//! that ezkl proves already outputs calibrated probabilities.

use serde::{Deserialize, Serialize};

use crate::{Error, Result, logistic::sigmoid};

/// A fitted Platt scaling `σ(a · logit + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    /// Slope on the logit.
    pub a: f64,
    /// Offset.
    pub b: f64,
}

impl Platt {
    /// The identity map (`a = 1`, `b = 0`).
    pub const IDENTITY: Self = Self { a: 1.0, b: 0.0 };

    /// Fits `a` and `b` by maximum likelihood (Newton's method with a small ridge on `a - 1` and
    /// `b` for stability, and Platt's target smoothing `(n₊ + 1) / (n₊ + 2)`,
    /// `1 / (n₋ + 2)`, so a separable window does not send the slope to infinity).
    ///
    /// Errors on a length mismatch, empty input, non-finite logits or a single class.
    pub fn fit(logits: &[f64], labels: &[bool]) -> Result<Self> {
        if logits.len() != labels.len() || logits.is_empty() {
            return Err(Error::Shape(format!(
                "{} logits for {} labels",
                logits.len(),
                labels.len()
            )));
        }
        if let Some(row) = logits.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { row, column: "logit".into() });
        }
        let pos = labels.iter().filter(|l| **l).count();
        let neg = labels.len() - pos;
        if pos == 0 || neg == 0 {
            return Err(Error::SingleClass { positives: pos, rows: labels.len() });
        }
        let hi = (pos as f64 + 1.0) / (pos as f64 + 2.0);
        let lo = 1.0 / (neg as f64 + 2.0);
        let ridge = 1e-6;
        let loss = |a: f64, b: f64| -> f64 {
            let penalty = 0.5 * ridge * ((a - 1.0).powi(2) + b * b);
            penalty
                + logits
                    .iter()
                    .zip(labels)
                    .map(|(l, y)| {
                        let t = if *y { hi } else { lo };
                        let z = a * l + b;
                        // -[t ln σ(z) + (1 - t) ln(1 - σ(z))], written stably.
                        z.max(0.0) - t * z + (-z.abs()).exp().ln_1p()
                    })
                    .sum::<f64>()
        };
        let (mut a, mut b) = (1.0, 0.0);
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) =
                (ridge * (a - 1.0), ridge * b, ridge, 0.0, ridge);
            for (l, y) in logits.iter().zip(labels) {
                let p = sigmoid(a * l + b);
                let t = if *y { hi } else { lo };
                let d = p - t;
                let w = (p * (1.0 - p)).max(1e-12);
                ga += d * l;
                gb += d;
                haa += w * l * l;
                hab += w * l;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if !det.is_finite() || det.abs() < 1e-300 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            // Damped Newton: halve the step until the loss does not increase.
            let mut step = 1.0;
            let mut accepted = false;
            while step > 1e-8 {
                let (na, nb) = (a - step * da, b - step * db);
                let next = loss(na, nb);
                if next.is_finite() && next <= current {
                    (a, b, current) = (na, nb, next);
                    accepted = true;
                    break;
                }
                step /= 2.0;
            }
            if !accepted || (step * da).abs() < 1e-10 && (step * db).abs() < 1e-10 {
                break;
            }
        }
        if !a.is_finite() || !b.is_finite() {
            return Err(Error::Training(format!("Platt scaling diverged (a = {a}, b = {b})")));
        }
        Ok(Self { a, b })
    }

    /// The calibrated probability of one logit.
    pub fn apply(&self, logit: f64) -> f64 {
        sigmoid(self.a * logit + self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_scaling() {
        // Labels drawn so that P(y) = σ(0.5 · l - 1) exactly in each cell of a fine grid.
        let (mut l, mut y) = (Vec::new(), Vec::new());
        for i in 0..200 {
            let logit = -6.0 + 12.0 * i as f64 / 199.0;
            let p = sigmoid(0.5 * logit - 1.0);
            let pos = (p * 1000.0).round() as usize;
            for k in 0..1000 {
                l.push(logit);
                y.push(k < pos);
            }
        }
        let platt = Platt::fit(&l, &y).unwrap();
        assert!((platt.a - 0.5).abs() < 0.01, "{platt:?}");
        assert!((platt.b + 1.0).abs() < 0.01, "{platt:?}");
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Platt::fit(&[], &[]).is_err());
        assert!(Platt::fit(&[1.0], &[true]).is_err());
        assert!(Platt::fit(&[f64::NAN, 1.0], &[true, false]).is_err());
        // A separable window still gives a finite slope.
        let p = Platt::fit(&[-1.0, 1.0], &[false, true]).unwrap();
        assert!(p.a.is_finite() && p.a > 0.0);
    }
}
