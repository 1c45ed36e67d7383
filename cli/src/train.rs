//! `zkrisk train` and `zkrisk bench train`: walk-forward evaluation and training of the liquidation
//! models (24 h, 7 d) and the 30-day model behind the credit score, with their artifacts.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::Instant,
};

use eyre::WrapErr;
use serde_json::{Value, json};
use zkrisk_backtest::{
    Fold, WalkForward, WalkForwardReport, rolling_folds,
    walk_forward::{Fitted, SERIES},
};
use zkrisk_models::{credit::CreditScale, metrics, metrics::Summary, onnx};
use zkrisk_pipeline::{
    features::{self, FeatureMatrix, LABELS, MODEL_FEATURES},
    prices::{day_from_ymd, ymd},
};

/// Arguments of `zkrisk train`.
#[derive(clap::Args)]
pub(crate) struct TrainArgs {
    /// Print the pooled hold-out metrics as one JSON object on the last line of stdout.
    #[arg(long)]
    json: bool,
    /// Output directory (default: `<root>/.zkrisk/models`).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of `zkrisk bench`.
#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(clap::Subcommand)]
enum BenchWhat {
    /// Training time of the 7-day models and scoring throughput (accounts per second).
    Train,
    /// Epoch proofs: for each circuit configuration, logrows, proving key, prove and verify
    /// seconds, calldata and gas of the verifier on anvil.
    Prove {
        /// Print one JSON object per configuration, one per line, instead of the table.
        #[arg(long)]
        json: bool,
        /// Proofs per configuration (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Only these configurations (comma-separated names; default: all).
        #[arg(long, value_delimiter = ',')]
        configs: Vec<String>,
        /// Where the circuits are set up [default: <root>/.zkrisk/bench-prove].
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// Requests per second and latency of a running feed under many concurrent clients.
    Feed(crate::feed::BenchFeedArgs),
    /// Account-steps per second of the policy replay, beside the same replay in pandas.
    Backtest {
        /// Python interpreter with pandas [default: ~/.cache/zkrisk/bench-venv/bin/python if it
        /// exists, else python3].
        #[arg(long)]
        python: Option<PathBuf>,
    },
}

/// First test day of the walk-forward folds.
const FIRST_TEST: &str = "2021-04-01";
/// Length of a test fold (a quarter).
const TEST_DAYS: i32 = 91;
/// Validation window before each test fold (plus the label horizon).
const VALIDATION_DAYS: i32 = 90;
/// Batch of the ONNX graphs (one proof scores this many accounts).
const BATCH: usize = 64;
/// Feature the collateral-ratio baseline ranks by.
const BASELINE_FEATURE: &str = "log_collateral_ratio";

struct Horizon {
    key: &'static str,
    label: usize,
    days: i32,
}

const HORIZONS: [Horizon; 3] = [
    Horizon { key: "24h", label: 0, days: 1 },
    Horizon { key: "7d", label: 1, days: 7 },
    Horizon { key: "30d", label: 2, days: 30 },
];

fn load(root: &Path) -> eyre::Result<FeatureMatrix> {
    let t = Instant::now();
    let table = features::maker_eth_b(&root.join("data")).wrap_err("building features")?;
    let m = features::to_matrix(&table)?.select(&MODEL_FEATURES)?;
    tracing::info!(rows = m.rows, seconds = t.elapsed().as_secs_f64(), "account-days built");
    Ok(m)
}

fn walk<'a>(m: &'a FeatureMatrix, names: &'a [&'a str], h: &Horizon) -> WalkForward<'a> {
    let last_day = m.dates.iter().copied().max().unwrap_or(0);
    WalkForward {
        features: names,
        values: &m.values,
        labels: &m.labels[h.label],
        days: &m.dates,
        horizon: h.days,
        last_label_day: last_day - h.days,
        baseline_feature: BASELINE_FEATURE,
    }
}

