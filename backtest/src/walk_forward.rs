//! Walk-forward (rolling-origin) evaluation: folds in time order, each trained on everything
//! before it, calibrated and early-stopped on a later validation window, and scored on the next
//! period, next to two baselines.
//!
//! Each fold has a validation start `v`, a test start `t` and a test end `e` (days):
//! - train: rows with `day + horizon < v` (label windows end before validation starts: purged);
//! - validation: `v ≤ day` and `day + horizon < t` (label windows end before the test starts);
//! - test: `t ≤ day < e` and `day + horizon ≤ last_label_day` (no right-censored label).
//!
//! Models per fold: the logistic regression (linfa) and the MLP, each with Platt scaling fitted on
//! the validation window and folded into the model; baselines: the collateral-ratio rule (ranks by
//! the ratio, lower = riskier; probabilities from a one-feature logistic fit on the training rows,
//! Platt-scaled on validation like the models) and the previous-period rate (the validation
//! window's positive rate for every row; its AUROC within a fold is 0.5 by construction, pooled it
//! ranks folds by their previous rate).

use serde::Serialize;
use zkrisk_models::{
    LogisticModel, MlpModel, ValidLogisticParams, ValidMlpParams, calibration::Platt,
    metrics::Summary,
};

use crate::{Error, Result};

/// One fold's days (days since 1970-01-01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fold {
    /// First validation day.
    pub validation_start: i32,
    /// First test day.
    pub test_start: i32,
    /// First day after the test period.
    pub test_end: i32,
}

/// Row indices of the three sides of a [`Fold`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldIdx {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows (calibration, early stopping).
    pub validation: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

impl Fold {
    /// Splits rows by day for a label `horizon` (days) whose windows the data see up to
    /// `last_label_day` (the last day `d` with `d + horizon` within the data).
    pub fn split(&self, days: &[i32], horizon: i32, last_label_day: i32) -> FoldIdx {
        let pick = |f: &dyn Fn(i32) -> bool| (0..days.len()).filter(|i| f(days[*i])).collect();
        FoldIdx {
            train: pick(&|d| d + horizon < self.validation_start),
            validation: pick(&|d| d >= self.validation_start && d + horizon < self.test_start),
            test: pick(&|d| d >= self.test_start && d < self.test_end && d <= last_label_day),
        }
    }
}

/// Consecutive folds of `test_days` each, the first testing from `first_test_day`, until
/// `last_day`; each fold validates on the `validation_days` (plus the horizon) before its test.
pub fn rolling_folds(
    first_test_day: i32,
    last_day: i32,
    test_days: i32,
    validation_days: i32,
    horizon: i32,
) -> Vec<Fold> {
    let mut folds = Vec::new();
    let mut t = first_test_day;
    while t <= last_day && test_days > 0 {
        folds.push(Fold {
            validation_start: t - horizon - validation_days,
            test_start: t,
            test_end: (t + test_days).min(last_day + 1),
        });
        t += test_days;
    }
    folds
}

/// The data of a walk-forward evaluation.
#[derive(Debug, Clone, Copy)]
pub struct WalkForward<'a> {
    /// Feature names, in column order.
    pub features: &'a [&'a str],
    /// Row-major values.
    pub values: &'a [f64],
    /// One label per row.
    pub labels: &'a [bool],
    /// One day per row.
    pub days: &'a [i32],
    /// Label horizon in days.
    pub horizon: i32,
    /// Last day whose label window the data cover.
    pub last_label_day: i32,
    /// The feature the collateral-ratio baseline ranks by (lower = riskier).
    pub baseline_feature: &'a str,
}

/// The hyper-parameters `zkrisk train` uses: a logistic regression with a firmer L2 penalty than
/// the default and a looser tolerance (seconds, not minutes, on the Maker history), and an MLP of
/// 8 ReLU units without class weighting (Platt scaling calibrates it afterwards).
pub fn liquidation_params() -> Result<(ValidLogisticParams, ValidMlpParams)> {
    let lp =
        zkrisk_models::LogisticParams { l2: 10.0, max_iterations: 100, gradient_tolerance: 1e-4 };
    let mp = zkrisk_models::MlpParams {
        hidden: 8,
        l2: 1e-3,
        positive_weight: 1.0,
        ..zkrisk_models::MlpParams::default()
    };
    Ok((lp.check()?, mp.check()?))
}

