//! The keeper's Prometheus metrics, rendered in the text exposition format (version 0.0.4) by
//! `GET /metrics`. Every series is named `zkrisk_keeper_*`; the ones a feed owns carry a `feed`
//! label (`feed/MARKET`).

use std::{collections::BTreeMap, fmt::Write as _, sync::Mutex};

/// Every metric: name, type and help text.
pub const METRICS: &[(&str, &str, &str)] = &[
    (
        "zkrisk_keeper_epochs_total",
        "counter",
        "Epochs by outcome: planned, proven, submitted, confirmed, skipped, rejected.",
    ),
    ("zkrisk_keeper_step_errors_total", "counter", "Steps that failed with a retryable error."),
    ("zkrisk_keeper_proof_seconds_sum", "counter", "Seconds spent proving."),
    ("zkrisk_keeper_proof_seconds_count", "counter", "Proofs made."),
    ("zkrisk_keeper_last_proof_seconds", "gauge", "Seconds the last proof took."),
    ("zkrisk_keeper_gas_used_total", "counter", "Gas used by the keeper's mined submissions."),
    ("zkrisk_keeper_last_gas_used", "gauge", "Gas used by the last mined submission."),
    (
        "zkrisk_keeper_steward_refusals_total",
        "counter",
        "Mined submissions the oracle recorded but the steward refused to queue (StewardRefused).",
    ),
    ("zkrisk_keeper_wallet_balance_wei", "gauge", "Balance of the keeper's wallet."),
    ("zkrisk_keeper_head_block", "gauge", "Latest block the RPC reported."),
    ("zkrisk_keeper_lag_blocks", "gauge", "Blocks between the head and the last block ingested."),
    ("zkrisk_keeper_last_confirmed_epoch", "gauge", "Latest epoch confirmed on chain."),
    ("zkrisk_keeper_leader", "gauge", "1 while this keeper holds the wallet's lease."),
    (
        "zkrisk_keeper_ready",
        "gauge",
        "1 when the keeper passed its start checks and reaches the RPC.",
    ),
];

/// A set of series: `name{labels}` → value.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String), f64>>,
}

fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(",")
}

impl Metrics {
    fn update(&self, name: &str, pairs: &[(&str, &str)], f: impl FnOnce(&mut f64)) {
        debug_assert!(METRICS.iter().any(|m| m.0 == name), "unknown metric {name}");
        let mut s = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(s.entry((name.to_string(), labels(pairs))).or_insert(0.0));
    }

    /// Adds `v` to a counter.
    pub fn add(&self, name: &str, pairs: &[(&str, &str)], v: f64) {
        self.update(name, pairs, |x| *x += v);
    }

    /// Sets a gauge.
    pub fn set(&self, name: &str, pairs: &[(&str, &str)], v: f64) {
        self.update(name, pairs, |x| *x = v);
    }

    /// The value of a series, if it was ever written.
    pub fn get(&self, name: &str, pairs: &[(&str, &str)]) -> Option<f64> {
        let s = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.get(&(name.to_string(), labels(pairs))).copied()
    }

    /// Records one proof.
    pub fn proof(&self, feed: &str, seconds: f64) {
        let l = [("feed", feed)];
        self.add("zkrisk_keeper_proof_seconds_sum", &l, seconds);
        self.add("zkrisk_keeper_proof_seconds_count", &l, 1.0);
        self.set("zkrisk_keeper_last_proof_seconds", &l, seconds);
    }

    /// Counts an epoch outcome.
    pub fn epoch(&self, feed: &str, outcome: &str) {
        self.add("zkrisk_keeper_epochs_total", &[("feed", feed), ("outcome", outcome)], 1.0);
    }

    /// The text exposition of every series written so far.
    pub fn render(&self) -> String {
        let s = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        for (name, kind, help) in METRICS {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((n, l), v) in s.iter().filter(|((n, _), _)| n == name) {
                let _ = if l.is_empty() {
                    writeln!(out, "{n} {v}")
                } else {
                    writeln!(out, "{n}{{{l}}} {v}")
                };
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_render_in_the_text_format() {
        let m = Metrics::default();
        m.epoch("weth-7d/WETH", "confirmed");
        m.epoch("weth-7d/WETH", "confirmed");
        m.proof("weth-7d/WETH", 2.5);
        m.set("zkrisk_keeper_wallet_balance_wei", &[], 1e18);
        let text = m.render();
        assert!(
            text.contains(
                "zkrisk_keeper_epochs_total{feed=\"weth-7d/WETH\",outcome=\"confirmed\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains("zkrisk_keeper_proof_seconds_sum{feed=\"weth-7d/WETH\"} 2.5\n"));
        assert!(text.contains("# TYPE zkrisk_keeper_wallet_balance_wei gauge\n"));
        assert!(text.contains("zkrisk_keeper_wallet_balance_wei 1000000000000000000\n"));
        assert_eq!(
            m.get("zkrisk_keeper_proof_seconds_count", &[("feed", "weth-7d/WETH")]),
            Some(1.0)
        );
    }
}