/// The fold that fits the production model: validation on the last labelled window.
const fn final_fold(wf: &WalkForward<'_>) -> Fold {
    let test_start = wf.last_label_day + wf.horizon + 1;
    Fold {
        validation_start: test_start - wf.horizon - VALIDATION_DAYS,
        test_start,
        test_end: test_start,
    }
}

fn params() -> eyre::Result<(zkrisk_models::ValidLogisticParams, zkrisk_models::ValidMlpParams)> {
    Ok(zkrisk_backtest::walk_forward::liquidation_params()?)
}

fn summary_json(s: &Summary) -> Value {
    json!({ "auroc": s.auroc, "auc_pr": s.auc_pr, "brier": s.brier, "ece": s.ece, "ks": s.ks })
}

/// Reliability diagram of the pooled hold-out predictions, hand-written SVG.
fn reliability_svg(title: &str, report: &WalkForwardReport) -> eyre::Result<String> {
    let (w, h, pad) = (480.0, 480.0, 50.0);
    let side = w - 2.0 * pad;
    // Probabilities of rare events crowd near 0: plot on a square-root scale.
    let x = |p: f64| pad + p.clamp(0.0, 1.0).sqrt() * side;
    let y = |p: f64| h - pad - p.clamp(0.0, 1.0).sqrt() * side;
    let mut svg = String::new();
    writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    )?;
    writeln!(svg, r#"<rect width="{w}" height="{h}" fill="white"/>"#)?;
    writeln!(svg, r#"<text x="{pad}" y="25" font-size="14">{title}</text>"#)?;
    writeln!(
        svg,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-dasharray="4"/>"##,
        x(0.0),
        y(0.0),
        x(1.0),
        y(1.0)
    )?;
    for t in [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0] {
        writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">{t}</text>"#,
            x(t),
            h - pad + 15.0
        )?;
        writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{t}</text>"#,
            pad - 5.0,
            y(t) + 4.0
        )?;
    }
    writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">mean predicted probability (sqrt scale)</text>"#,
        w / 2.0,
        h - 12.0
    )?;
    writeln!(
        svg,
        r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">observed rate</text>"#,
        h / 2.0,
        h / 2.0
    )?;
    let colours = ["#1f77b4", "#d62728", "#2ca02c"];
    for (k, colour) in colours.iter().enumerate() {
        let bins = metrics::reliability(&report.predictions[k], &report.pooled_labels, 20)?;
        let points: Vec<String> = bins
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| format!("{:.1},{:.1}", x(b.mean_predicted), y(b.observed_rate)))
            .collect();
        writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            points.join(" ")
        )?;
        for p in &points {
            let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
            writeln!(svg, r#"<circle cx="{px}" cy="{py}" r="3" fill="{colour}"/>"#)?;
        }
        writeln!(
            svg,
            r#"<text x="{}" y="{}" fill="{colour}">{}</text>"#,
            pad + 10.0,
            pad + 15.0 + 16.0 * k as f64,
            SERIES[k]
        )?;
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

fn write(path: &Path, bytes: &[u8]) -> eyre::Result<()> {
    std::fs::write(path, bytes).wrap_err_with(|| format!("writing {}", path.display()))
}

fn rows(m: &FeatureMatrix, idx: &[usize]) -> Vec<f64> {
    idx.iter().flat_map(|i| m.row_values(*i).iter().copied()).collect()
}

trait RowValues {
    fn row_values(&self, i: usize) -> &[f64];
}

impl RowValues for FeatureMatrix {
    fn row_values(&self, i: usize) -> &[f64] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }
}

