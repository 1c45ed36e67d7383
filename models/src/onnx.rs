//! ONNX export of a [`LogisticModel`] with its preprocessing, and a runner for parity checks.
//!
//! Two graphs, written with the protobuf types of `tract-onnx` and read back by tract:
//! - [`export`]: `features[batch, F] → Sub(mean) → Mul(1/scale) → Gemm(w, b) → Sigmoid →
//!   probability[batch, 1]`;
//! - [`export_logit`]: `features[batch, F] → Gemm(w / scale, b − Σ w·mean / scale) →
//!   logit[batch, 1]`, the standardisation folded into the weights. Its circuit is one matrix
//!   product with no lookup table; the logistic link is applied to the proven logits outside it
//!   ([`crate::link`]).
//!
//! The batch dimension is fixed: ezkl proves one batch of scores in one circuit.

use prost::Message;
use tract_onnx::{
    pb::{
        GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto,
        TypeProto, ValueInfoProto, tensor_proto::DataType, tensor_shape_proto, type_proto,
    },
    prelude::*,
};

use crate::{Error, LogisticModel, MlpModel, Result};

/// Name of the graph input.
pub const INPUT: &str = "features";
/// Name of the graph output.
pub const OUTPUT: &str = "probability";
/// ONNX opset the graph targets.
pub const OPSET: i64 = 13;

fn tensor(name: &str, dims: &[i64], values: Vec<f32>) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: DataType::Float as i32,
        float_data: values,
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(tensor_shape_proto::dimension::Value::DimValue(*d)),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

/// The model file of `graph`: zkrisk as producer, opset [`OPSET`].
fn encode(graph: GraphProto, doc_string: String) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        producer_name: "zkrisk".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
        doc_string,
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Serialises `model` as an ONNX graph over batches of exactly `batch` rows.
pub fn export(model: &LogisticModel, batch: usize) -> Result<Vec<u8>> {
    if batch == 0 {
        return Err(Error::InvalidParam { name: "batch", reason: "must be > 0".into() });
    }
    let f = model.n_features() as i64;
    let b = batch as i64;
    let s = &model.standardizer;
    let graph = GraphProto {
        name: "zkrisk_logistic".into(),
        node: vec![
            node("Sub", &[INPUT, "mean"], "centred"),
            node("Mul", &["centred", "inv_scale"], "standardised"),
            node("Gemm", &["standardised", "weights", "bias"], "logit"),
            node("Sigmoid", &["logit"], OUTPUT),
        ],
        initializer: vec![
            tensor("mean", &[f], s.mean.iter().map(|v| *v as f32).collect()),
            tensor("inv_scale", &[f], s.scale.iter().map(|v| (1.0 / v) as f32).collect()),
            tensor("weights", &[f, 1], model.weights.iter().map(|v| *v as f32).collect()),
            tensor("bias", &[1], vec![model.intercept as f32]),
        ],
        input: vec![value_info(INPUT, &[b, f])],
        output: vec![value_info(OUTPUT, &[b, 1])],
        ..Default::default()
    };
    Ok(encode(graph, format!("logistic regression over {}", model.features.join(", "))))
}

/// Name of the output of [`export_logit`].
pub const LOGIT_OUTPUT: &str = "logit";

/// Serialises `model`'s logit as an ONNX graph over batches of exactly `batch` rows: one `Gemm`
/// whose weights and bias carry the standardisation, `logit = x · (w / scale) + (b − Σ w·mean /
/// scale)`. The probability is `σ(logit)`, applied outside the graph.
pub fn export_logit(model: &LogisticModel, batch: usize) -> Result<Vec<u8>> {
    if batch == 0 {
        return Err(Error::InvalidParam { name: "batch", reason: "must be > 0".into() });
    }
    let f = model.n_features() as i64;
    let b = batch as i64;
    let s = &model.standardizer;
    let weights: Vec<f32> =
        model.weights.iter().zip(&s.scale).map(|(w, sc)| (w / sc) as f32).collect();
    let shift: f64 =
        model.weights.iter().zip(&s.mean).zip(&s.scale).map(|((w, m), sc)| w * m / sc).sum();
    let graph = GraphProto {
        name: "zkrisk_logit".into(),
        node: vec![node("Gemm", &[INPUT, "weights", "bias"], LOGIT_OUTPUT)],
        initializer: vec![
            tensor("weights", &[f, 1], weights),
            tensor("bias", &[1], vec![(model.intercept - shift) as f32]),
        ],
        input: vec![value_info(INPUT, &[b, f])],
        output: vec![value_info(LOGIT_OUTPUT, &[b, 1])],
        ..Default::default()
    };
    Ok(encode(graph, format!("logit of a logistic regression over {}", model.features.join(", "))))
}

