//! Classification metrics on probabilities and binary labels.

use crate::{Error, Result};

fn check(scores: &[f64], labels: &[bool]) -> Result<()> {
    if scores.len() != labels.len() {
        return Err(Error::Shape(format!("{} scores for {} labels", scores.len(), labels.len())));
    }
    if scores.is_empty() {
        return Err(Error::Shape("no scores".into()));
    }
    Ok(())
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counted as one half (Mann–Whitney U with mid-ranks).
///
/// Errors when either class is absent (AUROC is undefined then).
pub fn auroc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    check(scores, labels)?;
    let pos = labels.iter().filter(|l| **l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(Error::SingleClass { positives: pos, rows: labels.len() });
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    // Sum of the mid-ranks (1-based) of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid * idx[i..=j].iter().filter(|k| labels[**k]).count() as f64;
        i = j + 1;
    }
    let (pos, neg) = (pos as f64, neg as f64);
    Ok((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// Brier score: mean squared difference between probability and outcome (lower is better).
pub fn brier(probabilities: &[f64], labels: &[bool]) -> Result<f64> {
    check(probabilities, labels)?;
    let sum: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(p, y)| (p - if *y { 1.0 } else { 0.0 }).powi(2))
        .sum();
    Ok(sum / labels.len() as f64)
}

/// Share of positive labels.
pub fn prevalence(labels: &[bool]) -> f64 {
    labels.iter().filter(|l| **l).count() as f64 / labels.len().max(1) as f64
}

/// Area under the precision–recall curve as average precision: the mean, over positives, of the
/// precision at each positive's rank, rows with tied scores entering together (a step function,
/// no interpolation).
///
/// Errors when there is no positive.
pub fn auc_pr(scores: &[f64], labels: &[bool]) -> Result<f64> {
    check(scores, labels)?;
    let pos = labels.iter().filter(|l| **l).count();
    if pos == 0 {
        return Err(Error::SingleClass { positives: 0, rows: labels.len() });
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let (mut tp, mut seen, mut ap) = (0usize, 0usize, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let new_tp = idx[i..=j].iter().filter(|k| labels[**k]).count();
        tp += new_tp;
        seen += j - i + 1;
        ap += new_tp as f64 * tp as f64 / seen as f64;
        i = j + 1;
    }
    Ok(ap / pos as f64)
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin (probability).
    pub lower: f64,
    /// Upper edge of the bin.
    pub upper: f64,
    /// Rows in the bin.
    pub count: usize,
    /// Mean predicted probability in the bin (0 when empty).
    pub mean_predicted: f64,
    /// Observed positive rate in the bin (0 when empty).
    pub observed_rate: f64,
}

/// Reliability diagram with `bins` equal-width bins over [0, 1] (a probability of exactly 1 falls
/// in the last bin).
pub fn reliability(
    probabilities: &[f64],
    labels: &[bool],
    bins: usize,
) -> Result<Vec<ReliabilityBin>> {
    check(probabilities, labels)?;
    if bins == 0 {
        return Err(Error::InvalidParam { name: "bins", reason: "must be > 0".into() });
    }
    let mut sum_p = vec![0.0; bins];
    let mut sum_y = vec![0.0; bins];
    let mut count = vec![0usize; bins];
    for (p, y) in probabilities.iter().zip(labels) {
        let b = ((p.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        sum_p[b] += p;
        sum_y[b] += if *y { 1.0 } else { 0.0 };
        count[b] += 1;
    }
    Ok((0..bins)
        .map(|b| {
            let n = count[b].max(1) as f64;
            ReliabilityBin {
                lower: b as f64 / bins as f64,
                upper: (b + 1) as f64 / bins as f64,
                count: count[b],
                mean_predicted: sum_p[b] / n,
                observed_rate: sum_y[b] / n,
            }
        })
        .collect())
}

/// Expected calibration error with `bins` equal-width bins: `Σ_b (n_b / n) · |mean p_b - rate_b|`.
pub fn ece(probabilities: &[f64], labels: &[bool], bins: usize) -> Result<f64> {
    let n = labels.len() as f64;
    Ok(reliability(probabilities, labels, bins)?
        .iter()
        .map(|b| b.count as f64 / n * (b.mean_predicted - b.observed_rate).abs())
        .sum())
}

/// Kolmogorov–Smirnov statistic: the largest gap between the score distributions of positives
/// and negatives, `max_t |F_pos(t) - F_neg(t)|`, in [0, 1].
///
/// Errors when either class is absent.
pub fn ks(scores: &[f64], labels: &[bool]) -> Result<f64> {
    check(scores, labels)?;
    let pos = labels.iter().filter(|l| **l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(Error::SingleClass { positives: pos, rows: labels.len() });
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let (mut cp, mut cn, mut best) = (0usize, 0usize, 0.0_f64);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        for k in &idx[i..=j] {
            if labels[*k] {
                cp += 1;
            } else {
                cn += 1;
            }
        }
        best = best.max((cp as f64 / pos as f64 - cn as f64 / neg as f64).abs());
        i = j + 1;
    }
    Ok(best)
}

/// The five hold-out metrics of one set of probabilities.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Area under the ROC curve.
    pub auroc: f64,
    /// Average precision (area under the precision–recall curve).
    pub auc_pr: f64,
    /// Brier score.
    pub brier: f64,
    /// Expected calibration error, 10 equal-width bins.
    pub ece: f64,
    /// Kolmogorov–Smirnov statistic.
    pub ks: f64,
}

/// Bins used by [`Summary::of`] for the expected calibration error.
pub const ECE_BINS: usize = 10;

impl Summary {
    /// All five metrics; errors when either class is absent.
    pub fn of(probabilities: &[f64], labels: &[bool]) -> Result<Self> {
        Ok(Self {
            auroc: auroc(probabilities, labels)?,
            auc_pr: auc_pr(probabilities, labels)?,
            brier: brier(probabilities, labels)?,
            ece: ece(probabilities, labels, ECE_BINS)?,
            ks: ks(probabilities, labels)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_table() {
        let cases: &[(&[f64], &[bool], f64)] = &[
            (&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true], 1.0),
            (&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true], 0.0),
            (&[0.5, 0.5, 0.5, 0.5], &[false, true, false, true], 0.5),
            // One of four positive/negative pairs is misordered.
            (&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true], 0.75),
            // A tie between a positive and a negative counts one half.
            (&[0.1, 0.5, 0.5, 0.9], &[false, false, true, true], 0.875),
        ];
        for (s, l, want) in cases {
            let got = auroc(s, l).unwrap();
            assert!((got - want).abs() < 1e-12, "{s:?} {l:?}: {got} != {want}");
        }
        assert!(auroc(&[0.1, 0.2], &[true, true]).is_err());
        assert!(auroc(&[0.1], &[true, false]).is_err());
    }

    #[test]
    fn brier_table() {
        assert_eq!(brier(&[1.0, 0.0], &[true, false]).unwrap(), 0.0);
        assert_eq!(brier(&[0.0, 1.0], &[true, false]).unwrap(), 1.0);
        assert!((brier(&[0.5, 0.5], &[true, false]).unwrap() - 0.25).abs() < 1e-15);
        assert!(brier(&[], &[]).is_err());
    }

    #[test]
    fn auc_pr_table() {
        let cases: &[(&[f64], &[bool], f64)] = &[
            (&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true], 1.0),
            // Ranks: pos at 1 (precision 1), pos at 3 (precision 2/3).
            (&[0.9, 0.8, 0.7, 0.1], &[true, false, true, false], (1.0 + 2.0 / 3.0) / 2.0),
            // All tied: precision = prevalence.
            (&[0.5, 0.5, 0.5, 0.5], &[false, true, false, false], 0.25),
        ];
        for (s, l, want) in cases {
            let got = auc_pr(s, l).unwrap();
            assert!((got - want).abs() < 1e-12, "{s:?} {l:?}: {got} != {want}");
        }
        assert!(auc_pr(&[0.1], &[false]).is_err());
    }

    #[test]
    fn ece_table() {
        // Perfectly calibrated bins give 0.
        let p = [0.25, 0.25, 0.25, 0.25];
        assert!(ece(&p, &[true, false, false, false], 10).unwrap().abs() < 1e-12);
        // One bin, predicted 0.9, observed 0.5: error 0.4.
        assert!((ece(&[0.9, 0.9], &[true, false], 10).unwrap() - 0.4).abs() < 1e-12);
        // Two bins of two rows: |0.1 - 0| and |0.8 - 1| weighted 1/2 each.
        let e = ece(&[0.1, 0.1, 0.8, 0.8], &[false, false, true, true], 10).unwrap();
        assert!((e - 0.15).abs() < 1e-12, "{e}");
        assert!(ece(&[0.5], &[true], 0).is_err());
        let bins = reliability(&[1.0, 0.0], &[true, false], 4).unwrap();
        assert_eq!(bins[3].count, 1);
        assert_eq!(bins[0].count, 1);
    }

    #[test]
    fn ks_table() {
        let cases: &[(&[f64], &[bool], f64)] = &[
            (&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true], 1.0),
            (&[0.5, 0.5, 0.5, 0.5], &[false, true, false, true], 0.0),
            (&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true], 0.5),
        ];
        for (s, l, want) in cases {
            let got = ks(s, l).unwrap();
            assert!((got - want).abs() < 1e-12, "{s:?} {l:?}: {got} != {want}");
        }
        assert!(ks(&[0.1, 0.2], &[true, true]).is_err());
    }
}