/// Max |native − ONNX (tract)| of both models over one hold-out batch.
fn onnx_check(fitted: &Fitted, x: &[f64]) -> eyre::Result<(f64, f64, Vec<u8>, Vec<u8>)> {
    let cols = fitted.mlp.n_features();
    let diff =
        |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let lb = onnx::export(&fitted.logistic, BATCH)?;
    let l_err = diff(
        &fitted.logistic.predict_proba(x)?,
        &onnx::OnnxRunner::load(&lb, BATCH, cols)?.run(x)?,
    );
    let mb = onnx::export_mlp(&fitted.mlp, BATCH)?;
    let m_err =
        diff(&fitted.mlp.predict_proba(x)?, &onnx::OnnxRunner::load(&mb, BATCH, cols)?.run(x)?);
    Ok((l_err, m_err, lb, mb))
}

fn fold_table(report: &WalkForwardReport) -> String {
    let mut s = String::from(
        "| test period | rows | positives | model | AUROC | AUC-PR | Brier | ECE | KS |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for f in &report.folds {
        for (k, m) in f.metrics.iter().enumerate() {
            let period = format!(
                "{} – {}",
                ymd(i64::from(f.fold.test_start)),
                ymd(i64::from(f.fold.test_end - 1))
            );
            match m {
                Some(m) => {
                    let _ = writeln!(
                        s,
                        "| {period} | {} | {} | {} | {:.4} | {:.4} | {:.5} | {:.4} | {:.4} |",
                        f.test_rows,
                        f.test_positives,
                        SERIES[k],
                        m.auroc,
                        m.auc_pr,
                        m.brier,
                        m.ece,
                        m.ks
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "| {period} | {} | {} | {} | – | – | – | – | – |",
                        f.test_rows, f.test_positives, SERIES[k]
                    );
                }
            }
        }
    }
    let _ = writeln!(
        s,
        "| **pooled** | {} | {} | | | | | | |",
        report.pooled_rows, report.pooled_positives
    );
    for (k, m) in report.pooled.iter().enumerate() {
        let _ = writeln!(
            s,
            "| pooled | | | {} | {:.4} | {:.4} | {:.5} | {:.4} | {:.4} |",
            SERIES[k], m.auroc, m.auc_pr, m.brier, m.ece, m.ks
        );
    }
    s
}

