//! `zkrisk backtest` and `zkrisk bench backtest`: argument parsing, progress and files; the method
//! lives in `zkrisk_backtest` (see docs/backtest.md).

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use eyre::WrapErr;
use zkrisk_backtest::{
    config::{BacktestConfig, ValidConfig},
    history::MakerHistory,
    replay::{Params, Position, ReplayConfig, Scheduled, replay},
    report,
    run::{self, canonical_json},
    table::TableFeatures,
};

/// Arguments of `zkrisk backtest`.
#[derive(clap::Args)]
pub(crate) struct BacktestArgs {
    /// Output directory for report.html and metrics.json.
    #[arg(long)]
    out: PathBuf,
    /// A backtest.toml (docs/backtest.md lists every key); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// First evaluated day, YYYY-MM-DD [default: 2021-04-01].
    #[arg(long)]
    from: Option<String>,
    /// Last evaluated day, YYYY-MM-DD [default: the last day of the data].
    #[arg(long)]
    to: Option<String>,
    /// Seed of every random draw [default: 1].
    #[arg(long)]
    seed: Option<u64>,
    /// Label horizon of the model evaluation in days: 1, 7 or 30 [default: 7].
    #[arg(long)]
    horizon: Option<i32>,
    /// Skip the walk-forward model evaluation.
    #[arg(long)]
    no_model: bool,
    /// Print a summary (period, pooled model metrics, per-policy totals) as one JSON object on
    /// the last line of stdout instead of the text summary.
    #[arg(long)]
    json: bool,
}

fn config(root: &Path, a: &BacktestArgs) -> eyre::Result<(ValidConfig, PathBuf)> {
    let mut cfg = match &a.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .wrap_err_with(|| format!("reading --config {}", path.display()))?;
            BacktestConfig::from_toml(&text)
                .wrap_err_with(|| format!("--config {}", path.display()))?
        }
        None => BacktestConfig::default(),
    };
    if let Some(v) = &a.from {
        cfg.from.clone_from(v);
    }
    if let Some(v) = &a.to {
        cfg.to.clone_from(v);
    }
    if let Some(v) = a.seed {
        cfg.seed = v;
    }
    if let Some(v) = a.horizon {
        cfg.model.horizon = v;
    }
    if a.no_model {
        cfg.model.enabled = false;
    }
    let valid = cfg.check().wrap_err_with(|| match &a.config {
        Some(p) => format!("checking --config {} with the flags", p.display()),
        None => "checking the flags".to_string(),
    })?;
    let data =
        if cfg.data_dir.is_absolute() { cfg.data_dir.clone() } else { root.join(&cfg.data_dir) };
    Ok((valid, data))
}

fn load(data: &Path) -> eyre::Result<MakerHistory> {
    MakerHistory::load(data)
        .wrap_err_with(|| format!("loading the ETH-B history from {}", data.display()))
}

