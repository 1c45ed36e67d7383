//! `zkrisk backtest` on the shipped data: the same inputs give byte-identical metrics.json, the
//! report is one self-contained page with plots, and bad configuration is refused by key.

use std::process::Command;

use serde_json::Value;

use crate::root;

const SMALL: &str = r#"
from = "2022-04-01"
to = "2022-07-31"
seed = 7

[model]
test_days = 61
lookahead_checkpoints = 1

[policy]
recommend_paths = 100

[risk]
paths = 200

[stress]
worst = 1
variants = 2
"#;

fn backtest(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["--root", root().to_str().unwrap(), "backtest"])
        .args(args)
        .output()
        .expect("zkrisk runs")
}

#[test]
fn same_inputs_give_identical_metrics_and_a_report_with_plots() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("backtest.toml");
    std::fs::write(&config, SMALL).unwrap();
    let mut metrics = Vec::new();
    for run in ["a", "b"] {
        let out = dir.path().join(run);
        let mut args = vec!["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()];
        if run == "b" {
            args.push("--json");
        }
        let r = backtest(&args);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(r.status.success(), "backtest failed:\n{stderr}");
        // Progress while it runs.
        assert!(
            stderr.contains("walk-forward") && stderr.contains("replay: policy zkrisk_steward"),
            "{stderr}"
        );
        if run == "b" {
            let stdout = String::from_utf8_lossy(&r.stdout);
            let line: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
            assert!(line["policies"]["zkrisk_steward"]["liquidations"].is_number(), "{line}");
            assert!(line["model"]["logistic"]["auroc"].is_number(), "{line}");
        }
        metrics.push(std::fs::read(out.join("metrics.json")).unwrap());
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.matches("<svg").count() >= 10);
        assert!(!html.contains("<script") && !html.contains("src=\"http"), "not self-contained");
    }
    assert!(metrics[0] == metrics[1], "metrics.json differs between two runs of the same inputs");
    let m: Value = serde_json::from_slice(&metrics[0]).unwrap();
    assert_eq!(m["period"]["from"], "2022-04-01");
    assert_eq!(m["config"]["seed"], 7);
    for p in ["actual", "static", "zkrisk_steward", "zkrisk_rule"] {
        let p = &m["policies"][p];
        for k in [
            "liquidations",
            "bad_debt_dai",
            "mean_borrowing_power_usd",
            "parameter_changes",
            "account_steps",
        ] {
            assert!(p[k].is_number(), "{k}: {p}");
        }
        assert!(p["forward_24h"]["measurements"].as_u64() > Some(0));
        assert!(!p["stress"].as_array().unwrap().is_empty());
    }
    // The parameters in force never changed in the ETH-B file; the steward moves in 50 bps steps.
    assert_eq!(m["policies"]["actual"]["parameter_changes"], 0);
    for policy in ["zkrisk_steward", "zkrisk_rule"] {
        let path = m["policies"][policy]["parameter_path"].as_array().unwrap();
        assert!(path.len() > 1, "{policy} never moved");
        for w in path.windows(2) {
            let (a, b) = (&w[0]["params"], &w[1]["params"]);
            for k in ["ltv", "lt", "bonus"] {
                let step = (a[k].as_f64().unwrap() - b[k].as_f64().unwrap()).abs();
                assert!(step <= 0.005 + 1e-12, "{policy}: {k} moved {step}: {a} → {b}");
            }
        }
    }
    assert!(m["model"]["no_lookahead_guard"]["values_compared"].as_u64() > Some(0));
    // Nothing run-specific (the output directory) leaks into metrics.json.
    let text = String::from_utf8(metrics[0].clone()).unwrap();
    assert!(!text.contains(dir.path().to_str().unwrap()), "metrics.json holds a run-specific path");
}

#[test]
fn bad_configuration_is_refused_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (toml, needle) in [
        ("[model]\nhorizn = 7\n", "horizn"),
        ("from = \"2021-13-01\"\n", "from: `2021-13-01`"),
        ("[policy]\nmeasure = \"var99\"\n", "policy.measure"),
        ("[model]\nhorizon = 3\n", "model.horizon"),
    ] {
        let config = dir.path().join("bad.toml");
        std::fs::write(&config, toml).unwrap();
        let r = backtest(&["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success() && stderr.contains(needle), "{toml}: {stderr}");
        assert!(stderr.contains("bad.toml"), "the error names the file: {stderr}");
    }
    for (flags, needle) in [
        (&["--horizon", "5"][..], "model.horizon: 5"),
        (&["--to", "2021-01-01"][..], "to: 2021-01-01 is before from 2021-04-01"),
        (
            &["--from", "2030-01-01", "--no-model"][..],
            "from 2030-01-01 is after the last day of the data",
        ),
    ] {
        let r = backtest(&[&["--out", out.to_str().unwrap()][..], flags].concat());
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success() && stderr.contains(needle), "{flags:?}: {stderr}");
    }
}

/// The model evaluation on Aave v3 data: a simulated market on anvil (May–June 2022, with the
/// Terra and June liquidations), ingested with `zkrisk ingest`'s code, backtested from its own
/// events and price feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_evaluates_the_models_on_an_ingested_aave_dataset() {
    use alloy::providers::Provider;
    use zkrisk_oracle::{
        aave::sim::SimConfig,
        ingest::{self, IngestConfig, ToBlock},
    };

    let root = root();
    let sim = SimConfig::default();
    let (anvil, plain, market, report) =
        crate::support::simulated_market(&root, &sim, 1_651_276_800).await; // 2022-04-30
    assert!(report.liquidations > 0);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("aave");
    let head = plain.get_block_number().await.unwrap();
    let mut cfg = IngestConfig::new(anvil.url(), market.pool, 0, ToBlock::Number(head), &data);
    cfg.confirmations = 0;
    ingest::ingest(&cfg, &mut |_| {}).await.unwrap();
    anvil.stop().await.unwrap();

    let config = dir.path().join("backtest.toml");
    std::fs::write(
        &config,
        SMALL.replace("2022-04-01", "2022-06-05").replace("2022-07-31", "2022-06-30").replace(
            "test_days = 61",
            &format!("test_days = 14\nvalidation_days = 7\naave = \"{}\"", data.display()),
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = backtest(&["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "backtest failed:\n{stderr}");
    assert!(stderr.contains("model evaluation on the Aave v3 dataset"), "{stderr}");
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let model = &m["model"];
    assert!(model["pooled"]["logistic"]["auroc"].as_f64().is_some_and(|a| a > 0.5), "{model}");
    assert!(model["pooled_positives"].as_u64() > Some(0), "{model}");
    assert!(model["source"].as_str().unwrap().starts_with("Aave v3 dataset"), "{model}");
    assert!(model["no_lookahead_guard"]["values_compared"].as_u64() > Some(0), "{model}");

    // A directory that is not a dataset is named in the error.
    let not_data = SMALL
        .replace("test_days = 61", &format!("test_days = 61\naave = \"{}\"", dir.path().display()));
    std::fs::write(&config, not_data).unwrap();
    let r = backtest(&["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success() && stderr.contains("model.aave"), "{stderr}");
}
