//! A single time-ordered hold-out: train on the past, score the future, next to a naive baseline.

use serde::Serialize;
use zkrisk_models::{LogisticModel, ValidLogisticParams, metrics};

use crate::{Error, Result};

/// A cut-off day and the label horizon used to purge training rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSplit {
    /// First day of the test period (days since 1970-01-01).
    pub cutoff: i32,
    /// Label horizon in days: a training row's label window must end before the cut-off.
    pub horizon_days: i32,
}

/// Row indices of the two sides of a [`TimeSplit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeSplitIdx {
    /// Rows with `day + horizon < cutoff`.
    pub train: Vec<usize>,
    /// Rows with `day >= cutoff`.
    pub test: Vec<usize>,
}

impl TimeSplit {
    /// A split at `cutoff` for labels `horizon_days` ahead.
    pub const fn new(cutoff: i32, horizon_days: i32) -> Self {
        Self { cutoff, horizon_days }
    }

    /// Splits rows by their day. Rows whose label window straddles the cut-off belong to neither
    /// side (purged), so no training label looks into the test period.
    pub fn apply(&self, days: &[i32]) -> TimeSplitIdx {
        let train =
            (0..days.len()).filter(|i| days[*i] + self.horizon_days < self.cutoff).collect();
        let test = (0..days.len()).filter(|i| days[*i] >= self.cutoff).collect();
        TimeSplitIdx { train, test }
    }
}

/// Metrics of one set of probabilities on one set of labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    /// Area under the ROC curve.
    pub auroc: f64,
    /// Brier score (lower is better).
    pub brier: f64,
}

impl Metrics {
    fn of(p: &[f64], y: &[bool]) -> Result<Self> {
        Ok(Self { auroc: metrics::auroc(p, y)?, brier: metrics::brier(p, y)? })
    }
}

/// The data of one evaluation: a row-major matrix with its labels and days.
#[derive(Debug, Clone, Copy)]
pub struct Holdout<'a> {
    /// Feature names, in column order.
    pub features: &'a [&'a str],
    /// Row-major values.
    pub values: &'a [f64],
    /// One label per row.
    pub labels: &'a [bool],
    /// One day per row.
    pub days: &'a [i32],
    /// The feature the naive baseline ranks by (lower = riskier), e.g. `log_collateral_ratio`.
    pub baseline_feature: &'a str,
}

/// Result of [`Holdout::run`].
#[derive(Debug, Clone, Serialize)]
pub struct HoldoutReport {
    /// The model trained on the training side.
    #[serde(skip)]
    pub model: LogisticModel,
    /// Cut-off day.
    pub cutoff_day: i32,
    /// Rows and positives on each side.
    pub train_rows: usize,
    /// Positive training rows.
    pub train_positives: usize,
    /// Test rows.
    pub test_rows: usize,
    /// Positive test rows.
    pub test_positives: usize,
    /// The model on the test side.
    pub model_metrics: Metrics,
    /// The rule "lower collateral ratio = riskier" on the test side. Its AUROC ranks by the raw
    /// feature; its Brier uses that one feature through a logistic fit on the training side.
    pub baseline_metrics: Metrics,
    /// Brier of always predicting the training prevalence.
    pub prevalence_brier: f64,
}

fn rows(values: &[f64], cols: usize, idx: &[usize]) -> Vec<f64> {
    idx.iter().flat_map(|i| values[i * cols..(i + 1) * cols].iter().copied()).collect()
}