/// `zkrisk backtest`.
pub(crate) fn backtest(root: &Path, a: BacktestArgs) -> eyre::Result<()> {
    let started = Instant::now();
    let (cfg, data) = config(root, &a)?;
    std::fs::create_dir_all(&a.out)
        .wrap_err_with(|| format!("creating --out {}", a.out.display()))?;
    let history = load(&data)?;
    let mut progress = |line: String| {
        eprintln!("[{:>6.1} s] {line}", started.elapsed().as_secs_f64());
    };
    progress(format!("loaded {}", data.display()));
    let gov_dir = data.join("aave-governance");
    let governance = if gov_dir.is_dir() {
        zkrisk_backtest::governance::load(&gov_dir)?
    } else {
        progress(format!(
            "no {}: the static policy needs policy.static_* in the configuration",
            gov_dir.display()
        ));
        Vec::new()
    };
    let m = &cfg.model;
    let path = |p: &str| if Path::new(p).is_absolute() { PathBuf::from(p) } else { root.join(p) };
    let table = if !m.aave.is_empty() {
        let t = TableFeatures::from_aave(&path(&m.aave), m.features.clone(), m.horizon)
            .wrap_err("model.aave")?;
        progress(format!("model evaluation on the Aave v3 dataset {}", m.aave));
        Some(t)
    } else if m.accounts.is_empty() {
        None
    } else {
        let t = TableFeatures::load(
            &path(&m.accounts),
            &path(&m.events),
            &data,
            m.features.clone(),
            m.horizon,
        )
        .wrap_err("model.accounts / model.events")?;
        progress(format!("model evaluation on {} and {}", m.accounts, m.events));
        Some(t)
    };
    let outcome = run::run(
        &cfg,
        &history,
        &governance,
        table.as_ref().map(|t| t as &dyn zkrisk_backtest::history::FeatureSource),
        &mut progress,
    )?;
    let metrics = canonical_json(&outcome.metrics());
    let path = a.out.join("metrics.json");
    std::fs::write(&path, metrics.as_bytes())
        .wrap_err_with(|| format!("writing {}", path.display()))?;
    let html = report::html(&outcome)?;
    let path = a.out.join("report.html");
    std::fs::write(&path, html.as_bytes())
        .wrap_err_with(|| format!("writing {}", path.display()))?;
    progress(format!("wrote {} and {}", a.out.join("metrics.json").display(), path.display()));
    if a.json {
        let m = outcome.metrics();
        let keep = |v: &serde_json::Value, keys: &[&str]| -> serde_json::Value {
            keys.iter()
                .map(|k| ((*k).to_string(), v[*k].clone()))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let policies: serde_json::Map<String, serde_json::Value> = m["policies"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let keys = [
                            "liquidations",
                            "vaults_liquidated",
                            "bad_debt_dai",
                            "liquidated_collateral_usd",
                            "mean_borrowing_power_usd",
                            "parameter_changes",
                            "account_steps",
                        ];
                        (k.clone(), keep(v, &keys))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let line = serde_json::json!({
            "period": m["period"],
            "model": m["model"].get("pooled").cloned(),
            "policies": policies,
            "recorded_liquidations": m["recorded_liquidations"],
        });
        println!("{line}");
    } else {
        print!("{}", report::summary(&outcome));
    }
    Ok(())
}

/// `zkrisk bench backtest`: account-steps per second of the policy replay (the parameters in
/// force and a static policy over the whole ETH-B history), beside the same replay in Python with
/// pandas (`scripts/bench_backtest.py`), with the ratio.
pub(crate) fn bench(root: &Path, python: Option<&Path>) -> eyre::Result<()> {
    let history = load(&root.join("data"))?;
    let book = history.book()?;
    let (first, last) = (book.flows.first().map_or(0, |f| f.day), history.event_days.1);
    let policies =
        [("actual", Params::maker(1.3, 1.13)), ("static", Params::from_bps(8_000, 8_250, 10_500))];
    let cfg = ReplayConfig::default();
    let mut summary = Vec::new();
    let mut steps = 0u64;
    let t = Instant::now();
    let mut rounds = 0u32;
    while rounds < 3 || t.elapsed().as_secs_f64() < 2.0 {
        steps = 0;
        summary.clear();
        for (name, p) in policies {
            let mut policy = Scheduled { name: name.into(), steps: vec![(i64::MIN, p)] };
            let start: [Position; 0] = [];
            let run = replay(&book, &start, first, last, p, &mut policy, &cfg, |_, _| {})?;
            let liq: u32 = run.days.iter().map(|d| d.liquidations).sum();
            let bad: f64 = run.days.iter().map(|d| d.bad_debt).sum();
            steps += run.account_steps;
            summary.push((name, liq, bad, run.account_steps));
        }
        rounds += 1;
    }
    let seconds = t.elapsed().as_secs_f64() / f64::from(rounds);
    let rust_rate = steps as f64 / seconds;
    println!(
        "rust   replay: {steps} account-steps ({} days × 2 policies) in {:.4} s: {rust_rate:.0} account-steps/s",
        last - first + 1,
        seconds
    );
    for (name, liq, bad, s) in &summary {
        println!("       {name:<7} {liq} liquidations, bad debt {bad:.2} DAI, {s} account-steps");
    }
    let script = root.join("scripts").join("bench_backtest.py");
    // Default: the virtualenv docs/backtest.md sets up, else the python3 on PATH.
    let venv = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/zkrisk/bench-venv/bin/python"))
        .filter(|p| p.is_file());
    let py = python.map(Path::to_path_buf).or(venv).unwrap_or_else(|| PathBuf::from("python3"));
    let out = std::process::Command::new(&py)
        .arg(&script)
        .arg(root.join("data"))
        .output()
        .wrap_err_with(|| format!("running {} {}", py.display(), script.display()))?;
    if !out.status.success() {
        eyre::bail!(
            "{} failed (pandas missing? see docs/backtest.md):\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let py_rate = text
        .lines()
        .find_map(|l| l.strip_prefix("account_steps_per_second "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| {
            eyre::eyre!("{} printed no account_steps_per_second line", script.display())
        })?;
    // The two replays must agree before their speeds are compared.
    let theirs: Vec<(String, u32, f64, u64)> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("result ")?.split_whitespace();
            Some((
                w.next()?.to_string(),
                w.next()?.parse().ok()?,
                w.next()?.parse().ok()?,
                w.next()?.parse().ok()?,
            ))
        })
        .collect();
    let agree = theirs.len() == summary.len()
        && summary.iter().zip(&theirs).all(|((name, liq, bad, steps), (n, l, b, s))| {
            name == n && liq == l && steps == s && (bad - b).abs() <= 1e-6 * bad.abs().max(1.0)
        });
    if !agree {
        eyre::bail!(
            "the Rust and pandas replays disagree (liquidations, bad debt or account-steps): not comparing speeds"
        );
    }
    println!("agree  liquidations, bad debt (1e-6 relative) and account-steps of both policies");
    println!("ratio  rust / pandas: {:.1}×", rust_rate / py_rate);
    Ok(())
}