/// Positive rows a validation window should hold (see [`WalkForward::widen_validation`]).
pub const MIN_VALIDATION_POSITIVES: usize = 10;

/// Names of the scored series, in report order.
pub const SERIES: [&str; 4] =
    ["logistic", "mlp", "baseline_collateral_ratio", "baseline_previous_rate"];

/// Metrics of one fold.
#[derive(Debug, Clone, Serialize)]
pub struct FoldReport {
    /// The fold.
    pub fold: Fold,
    /// Training rows.
    pub train_rows: usize,
    /// Validation rows.
    pub validation_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// Positive test rows.
    pub test_positives: usize,
    /// Metrics of each of [`SERIES`], in that order; `None` where the test side has one class.
    pub metrics: Vec<Option<Summary>>,
}

/// Result of [`WalkForward::run`].
#[derive(Debug, Clone, Serialize)]
pub struct WalkForwardReport {
    /// Per fold.
    pub folds: Vec<FoldReport>,
    /// Metrics of each of [`SERIES`] over the pooled test rows of all folds.
    pub pooled: Vec<Summary>,
    /// Pooled test rows.
    pub pooled_rows: usize,
    /// Pooled positive test rows.
    pub pooled_positives: usize,
    /// Pooled test predictions of each of [`SERIES`] (for reliability diagrams).
    #[serde(skip)]
    pub predictions: Vec<Vec<f64>>,
    /// Pooled test labels.
    #[serde(skip)]
    pub pooled_labels: Vec<bool>,
    /// Folds not evaluated because their training or validation side lacks a class.
    pub skipped: Vec<SkippedFold>,
}

/// A fold [`WalkForward::run`] could not evaluate.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedFold {
    /// The fold.
    pub fold: Fold,
    /// Which side lacked a class.
    pub reason: String,
}

/// Models fitted for one fold (or for production), calibrated on the validation window.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// Calibrated logistic regression.
    pub logistic: LogisticModel,
    /// Calibrated MLP.
    pub mlp: MlpModel,
    /// Calibrated one-feature logistic on the baseline feature.
    pub baseline: LogisticModel,
    /// Positive rate of the validation window.
    pub previous_rate: f64,
    /// The MLP's training report.
    pub mlp_report: zkrisk_models::FitReport,
}

fn rows(values: &[f64], cols: usize, idx: &[usize]) -> Vec<f64> {
    idx.iter().flat_map(|i| values[i * cols..(i + 1) * cols].iter().copied()).collect()
}

fn column(x: &[f64], cols: usize, j: usize) -> Vec<f64> {
    x.chunks_exact(cols).map(|r| r[j]).collect()
}

