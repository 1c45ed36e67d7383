//! The no-look-ahead guard: a feature of a row dated `d` may use only data known at the end of
//! `d`. The guard recomputes every feature from the data cut at a decision day `t` and compares it
//! with the value computed from all data, for every row dated `≤ t`. A feature that reads anything
//! later (a shifted label, a centred moving average, a full-sample normalisation) changes and is
//! refused with [`Error::LookAhead`], naming the feature, the row and both values.

use std::collections::HashMap;

use serde::Serialize;

use crate::{
    Error, Result,
    history::{FeatureSource, Features},
};

/// Relative difference above which two values of a feature differ.
pub const TOLERANCE: f64 = 1e-9;

/// What the guard checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LookaheadReport {
    /// Decision days the data were cut at.
    pub checkpoints: Vec<i32>,
    /// Feature values compared (rows × features, summed over checkpoints).
    pub values_compared: usize,
}

/// Checks that every feature of `full` (the source's features from all data) equals the same
/// feature computed from the data cut at each of `checkpoints`, on every row dated at or before
/// the checkpoint.
///
/// # Errors
/// [`Error::LookAhead`] at the first difference; the source's errors.
pub fn check(
    source: &dyn FeatureSource,
    full: &Features,
    checkpoints: &[i32],
) -> Result<LookaheadReport> {
    let index: HashMap<(&str, i32), usize> = full
        .accounts
        .iter()
        .zip(&full.dates)
        .enumerate()
        .map(|(i, (a, d))| ((a.as_str(), *d), i))
        .collect();
    let mut compared = 0;
    for &t in checkpoints {
        let cut = source.features(Some(t))?;
        if cut.names != full.names {
            return Err(Error::Data(format!("feature columns differ at the cut {t}")));
        }
        for i in (0..cut.rows()).filter(|i| cut.dates[*i] <= t) {
            let Some(&j) = index.get(&(cut.accounts[i].as_str(), cut.dates[i])) else {
                return Err(Error::LookAhead {
                    feature: "(row set)".into(),
                    account: cut.accounts[i].clone(),
                    day: cut.dates[i],
                    checkpoint: t,
                    full: f64::NAN,
                    cut: f64::NAN,
                });
            };
            for (k, name) in full.names.iter().enumerate() {
                let (a, b) = (full.row(j)[k], cut.row(i)[k]);
                compared += 1;
                if (a - b).abs() > TOLERANCE * a.abs().max(b.abs()).max(1.0) {
                    return Err(Error::LookAhead {
                        feature: name.clone(),
                        account: cut.accounts[i].clone(),
                        day: cut.dates[i],
                        checkpoint: t,
                        full: a,
                        cut: b,
                    });
                }
            }
        }
    }
    Ok(LookaheadReport { checkpoints: checkpoints.to_vec(), values_compared: compared })
}

/// A source that adds a column to another source's features: the tests use it to plant a
/// feature that reads the future.
pub struct Planted<'a> {
    /// The honest source.
    pub inner: &'a dyn FeatureSource,
    /// Name of the added column.
    pub name: String,
    /// The added value of a row, from the row's features and label.
    pub value: fn(&[f64], bool) -> f64,
}

impl FeatureSource for Planted<'_> {
    fn probe_days(&self) -> Vec<i32> {
        self.inner.probe_days()
    }

    fn features(&self, until: Option<i32>) -> Result<Features> {
        let f = self.inner.features(until)?;
        let cols = f.names.len();
        let mut values = Vec::with_capacity(f.rows() * (cols + 1));
        for i in 0..f.rows() {
            values.extend_from_slice(f.row(i));
            values.push((self.value)(f.row(i), f.labels[i]));
        }
        let mut names = f.names.clone();
        names.push(self.name.clone());
        Ok(Features { names, values, ..f })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows for days 0..n of one account; the feature is the running count of past "events",
    /// optionally plus a look at the next day.
    struct Toy {
        events: Vec<i32>,
        peek: bool,
    }

    impl FeatureSource for Toy {
        fn features(&self, until: Option<i32>) -> Result<Features> {
            let known: Vec<i32> =
                self.events.iter().copied().filter(|e| until.is_none_or(|t| *e <= t)).collect();
            let last = until.unwrap_or(20);
            let mut f = Features {
                names: vec!["past".into()],
                values: vec![],
                labels: vec![],
                dates: vec![],
                accounts: vec![],
            };
            for d in 0..=last {
                let past = known.iter().filter(|e| **e <= d).count() as f64;
                let next = known.iter().filter(|e| **e == d + 1).count() as f64;
                f.values.push(if self.peek { past + next } else { past });
                f.labels.push(next > 0.0);
                f.dates.push(d);
                f.accounts.push("a".into());
            }
            Ok(f)
        }
    }

    #[test]
    fn honest_features_pass_and_peeking_ones_are_named() {
        let honest = Toy { events: vec![3, 8, 9], peek: false };
        let full = honest.features(None).unwrap();
        let r = check(&honest, &full, &[5, 8, 12]).unwrap();
        assert_eq!(r.values_compared, 6 + 9 + 13);
        let peeking = Toy { events: vec![3, 8, 9], peek: true };
        let full = peeking.features(None).unwrap();
        // Cut at 5: nothing happens on day 6, so the peek is invisible there.
        check(&peeking, &full, &[5]).unwrap();
        match check(&peeking, &full, &[5, 7]).unwrap_err() {
            Error::LookAhead { feature, day, checkpoint, full, cut, .. } => {
                assert_eq!((feature.as_str(), day, checkpoint), ("past", 7, 7));
                assert_eq!((full, cut), (2.0, 1.0));
            }
            e => panic!("{e}"),
        }
    }
}
