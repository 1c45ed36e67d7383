//! A one-hidden-layer perceptron for liquidation risk, trained with ndarray (Adam, mini-batches,
//! early stopping on a later validation window), small enough for ezkl to prove.
//!
//! `p = σ(w₂ · relu(W₁ᵀ z + b₁) + b₂)` with `z = (x - mean) / scale`. Training is seeded and
//! deterministic: the same data, parameters and seed give bit-identical weights.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result, Standardizer, calibration::Platt, logistic::sigmoid};

/// Unchecked hyper-parameters of [`MlpModel::fit`]; [`MlpParams::check`] validates them once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlpParams {
    /// Hidden ReLU units, 1..=64.
    pub hidden: usize,
    /// Adam step size, finite and > 0.
    pub learning_rate: f64,
    /// Maximum passes over the training rows, > 0.
    pub max_epochs: usize,
    /// Rows per mini-batch, > 0.
    pub batch_size: usize,
    /// L2 penalty on the weights (not the biases), finite and ≥ 0.
    pub l2: f64,
    /// Epochs without a better validation loss before training stops, > 0.
    pub patience: usize,
    /// Weight of a positive row in the training loss (class weighting), finite and > 0.
    pub positive_weight: f64,
    /// Seed of the initial weights and of the mini-batch order.
    pub seed: u64,
}

impl Default for MlpParams {
    fn default() -> Self {
        Self {
            hidden: 12,
            learning_rate: 3e-3,
            max_epochs: 40,
            batch_size: 512,
            l2: 1e-4,
            patience: 5,
            positive_weight: 4.0,
            seed: 7,
        }
    }
}

/// Hyper-parameters that passed [`MlpParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidMlpParams(MlpParams);

impl ValidMlpParams {
    /// The checked values.
    pub const fn get(&self) -> &MlpParams {
        &self.0
    }
}

impl MlpParams {
    /// Validates the parameters.
    pub fn check(&self) -> Result<ValidMlpParams> {
        let bad = |name: &'static str, reason: String| Err(Error::InvalidParam { name, reason });
        if !(1..=64).contains(&self.hidden) {
            return bad("hidden", format!("{} is not in 1..=64", self.hidden));
        }
        if !self.learning_rate.is_finite() || self.learning_rate <= 0.0 {
            return bad("learning_rate", format!("{} is not > 0", self.learning_rate));
        }
        if self.max_epochs == 0 || self.batch_size == 0 || self.patience == 0 {
            return bad("max_epochs/batch_size/patience", "must be > 0".into());
        }
        if !self.l2.is_finite() || self.l2 < 0.0 {
            return bad("l2", format!("{} is not ≥ 0", self.l2));
        }
        if !self.positive_weight.is_finite() || self.positive_weight <= 0.0 {
            return bad("positive_weight", format!("{} is not > 0", self.positive_weight));
        }
        Ok(ValidMlpParams(self.clone()))
    }
}

/// What happened during [`MlpModel::fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Epochs run (including the ones after the best).
    pub epochs: usize,
    /// Epoch (1-based) whose weights were kept.
    pub best_epoch: usize,
    /// Unweighted log loss on the validation rows at the best epoch.
    pub best_validation_loss: f64,
}

/// A fitted MLP, preprocessing and (optionally folded-in) Platt calibration included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpModel {
    /// Names of the input features, in column order.
    pub features: Vec<String>,
    /// The standardisation fitted on the training rows.
    pub standardizer: Standardizer,
    /// First layer, row-major `[features, hidden]`.
    pub w1: Vec<f64>,
    /// First-layer biases, `[hidden]`.
    pub b1: Vec<f64>,
    /// Output weights, `[hidden]`.
    pub w2: Vec<f64>,
    /// Output bias.
    pub b2: f64,
}

/// splitmix64: a small, seedable, portable generator (the same sequence on every platform).
struct SplitMix(u64);

