use zkrisk_models::{LogisticModel, LogisticParams, onnx};

/// A model with features on very different scales, like the vault features.
fn model_and_batch(batch: usize) -> (LogisticModel, Vec<f64>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..400 {
        let t = i as f64;
        let row = [(t * 0.37).sin() * 2.0 + 1.5, 1e5 + (t * 13.0) % 9e4, (t * 0.11).cos() * 0.05];
        y.push(row[0] < 0.5 || (row[2] < -0.03 && i % 2 == 0));
        x.extend(row);
    }
    let names = ["cr", "debt", "ret"].map(String::from).to_vec();
    let m = LogisticModel::fit(&x, &y, names, &LogisticParams::default().check().unwrap()).unwrap();
    (m, x[..batch * 3].to_vec())
}

#[test]
fn onnx_graph_matches_native_prediction() {
    let batch = 64;
    let (model, x) = model_and_batch(batch);
    let bytes = onnx::export(&model, batch).unwrap();
    let runner = onnx::OnnxRunner::load(&bytes, batch, 3).unwrap();
    let graph = runner.run(&x).unwrap();
    let native = model.predict_proba(&x).unwrap();
    assert_eq!(graph.len(), batch);
    let max = graph.iter().zip(&native).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(max <= 1e-4, "max |onnx - native| = {max}");
    // The probabilities are not all the same: the check above compares something.
    let spread = native.iter().cloned().fold(f64::MIN, f64::max)
        - native.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 0.2, "spread {spread}");
}

#[test]
fn onnx_runner_rejects_wrong_batch() {
    let (model, x) = model_and_batch(4);
    let bytes = onnx::export(&model, 4).unwrap();
    let runner = onnx::OnnxRunner::load(&bytes, 4, 3).unwrap();
    assert!(runner.run(&x[..9]).unwrap_err().to_string().contains("batch of 4"));
    assert!(onnx::export(&model, 0).is_err());
    assert!(onnx::OnnxRunner::load(b"not onnx", 4, 3).is_err());
}

#[test]
fn logit_graph_matches_native_logit() {
    let batch = 64;
    let (model, x) = model_and_batch(batch);
    let bytes = onnx::export_logit(&model, batch).unwrap();
    let runner = onnx::OnnxRunner::load(&bytes, batch, 3).unwrap();
    let logits = runner.run(&x).unwrap();
    let native = model.predict_proba(&x).unwrap();
    assert_eq!(logits.len(), batch);
    // The folded standardisation in f32 loses a little against the f64 model on the 1e5-scale
    // feature; the probabilities still agree to 1e-3.
    let max = logits
        .iter()
        .zip(&native)
        .map(|(z, p)| (zkrisk_models::sigmoid(*z) - p).abs())
        .fold(0.0, f64::max);
    assert!(max <= 1e-3, "max |σ(onnx logit) - native| = {max}");
    assert!(logits.iter().any(|z| *z < -1.0) && logits.iter().any(|z| *z > 0.0), "{logits:?}");
    assert!(onnx::export_logit(&model, 0).is_err());
}

#[test]
fn packed_logit_graph_carries_three_logits_per_output() {
    let batch = 63;
    let (model, x) = model_and_batch(batch);
    let logits = onnx::OnnxRunner::load(&onnx::export_logit(&model, batch).unwrap(), batch, 3)
        .unwrap()
        .run(&x)
        .unwrap();
    // tract computes in f32: with param_scale 0 each output is z_0 + z_1 2^50 + z_2 2^100, whose
    // f32 value is the third logit's term (the others are below its precision): the slots are in
    // order, one output per three rows.
    let bytes = onnx::export_logit_packed(&model, batch, 0).unwrap();
    let packed = onnx::OnnxRunner::load(&bytes, batch, 3).unwrap().run(&x).unwrap();
    assert_eq!(packed.len(), batch / 3);
    for (i, v) in packed.iter().enumerate() {
        let z = logits[3 * i + 2];
        assert!(
            (v / 2f64.powi(100) - z).abs() <= 1e-5 * z.abs().max(1.0),
            "output {i}: {v} vs {z}"
        );
    }
    let proto = <tract_onnx::pb::ModelProto as prost::Message>::decode(&bytes[..]).unwrap();
    let graph = proto.graph.unwrap();
    assert_eq!(
        graph.node.iter().map(|n| n.op_type.as_str()).collect::<Vec<_>>(),
        ["Gemm", "Reshape", "MatMul"]
    );
    let pack = graph.initializer.iter().find(|t| t.name == "pack").unwrap();
    assert_eq!(pack.float_data, vec![1.0, 2f32.powi(50), 2f32.powi(100)]);
    let with_scale = onnx::export_logit_packed(&model, batch, 14).unwrap();
    let proto = <tract_onnx::pb::ModelProto as prost::Message>::decode(&with_scale[..]).unwrap();
    let pack = proto.graph.unwrap().initializer.into_iter().find(|t| t.name == "pack").unwrap();
    assert_eq!(pack.float_data, vec![2f32.powi(-14), 2f32.powi(36), 2f32.powi(86)]);
    assert!(
        onnx::export_logit_packed(&model, 64, 14)
            .unwrap_err()
            .to_string()
            .contains("multiple of 3")
    );
}

#[test]
fn priced_logit_graph_computes_the_features_from_its_price() {
    let batch = 64;
    let (model, x) = model_and_batch(batch);
    let plain = onnx::OnnxRunner::load(&onnx::export_logit(&model, batch).unwrap(), batch, 3)
        .unwrap()
        .run(&x)
        .unwrap();
    // The first feature moves with the price (all of it: no fixed part), the others do not.
    let price = 2.5;
    let mut fixed = x.clone();
    let mut exposure = vec![0.0; x.len()];
    for row in 0..batch {
        exposure[row * 3] = x[row * 3] / price;
        fixed[row * 3] = 0.0;
    }
    let unit = 2f32.powi(9);
    let bytes = onnx::export_logit_priced(&model, batch, unit).unwrap();
    let runner = onnx::OnnxRunner::load(&bytes, batch, 3).unwrap();
    let (instance, logits) = runner.run_priced(&fixed, &exposure, price).unwrap();
    assert_eq!(instance, price * f64::from(unit));
    assert_eq!(logits.len(), batch);
    let max = logits.iter().zip(&plain).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(max <= 1e-3, "max |priced - plain| = {max}");
    // At another price the first feature, and so the logits, move by the model's weight on it.
    let (_, moved) = runner.run_priced(&fixed, &exposure, price * 1.2).unwrap();
    let mut at_higher = x;
    for row in 0..batch {
        at_higher[row * 3] *= 1.2;
    }
    let want = onnx::OnnxRunner::load(&onnx::export_logit(&model, batch).unwrap(), batch, 3)
        .unwrap()
        .run(&at_higher)
        .unwrap();
    let max = moved.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(max <= 1e-3, "max |priced at 1.2 p - plain| = {max}");
    assert!(moved.iter().zip(&logits).any(|(a, b)| (a - b).abs() > 0.1));
    assert!(
        runner
            .run_priced(&fixed[..9], &exposure, price)
            .unwrap_err()
            .to_string()
            .contains("batch of 64")
    );
    assert!(onnx::export_logit_priced(&model, batch, 0.0).is_err());
}
