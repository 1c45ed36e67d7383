//! Stress scenarios: a price path from history (a named window, or one of the worst drawdowns of
//! the ETH/USD history), a shocked variant of it (its drawdown scaled), and seeded reorderings of
//! its daily returns, each replayed against a policy's book frozen at the valuation day: no flows,
//! the parameters in force that day, a liquidation check at every daily close.

use serde::Serialize;
use zkrisk_models::market_risk::SplitMix64;

use crate::replay::{Params, Position, liquidate};

/// A scenario: the price relative to the valuation close after each day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// `historical`, `shocked` or `reordered`.
    pub kind: &'static str,
    /// First day of the source window.
    pub from: i64,
    /// Last day of the source window.
    pub to: i64,
    /// `p(t) / p(0)` after each day of the path.
    #[serde(skip)]
    pub path: Vec<f64>,
    /// Lowest point of the path relative to its start, `1 − min(p) / p(0)`.
    pub max_drop: f64,
}

/// The price ratios of `closes[from..=to]` relative to the close before `from`.
pub fn window_path(closes: &[f64], first_day: i64, from: i64, to: i64) -> Option<Vec<f64>> {
    let i = usize::try_from(from - first_day - 1).ok()?;
    let j = usize::try_from(to - first_day).ok()?;
    let base = *closes.get(i)?;
    closes.get(i + 1..=j).map(|w| w.iter().map(|p| p / base).collect())
}

/// The path with its fall from the start scaled by `factor`: `1 − factor · (1 − r)`, floored at
/// 1 % (rises are scaled the same way, so the shape is kept).
pub fn shocked(path: &[f64], factor: f64) -> Vec<f64> {
    path.iter().map(|r| (1.0 - factor * (1.0 - r)).max(0.01)).collect()
}

/// The path's daily returns in a seeded random order (Fisher–Yates with [`SplitMix64`]): same
/// total move, different timing.
pub fn reordered(path: &[f64], seed: u64) -> Vec<f64> {
    let mut steps: Vec<f64> = path
        .iter()
        .scan(1.0, |prev, r| {
            let s = r / *prev;
            *prev = *r;
            Some(s)
        })
        .collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..steps.len()).rev() {
        steps.swap(i, rng.below(i + 1));
    }
    steps
        .iter()
        .scan(1.0, |p, s| {
            *p *= s;
            Some(*p)
        })
        .collect()
}

/// `1 − min(path)` (0 when the path never falls below its start).
pub fn max_drop(path: &[f64]) -> f64 {
    (1.0 - path.iter().copied().fold(1.0, f64::min)).max(0.0)
}

/// The `k` worst non-overlapping windows of `len` days by peak-to-trough drawdown of the closes,
/// within days `since..=until` (and the closes' span), as `(from, to, drawdown)`, worst first.
pub fn worst_windows(
    closes: &[f64],
    first_day: i64,
    (since, until): (i64, i64),
    len: i64,
    k: usize,
) -> Vec<(i64, i64, f64)> {
    let n = usize::try_from(until - first_day + 1).unwrap_or(0).min(closes.len());
    let l = usize::try_from(len).unwrap_or(0);
    let mut all = Vec::new();
    let start = usize::try_from(since - first_day).unwrap_or(0).max(1);
    for s in start..n.saturating_sub(l - 1) {
        // The window [s, s + l − 1] with its peak counted from the close before it.
        let (mut peak, mut dd) = (closes[s - 1], 0.0_f64);
        for p in &closes[s..s + l] {
            peak = peak.max(*p);
            dd = dd.max(1.0 - p / peak);
        }
        all.push((s, dd));
    }
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out: Vec<(i64, i64, f64)> = Vec::new();
    for (s, dd) in all {
        let from = first_day + s as i64;
        if out.iter().all(|(a, b, _)| from + len - 1 < *a || from > *b) {
            out.push((from, from + len - 1, dd));
            if out.len() == k {
                break;
            }
        }
    }
    out
}