/// `zkrisk train`.
pub(crate) fn train(root: &Path, args: TrainArgs) -> eyre::Result<()> {
    let out = args.out.unwrap_or_else(|| root.join(".zkrisk").join("models"));
    std::fs::create_dir_all(&out).wrap_err_with(|| format!("creating {}", out.display()))?;
    let m = load(root)?;
    let names: Vec<&str> = MODEL_FEATURES.to_vec();
    let (lp, mp) = params()?;
    let first_test = day_from_ymd(FIRST_TEST).and_then(|d| i32::try_from(d).ok()).unwrap_or(0);
    let first_day = m.dates.iter().copied().min().unwrap_or(0);
    let last_day = m.dates.iter().copied().max().unwrap_or(0);
    let mut summary = serde_json::Map::new();
    let mut metrics_json = serde_json::Map::new();
    let mut card = String::new();
    writeln!(card, "# zkrisk model card: liquidation risk and credit score (MakerDAO ETH-B)\n")?;
    writeln!(
        card,
        "- Data: `data/maker-eth-b` vault events and `data/prices/eth_usd_daily_coingecko.csv`, \
         {} account-days from {} to {}.\n- Walk-forward: quarterly test folds ({TEST_DAYS} days) from \
         {FIRST_TEST}; each fold trains on rows whose label window ends before its validation window \
         ({VALIDATION_DAYS} days + horizon), early-stops the MLP and fits Platt scaling on that window, \
         and tests on rows whose label window the data cover.\n- Features ({}): {}.\n- Models: \
         logistic regression (linfa, L2 {}), MLP ({} ReLU units, Adam, seed {}), both with Platt \
         scaling folded into the last layer.\n",
        m.rows,
        ymd(i64::from(first_day)),
        ymd(i64::from(last_day)),
        names.len(),
        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
        lp.get().l2,
        mp.get().hidden,
        mp.get().seed,
    )?;
    for h in &HORIZONS {
        let t = Instant::now();
        let wf = walk(&m, &names, h);
        let folds =
            rolling_folds(first_test, wf.last_label_day, TEST_DAYS, VALIDATION_DAYS, h.days);
        let report = wf.run(&folds, &lp, &mp)?;
        tracing::info!(
            horizon = h.key,
            folds = report.folds.len(),
            seconds = t.elapsed().as_secs_f64(),
            "walk-forward done"
        );
        // Production models: the same recipe on all labelled data.
        let (fold, idx) = wf.widen_validation(final_fold(&wf));
        let fitted = wf.fit(&idx, fold.test_start, &lp, &mp)?;
        // Fidelity against tract on the last fold's first hold-out batch.
        let last_fold = folds.last().copied().unwrap_or(fold);
        let test = last_fold.split(wf.days, wf.horizon, wf.last_label_day).test;
        let batch_rows: Vec<usize> = test.iter().copied().take(BATCH).collect();
        let (l_err, m_err) = if batch_rows.len() == BATCH {
            let x = rows(&m, &batch_rows);
            let (l_err, m_err, lb, mb) = onnx_check(&fitted, &x)?;
            write(&out.join(format!("liquidation_{}_logistic.onnx", h.key)), &lb)?;
            write(&out.join(format!("liquidation_{}_mlp.onnx", h.key)), &mb)?;
            write(
                &out.join(format!("holdout_batch_{}.json", h.key)),
                json!({ "input_data": [x] }).to_string().as_bytes(),
            )?;
            (l_err, m_err)
        } else {
            (f64::NAN, f64::NAN)
        };
        // Calibration rows for a circuit of the model (the keeper's `calibration`): the training
        // rows holding each feature's extremes, then evenly spaced ones.
        let calibration =
            zkrisk_oracle::prover::calibration_batch(&m.values, m.cols, &idx.train, BATCH);
        write(
            &out.join(format!("calibration_{}.json", h.key)),
            json!({ "input_data": [rows(&m, &calibration)] }).to_string().as_bytes(),
        )?;
        fitted.logistic.save(&out.join(format!("liquidation_{}_logistic.json", h.key)))?;
        fitted.mlp.save(&out.join(format!("liquidation_{}_mlp.json", h.key)))?;
        write(
            &out.join(format!("reliability_{}.svg", h.key)),
            reliability_svg(
                &format!("Reliability, liquidation within {} (pooled hold-out)", h.key),
                &report,
            )?
            .as_bytes(),
        )?;
        let mut pooled = serde_json::Map::new();
        for (k, s) in report.pooled.iter().enumerate() {
            pooled.insert(SERIES[k].into(), summary_json(s));
        }
        let mut entry = json!({
            "pooled_rows": report.pooled_rows,
            "pooled_positives": report.pooled_positives,
            "folds": report.folds.len(),
        });
        if let Value::Object(e) = &mut entry {
            e.extend(pooled);
        }
        summary.insert(format!("liquidation_{}", h.key), entry);
        metrics_json.insert(
            format!("liquidation_{}", h.key),
            json!({
                "walk_forward": serde_json::to_value(&report)?,
                "production": {
                    "train_rows": idx.train.len(),
                    "validation_rows": idx.validation.len(),
                    "validation_from": ymd(i64::from(fold.validation_start)),
                    "logistic_weights_sha256": fitted.logistic.weights_hash(),
                    "mlp_weights_sha256": fitted.mlp.weights_hash(),
                    "mlp_fit": serde_json::to_value(&fitted.mlp_report)?,
                    "onnx_max_abs_error_logistic": l_err,
                    "onnx_max_abs_error_mlp": m_err,
                }
            }),
        );
        writeln!(card, "## Liquidation within {} (label `{}`)\n", h.key, LABELS[h.label].0)?;
        writeln!(
            card,
            "Production models: trained on {} rows, calibrated on {} rows from {}.\n\n- logistic weights SHA-256 `{}`\n- MLP weights SHA-256 `{}` (best epoch {} of {})\n- max |native − ONNX (tract)| on a hold-out batch of {BATCH}: logistic {l_err:.2e}, MLP {m_err:.2e}\n",
            idx.train.len(),
            idx.validation.len(),
            ymd(i64::from(fold.validation_start)),
            fitted.logistic.weights_hash(),
            fitted.mlp.weights_hash(),
            fitted.mlp_report.best_epoch,
            fitted.mlp_report.epochs,
        )?;
        card.push_str(&fold_table(&report));
        card.push('\n');
        if h.days == 30 {
            // Credit scores of the wallets open on the last day, from the 30-day MLP.
            let scale = CreditScale::default().check()?;
            let last: Vec<usize> = (0..m.rows).filter(|i| m.dates[*i] == last_day).collect();
            let p = fitted.mlp.predict_proba(&rows(&m, &last))?;
            let mut scores: Vec<f64> =
                p.iter().map(|p| scale.score(*p)).collect::<Result<_, _>>()?;
            scores.sort_by(f64::total_cmp);
            let q = |f: f64| {
                scores
                    .get(((scores.len() as f64 - 1.0) * f).round() as usize)
                    .copied()
                    .unwrap_or(f64::NAN)
            };
            let credit = json!({
                "date": ymd(i64::from(last_day)),
                "wallets": scores.len(),
                "score_p10": q(0.1), "score_median": q(0.5), "score_p90": q(0.9),
                "anchor_probability": scale.anchor_probability,
                "log_odds_scale": scale.log_odds_scale,
            });
            writeln!(
                card,
                "Credit score (300–850) from the 30-day MLP: `300 + 550 · σ((ln((1-p)/p) − ln((1-p₀)/p₀)) / s)`, p₀ = {}, s = {}. {} wallets open on {}: 10th percentile {:.0}, median {:.0}, 90th percentile {:.0}.\n",
                scale.anchor_probability,
                scale.log_odds_scale,
                scores.len(),
                ymd(i64::from(last_day)),
                q(0.1),
                q(0.5),
                q(0.9)
            )?;
            summary.insert("credit_score".into(), credit.clone());
            metrics_json.insert("credit_score".into(), credit);
        }
    }
    write(
        &out.join("metrics.json"),
        serde_json::to_string_pretty(&Value::Object(metrics_json))?.as_bytes(),
    )?;
    write(&out.join("model_card.md"), card.as_bytes())?;
    let line = Value::Object(summary);
    if args.json {
        println!("{line}");
    } else {
        println!(
            "zkrisk train — MakerDAO ETH-B, {} account-days, walk-forward from {FIRST_TEST}",
            m.rows
        );
        for h in &HORIZONS {
            println!("  liquidation within {} (pooled hold-out)", h.key);
            if let Some(e) = line.get(format!("liquidation_{}", h.key)) {
                for s in SERIES {
                    let v = &e[s];
                    println!(
                        "    {s:<26} AUROC {:.4}  AUC-PR {:.4}  Brier {:.5}  ECE {:.4}  KS {:.4}",
                        v["auroc"].as_f64().unwrap_or(f64::NAN),
                        v["auc_pr"].as_f64().unwrap_or(f64::NAN),
                        v["brier"].as_f64().unwrap_or(f64::NAN),
                        v["ece"].as_f64().unwrap_or(f64::NAN),
                        v["ks"].as_f64().unwrap_or(f64::NAN)
                    );
                }
            }
        }
        println!("  wrote {}", out.display());
    }
    Ok(())
}

