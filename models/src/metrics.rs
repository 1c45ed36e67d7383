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
}
