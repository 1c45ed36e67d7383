//! The price-bound epoch circuit with the real ezkl prover, on the last day of the Maker history:
//! the proof's instance 0 is the price it was given, its logits are the model's on the features
//! computed from that price inside the circuit, and the published inputs (price included) are the
//! ones the proof commits to.

use alloy::primitives::U256;
use zkrisk_models::{LogisticModel, policy};
use zkrisk_oracle::{
    chain,
    demo::{DemoConfig, priced_epoch},
    prover::{self, CircuitKind, EzklWorker, PriceInput, Prover, SetupRequest, Srs, WorkerConfig},
};

use crate::root;

const BATCH: usize = 64;

/// The native model on the features recomputed at `usd`.
fn native_at(
    model: &LogisticModel,
    fixed: &[f64],
    slope: &[f64],
    price: PriceInput,
    usd: f64,
) -> Vec<f64> {
    let unit = usd / price.usd_per_unit(8);
    let x: Vec<f64> = fixed.iter().zip(slope).map(|(f, s)| f + s * unit).collect();
    model.predict_proba(&x).unwrap()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

// Polars (the vault states) blocks inside the runtime: it needs the multi-threaded one.
#[tokio::test(flavor = "multi_thread")]
async fn the_proof_binds_the_price_it_computed_the_features_at() {
    // The demo's model and batch: the 64 largest vaults of the last day at that day's close.
    let epoch = priced_epoch(&DemoConfig::in_project(&root()), &|_, _| ()).unwrap();
    let (model, x, answer, price) = (&epoch.report.model, &epoch.x, epoch.answer, epoch.price);
    let kind = CircuitKind::epoch_priced(price);
    let (fixed, slope, value) = (&epoch.fixed, &epoch.slope, price.value(answer));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("model.onnx"), kind.export(model, BATCH).unwrap()).unwrap();
    prover::write_priced_input(&d.join("input.json"), fixed, slope, value).unwrap();
    let mut worker = EzklWorker::start(WorkerConfig::in_project(&root())).await.unwrap();
    let circuit = worker
        .setup(&SetupRequest {
            model: d.join("model.onnx"),
            calibration_data: d.join("input.json"),
            dir: d.into(),
            srs: Srs::InsecureLocal,
            kind,
        })
        .await
        .unwrap();
    assert_eq!(circuit.score_bits(), 42);
    let bits = circuit.score_bits() as u8;
    let layout = chain::layout_of(kind);

    // At the close: instance 0 is the claimed price, the logits are the model's there.
    let proof = worker.prove(&circuit, &d.join("input.json"), &d.join("proof.json")).await.unwrap();
    assert!(worker.verify(&circuit, &proof.proof_path).await.unwrap());
    assert_eq!(proof.instances.len(), BATCH + 1);
    let (claimed, logits) = chain::split_instances(layout, &proof.instances).unwrap();
    assert_eq!(claimed, Some(U256::from(price.claimed(answer))));
    let (p, pb) = policy::probabilities(logits, bits, policy::Link::Logistic).unwrap();
    let native = model.predict_proba(x).unwrap();
    let err = policy::max_abs_error(&native, &p, pb);
    assert!(err <= 1e-3, "proven vs native at the close: {err}");

    // 30 % lower: another price instance, and logits that are the model's at that price, computed
    // inside the circuit from the same fixed parts and slopes.
    let lower = answer * 7 / 10;
    prover::write_priced_input(&d.join("lower.json"), fixed, slope, price.value(lower)).unwrap();
    let moved =
        worker.prove(&circuit, &d.join("lower.json"), &d.join("lower.proof.json")).await.unwrap();
    let (claimed_lower, logits_lower) = chain::split_instances(layout, &moved.instances).unwrap();
    assert_eq!(claimed_lower, Some(U256::from(price.claimed(lower))));
    let (q, qb) = policy::probabilities(logits_lower, bits, policy::Link::Logistic).unwrap();
    let at_lower = native_at(model, fixed, slope, price, price.claimed_usd(lower, 8));
    let err = policy::max_abs_error(&at_lower, &q, qb);
    assert!(err <= 1e-3, "proven vs native 30 % lower: {err}");
    let shift = max_diff(&native, &at_lower);
    assert!(shift > 1e-3, "a 30 % fall moves the scores ({shift})");

    // The published inputs are the proof's, price included; the same features at the lower price
    // are not (the price input is committed too).
    let c = worker
        .check_inputs(d, &circuit.srs, &proof.proof_path, &d.join("input.json"))
        .await
        .unwrap();
    assert!(c.committed, "{:?}", c.reason);
    assert_eq!(c.outputs, proof.instances);
    let c = worker
        .check_inputs(d, &circuit.srs, &proof.proof_path, &d.join("lower.json"))
        .await
        .unwrap();
    assert!(!c.committed, "another price checked as the proof's inputs");
    worker.shutdown().await;
}
