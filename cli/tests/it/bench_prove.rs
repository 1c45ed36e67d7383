//! `zkrisk bench prove --json` on the epoch configuration: one line of figures per configuration,
//! and the properties the keeper and the demo rely on. Sizes, rows and gas are deterministic; the
//! timings are reported, not asserted.

use std::process::Command;

use serde_json::Value;

use crate::root;

#[test]
fn bench_prove_reports_every_figure_of_the_epoch_circuit() {
    let root = root();
    let work = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["--root", root.to_str().unwrap(), "bench", "prove", "--json", "--runs", "3"])
        .args([
            "--configs",
            "logit-64,logit-64-2col,logit-255-packed,logit-64-priced",
            "--work-dir",
        ])
        .arg(work.path())
        .output()
        .expect("zkrisk runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "bench prove failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    let f = &lines[0];
    assert_eq!(f["config"], "logit-64");
    assert_eq!(f["batch"], 64);
    assert_eq!(f["instances"], 64);
    assert_eq!(f["prove_seconds"].as_array().unwrap().len(), 3);
    for key in ["prove_seconds_median", "verify_seconds", "setup_seconds", "witness_seconds"] {
        assert!(f[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {f}");
    }
    // The bars that do not depend on the machine's speed.
    assert!(f["logrows"].as_u64().unwrap() <= 11, "{f}");
    assert!(f["pk_bytes"].as_u64().unwrap() <= 64 << 20, "{f}");
    // Verification (the verifier's execution inside `submit`) ≤ 450k gas.
    assert!(f["verify_execution_gas"].as_u64().unwrap() <= 450_000, "{f}");
    assert!(f["verifier_runtime_bytes"].as_u64().unwrap() < 24_576, "{f}");
    assert!(f["max_abs_error"].as_f64().unwrap() <= 1e-3, "{f}");
    assert!(f["calldata_bytes"].as_u64().unwrap() > 64 * 32, "{f}");
    let r = &f["reusable"];
    assert!(r["verify_gas"].as_u64().is_some_and(|g| g > 0), "{f}");
    assert!(r["register_gas"].as_u64().is_some_and(|g| g > 0), "{f}");
    // One column per block gives a smaller verifier than two: the reason the epoch uses it.
    let two = &lines[1];
    assert_eq!(two["config"], "logit-64-2col");
    assert!(
        f["verify_execution_gas"].as_u64() < two["verify_execution_gas"].as_u64(),
        "{f} vs {two}"
    );
    // Three logits to an instance: 255 scores in 85 instances, verification under 450k gas and
    // under 2k gas per score, the proven probabilities (unpacked, through the link) within 1e-3.
    let p = &lines[2];
    assert_eq!(p["config"], "logit-255-packed");
    assert_eq!((p["batch"].as_u64(), p["instances"].as_u64()), (Some(255), Some(85)), "{p}");
    assert!(p["verify_execution_gas"].as_u64().unwrap() <= 450_000, "{p}");
    assert!(p["verify_gas_per_score"].as_f64().unwrap() <= 2_000.0, "{p}");
    assert!(p["max_abs_error"].as_f64().unwrap() <= 1e-3, "{p}");
    assert!(p["pk_bytes"].as_u64().unwrap() <= 64 << 20, "{p}");
    // The price-bound circuit (the demo's): the price is one more instance, the verifier still
    // fits mainnet and verification stays under 500k gas (about 451k here: more rows and one
    // more instance than logit-64); the proven probabilities are the model's at the proven price.
    let q = &lines[3];
    assert_eq!(q["config"], "logit-64-priced");
    assert_eq!((q["batch"].as_u64(), q["instances"].as_u64()), (Some(64), Some(65)), "{q}");
    assert!(q["verify_execution_gas"].as_u64().unwrap() <= 500_000, "{q}");
    assert!(q["verifier_runtime_bytes"].as_u64().unwrap() < 24_576, "{q}");
    assert!(q["max_abs_error"].as_f64().unwrap() <= 1e-3, "{q}");
    assert!(q["reusable"]["verify_gas"].as_u64().is_some_and(|g| g > 0), "{q}");
    // Progress went to stderr.
    assert!(stderr.contains("logit-64: proof 3 of 3"), "{stderr}");
}

#[test]
fn bench_prove_refuses_an_unknown_configuration() {
    let root = root();
    let run = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["--root", root.to_str().unwrap(), "bench", "prove", "--configs", "logit-7"])
        .output()
        .expect("zkrisk runs");
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("no configuration `logit-7`") && stderr.contains("logit-64"),
        "{stderr}"
    );
}