impl WalkForward<'_> {
    fn baseline_col(&self) -> Result<usize> {
        self.features
            .iter()
            .position(|f| *f == self.baseline_feature)
            .ok_or_else(|| Error::MissingFeature(self.baseline_feature.into()))
    }

    /// The fold's split, with the validation start moved back 30 days at a time (taking rows from
    /// training, never from the test side) until the validation window holds at least
    /// [`MIN_VALIDATION_POSITIVES`] positives, as long as training keeps at least that many.
    /// Only labels before the test start decide this, so no test information leaks.
    pub fn widen_validation(&self, mut fold: Fold) -> (Fold, FoldIdx) {
        let positives = |side: &[usize]| side.iter().filter(|i| self.labels[**i]).count();
        loop {
            let idx = fold.split(self.days, self.horizon, self.last_label_day);
            if positives(&idx.validation) >= MIN_VALIDATION_POSITIVES {
                return (fold, idx);
            }
            let wider = Fold { validation_start: fold.validation_start - 30, ..fold };
            let next = wider.split(self.days, self.horizon, self.last_label_day);
            if positives(&next.train) < MIN_VALIDATION_POSITIVES {
                return (fold, idx);
            }
            fold = wider;
        }
    }

    /// Fits the models on `idx.train` and calibrates them on `idx.validation`.
    pub fn fit(
        &self,
        idx: &FoldIdx,
        cutoff: i32,
        lp: &ValidLogisticParams,
        mp: &ValidMlpParams,
    ) -> Result<Fitted> {
        let cols = self.features.len();
        let pick = |side: &[usize]| side.iter().map(|i| self.labels[*i]).collect::<Vec<_>>();
        let (y_tr, y_va) = (pick(&idx.train), pick(&idx.validation));
        for (name, y) in [("train", &y_tr), ("validation", &y_va)] {
            let pos = y.iter().filter(|v| **v).count();
            if pos == 0 || pos == y.len() {
                return Err(Error::EmptySplit {
                    cutoff,
                    reason: format!("{name} side has {pos} positives of {} rows", y.len()),
                });
            }
        }
        let (x_tr, x_va) =
            (rows(self.values, cols, &idx.train), rows(self.values, cols, &idx.validation));
        let names: Vec<String> = self.features.iter().map(|s| (*s).to_string()).collect();
        let logistic = LogisticModel::fit(&x_tr, &y_tr, names.clone(), lp)?;
        let logistic = {
            let platt = Platt::fit(&logistic.logits(&x_va)?, &y_va)?;
            logistic.calibrated(&platt)
        };
        let (mlp, mlp_report) = MlpModel::fit(&x_tr, &y_tr, &x_va, &y_va, names, mp)?;
        let mlp = {
            let platt = Platt::fit(&mlp.logits(&x_va)?, &y_va)?;
            mlp.calibrated(&platt)
        };
        let j = self.baseline_col()?;
        let baseline = LogisticModel::fit(
            &column(&x_tr, cols, j),
            &y_tr,
            vec![self.baseline_feature.into()],
            lp,
        )?;
        let b_va = column(&x_va, cols, j);
        let baseline = {
            let platt = Platt::fit(&baseline.logits(&b_va)?, &y_va)?;
            baseline.calibrated(&platt)
        };
        let previous_rate = zkrisk_models::metrics::prevalence(&y_va);
        Ok(Fitted { logistic, mlp, baseline, previous_rate, mlp_report })
    }

    /// Scores rows with each of [`SERIES`] (the collateral-ratio rule as calibrated probabilities).
    pub fn score(&self, fitted: &Fitted, x: &[f64]) -> Result<Vec<Vec<f64>>> {
        let cols = self.features.len();
        let j = self.baseline_col()?;
        let n = x.len() / cols.max(1);
        Ok(vec![
            fitted.logistic.predict_proba(x)?,
            fitted.mlp.predict_proba(x)?,
            fitted.baseline.predict_proba(&column(x, cols, j))?,
            vec![fitted.previous_rate; n],
        ])
    }

    /// Runs every fold; folds whose training or validation side lacks a class are skipped (and
    /// listed in the report), folds
    /// whose test side has one class get `None` metrics but still join the pooled rows.
    pub fn run(
        &self,
        folds: &[Fold],
        lp: &ValidLogisticParams,
        mp: &ValidMlpParams,
    ) -> Result<WalkForwardReport> {
        let cols = self.features.len();
        let mut reports = Vec::new();
        let mut predictions = vec![Vec::new(); SERIES.len()];
        let mut pooled_labels = Vec::new();
        let mut skipped = Vec::new();
        for fold in folds {
            let (fold, idx) = self.widen_validation(*fold);
            if idx.test.is_empty() {
                continue;
            }
            let fitted = match self.fit(&idx, fold.test_start, lp, mp) {
                Ok(f) => f,
                Err(Error::EmptySplit { reason, .. }) => {
                    skipped.push(SkippedFold { fold, reason });
                    continue;
                }
                Err(e) => return Err(e),
            };
            let x_te = rows(self.values, cols, &idx.test);
            let y_te: Vec<bool> = idx.test.iter().map(|i| self.labels[*i]).collect();
            let scores = self.score(&fitted, &x_te)?;
            let metrics = scores
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    // The collateral-ratio rule's AUROC/KS rank by the raw ratio.
                    let s = Summary::of(p, &y_te).ok()?;
                    if k == 2 {
                        let j = self.baseline_col().ok()?;
                        let ranked: Vec<f64> = column(&x_te, cols, j).iter().map(|v| -v).collect();
                        let r = Summary::of(&ranked, &y_te).ok()?;
                        return Some(Summary { auroc: r.auroc, ks: r.ks, auc_pr: r.auc_pr, ..s });
                    }
                    Some(s)
                })
                .collect();
            for (k, p) in scores.into_iter().enumerate() {
                predictions[k].extend(p);
            }
            pooled_labels.extend(&y_te);
            reports.push(FoldReport {
                fold,
                train_rows: idx.train.len(),
                validation_rows: idx.validation.len(),
                test_rows: idx.test.len(),
                test_positives: y_te.iter().filter(|v| **v).count(),
                metrics,
            });
        }
        let pooled = predictions
            .iter()
            .map(|p| Summary::of(p, &pooled_labels))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(WalkForwardReport {
            folds: reports,
            pooled,
            pooled_rows: pooled_labels.len(),
            pooled_positives: pooled_labels.iter().filter(|v| **v).count(),
            predictions,
            pooled_labels,
            skipped,
        })
    }
}

