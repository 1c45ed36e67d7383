use std::{path::PathBuf, process::Command};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

fn run_demo() -> Value {
    let root = root();
    for needed in [".venv/bin/python", "contracts/node_modules/.bin/anvil", "contracts/out"] {
        assert!(root.join(needed).exists(), "{needed} is missing: run scripts/setup.sh first");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["--root", root.to_str().unwrap(), "demo", "--json"])
        .output()
        .expect("zkrisk runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stderr}");
    // Progress went to stderr, step by step.
    for step in 1..=8 {
        assert!(stderr.contains(&format!("[{step}/8]")), "no progress line {step}:\n{stderr}");
    }
    let last = stdout.lines().last().expect("the demo prints its report");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}"))
}

#[test]
fn demo_twice_applies_the_proven_parameters_and_rejects_tampering() {
    let first = run_demo();
    // Twice in a row: no stale chain, no port clash; the second run reuses the circuit.
    let second = run_demo();
    assert_eq!(second["proof"]["circuit_cached"], true);

    for r in [&first, &second] {
        assert_eq!(r["onchain"]["verified"], true, "{r}");
        assert_eq!(r["proof"]["verified_offchain"], true, "{r}");
        assert_eq!(r["tampered"]["rejected"], true, "{r}");
        assert!(r["tampered"]["proof_flip"].as_str().unwrap().contains("InvalidProof"));
        assert!(r["tampered"]["score_bump"].as_str().unwrap().contains("InvalidProof"));
        // The proof binds the collateral price: another claimed price (within the oracle's 1 %) is
        // not the proof's, and once the aggregator moved 2 % the proof's price is off the chain's.
        assert!(r["tampered"]["price_bump"].as_str().unwrap().contains("InvalidProof"), "{r}");
        // A claimed price off the circuit's grid is refused by name.
        assert!(r["tampered"]["price_off_grid"].as_str().unwrap().contains("PriceOffGrid"), "{r}");
        let moved = r["tampered"]["price_moved"].as_str().unwrap();
        assert!(moved.contains("PriceMismatch"), "{r}");
        let proven: f64 = r["epoch"]["proven_price"].as_str().unwrap().parse().unwrap();
        assert!(moved.contains(r["epoch"]["proven_price"].as_str().unwrap()), "{moved}");
        // The proven price is the data day's close to within a cent or two (low bits dropped).
        let close = r["epoch"]["eth_close_usd"].as_f64().unwrap();
        assert!(close > 100.0 && (proven / 1e8 - close).abs() < 0.05, "{close} vs {proven}");
        // The chain holds exactly what the proof carried, read back from the real Aave reserve.
        assert_eq!(r["param"]["after"], r["param"]["from_proof"], "{r}");
        assert_eq!(
            r["param"]["before"],
            serde_json::json!({"ltv": 8000, "liquidation_threshold": 8500, "liquidation_bonus": 10500}),
            "{r}"
        );
        assert_eq!(r["onchain"]["reserve"], "WETH", "{r}");
        assert!(r["param"]["read_from"].as_str().unwrap().contains("Aave v3 reserve WETH"), "{r}");
        for key in ["steward", "aave_pool", "reserve_asset", "oracle"] {
            assert!(r["onchain"][key].as_str().unwrap().starts_with("0x"), "onchain.{key}: {r}");
        }
        assert!(r["onchain"]["gas_used"].as_u64().unwrap() > 200_000, "{r}");
        // The steward applied the queued update to Aave after its delay.
        assert!(r["onchain"]["execute_gas_used"].as_u64().unwrap() > 50_000, "{r}");
        assert!(r["onchain"]["tx_hash"].as_str().unwrap().starts_with("0x"));
        assert!(r["proof"]["prove_seconds"].as_f64().unwrap() > 0.0);
        // Metrics were computed on the hold-out period, beside the baseline.
        for key in ["auroc", "brier"] {
            let v = r["model"][key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "model.{key} = {v}");
        }
        assert!(r["baseline"]["auroc"].as_f64().unwrap() > 0.5);
        assert!(r["model"]["test_positives"].as_u64().unwrap() > 0);
        // Native, ONNX and proven scores agree.
        assert!(r["proof"]["onnx_max_abs_error"].as_f64().unwrap() <= 1e-4);
        assert!(r["proof"]["proof_max_abs_error"].as_f64().unwrap() <= 5e-3, "{r}");
    }
    // Same data, same model, same parameters.
    assert_eq!(first["model"]["weights_hash"], second["model"]["weights_hash"]);
    assert_eq!(first["param"]["after"], second["param"]["after"]);
}

#[test]
fn bad_root_is_a_clear_error() {
    let dir = std::env::temp_dir().join("zkrisk-no-such-root");
    let out = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["--root", dir.to_str().unwrap(), "demo"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("zkrisk-no-such-root"), "{stderr}");
}
