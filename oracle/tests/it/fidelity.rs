//! Fidelity of the proven liquidation models: native (f64), ONNX (tract, f32) and ezkl (quantized,
//! inside the proof) outputs on a hold-out batch of real Maker vault-days agree to 1e-3. The
//! logistic model is proven twice: with the sigmoid in the circuit, and as the epoch circuit
//! (the logit only, [`CircuitKind::EPOCH`]) read through the oracle's link.

use std::path::Path;

use zkrisk_backtest::{
    WalkForward,
    walk_forward::{Fold, liquidation_params},
};
use zkrisk_models::{onnx, policy};
use zkrisk_oracle::prover::{
    self, CircuitKind, EzklWorker, Prover, SetupRequest, Srs, WorkerConfig,
};
use zkrisk_pipeline::features::{self, MODEL_FEATURES};

use crate::root;

const BATCH: usize = 64;
/// The bound `zkrisk train` and the docs promise on probabilities.
const MAX_ABS_ERROR: f64 = 1e-3;

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

/// Proves `onnx_bytes` on `x` and returns the proven outputs as probabilities (read through the
/// circuit's link, as the oracle reads them).
async fn prove(
    worker: &mut EzklWorker,
    dir: &Path,
    onnx_bytes: &[u8],
    calibration: &[f64],
    x: &[f64],
    kind: CircuitKind,
) -> Vec<f64> {
    std::fs::write(dir.join("model.onnx"), onnx_bytes).unwrap();
    let calib = serde_json::json!({ "input_data": [calibration] }).to_string();
    std::fs::write(dir.join("calibration.json"), calib).unwrap();
    let req = SetupRequest {
        model: dir.join("model.onnx"),
        calibration_data: dir.join("calibration.json"),
        dir: dir.to_path_buf(),
        srs: Srs::InsecureLocal,
        kind,
    };
    let circuit = worker.setup(&req).await.unwrap();
    prover::write_input(&dir.join("input.json"), x).unwrap();
    let proof =
        worker.prove(&circuit, &dir.join("input.json"), &dir.join("proof.json")).await.unwrap();
    assert!(worker.verify(&circuit, &proof.proof_path).await.unwrap());
    let bits = u8::try_from(circuit.score_bits()).unwrap();
    let (p, bits) = policy::probabilities(&proof.instances, bits, kind.link()).unwrap();
    let one = (1u128 << bits) as f64;
    p.iter().map(|v| *v as f64 / one).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn proven_mlp_and_logistic_match_native_and_onnx_within_1e_3() {
    let root = root();
    assert!(root.join(".venv/bin/python").exists(), ".venv is missing: run scripts/setup.sh first");
    let table = features::maker_eth_b(&root.join("data")).unwrap();
    let m = features::to_matrix(&table).unwrap().select(&MODEL_FEATURES).unwrap();
    let last_day = *m.dates.iter().max().unwrap();
    let wf = WalkForward {
        features: &MODEL_FEATURES,
        values: &m.values,
        labels: &m.labels[1],
        days: &m.dates,
        horizon: 7,
        last_label_day: last_day - 7,
        baseline_feature: "log_collateral_ratio",
    };
    // Train before 2022-04-01 (day 19083), validate on the quarter before it, prove a batch of
    // the riskiest vault-days of the following quarter (the hold-out).
    let fold = Fold { validation_start: 19083 - 7 - 90, test_start: 19083, test_end: 19174 };
    let (lp, mp) = liquidation_params().unwrap();
    let (fold, idx) = wf.widen_validation(fold);
    let fitted = wf.fit(&idx, fold.test_start, &lp, &mp).unwrap();
    let cols = MODEL_FEATURES.len();
    let rows = |idx: &[usize]| -> Vec<f64> {
        idx.iter().flat_map(|i| m.values[i * cols..(i + 1) * cols].iter().copied()).collect()
    };
    let mut test = fold.split(&m.dates, 7, last_day - 7).test;
    // Lowest collateral ratios first: the batch spans probabilities far from 0.
    test.sort_by(|a, b| m.values[a * cols].total_cmp(&m.values[b * cols]));
    let x = rows(&test[..BATCH]);
    // Calibration: evenly spaced training rows plus the lowest-ratio ones.
    let mut train = idx.train.clone();
    train.sort_by(|a, b| m.values[a * cols].total_cmp(&m.values[b * cols]));
    let step = train.len() / BATCH;
    let calib: Vec<usize> = train
        .iter()
        .take(BATCH / 2)
        .chain(train.iter().step_by(step))
        .copied()
        .take(BATCH)
        .collect();
    let calibration = rows(&calib);

    let mut worker = EzklWorker::start(WorkerConfig::in_project(&root)).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    let sigma = |z: Vec<f64>| z.into_iter().map(zkrisk_models::sigmoid).collect::<Vec<_>>();
    for (name, native, bytes, kind) in [
        (
            "mlp",
            fitted.mlp.predict_proba(&x).unwrap(),
            onnx::export_mlp(&fitted.mlp, BATCH).unwrap(),
            CircuitKind::Calibrated,
        ),
        (
            "logistic",
            fitted.logistic.predict_proba(&x).unwrap(),
            onnx::export(&fitted.logistic, BATCH).unwrap(),
            CircuitKind::Calibrated,
        ),
        (
            "logistic logit (epoch circuit)",
            fitted.logistic.predict_proba(&x).unwrap(),
            onnx::export_logit(&fitted.logistic, BATCH).unwrap(),
            CircuitKind::EPOCH,
        ),
    ] {
        let graph = onnx::OnnxRunner::load(&bytes, BATCH, cols).unwrap().run(&x).unwrap();
        let via_onnx = if kind == CircuitKind::EPOCH { sigma(graph) } else { graph };
        let dir = work.path().join(name.replace(' ', "_"));
        std::fs::create_dir_all(&dir).unwrap();
        let proven = prove(&mut worker, &dir, &bytes, &calibration, &x, kind).await;
        let (onnx_err, ezkl_err) = (max_diff(&native, &via_onnx), max_diff(&native, &proven));
        let max_p = native.iter().copied().fold(0.0, f64::max);
        eprintln!(
            "{name}: max p {max_p:.4}, |native - onnx| {onnx_err:.2e}, |native - ezkl| {ezkl_err:.2e}, |onnx - ezkl| {:.2e}",
            max_diff(&via_onnx, &proven)
        );
        report.push((name, onnx_err, ezkl_err));
    }
    worker.shutdown().await;
    for (name, onnx_err, ezkl_err) in report {
        assert!(onnx_err <= 1e-5, "{name}: ONNX differs by {onnx_err}");
        assert!(ezkl_err <= MAX_ABS_ERROR, "{name}: proof differs by {ezkl_err}");
    }
}