/// Serialises `model`'s logits packed three to an output, over batches of exactly `batch` rows (a
/// multiple of 3): [`export_logit`]'s `Gemm`, then `Reshape` to `[batch / 3, 3]` and a `MatMul` by
/// `[2^-s, 2^(50 − s), 2^(100 − s)]`, with `s = param_scale` the fractional bits the circuit gives
/// its weights, so that each proven output is the integer `Σ_j q_j · 2^(50 j)` of
/// [`crate::link::unpack`] (`q_j` the logits at `input_scale + param_scale` bits). Every constant
/// is a power of two, exact in f32 and after quantisation.
pub fn export_logit_packed(
    model: &LogisticModel,
    batch: usize,
    param_scale: u32,
) -> Result<Vec<u8>> {
    let slots = crate::link::PACK_SLOTS;
    if batch == 0 || !batch.is_multiple_of(slots) {
        return Err(Error::InvalidParam {
            name: "batch",
            reason: format!("{batch} is not a positive multiple of {slots}"),
        });
    }
    let mut proto = ModelProto::decode(&export_logit(model, batch)?[..])
        .map_err(|e| Error::Onnx(format!("re-reading the logit graph: {e}")))?;
    let graph = proto.graph.as_mut().expect("export_logit writes a graph");
    let groups = (batch / slots) as i64;
    graph.node.push(node("Reshape", &[LOGIT_OUTPUT, "groups"], "grouped"));
    graph.node.push(node("MatMul", &["grouped", "pack"], PACKED_OUTPUT));
    graph.initializer.push(TensorProto {
        name: "groups".into(),
        dims: vec![2],
        data_type: DataType::Int64 as i32,
        int64_data: vec![groups, slots as i64],
        ..Default::default()
    });
    let pack = (0..slots)
        .map(|j| 2f32.powi((crate::link::PACK_SLOT_BITS * j) as i32 - param_scale as i32))
        .collect();
    graph.initializer.push(tensor("pack", &[slots as i64, 1], pack));
    graph.output = vec![value_info(PACKED_OUTPUT, &[groups, 1])];
    graph.name = "zkrisk_logit_packed".into();
    proto.doc_string = format!("{} (packed {slots} to an output)", proto.doc_string);
    Ok(proto.encode_to_vec())
}

/// Name of the output of [`export_logit_packed`].
pub const PACKED_OUTPUT: &str = "packed_logits";

/// Names of the inputs and the first output of [`export_logit_priced`].
pub const EXPOSURE: &str = "exposure";
/// The price input of [`export_logit_priced`].
pub const PRICE: &str = "price";
/// The price output of [`export_logit_priced`]: its public instance 0.
pub const PRICE_OUTPUT: &str = "price_instance";

