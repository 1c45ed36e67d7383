//! Logistic regression with standardisation, trained with linfa.

use std::path::Path;

use linfa::{Dataset, traits::Fit};
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Unchecked hyper-parameters of [`LogisticModel::fit`]; call [`LogisticParams::check`] once at
/// the edge to get [`ValidLogisticParams`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogisticParams {
    /// L2 penalty weight (linfa's `alpha`); must be finite and ≥ 0.
    pub l2: f64,
    /// Maximum L-BFGS iterations; must be > 0.
    pub max_iterations: u64,
    /// Gradient tolerance at which the optimiser stops; must be finite and > 0.
    pub gradient_tolerance: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        Self { l2: 1.0, max_iterations: 200, gradient_tolerance: 1e-6 }
    }
}

/// Hyper-parameters that passed [`LogisticParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidLogisticParams(LogisticParams);

impl ValidLogisticParams {
    /// The checked values.
    pub const fn get(&self) -> &LogisticParams {
        &self.0
    }
}

impl LogisticParams {
    /// Validates the parameters.
    pub fn check(&self) -> Result<ValidLogisticParams> {
        if !self.l2.is_finite() || self.l2 < 0.0 {
            return Err(Error::InvalidParam {
                name: "l2",
                reason: format!("{} is not ≥ 0", self.l2),
            });
        }
        if self.max_iterations == 0 {
            return Err(Error::InvalidParam {
                name: "max_iterations",
                reason: "must be > 0".into(),
            });
        }
        if !self.gradient_tolerance.is_finite() || self.gradient_tolerance <= 0.0 {
            return Err(Error::InvalidParam {
                name: "gradient_tolerance",
                reason: format!("{} is not > 0", self.gradient_tolerance),
            });
        }
        Ok(ValidLogisticParams(self.clone()))
    }
}

/// Per-feature standardisation `z = (x - mean) / scale`, fitted on training data only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Training mean of each feature.
    pub mean: Vec<f64>,
    /// Training standard deviation of each feature (1 where it is 0).
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Fits means and standard deviations on a row-major matrix.
    pub fn fit(x: &[f64], cols: usize) -> Self {
        let rows = x.len() / cols.max(1);
        let mut mean = vec![0.0; cols];
        let mut sq = vec![0.0; cols];
        for row in x.chunks_exact(cols) {
            for (j, v) in row.iter().enumerate() {
                mean[j] += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= rows.max(1) as f64);
        for row in x.chunks_exact(cols) {
            for (j, v) in row.iter().enumerate() {
                sq[j] += (v - mean[j]).powi(2);
            }
        }
        let scale = sq
            .iter()
            .map(|s| {
                let sd = (s / rows.max(1) as f64).sqrt();
                if sd > 1e-12 { sd } else { 1.0 }
            })
            .collect();
        Self { mean, scale }
    }

    /// Standardises one row-major matrix.
    pub fn transform(&self, x: &[f64]) -> Vec<f64> {
        let cols = self.mean.len();
        x.chunks_exact(cols)
            .flat_map(|row| row.iter().enumerate().map(|(j, v)| (v - self.mean[j]) / self.scale[j]))
            .collect()
    }
}

/// A fitted logistic regression, preprocessing included: `p = σ(w · (x - mean) / scale + b)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// Names of the input features, in column order.
    pub features: Vec<String>,
    /// The standardisation fitted on the training rows.
    pub standardizer: Standardizer,
    /// Weights on the standardised features.
    pub weights: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
}

impl LogisticModel {
    /// Fits standardisation and an L2-regularised logistic regression on a row-major matrix
    /// (`x.len() == y.len() × features.len()`); `true` is the positive class.
    pub fn fit(
        x: &[f64],
        y: &[bool],
        features: Vec<String>,
        params: &ValidLogisticParams,
    ) -> Result<Self> {
        let cols = features.len();
        check_matrix(x, cols, &features)?;
        if x.len() != y.len() * cols {
            return Err(Error::Shape(format!(
                "{} values for {} labels × {cols} features",
                x.len(),
                y.len()
            )));
        }
        let positives = y.iter().filter(|v| **v).count();
        if positives == 0 || positives == y.len() {
            return Err(Error::SingleClass { positives, rows: y.len() });
        }
        let standardizer = Standardizer::fit(x, cols);
        let z = Array2::from_shape_vec((y.len(), cols), standardizer.transform(x))
            .map_err(|e| Error::Shape(e.to_string()))?;
        let dataset = Dataset::new(z, Array1::from_vec(y.to_vec()));
        let p = &params.0;
        let fitted = LogisticRegression::default()
            .alpha(p.l2)
            .max_iterations(p.max_iterations)
            .gradient_tolerance(p.gradient_tolerance)
            .fit(&dataset)
            .map_err(|e| Error::Training(e.to_string()))?;
        // linfa decides which label is its "positive" class from the data; the model here always
        // gives P(true), using σ(-t) = 1 - σ(t) when linfa's positive class is `false`.
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        Ok(Self {
            features,
            standardizer,
            weights: fitted.params().iter().map(|w| sign * w).collect(),
            intercept: sign * fitted.intercept(),
        })
    }

    /// Number of input features.
    pub const fn n_features(&self) -> usize {
        self.weights.len()
    }