#[cfg(test)]
mod tests {
    use zkrisk_models::{LogisticParams, MlpParams};

    use super::*;

    #[test]
    fn fold_split_purges_label_windows() {
        let f = Fold { validation_start: 10, test_start: 20, test_end: 30 };
        let days: Vec<i32> = (0..40).collect();
        let idx = f.split(&days, 3, 33);
        assert_eq!(idx.train, (0..7).collect::<Vec<_>>()); // 6 + 3 < 10
        assert_eq!(idx.validation, (10..17).collect::<Vec<_>>()); // 16 + 3 < 20
        assert_eq!(idx.test, (20..30).collect::<Vec<_>>());
        let folds = rolling_folds(100, 250, 90, 30, 7);
        assert_eq!(folds.len(), 2);
        assert_eq!(folds[0], Fold { validation_start: 63, test_start: 100, test_end: 190 });
        assert_eq!(folds[1].test_end, 251);
    }

    /// Feature "cr" varies; positives are likelier at low cr. A second feature is noise.
    fn synthetic(n_days: i32) -> (Vec<f64>, Vec<bool>, Vec<i32>) {
        let (mut x, mut y, mut d) = (Vec::new(), Vec::new(), Vec::new());
        for day in 0..n_days {
            for k in 0..30 {
                let cr = 1.0 + ((day * 7 + k * 13) % 17) as f64 / 10.0;
                x.extend([cr, ((day + k) % 5) as f64]);
                y.push(cr < 1.3 || (cr < 1.6 && (k + day) % 3 == 0));
                d.push(day);
            }
        }
        (x, y, d)
    }

    fn params() -> (ValidLogisticParams, ValidMlpParams) {
        let mp = MlpParams { max_epochs: 15, hidden: 8, batch_size: 128, ..Default::default() };
        (LogisticParams::default().check().unwrap(), mp.check().unwrap())
    }

    #[test]
    fn walk_forward_learns_a_signal() {
        let (x, y, d) = synthetic(200);
        let wf = WalkForward {
            features: &["cr", "noise"],
            values: &x,
            labels: &y,
            days: &d,
            horizon: 7,
            last_label_day: 192,
            baseline_feature: "cr",
        };
        let (lp, mp) = params();
        let r = wf.run(&rolling_folds(100, 199, 30, 20, 7), &lp, &mp).unwrap();
        assert_eq!(r.folds.len(), 4);
        assert_eq!(r.pooled_rows, 93 * 30);
        assert!(r.pooled[1].auroc > 0.85, "{:?}", r.pooled);
        assert!(r.pooled[0].auroc > 0.85, "{:?}", r.pooled);
        // A constant per fold ranks nothing within the fold.
        for f in &r.folds {
            assert!((f.metrics[3].unwrap().auroc - 0.5).abs() < 1e-12);
        }
    }

    #[test]
    fn labels_shuffled_in_time_give_chance_auroc_for_the_mlp() {
        let (x, mut y, d) = synthetic(200);
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for i in (1..y.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            y.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let wf = WalkForward {
            features: &["cr", "noise"],
            values: &x,
            labels: &y,
            days: &d,
            horizon: 7,
            last_label_day: 192,
            baseline_feature: "cr",
        };
        let (lp, mp) = params();
        let r = wf.run(&rolling_folds(100, 199, 30, 20, 7), &lp, &mp).unwrap();
        for (name, m) in SERIES.iter().zip(&r.pooled).take(2) {
            assert!((m.auroc - 0.5).abs() < 0.05, "{name}: {m:?}");
        }
    }
}