impl Holdout<'_> {
    /// Trains on the past of `split`, scores its future, and scores the baseline beside it.
    pub fn run(&self, split: TimeSplit, params: &ValidLogisticParams) -> Result<HoldoutReport> {
        let cols = self.features.len();
        let base_col = self
            .features
            .iter()
            .position(|f| *f == self.baseline_feature)
            .ok_or_else(|| Error::MissingFeature(self.baseline_feature.into()))?;
        let idx = split.apply(self.days);
        let pick = |side: &[usize]| side.iter().map(|i| self.labels[*i]).collect::<Vec<_>>();
        let (y_train, y_test) = (pick(&idx.train), pick(&idx.test));
        for (name, y) in [("train", &y_train), ("test", &y_test)] {
            let pos = y.iter().filter(|v| **v).count();
            if pos == 0 || pos == y.len() {
                return Err(Error::EmptySplit {
                    cutoff: split.cutoff,
                    reason: format!("{name} side has {pos} positives of {} rows", y.len()),
                });
            }
        }
        let x_train = rows(self.values, cols, &idx.train);
        let x_test = rows(self.values, cols, &idx.test);
        let names = self.features.iter().map(|s| (*s).to_string()).collect();
        let model = LogisticModel::fit(&x_train, &y_train, names, params)?;
        let model_metrics = Metrics::of(&model.predict_proba(&x_test)?, &y_test)?;

        // Baseline: rank by the feature (lower = riskier); calibrate it on the training side only.
        let b_train = x_train.chunks_exact(cols).map(|r| r[base_col]).collect::<Vec<_>>();
        let b_test = x_test.chunks_exact(cols).map(|r| r[base_col]).collect::<Vec<_>>();
        let ranked = b_test.iter().map(|v| -v).collect::<Vec<_>>();
        let calib = LogisticModel::fit(
            &b_train,
            &y_train,
            vec![self.baseline_feature.to_string()],
            params,
        )?;
        let baseline_metrics = Metrics {
            auroc: metrics::auroc(&ranked, &y_test)?,
            brier: metrics::brier(&calib.predict_proba(&b_test)?, &y_test)?,
        };
        let prev = metrics::prevalence(&y_train);
        let prevalence_brier = metrics::brier(&vec![prev; y_test.len()], &y_test)?;
        Ok(HoldoutReport {
            model,
            cutoff_day: split.cutoff,
            train_rows: idx.train.len(),
            train_positives: y_train.iter().filter(|v| **v).count(),
            test_rows: idx.test.len(),
            test_positives: y_test.iter().filter(|v| **v).count(),
            model_metrics,
            baseline_metrics,
            prevalence_brier,
        })
    }
}

#[cfg(test)]
mod tests {
    use zkrisk_models::LogisticParams;

    use super::*;

    #[test]
    fn split_purges_rows_whose_label_window_crosses_the_cutoff() {
        let s = TimeSplit::new(10, 3);
        let idx = s.apply(&[5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(idx.train, vec![0, 1]); // 6 + 3 < 10; 7 + 3 = 10 is purged
        assert_eq!(idx.test, vec![5, 6]);
    }

    /// Day d, feature "cr" falls over time; labels are positive when cr is low. A second feature
    /// is noise.
    fn synthetic(n_days: i32) -> (Vec<f64>, Vec<bool>, Vec<i32>) {
        let (mut x, mut y, mut d) = (Vec::new(), Vec::new(), Vec::new());
        for day in 0..n_days {
            for k in 0..20 {
                let cr = 1.0 + ((day * 7 + k * 13) % 17) as f64 / 10.0;
                x.extend([cr, ((day + k) % 5) as f64]);
                y.push(cr < 1.4 || (cr < 1.6 && k % 3 == 0));
                d.push(day);
            }
        }
        (x, y, d)
    }

    #[test]
    fn holdout_beats_chance_on_a_learnable_signal() {
        let (x, y, d) = synthetic(60);
        let h = Holdout {
            features: &["cr", "noise"],
            values: &x,
            labels: &y,
            days: &d,
            baseline_feature: "cr",
        };
        let r = h.run(TimeSplit::new(40, 7), &LogisticParams::default().check().unwrap()).unwrap();
        assert_eq!(r.test_rows, 20 * 20);
        assert_eq!(r.train_rows, 33 * 20);
        assert!(r.model_metrics.auroc > 0.9, "{:?}", r.model_metrics);
        assert!(r.baseline_metrics.auroc > 0.9, "{:?}", r.baseline_metrics);
        assert!(r.model_metrics.brier < r.prevalence_brier);
    }

    #[test]
    fn labels_shuffled_in_time_give_chance_auroc() {
        // Permute the labels across time (Fisher–Yates with a fixed xorshift seed): no signal
        // remains, so a model that does not peek scores about 0.5.
        let (x, mut shuffled, d) = synthetic(120);
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let h = Holdout {
            features: &["cr", "noise"],
            values: &x,
            labels: &shuffled,
            days: &d,
            baseline_feature: "cr",
        };
        let r = h.run(TimeSplit::new(80, 7), &LogisticParams::default().check().unwrap()).unwrap();
        assert!((r.model_metrics.auroc - 0.5).abs() < 0.06, "{:?}", r.model_metrics);
    }

    #[test]
    fn empty_or_single_class_sides_are_errors() {
        let (x, y, d) = synthetic(10);
        let h = Holdout {
            features: &["cr", "noise"],
            values: &x,
            labels: &y,
            days: &d,
            baseline_feature: "cr",
        };
        let p = LogisticParams::default().check().unwrap();
        let err = h.run(TimeSplit::new(100, 7), &p).unwrap_err().to_string();
        assert!(err.contains("test side"), "{err}");
        let h2 = Holdout { baseline_feature: "missing", ..h };
        assert!(h2.run(TimeSplit::new(5, 1), &p).unwrap_err().to_string().contains("missing"));
    }
}
