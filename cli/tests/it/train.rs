//! `zkrisk train --json` on the shipped data: the artifacts it promises, and the pooled hold-out
//! metrics of each model next to the baselines on its last stdout line.

use std::process::Command;

use serde_json::Value;

use crate::root;

#[test]
fn train_writes_artifacts_and_prints_pooled_metrics() {
    let root = root();
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["--root", root.to_str().unwrap(), "train", "--json", "--out"])
        .arg(out.path())
        .output()
        .expect("zkrisk runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "train failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for h in ["24h", "7d", "30d"] {
        let e = &last[format!("liquidation_{h}")];
        for series in ["logistic", "mlp", "baseline_collateral_ratio", "baseline_previous_rate"] {
            for metric in ["auroc", "auc_pr", "brier", "ece", "ks"] {
                let v = e[series][metric].as_f64();
                assert!(v.is_some_and(f64::is_finite), "{h} {series} {metric}: {v:?}");
            }
        }
        for file in [
            format!("liquidation_{h}_logistic.json"),
            format!("liquidation_{h}_mlp.json"),
            format!("liquidation_{h}_logistic.onnx"),
            format!("liquidation_{h}_mlp.onnx"),
            format!("reliability_{h}.svg"),
        ] {
            assert!(out.path().join(&file).is_file(), "{file} missing");
        }
    }
    for file in ["metrics.json", "model_card.md"] {
        assert!(out.path().join(file).is_file(), "{file} missing");
    }
    let svg = std::fs::read_to_string(out.path().join("reliability_7d.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("polyline"));
    // The 7-day models against the collateral-ratio rule on the real data (docs/models.md).
    let d7 = &last["liquidation_7d"];
    let base = &d7["baseline_collateral_ratio"];
    for model in ["logistic", "mlp"] {
        assert!(d7[model]["auroc"].as_f64() > base["auroc"].as_f64(), "{model}: {d7}");
        assert!(d7[model]["brier"].as_f64() < base["brier"].as_f64(), "{model}: {d7}");
    }
    let score = last["credit_score"]["score_median"].as_f64().unwrap();
    assert!((300.0..=850.0).contains(&score));
}