impl SplitMix {
    const fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    fn shuffle(&mut self, v: &mut [usize]) {
        for i in (1..v.len()).rev() {
            v.swap(i, (self.next_u64() % (i as u64 + 1)) as usize);
        }
    }
}

/// Adam moments of one parameter array.
struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    fn new(n: usize) -> Self {
        Self { m: vec![0.0; n], v: vec![0.0; n] }
    }

    fn step(&mut self, w: &mut [f64], g: &[f64], lr: f64, t: i32) {
        let (b1, b2, eps) = (0.9, 0.999, 1e-8);
        let (c1, c2) = (1.0 - f64::powi(b1, t), 1.0 - f64::powi(b2, t));
        for i in 0..w.len() {
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            w[i] -= lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + eps);
        }
    }
}

fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    let n = y.len().max(1) as f64;
    p.iter()
        .zip(y)
        .map(|(p, y)| {
            let p = p.clamp(1e-12, 1.0 - 1e-12);
            if *y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum::<f64>()
        / n
}

impl MlpModel {
    /// Number of input features.
    pub const fn n_features(&self) -> usize {
        self.features.len()
    }

    /// Number of hidden units.
    pub const fn n_hidden(&self) -> usize {
        self.b1.len()
    }

    /// Trains on `(x_train, y_train)` (row-major), keeping the weights of the epoch with the lowest
    /// log loss on `(x_val, y_val)`; the validation rows should be later in time than the training
    /// rows. Standardisation is fitted on the training rows only.
    pub fn fit(
        x_train: &[f64],
        y_train: &[bool],
        x_val: &[f64],
        y_val: &[bool],
        features: Vec<String>,
        params: &ValidMlpParams,
    ) -> Result<(Self, FitReport)> {
        let p = &params.0;
        let f = features.len();
        crate::logistic::check_matrix(x_train, f, &features)?;
        crate::logistic::check_matrix(x_val, f, &features)?;
        if x_train.len() != y_train.len() * f || x_val.len() != y_val.len() * f {
            return Err(Error::Shape(format!(
                "{} / {} values for {} / {} labels × {f} features",
                x_train.len(),
                x_val.len(),
                y_train.len(),
                y_val.len()
            )));
        }
        let positives = y_train.iter().filter(|v| **v).count();
        if positives == 0 || positives == y_train.len() {
            return Err(Error::SingleClass { positives, rows: y_train.len() });
        }
        if y_val.is_empty() {
            return Err(Error::Shape("no validation rows".into()));
        }
        let standardizer = Standardizer::fit(x_train, f);
        let z = Array2::from_shape_vec((y_train.len(), f), standardizer.transform(x_train))
            .map_err(|e| Error::Shape(e.to_string()))?;
        let h = p.hidden;
        let mut rng = SplitMix(p.seed);
        // He initialisation for the ReLU layer, Glorot-like for the output.
        let s1 = (2.0 / f as f64).sqrt();
        let s2 = (1.0 / h as f64).sqrt();
        let mut model = Self {
            features,
            standardizer,
            w1: (0..f * h).map(|_| rng.normal() * s1).collect(),
            b1: vec![0.01; h],
            w2: (0..h).map(|_| rng.normal() * s2).collect(),
            b2: (positives as f64 / y_train.len() as f64).ln(),
        };
        let (mut a_w1, mut a_b1, mut a_w2, mut a_b2) =
            (Adam::new(f * h), Adam::new(h), Adam::new(h), Adam::new(1));
        let mut best = (f64::INFINITY, model.clone(), 0usize);
        let mut order: Vec<usize> = (0..y_train.len()).collect();
        let mut t = 0;
        let mut epochs = 0;
        for epoch in 1..=p.max_epochs {
            epochs = epoch;
            rng.shuffle(&mut order);
            for chunk in order.chunks(p.batch_size) {
                t += 1;
                let xb = z.select(Axis(0), chunk);
                let w1 = ArrayView2::from_shape((f, h), &model.w1)
                    .map_err(|e| Error::Shape(e.to_string()))?;
                let mut pre = xb.dot(&w1);
                pre += &Array1::from_vec(model.b1.clone());
                let act = pre.mapv(|v| v.max(0.0));
                let w2 = Array1::from_vec(model.w2.clone());
                let logits = act.dot(&w2) + model.b2;
                // d(weighted BCE)/d logit = weight · (p - y), averaged over the weighted batch.
                let weights: Vec<f64> = chunk
                    .iter()
                    .map(|i| if y_train[*i] { p.positive_weight } else { 1.0 })
                    .collect();
                let wsum: f64 = weights.iter().sum();
                let dlogit = Array1::from_iter(chunk.iter().zip(&weights).zip(logits.iter()).map(
                    |((i, w), l)| w * (sigmoid(*l) - if y_train[*i] { 1.0 } else { 0.0 }) / wsum,
                ));
                let g_w2 = act.t().dot(&dlogit) + &(&w2 * p.l2);
                let g_b2 = dlogit.sum();
                let mut dpre = dlogit.insert_axis(Axis(1)).dot(&w2.insert_axis(Axis(0)));
                dpre.zip_mut_with(&pre, |d, v| {
                    if *v <= 0.0 {
                        *d = 0.0;
                    }
                });
                let g_w1 = xb.t().dot(&dpre) + &(&w1 * p.l2);
                let g_b1 = dpre.sum_axis(Axis(0));
                let g_w1: Vec<f64> = g_w1.iter().copied().collect();
                a_w1.step(&mut model.w1, &g_w1, p.learning_rate, t);
                a_b1.step(&mut model.b1, &g_b1.to_vec(), p.learning_rate, t);
                a_w2.step(&mut model.w2, &g_w2.to_vec(), p.learning_rate, t);
                let mut b2 = [model.b2];
                a_b2.step(&mut b2, &[g_b2], p.learning_rate, t);
                model.b2 = b2[0];
            }
            let loss = log_loss(&model.predict_proba(x_val)?, y_val);
            if loss < best.0 {
                best = (loss, model.clone(), epoch);
            } else if epoch - best.2 >= p.patience {
                break;
            }
        }
        let (loss, model, best_epoch) = best;
        Ok((model, FitReport { epochs, best_epoch, best_validation_loss: loss }))
    }

    /// The output logit of every row of a row-major matrix.
    pub fn logits(&self, x: &[f64]) -> Result<Vec<f64>> {
        let f = self.n_features();
        crate::logistic::check_matrix(x, f, &self.features)?;
        let h = self.n_hidden();
        let z = Array2::from_shape_vec((x.len() / f, f), self.standardizer.transform(x))
            .map_err(|e| Error::Shape(e.to_string()))?;
        let w1 =
            ArrayView2::from_shape((f, h), &self.w1).map_err(|e| Error::Shape(e.to_string()))?;
        let mut pre = z.dot(&w1);
        pre += &Array1::from_vec(self.b1.clone());
        pre.mapv_inplace(|v| v.max(0.0));
        Ok((pre.dot(&Array1::from_vec(self.w2.clone())) + self.b2).to_vec())
    }

    /// The probability of the positive class for every row of a row-major matrix.
    pub fn predict_proba(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(self.logits(x)?.into_iter().map(sigmoid).collect())
    }

    /// Folds a Platt calibration `σ(a · logit + b)` into the output layer, so the model (and its
    /// ONNX graph) outputs calibrated probabilities.
    #[must_use]
    pub fn calibrated(mut self, platt: &Platt) -> Self {
        self.w2.iter_mut().for_each(|w| *w *= platt.a);
        self.b2 = platt.a * self.b2 + platt.b;
        self
    }

    /// SHA-256 of the model's canonical JSON, hex.
    pub fn weights_hash(&self) -> String {
        hex::encode(Sha256::digest(serde_json::to_vec(self).unwrap_or_default()))
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|source| Error::Json { path: path.into(), source })?;
        std::fs::write(path, json).map_err(|source| Error::Io { path: path.into(), source })
    }

    /// Reads a model written by [`MlpModel::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|source| Error::Io { path: path.into(), source })?;
        let m: Self = serde_json::from_slice(&bytes)
            .map_err(|source| Error::Json { path: path.into(), source })?;
        let (f, h) = (m.features.len(), m.b1.len());
        if m.w1.len() != f * h
            || m.w2.len() != h
            || m.standardizer.mean.len() != f
            || m.standardizer.scale.len() != f
        {
            return Err(Error::Shape(format!(
                "model file {}: {f} features, {h} hidden units, {} first-layer weights",
                path.display(),
                m.w1.len()
            )));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;

    /// Positive when the point lies outside a ring: not linearly separable.
    fn ring(n: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
        let mut rng = SplitMix(seed);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let (a, b) = (rng.normal(), rng.normal());
            x.extend([a, b, rng.normal()]);
            y.push(a * a + b * b > 2.5);
        }
        (x, y)
    }

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into(), "noise".into()]
    }

    #[test]
    fn learns_a_nonlinear_boundary_deterministically() {
        let (x, y) = ring(3000, 1);
        let (xv, yv) = ring(1000, 2);
        let params = MlpParams {
            max_epochs: 200,
            batch_size: 64,
            learning_rate: 0.01,
            patience: 20,
            ..Default::default()
        }
        .check()
        .unwrap();
        let (m, report) = MlpModel::fit(&x, &y, &xv, &yv, names(), &params).unwrap();
        let auc = metrics::auroc(&m.predict_proba(&xv).unwrap(), &yv).unwrap();
        assert!(auc > 0.95, "AUROC {auc}, {report:?}");
        let (again, _) = MlpModel::fit(&x, &y, &xv, &yv, names(), &params).unwrap();
        assert_eq!(again, m);
        assert_eq!(again.weights_hash(), m.weights_hash());
    }

    #[test]
    fn platt_folding_matches_applying_it() {
        let (x, y) = ring(500, 3);
        let params = MlpParams { max_epochs: 3, ..Default::default() }.check().unwrap();
        let (m, _) = MlpModel::fit(&x, &y, &x, &y, names(), &params).unwrap();
        let platt = Platt { a: 0.7, b: -0.3 };
        let folded = m.clone().calibrated(&platt).predict_proba(&x).unwrap();
        let applied: Vec<f64> =
            m.logits(&x).unwrap().iter().map(|l| sigmoid(0.7 * l - 0.3)).collect();
        for (a, b) in folded.iter().zip(&applied) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn rejects_bad_params_and_input() {
        for bad in [
            MlpParams { hidden: 0, ..Default::default() },
            MlpParams { learning_rate: 0.0, ..Default::default() },
            MlpParams { patience: 0, ..Default::default() },
            MlpParams { positive_weight: f64::NAN, ..Default::default() },
        ] {
            assert!(bad.check().is_err());
        }
        let p = MlpParams::default().check().unwrap();
        let err = MlpModel::fit(&[1.0, 2.0, 3.0], &[true], &[1.0, 2.0, 3.0], &[true], names(), &p)
            .unwrap_err();
        assert!(err.to_string().contains("single class"), "{err}");
    }

    #[test]
    fn save_and_load_round_trip() {
        let (x, y) = ring(300, 4);
        let params = MlpParams { max_epochs: 2, ..Default::default() }.check().unwrap();
        let (m, _) = MlpModel::fit(&x, &y, &x, &y, names(), &params).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mlp.json");
        m.save(&path).unwrap();
        assert_eq!(MlpModel::load(&path).unwrap(), m);
    }
}