/// `zkrisk bench train`.
pub(crate) async fn bench(root: &Path, args: BenchArgs) -> eyre::Result<()> {
    match &args.what {
        BenchWhat::Backtest { python } => return crate::backtest::bench(root, python.as_deref()),
        BenchWhat::Feed(a) => return crate::feed::bench(a).await,
        BenchWhat::Prove { json, runs, configs, work_dir } => {
            let work = work_dir.clone().unwrap_or_else(|| root.join(".zkrisk/bench-prove"));
            return bench_prove(root, &work, *json, *runs, configs).await;
        }
        BenchWhat::Train => {}
    }
    let m = load(root)?;
    let names: Vec<&str> = MODEL_FEATURES.to_vec();
    let (lp, mp) = params()?;
    let h = &HORIZONS[1];
    let wf = walk(&m, &names, h);
    let (_, idx) = wf.widen_validation(final_fold(&wf));
    let (x_tr, x_va) = (rows(&m, &idx.train), rows(&m, &idx.validation));
    let y = &m.labels[h.label];
    let y_tr: Vec<bool> = idx.train.iter().map(|i| y[*i]).collect();
    let y_va: Vec<bool> = idx.validation.iter().map(|i| y[*i]).collect();
    let owned: Vec<String> = names.iter().map(|s| (*s).to_string()).collect();
    let t = Instant::now();
    let logistic = zkrisk_models::LogisticModel::fit(&x_tr, &y_tr, owned.clone(), &lp)?;
    let logistic_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (mlp, report) = zkrisk_models::MlpModel::fit(&x_tr, &y_tr, &x_va, &y_va, owned, &mp)?;
    let mlp_s = t.elapsed().as_secs_f64();
    let all = &m.values;
    let time = |f: &dyn Fn() -> eyre::Result<()>| -> eyre::Result<f64> {
        let t = Instant::now();
        let mut n = 0;
        while n < 3 || t.elapsed().as_secs_f64() < 1.0 {
            f()?;
            n += 1;
        }
        Ok((m.rows * n) as f64 / t.elapsed().as_secs_f64())
    };
    let logistic_rate = time(&|| Ok(logistic.predict_proba(all).map(|_| ())?))?;
    let mlp_rate = time(&|| Ok(mlp.predict_proba(all).map(|_| ())?))?;
    let runner = onnx::OnnxRunner::load(&onnx::export_mlp(&mlp, BATCH)?, BATCH, names.len())?;
    let batch = &all[..BATCH * names.len()];
    let t = Instant::now();
    let mut n = 0;
    while n < 10 || t.elapsed().as_secs_f64() < 1.0 {
        runner.run(batch)?;
        n += 1;
    }
    let onnx_rate = (BATCH * n) as f64 / t.elapsed().as_secs_f64();
    let out = json!({
        "train_rows": idx.train.len(),
        "validation_rows": idx.validation.len(),
        "features": names.len(),
        "logistic_train_seconds": logistic_s,
        "mlp_train_seconds": mlp_s,
        "mlp_epochs": report.epochs,
        "scored_rows": m.rows,
        "logistic_accounts_per_second": logistic_rate,
        "mlp_accounts_per_second": mlp_rate,
        "mlp_onnx_tract_accounts_per_second": onnx_rate,
    });
    println!(
        "train 7d: {} rows × {} features; logistic {logistic_s:.2} s, MLP {mlp_s:.2} s ({} epochs)",
        idx.train.len(),
        names.len(),
        report.epochs
    );
    println!(
        "score: logistic {logistic_rate:.0} accounts/s, MLP {mlp_rate:.0} accounts/s, MLP via ONNX (tract, batch {BATCH}) {onnx_rate:.0} accounts/s"
    );
    println!("{out}");
    Ok(())
}

