//! The report: one self-contained HTML page (inline SVG plots, no script, no external file) and a
//! plain-text summary for the terminal.

use std::fmt::Write as _;

use zkrisk_pipeline::prices::ymd;

use crate::{
    Result,
    run::{Outcome, PolicyOutcome},
    walk_forward::SERIES,
};

const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#7f7f7f"];
const W: f64 = 760.0;
const H: f64 = 300.0;
const PAD: f64 = 56.0;
/// Room right of the plot for the legend.
const LEGEND: f64 = 210.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a >= 1e9 {
        format!("{:.2}B", x / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else if a >= 100.0 || a == 0.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// A line chart of named series of `(x, y)` points; `dates` formats x as days.
struct Lines<'a> {
    title: &'a str,
    y_label: &'a str,
    series: Vec<(String, Vec<(f64, f64)>)>,
    dates: bool,
    steps: bool,
    fixed_y: Option<(f64, f64)>,
    /// Start the y axis at 0 (else at the data's minimum).
    zero: bool,
}

impl Lines<'_> {
    fn svg(&self) -> String {
        let pts = self.series.iter().flat_map(|(_, p)| p.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (x, y) in pts.filter(|(x, y)| x.is_finite() && y.is_finite()) {
            (x0, x1, y0, y1) = (x0.min(*x), x1.max(*x), y0.min(*y), y1.max(*y));
        }
        if x0 > x1 {
            return format!("<p>{}: no data</p>", esc(self.title));
        }
        if let Some((a, b)) = self.fixed_y {
            (y0, y1) = (a, b);
        } else if self.zero {
            y0 = y0.min(0.0);
        } else {
            let pad = (y1 - y0).abs().max(1e-9) * 0.08;
            (y0, y1) = (y0 - pad, y1 + pad);
        }
        if (y1 - y0).abs() < 1e-12 {
            y1 = y0 + 1.0;
        }
        if (x1 - x0).abs() < 1e-12 {
            x1 = x0 + 1.0;
        }
        let sx = |x: f64| PAD + (x - x0) / (x1 - x0) * (W - 2.0 * PAD);
        let sy = |y: f64| H - PAD + (y0 - y) / (y1 - y0) * (H - 2.0 * PAD);
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{H}" viewBox="0 0 {w} {H}" font-family="sans-serif" font-size="11">"#,
            w = W + LEGEND
        );
        let _ = writeln!(s, r#"<rect width="{}" height="{H}" fill="white"/>"#, W + LEGEND);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="18" font-size="13" font-weight="bold">{}</text>"#,
            PAD,
            esc(self.title)
        );
        let _ = writeln!(
            s,
            r#"<line x1="{PAD}" y1="{b}" x2="{r}" y2="{b}" stroke="black"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{b}" stroke="black"/>"#,
            b = H - PAD,
            r = W - PAD
        );
        for i in 0..=4 {
            let y = y0 + (y1 - y0) * f64::from(i) / 4.0;
            let _ = writeln!(
                s,
                r##"<line x1="{PAD}" y1="{py:.1}" x2="{r}" y2="{py:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{}</text>"##,
                fmt_num(y),
                py = sy(y),
                r = W - PAD,
                tx = PAD - 4.0,
                ty = sy(y) + 4.0
            );
            let x = x0 + (x1 - x0) * f64::from(i) / 4.0;
            let label = if self.dates { ymd(x.round() as i64) } else { fmt_num(x) };
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{label}</text>"#,
                sx(x),
                H - PAD + 16.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>"#,
            H / 2.0,
            H / 2.0,
            esc(self.y_label)
        );
        for (k, (name, p)) in self.series.iter().enumerate() {
            let c = if name == "perfect" { "#999999" } else { COLOURS[k % COLOURS.len()] };
            let mut d = String::new();
            let mut prev: Option<(f64, f64)> = None;
            for (x, y) in p.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
                match prev {
                    None => {
                        let _ = write!(d, "M{:.1},{:.1}", sx(*x), sy(*y));
                    }
                    Some((_, py)) if self.steps => {
                        let _ =
                            write!(d, " L{:.1},{:.1} L{:.1},{:.1}", sx(*x), sy(py), sx(*x), sy(*y));
                    }
                    Some(_) => {
                        let _ = write!(d, " L{:.1},{:.1}", sx(*x), sy(*y));
                    }
                }
                prev = Some((*x, *y));
            }
            let _ = writeln!(s, r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="1.8"/>"#);
            if p.len() <= 40 {
                for (x, y) in p.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{c}"/>"#,
                        sx(*x),
                        sy(*y)
                    );
                }
            }
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" fill="{c}">{}</text>"#,
                W - PAD + 16.0,
                PAD + 14.0 * k as f64,
                esc(name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

/// Grouped bars: one group per category, one bar per series.
fn bars(
    title: &str,
    y_label: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
) -> String {
    let y1 = series
        .iter()
        .flat_map(|(_, v)| v.iter())
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.1 };
    let h = H + 90.0;
    let group = (W - 2.0 * PAD) / categories.len().max(1) as f64;
    let bar = group * 0.8 / series.len().max(1) as f64;
    let sy = |y: f64| h - PAD - 90.0 + (-y) / y1 * (h - 2.0 * PAD - 90.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#,
        w = W + LEGEND
    );
    let _ = writeln!(s, r#"<rect width="{}" height="{h}" fill="white"/>"#, W + LEGEND);
    let _ = writeln!(
        s,
        r#"<text x="{PAD}" y="18" font-size="13" font-weight="bold">{}</text>"#,
        esc(title)
    );
    let base = h - PAD - 90.0;
    let _ = writeln!(
        s,
        r#"<line x1="{PAD}" y1="{base}" x2="{}" y2="{base}" stroke="black"/>"#,
        W - PAD
    );
    for i in 0..=4 {
        let y = y1 * f64::from(i) / 4.0;
        let _ = writeln!(
            s,
            r##"<line x1="{PAD}" y1="{py:.1}" x2="{r}" y2="{py:.1}" stroke="#eee"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{}</text>"##,
            fmt_num(y),
            py = sy(y),
            r = W - PAD,
            tx = PAD - 4.0,
            ty = sy(y) + 4.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="14" y="{m}" transform="rotate(-90 14 {m})" text-anchor="middle">{}</text>"#,
        esc(y_label),
        m = h / 2.0
    );
    for (c, cat) in categories.iter().enumerate() {
        let gx = PAD + group * c as f64 + group * 0.1;
        for (k, (_, v)) in series.iter().enumerate() {
            let y = v.get(c).copied().unwrap_or(0.0).max(0.0);
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
                gx + bar * k as f64,
                sy(y),
                bar.max(1.0),
                (base - sy(y)).max(0.0),
                COLOURS[k % COLOURS.len()],
                fmt_num(y)
            );
        }
        let label: String = cat.chars().take(48).collect();
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{y}" transform="rotate(-30 {x:.1} {y})" text-anchor="end" font-size="10">{}</text>"#,
            esc(&label),
            x = gx + group * 0.4,
            y = base + 12.0
        );
    }
    for (k, (name, _)) in series.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" fill="{}">{}</text>"#,
            W - PAD + 16.0,
            PAD + 14.0 * k as f64,
            COLOURS[k % COLOURS.len()],
            esc(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>\n");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(c));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}

fn cumulative(days: impl Iterator<Item = (i64, f64)>) -> Vec<(f64, f64)> {
    let mut acc = 0.0;
    days.map(|(d, v)| {
        acc += v;
        (d as f64, acc)
    })
    .collect()
}

fn policy_rows(p: &[PolicyOutcome]) -> Vec<Vec<String>> {
    p.iter()
        .map(|p| {
            let t = &p.totals;
            let fwd = |f: fn(&crate::replay::ForwardRisk) -> f64| {
                if p.forward.is_empty() {
                    0.0
                } else {
                    p.forward.iter().map(f).sum::<f64>() / p.forward.len() as f64
                }
            };
            vec![
                p.key.to_string(),
                t.liquidations.to_string(),
                t.vaults_liquidated.to_string(),
                format!("{:.0}", t.liquidated_usd),
                format!("{:.2}", t.bad_debt),
                format!("{:.0}", t.lar95_daily),
                format!("{:.0}", fwd(|f| f.var95)),
                format!("{:.0}", fwd(|f| f.es95)),
                format!("{:.0}", fwd(|f| f.lar95)),
                format!("{:.0}", t.mean_borrowing_power),
                format!("{:.0}", t.borrow_denied),
                t.parameter_changes.to_string(),
            ]
        })
        .collect()
}

/// The report page.
///
/// # Errors
/// None today; kept fallible for formats that can fail.
pub fn html(o: &Outcome) -> Result<String> {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>zkrisk backtest</title><style>body{{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:1em 0;font-size:12px}}td,th{{border:1px solid #ccc;padding:3px 7px;text-align:right}}th{{background:#f4f4f4}}td:first-child{{text-align:left}}svg{{display:block;margin:1em 0}}.note{{color:#555;font-size:13px}}</style></head><body>"
    );
    let _ = writeln!(
        h,
        "<h1>zkrisk backtest — MakerDAO ETH-B, {} → {}</h1><p class=\"note\">Seed {}. Data: data/maker-eth-b (vault events), data/prices/eth_usd_daily_coingecko.csv (daily closes). Method and limits: docs/backtest.md. Every number here is also in metrics.json.</p>",
        ymd(o.days.0),
        ymd(o.days.1),
        o.config.raw.seed
    );
    if let Some(m) = &o.model {
        let _ = writeln!(
            h,
            "<h2>Walk-forward model evaluation (liquidation within {} days)</h2>",
            m.horizon
        );
        let guard = m.lookahead.as_ref().map_or("<b>off</b>".to_string(), |g| {
            format!(
                "passed: features recomputed from the data cut at {} decision days ({}), {} values compared, none changed",
                g.checkpoints.len(),
                g.checkpoints.iter().map(|d| ymd(i64::from(*d))).collect::<Vec<_>>().join(", "),
                g.values_compared
            )
        });
        let _ = writeln!(
            h,
            "<p class=\"note\">Source: {}. {} account-days, features {}. Each fold trains on rows whose label window closes before its validation window, calibrates on that window, and tests on the next {} days. No-look-ahead guard: {guard}.</p>",
            esc(&m.source),
            m.rows,
            m.features.join(", "),
            o.config.model.test_days
        );
        let x = |f: &crate::walk_forward::FoldReport| f64::from(f.fold.test_start);
        let metric = |name: &'static str, get: fn(&zkrisk_models::metrics::Summary) -> f64| Lines {
            title: name,
            y_label: name.split_whitespace().next().unwrap_or(name),
            series: SERIES
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    (
                        s.to_string(),
                        m.report
                            .folds
                            .iter()
                            .filter_map(|f| f.metrics[k].map(|v| (x(f), get(&v))))
                            .collect(),
                    )
                })
                .collect(),
            dates: true,
            steps: false,
            fixed_y: None,
            zero: false,
        };
        h.push_str(&metric("AUROC per test fold (x: fold start)", |s| s.auroc).svg());
        h.push_str(&metric("Brier score per test fold", |s| s.brier).svg());
        let top = m
            .reliability
            .iter()
            .take(3)
            .flatten()
            .filter(|b| b.count > 0)
            .map(|b| b.mean_predicted.max(b.observed_rate))
            .fold(0.0, f64::max)
            .max(1e-3);
        let rel = Lines {
            title: "Reliability diagram (pooled hold-out): observed rate against mean prediction",
            y_label: "observed rate",
            series: std::iter::once(("perfect".to_string(), vec![(0.0, 0.0), (top, top)]))
                .chain(SERIES.iter().zip(&m.reliability).take(3).map(|(s, bins)| {
                    (
                        s.to_string(),
                        bins.iter()
                            .filter(|b| b.count > 0)
                            .map(|b| (b.mean_predicted, b.observed_rate))
                            .collect(),
                    )
                }))
                .collect(),
            dates: false,
            steps: false,
            fixed_y: Some((0.0, top)),
            zero: true,
        };
        h.push_str(&rel.svg());
        let rows: Vec<Vec<String>> = SERIES
            .iter()
            .zip(&m.report.pooled)
            .map(|(s, v)| {
                vec![
                    s.to_string(),
                    format!("{:.4}", v.auroc),
                    format!("{:.4}", v.auc_pr),
                    format!("{:.5}", v.brier),
                    format!("{:.4}", v.ece),
                    format!("{:.4}", v.ks),
                ]
            })
            .collect();
        let _ = writeln!(
            h,
            "<p>Pooled over {} test rows ({} positive):</p>{}",
            m.report.pooled_rows,
            m.report.pooled_positives,
            table(&["series", "AUROC", "AUC-PR", "Brier", "ECE", "KS"], &rows)
        );
    }
    let _ = writeln!(h, "<h2>Policy replay</h2><ul>");
    for p in &o.policies {
        let _ = writeln!(h, "<li><b>{}</b>: {}</li>", esc(p.key), esc(&p.description));
    }
    let _ = writeln!(
        h,
        "</ul><p class=\"note\">Each vault's own flows are replayed day by day; borrows and withdrawals are capped at the policy's LTV at the start-of-day price, and a vault whose debt exceeds LT × collateral value at the close is liquidated whole. Recorded on chain over the same days: {} liquidation rows on {} vault-days ({} vaults); {} of these vault-days are also liquidated by the replay under the parameters in force (same vault, within a day), and {} of its {} liquidations were recorded. The replay sees daily closes only: it misses intraday liquidations, and it liquidates vaults that their owners kept just above the ratio through the day (automated top-ups); compare policies with each other rather than with the chain.</p>",
        o.recorded.0,
        o.recorded.1,
        o.recorded.2,
        o.validation.recorded_also_replayed,
        o.validation.replayed_also_recorded,
        o.validation.replayed
    );
    h.push_str(&table(
        &[
            "policy",
            "liquidations",
            "vaults",
            "seized USD",
            "bad debt DAI",
            "hist. LaR95/day",
            "fwd VaR95 24h",
            "fwd ES95 24h",
            "fwd LaR95 24h",
            "mean borrowing power",
            "borrow denied",
            "param changes",
        ],
        &policy_rows(&o.policies),
    ));
    if !o.governance_steps.is_empty() {
        let rows: Vec<Vec<String>> = o
            .governance_steps
            .iter()
            .map(|g| {
                vec![
                    g.parameter.clone(),
                    g.steps.to_string(),
                    g.median_step_bps.to_string(),
                    format!("{:.0} %", g.within_50_bps * 100.0),
                ]
            })
            .collect();
        let _ = writeln!(
            h,
            "<p class=\"note\">For scale, Aave governance's own changes of these parameters (all markets, data/aave-governance):</p>{}",
            table(&["parameter", "changes", "median step (bps)", "steps ≤ 50 bps"], &rows)
        );
    }
    let names: Vec<String> = o.policies.iter().map(|p| p.key.to_string()).collect();
    h.push_str(&bars(
        "Liquidations per policy",
        "count",
        &["liquidations".to_string(), "vaults liquidated".to_string()],
        &o.policies
            .iter()
            .map(|p| {
                (
                    p.key.to_string(),
                    vec![f64::from(p.totals.liquidations), f64::from(p.totals.vaults_liquidated)],
                )
            })
            .collect::<Vec<_>>(),
    ));
    h.push_str(&bars(
        "Bad debt per policy (DAI)",
        "DAI",
        &names,
        &[("bad debt".to_string(), o.policies.iter().map(|p| p.totals.bad_debt).collect())],
    ));
    let mut cum: Vec<(String, Vec<(f64, f64)>)> = o
        .policies
        .iter()
        .map(|p| {
            (
                p.key.to_string(),
                cumulative(p.run.days.iter().map(|d| (d.day, f64::from(d.liquidations)))),
            )
        })
        .collect();
    let mut recorded: Vec<(i64, f64)> = o.recorded_days.iter().map(|d| (*d, 1.0)).collect();
    recorded.insert(0, (o.days.0, 0.0));
    cum.push(("recorded (vault-days)".to_string(), cumulative(recorded.into_iter())));
    h.push_str(
        &Lines {
            title: "Cumulative liquidations",
            y_label: "liquidations",
            series: cum,
            dates: true,
            steps: true,
            fixed_y: None,
            zero: true,
        }
        .svg(),
    );
    h.push_str(
        &Lines {
            title: "Cumulative bad debt (DAI)",
            y_label: "DAI",
            series: o
                .policies
                .iter()
                .map(|p| {
                    (p.key.to_string(), cumulative(p.run.days.iter().map(|d| (d.day, d.bad_debt))))
                })
                .collect(),
            dates: true,
            steps: true,
            fixed_y: None,
            zero: true,
        }
        .svg(),
    );
    let path = |f: fn(&crate::replay::Params) -> f64| -> Vec<(String, Vec<(f64, f64)>)> {
        o.policies
            .iter()
            .map(|p| {
                (
                    p.key.to_string(),
                    p.run.days.iter().map(|d| (d.day as f64, f(&d.params) * 100.0)).collect(),
                )
            })
            .collect()
    };
    h.push_str(
        &Lines {
            title: "Parameter path: liquidation threshold (%)",
            y_label: "LT %",
            series: path(|p| p.lt),
            dates: true,
            steps: true,
            fixed_y: None,
            zero: false,
        }
        .svg(),
    );
    let targets: Vec<(String, Vec<(f64, f64)>)> = o
        .policies
        .iter()
        .filter(|p| !p.steward.is_empty())
        .flat_map(|p| {
            [
                (
                    format!("{} target", p.key),
                    p.steward
                        .iter()
                        .map(|s| (s.day as f64, f64::from(s.target.1) / 100.0))
                        .collect(),
                ),
                (
                    format!("{} applied", p.key),
                    p.steward
                        .iter()
                        .map(|s| (s.day as f64, f64::from(s.applied.1) / 100.0))
                        .collect(),
                ),
            ]
        })
        .collect();
    if !targets.is_empty() {
        h.push_str(
            &Lines {
                title: "Steward: recommended LT (target) against the LT the 50 bps bound let through (%)",
                y_label: "LT %",
                series: targets,
                dates: true,
                steps: true,
                fixed_y: None,
                zero: false,
            }
            .svg(),
        );
    }
    h.push_str(
        &Lines {
            title: "Parameter path: LTV (%)",
            y_label: "LTV %",
            series: path(|p| p.ltv),
            dates: true,
            steps: true,
            fixed_y: None,
            zero: false,
        }
        .svg(),
    );
    h.push_str(
        &Lines {
            title: "Parameter path: liquidation bonus (%)",
            y_label: "bonus %",
            series: path(|p| p.bonus - 1.0),
            dates: true,
            steps: true,
            fixed_y: None,
            zero: false,
        }
        .svg(),
    );
    h.push_str(
        &Lines {
            title: "Forward-looking 24 h ES95 of bad debt (Monte-Carlo on each policy's book)",
            y_label: "USD",
            series: o
                .policies
                .iter()
                .map(|p| {
                    (p.key.to_string(), p.forward.iter().map(|f| (f.day as f64, f.es95)).collect())
                })
                .collect(),
            dates: true,
            steps: false,
            fixed_y: None,
            zero: true,
        }
        .svg(),
    );
    h.push_str(
        &Lines {
            title: "Borrowing power Σ LTV × collateral value (USD)",
            y_label: "USD",
            series: o
                .policies
                .iter()
                .map(|p| {
                    (
                        p.key.to_string(),
                        p.run.days.iter().map(|d| (d.day as f64, d.borrowing_power)).collect(),
                    )
                })
                .collect(),
            dates: true,
            steps: false,
            fixed_y: None,
            zero: true,
        }
        .svg(),
    );
    let _ = writeln!(
        h,
        "<h2>Stress scenarios</h2><p class=\"note\">Each policy's book at {} (its own positions, its parameters that day) frozen and taken through the price path of a historical window (relative to the valuation close), the same path with its drawdown scaled ×{}, and {} seeded reorderings of its daily returns.</p>",
        ymd(o.days.1),
        o.config.raw.stress.shock,
        o.config.raw.stress.variants
    );
    let main: Vec<usize> =
        (0..o.scenarios.len()).filter(|i| o.scenarios[*i].kind != "reordered").collect();
    h.push_str(&bars(
        "Stress: bad debt per scenario and policy (DAI)",
        "DAI",
        &main.iter().map(|i| o.scenarios[*i].name.clone()).collect::<Vec<_>>(),
        &o.policies
            .iter()
            .map(|p| (p.key.to_string(), main.iter().map(|i| p.stress[*i].bad_debt).collect()))
            .collect::<Vec<_>>(),
    ));
    let mut rows = Vec::new();
    for (i, s) in o.scenarios.iter().enumerate() {
        let mut r = vec![
            s.name.clone(),
            format!("{} → {}", ymd(s.from), ymd(s.to)),
            format!("{:.1} %", s.max_drop * 100.0),
        ];
        for p in &o.policies {
            let x = &p.stress[i];
            r.push(format!("{} / {:.0}", x.liquidations, x.bad_debt));
        }
        rows.push(r);
    }
    let mut head = vec!["scenario", "window", "max drop"];
    let labels: Vec<String> =
        o.policies.iter().map(|p| format!("{}: liq. / bad debt", p.key)).collect();
    head.extend(labels.iter().map(String::as_str));
    h.push_str(&table(&head, &rows));
    // The same scenarios on the books of earlier valuation days.
    let books = o.policies.first().map_or(0, |p| p.stress_dates.len());
    if books > 1 {
        let _ = writeln!(
            h,
            "<p class=\"note\">The same scenarios on each policy's book of {books} valuation days (every {} days from {}, and the last): mean and worst bad debt (DAI) over those books.</p>",
            o.config.raw.stress.every_days,
            ymd(o.days.0)
        );
        let mut rows = Vec::new();
        for &i in &main {
            let mut r = vec![o.scenarios[i].name.clone()];
            for p in &o.policies {
                let v: Vec<(i64, f64)> =
                    p.stress_dates.iter().map(|(d, x)| (*d, x[i].bad_debt)).collect();
                let mean = v.iter().map(|x| x.1).sum::<f64>() / v.len() as f64;
                let (wd, w) =
                    v.iter().copied().fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
                r.push(format!("{mean:.0} / {w:.0} ({})", ymd(wd)));
            }
            rows.push(r);
        }
        let mut head = vec!["scenario"];
        let labels: Vec<String> =
            o.policies.iter().map(|p| format!("{}: mean / worst", p.key)).collect();
        head.extend(labels.iter().map(String::as_str));
        h.push_str(&table(&head, &rows));
        if let Some(first) = main.first() {
            let title = format!(
                "Stress over time: bad debt of each policy's book under {} (DAI)",
                o.scenarios[*first].name
            );
            h.push_str(
                &Lines {
                    title: &title,
                    y_label: "DAI",
                    series: o
                        .policies
                        .iter()
                        .map(|p| {
                            (
                                p.key.to_string(),
                                p.stress_dates
                                    .iter()
                                    .map(|(d, x)| (*d as f64, x[*first].bad_debt))
                                    .collect(),
                            )
                        })
                        .collect(),
                    dates: true,
                    steps: false,
                    fixed_y: None,
                    zero: true,
                }
                .svg(),
            );
        }
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

/// A few lines for the terminal.
pub fn summary(o: &Outcome) -> String {
    let mut s =
        format!("zkrisk backtest — MakerDAO ETH-B, {} → {}\n", ymd(o.days.0), ymd(o.days.1));
    if let Some(m) = &o.model {
        let _ = writeln!(
            s,
            "  model (liquidation within {} d, pooled hold-out, {} rows, {} positive)",
            m.horizon, m.report.pooled_rows, m.report.pooled_positives
        );
        if m.source != "data/maker-eth-b" {
            let _ = writeln!(s, "    features from {}", m.source);
        }
        for (name, v) in SERIES.iter().zip(&m.report.pooled) {
            let _ = writeln!(
                s,
                "    {name:<26} AUROC {:.4}  Brier {:.5}  ECE {:.4}",
                v.auroc, v.brier, v.ece
            );
        }
    }
    let v = &o.validation;
    let _ = writeln!(
        s,
        "  recorded on chain: {} liquidation rows, {} vault-days, {} vaults; replay under the parameters in force finds {} of those vault-days, {} of its {} liquidations were recorded",
        o.recorded.0,
        o.recorded.1,
        o.recorded.2,
        v.recorded_also_replayed,
        v.replayed_also_recorded,
        v.replayed
    );
    for p in &o.policies {
        let t = &p.totals;
        let _ = writeln!(
            s,
            "  {:<15} liquidations {:>4} ({:>3} vaults)  bad debt {:>12.2} DAI  borrowing power {:>12.0} USD  changes {}",
            p.key,
            t.liquidations,
            t.vaults_liquidated,
            t.bad_debt,
            t.mean_borrowing_power,
            t.parameter_changes
        );
    }
    s
}