/// Serialises `model`'s logit with the collateral price as an input of the graph, over batches of
/// exactly `batch` rows: `x = features + exposure · price`, then [`export_logit`]'s `Gemm`.
///
/// - `features[batch, F]` holds each feature's part that does not move with the price, and
///   `exposure[batch, F]` its slope in the price (zero for a feature the price does not enter), so
///   the graph computes the model's features from the price it is given. Only features that are
///   affine in the price can be written so (`distance_to_liquidation` of a vault whose collateral is
///   the priced asset and whose debt is not; a return from an earlier close); the others of a model
///   proven this way must not depend on the price at all.
/// - `price[1, 1]` is the price in the circuit's units, and the graph's first output is
///   `price · price_unit`, the public instance the oracle compares with the chain's price
///   (`PriceThenLogits`): with `price_unit = 2^(k − param_scale)` and the price `q / 2^input_scale`
///   for an integer `q`, that instance is the integer `q · 2^k`.
/// - The second output is the logits, `[batch, 1]`.
pub fn export_logit_priced(
    model: &LogisticModel,
    batch: usize,
    price_unit: f32,
) -> Result<Vec<u8>> {
    if !(price_unit.is_finite() && price_unit > 0.0) {
        return Err(Error::InvalidParam {
            name: "price_unit",
            reason: format!("{price_unit} is not a positive number"),
        });
    }
    let mut proto = ModelProto::decode(&export_logit(model, batch)?[..])
        .map_err(|e| Error::Onnx(format!("re-reading the logit graph: {e}")))?;
    let graph = proto.graph.as_mut().expect("export_logit writes a graph");
    let f = model.n_features() as i64;
    let b = batch as i64;
    let gemm = graph.node.pop().expect("export_logit writes one node");
    graph.node = vec![
        node("Mul", &[EXPOSURE, PRICE], "priced"),
        node("Add", &[INPUT, "priced"], "features_at_price"),
        node("Gemm", &["features_at_price", "weights", "bias"], LOGIT_OUTPUT),
        node("Mul", &[PRICE, "price_unit"], PRICE_OUTPUT),
    ];
    debug_assert_eq!(gemm.op_type, "Gemm");
    graph.initializer.push(tensor("price_unit", &[1, 1], vec![price_unit]));
    graph.input =
        vec![value_info(INPUT, &[b, f]), value_info(EXPOSURE, &[b, f]), value_info(PRICE, &[1, 1])];
    graph.output = vec![value_info(PRICE_OUTPUT, &[1, 1]), value_info(LOGIT_OUTPUT, &[b, 1])];
    graph.name = "zkrisk_logit_priced".into();
    proto.doc_string = format!("{} (the price an input)", proto.doc_string);
    Ok(proto.encode_to_vec())
}

/// Serialises an [`MlpModel`] as an ONNX graph over batches of exactly `batch` rows:
/// `features[batch, F] → Sub(mean) → Mul(1/scale) → Gemm(W₁, b₁) → Relu → Gemm(w₂, b₂) → Sigmoid →
/// probability[batch, 1]`. A Platt calibration folded into the model is part of `w₂, b₂`.
pub fn export_mlp(model: &MlpModel, batch: usize) -> Result<Vec<u8>> {
    if batch == 0 {
        return Err(Error::InvalidParam { name: "batch", reason: "must be > 0".into() });
    }
    let f = model.n_features() as i64;
    let h = model.n_hidden() as i64;
    let b = batch as i64;
    let s = &model.standardizer;
    let f32s = |v: &[f64]| v.iter().map(|x| *x as f32).collect::<Vec<_>>();
    let graph = GraphProto {
        name: "zkrisk_mlp".into(),
        node: vec![
            node("Sub", &[INPUT, "mean"], "centred"),
            node("Mul", &["centred", "inv_scale"], "standardised"),
            node("Gemm", &["standardised", "w1", "b1"], "pre_activation"),
            node("Relu", &["pre_activation"], "hidden"),
            node("Gemm", &["hidden", "w2", "b2"], "logit"),
            node("Sigmoid", &["logit"], OUTPUT),
        ],
        initializer: vec![
            tensor("mean", &[f], f32s(&s.mean)),
            tensor("inv_scale", &[f], s.scale.iter().map(|v| (1.0 / v) as f32).collect()),
            tensor("w1", &[f, h], f32s(&model.w1)),
            tensor("b1", &[h], f32s(&model.b1)),
            tensor("w2", &[h, 1], f32s(&model.w2)),
            tensor("b2", &[1], vec![model.b2 as f32]),
        ],
        input: vec![value_info(INPUT, &[b, f])],
        output: vec![value_info(OUTPUT, &[b, 1])],
        ..Default::default()
    };
    Ok(encode(graph, format!("MLP ({h} ReLU units) over {}", model.features.join(", "))))
}