/// `zkrisk bench prove`: the 7-day logistic model of the last fold, proven on the most recent
/// vault-days of the shipped Maker data.
async fn bench_prove(
    root: &Path,
    work: &Path,
    json: bool,
    runs: usize,
    names: &[String],
) -> eyre::Result<()> {
    use zkrisk_oracle::bench::{self, CONFIGS};
    let configs: Vec<_> = if names.is_empty() {
        CONFIGS.to_vec()
    } else {
        names
            .iter()
            .map(|n| {
                CONFIGS.iter().find(|c| c.name == n).copied().ok_or_else(|| {
                    let all: Vec<_> = CONFIGS.iter().map(|c| c.name).collect();
                    eyre::eyre!("--configs: no configuration `{n}` (known: {})", all.join(", "))
                })
            })
            .collect::<eyre::Result<_>>()?
    };
    if runs == 0 {
        eyre::bail!("--runs must be at least 1");
    }
    let m = load(root)?;
    let names: Vec<&str> = MODEL_FEATURES.to_vec();
    let (lp, _) = params()?;
    let h = &HORIZONS[1];
    let wf = walk(&m, &names, h);
    let (_, idx) = wf.widen_validation(final_fold(&wf));
    let y = &m.labels[h.label];
    let y_tr: Vec<bool> = idx.train.iter().map(|i| y[*i]).collect();
    let owned: Vec<String> = names.iter().map(|s| (*s).to_string()).collect();
    let model = zkrisk_models::LogisticModel::fit(&rows(&m, &idx.train), &y_tr, owned, &lp)?;
    let largest = configs.iter().map(|c| c.batch).max().unwrap_or(0);
    // The most recent vault-days, latest first.
    let mut recent: Vec<usize> = (0..m.rows).collect();
    recent.sort_by_key(|i| std::cmp::Reverse(m.dates[*i]));
    recent.truncate(largest);
    let cols = names.len();
    let calibration =
        rows(&m, &zkrisk_oracle::prover::calibration_batch(&m.values, cols, &idx.train, largest));
    // The price-bound configuration proves the demo's model on the demo's batch.
    let priced = if configs.iter().any(|c| c.priced) {
        let cfg = zkrisk_oracle::demo::DemoConfig::in_project(root);
        Some(zkrisk_oracle::demo::priced_epoch(&cfg, &|_, what| tracing::info!("{what}"))?)
    } else {
        None
    };
    let input = bench::BenchInput {
        model: &model,
        rows: &rows(&m, &recent),
        calibration: &calibration,
        priced: priced.as_ref(),
    };
    let progress = |s: &str| tracing::info!("{s}");
    let figures = bench::prove(root, work, &input, &configs, runs, &progress).await?;
    if json {
        for f in &figures {
            println!("{}", serde_json::to_string(f)?);
        }
        return Ok(());
    }
    println!(
        "{:<18} {:>5} {:>7} {:>10} {:>9} {:>8} {:>9} {:>8} {:>9} {:>9} {:>9} {:>8}",
        "config",
        "batch",
        "logrows",
        "pk MB",
        "prove s",
        "verify s",
        "calldata",
        "tx gas",
        "exec gas",
        "gas/score",
        "runtime B",
        "max err"
    );
    for f in &figures {
        println!(
            "{:<18} {:>5} {:>7} {:>10.1} {:>9.3} {:>8.3} {:>9} {:>8} {:>9} {:>9.0} {:>9} {:>8.1e}",
            f.config,
            f.batch,
            f.logrows,
            f.pk_bytes as f64 / 1e6,
            f.prove_seconds_median,
            f.verify_seconds,
            f.calldata_bytes,
            f.verify_gas,
            f.verify_execution_gas,
            f.verify_gas_per_score,
            f.verifier_runtime_bytes,
            f.max_abs_error
        );
    }
    for f in &figures {
        if let Some(r) = &f.reusable {
            println!(
                "{:<18} reusable verifier + VKA: tx gas {}, exec gas {} ({:.0}/score), calldata {} B, VKA registration {} gas once, runtime {} B",
                f.config,
                r.verify_gas,
                r.verify_execution_gas,
                r.verify_execution_gas as f64 / f.batch as f64,
                r.calldata_bytes,
                r.register_gas,
                r.verifier_runtime_bytes
            );
        }
    }
    Ok(())
}