    /// The logit `w · z + b` of every row of a row-major matrix.
    pub fn logits(&self, x: &[f64]) -> Result<Vec<f64>> {
        check_matrix(x, self.n_features(), &self.features)?;
        let z = self.standardizer.transform(x);
        Ok(z.chunks_exact(self.n_features())
            .map(|row| {
                row.iter().zip(&self.weights).map(|(a, w)| a * w).sum::<f64>() + self.intercept
            })
            .collect())
    }

    /// The probability of the positive class for every row of a row-major matrix.
    pub fn predict_proba(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(self.logits(x)?.into_iter().map(sigmoid).collect())
    }

    /// Folds a Platt calibration `σ(a · logit + b)` into the weights and intercept, so the model
    /// (and its ONNX graph) outputs calibrated probabilities.
    #[must_use]
    pub fn calibrated(mut self, platt: &crate::calibration::Platt) -> Self {
        self.weights.iter_mut().for_each(|w| *w *= platt.a);
        self.intercept = platt.a * self.intercept + platt.b;
        self
    }

    /// SHA-256 of the model's canonical JSON (features, preprocessing and weights), hex.
    pub fn weights_hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("a model always serialises");
        hex::encode(Sha256::digest(json))
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("a model always serialises");
        std::fs::write(path, json).map_err(|source| Error::Io { path: path.into(), source })
    }

    /// Reads a model written by [`LogisticModel::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|source| Error::Io { path: path.into(), source })?;
        let model: Self = serde_json::from_slice(&bytes)
            .map_err(|source| Error::Json { path: path.into(), source })?;
        let n = model.weights.len();
        if model.features.len() != n
            || model.standardizer.mean.len() != n
            || model.standardizer.scale.len() != n
        {
            return Err(Error::Shape(format!(
                "model file {}: {} features, {} weights, {} means, {} scales",
                path.display(),
                model.features.len(),
                n,
                model.standardizer.mean.len(),
                model.standardizer.scale.len()
            )));
        }
        Ok(model)
    }
}

/// The logistic function `1 / (1 + e^(−t))` in f64 (the link's exact counterpart).
pub fn sigmoid(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

pub(crate) fn check_matrix(x: &[f64], cols: usize, names: &[String]) -> Result<()> {
    if cols == 0 || !x.len().is_multiple_of(cols) {
        return Err(Error::Shape(format!(
            "{} values do not make rows of {cols} features",
            x.len()
        )));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite { row: i / cols, column: names[i % cols].clone() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Vec<f64>, Vec<bool>, Vec<String>) {
        // y = 1 when the first feature is large; the second is noise.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let a = (i % 20) as f64 / 2.0;
            let b = ((i * 7) % 13) as f64;
            x.extend([a, b]);
            y.push(a > 6.0 || (a > 4.0 && i % 3 == 0));
        }
        (x, y, vec!["a".into(), "b".into()])
    }

    #[test]
    fn learns_the_informative_feature() {
        let (x, y, names) = toy();
        let m =
            LogisticModel::fit(&x, &y, names, &LogisticParams::default().check().unwrap()).unwrap();
        assert!(m.weights[0] > 1.0, "weight on the informative feature: {}", m.weights[0]);
        assert!(m.weights[1].abs() < m.weights[0] / 4.0);
        let p = m.predict_proba(&x).unwrap();
        assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
    }

    #[test]
    fn standardizer_centres_and_scales() {
        let s = Standardizer::fit(&[1.0, 10.0, 3.0, 10.0], 2);
        assert_eq!(s.mean, vec![2.0, 10.0]);
        assert_eq!(s.scale, vec![1.0, 1.0]); // the constant column keeps scale 1
        assert_eq!(s.transform(&[1.0, 10.0, 3.0, 10.0]), vec![-1.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn rejects_bad_input() {
        let names = vec!["a".to_string(), "b".to_string()];
        let ok = LogisticParams::default().check().unwrap();
        let cases: Vec<(Vec<f64>, Vec<bool>, &str)> = vec![
            (vec![1.0, 2.0, 3.0], vec![true], "do not make rows"),
            (vec![1.0, f64::NAN, 3.0, 4.0], vec![true, false], "column `b`"),
            (vec![1.0, 2.0, 3.0, 4.0], vec![true, true], "single class"),
            (vec![1.0, 2.0, 3.0, 4.0], vec![true], "labels"),
        ];
        for (x, y, want) in cases {
            let err = LogisticModel::fit(&x, &y, names.clone(), &ok).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should contain {want}");
        }
        for bad in [
            LogisticParams { l2: -1.0, ..Default::default() },
            LogisticParams { max_iterations: 0, ..Default::default() },
            LogisticParams { gradient_tolerance: f64::NAN, ..Default::default() },
        ] {
            assert!(bad.check().is_err());
        }
    }

    #[test]
    fn save_and_load_round_trip() {
        let (x, y, names) = toy();
        let m =
            LogisticModel::fit(&x, &y, names, &LogisticParams::default().check().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        m.save(&path).unwrap();
        let back = LogisticModel::load(&path).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.weights_hash(), m.weights_hash());
        std::fs::write(&path, b"{\"features\": 3}").unwrap();
        let err = LogisticModel::load(&path).unwrap_err().to_string();
        assert!(err.contains("model.json"), "{err}");
    }
}