/// An ONNX graph loaded into tract, ready to score batches.
#[derive(Debug)]
pub struct OnnxRunner {
    plan: std::sync::Arc<TypedRunnableModel>,
    batch: usize,
    features: usize,
}

impl OnnxRunner {
    /// Loads an ONNX graph with a fixed `[batch, features]` float input.
    pub fn load(bytes: &[u8], batch: usize, features: usize) -> Result<Self> {
        let err = |e: TractError| Error::Onnx(format!("{e:#}"));
        let plan = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .map_err(err)?
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        Ok(Self { plan, batch, features })
    }

    /// Runs one batch (row-major, exactly `batch × features` values) and returns one output per row.
    pub fn run(&self, x: &[f64]) -> Result<Vec<f64>> {
        if x.len() != self.batch * self.features {
            return Err(Error::Shape(format!(
                "{} values for a batch of {} × {}",
                x.len(),
                self.batch,
                self.features
            )));
        }
        let input = Tensor::from_shape(
            &[self.batch, self.features],
            &x.iter().map(|v| *v as f32).collect::<Vec<_>>(),
        )
        .map_err(|e| Error::Onnx(format!("{e:#}")))?;
        let out = self.plan.run(tvec!(input.into())).map_err(|e| Error::Onnx(format!("{e:#}")))?;
        let view =
            out[0].to_plain_array_view::<f32>().map_err(|e| Error::Onnx(format!("{e:#}")))?;
        Ok(view.iter().map(|v| f64::from(*v)).collect())
    }

    /// Runs an [`export_logit_priced`] graph on one batch (`features` and `exposure` row-major,
    /// `batch × features` values each) at `price`, and returns its two outputs: the price instance
    /// and the logits.
    pub fn run_priced(
        &self,
        features: &[f64],
        exposure: &[f64],
        price: f64,
    ) -> Result<(f64, Vec<f64>)> {
        let n = self.batch * self.features;
        if features.len() != n || exposure.len() != n {
            return Err(Error::Shape(format!(
                "{} features and {} exposures for a batch of {} × {}",
                features.len(),
                exposure.len(),
                self.batch,
                self.features
            )));
        }
        let onnx = |e: TractError| Error::Onnx(format!("{e:#}"));
        let tensor = |shape: &[usize], v: &[f64]| {
            Tensor::from_shape(shape, &v.iter().map(|x| *x as f32).collect::<Vec<_>>())
        };
        let shape = [self.batch, self.features];
        let inputs = tvec!(
            tensor(&shape, features).map_err(onnx)?.into(),
            tensor(&shape, exposure).map_err(onnx)?.into(),
            tensor(&[1, 1], &[price]).map_err(onnx)?.into()
        );
        let out = self.plan.run(inputs).map_err(onnx)?;
        let read = |i: usize| -> Result<Vec<f64>> {
            let view = out[i].to_plain_array_view::<f32>().map_err(onnx)?;
            Ok(view.iter().map(|v| f64::from(*v)).collect())
        };
        Ok((read(0)?[0], read(1)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MlpParams;

    #[test]
    fn mlp_graph_matches_native_scores() {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..400 {
            let a = ((i * 37) % 101) as f64 / 10.0 - 5.0;
            let b = ((i * 53) % 97) as f64 / 20.0;
            x.extend([a, b, 1000.0 + b * 50.0]);
            y.push(a * a > 6.0 || b > 4.5);
        }
        let names = vec!["a".to_string(), "b".to_string(), "big".to_string()];
        let p = MlpParams { max_epochs: 20, hidden: 8, ..Default::default() }.check().unwrap();
        let (m, _) = MlpModel::fit(&x, &y, &x, &y, names, &p).unwrap();
        let batch = 16;
        let bytes = export_mlp(&m, batch).unwrap();
        let runner = OnnxRunner::load(&bytes, batch, 3).unwrap();
        let rows = &x[..batch * 3];
        let native = m.predict_proba(rows).unwrap();
        let onnx = runner.run(rows).unwrap();
        let err = native.iter().zip(&onnx).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(err < 1e-5, "max abs error {err}");
        assert!(export_mlp(&m, 0).is_err());
    }
}