/// What a scenario does to a book.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StressOutcome {
    /// Debt of the book at the start, DAI.
    pub debt: f64,
    /// Vaults liquidated.
    pub liquidations: u32,
    /// Collateral seized, USD.
    pub liquidated_usd: f64,
    /// Bad debt, DAI.
    pub bad_debt: f64,
}

/// Replays `path` (relative to `p0`) against frozen `positions` under `params`.
pub fn apply(
    positions: &[Position],
    p0: f64,
    path: &[f64],
    params: &Params,
    discount: f64,
    dust: f64,
) -> StressOutcome {
    let mut book: Vec<Position> = positions.iter().copied().filter(|s| s.debt > 0.0).collect();
    let mut out = StressOutcome {
        debt: book.iter().map(|s| s.debt).sum(),
        liquidations: 0,
        liquidated_usd: 0.0,
        bad_debt: 0.0,
    };
    for r in path {
        let p = p0 * r;
        for s in &mut book {
            if s.debt > dust && params.lt * s.collateral * p < s.debt {
                let l = liquidate(s.collateral, s.debt, p, params.bonus, discount);
                out.liquidations += 1;
                out.liquidated_usd += l.seized * p;
                out.bad_debt += l.bad_debt;
                *s = Position::default();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_shocks_and_windows() {
        let closes = [100.0, 110.0, 88.0, 66.0, 99.0, 100.0, 50.0, 60.0];
        assert_eq!(window_path(&closes, 10, 12, 13).unwrap(), vec![0.8, 0.6]);
        let s = shocked(&[0.8, 0.6, 1.1], 1.5);
        assert!(
            (s[0] - 0.7).abs() < 1e-12 && (s[1] - 0.4).abs() < 1e-12 && (s[2] - 1.15).abs() < 1e-12
        );
        assert_eq!(shocked(&[0.2], 2.0), vec![0.01]);
        // Reordering keeps the end point.
        let r = reordered(&[0.9, 0.5, 0.8, 0.7], 7);
        assert!((r[3] - 0.7).abs() < 1e-12, "{r:?}");
        assert_eq!(reordered(&[0.9, 0.5, 0.8, 0.7], 7), r);
        assert!((max_drop(&[0.9, 0.5, 1.2]) - 0.5).abs() < 1e-12);
        // Two-day windows: the worst is 100 → 50 (days 15-16: peak 100 on day 15), then 110 → 66
        // (days 12-13).
        let w = worst_windows(&closes, 10, (0, 17), 2, 2);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].0, w[0].1), (15, 16));
        assert!((w[0].2 - 0.5).abs() < 1e-12);
        assert_eq!((w[1].0, w[1].1), (12, 13));
        // From day 14 on, only the fall to 50 is left.
        let w = worst_windows(&closes, 10, (14, 17), 2, 3);
        assert_eq!(w.iter().map(|x| x.0).collect::<Vec<_>>(), vec![15]);
    }

    #[test]
    fn a_frozen_book_under_a_crash() {
        // Ratio 150 %: vault 1 (10 ETH, 5 000 DAI) at 1 000 falls at 0.7 (7 000 · 2/3 = 4 667 <
        // 5 000), covered; vault 2 (10 ETH, 6 000) falls at 0.85, covered (8 500 ≥ 6 780).
        let book = [
            Position { collateral: 10.0, debt: 5_000.0 },
            Position { collateral: 10.0, debt: 6_000.0 },
        ];
        let o = apply(&book, 1_000.0, &[0.85, 0.7, 0.4], &Params::maker(1.5, 1.13), 0.0, 1.0);
        assert_eq!(o.liquidations, 2);
        assert!((o.liquidated_usd - 11_000.0 * 1.13).abs() < 1e-9);
        assert_eq!(o.bad_debt, 0.0);
        // Straight to 0.4: both under water (4 000 < 5 000, 6 000).
        let o = apply(&book, 1_000.0, &[0.4], &Params::maker(1.5, 1.13), 0.0, 1.0);
        assert!((o.bad_debt - 3_000.0).abs() < 1e-9);
    }
}
