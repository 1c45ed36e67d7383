//! Risk models for zkrisk: training, scoring, metrics and ONNX export.
//!
//! This crate is pure: it takes feature matrices (row-major `f64`) and labels, and knows nothing
//! of the chain, the prover or where the data came from. A model is exported as an ONNX graph that
//! carries its own preprocessing, so the graph that ezkl proves computes exactly what
//! [`LogisticModel::predict_proba`] computes natively.
//!
//! [`market_risk`] measures a market's bad debt and liquidations by Monte-Carlo (VaR, ES, EVaR,
//! LaR) and [`recommend`] turns that into risk parameters in Aave's units.
//!
//! ```
//! use zkrisk_models::{LogisticModel, LogisticParams, metrics};
//!
//! // Two features, the first one separates the classes.
//! let x = vec![0.0, 1.0, 0.2, 0.0, 0.8, 1.0, 1.0, 0.0, 0.1, 0.5, 0.9, 0.5];
//! let y = vec![false, false, true, true, false, true];
//! let names = vec!["a".to_string(), "b".to_string()];
//! let model = LogisticModel::fit(&x, &y, names, &LogisticParams::default().check()?)?;
//! let p = model.predict_proba(&x)?;
//! assert!(metrics::auroc(&p, &y)? > 0.9);
//! # Ok::<(), zkrisk_models::Error>(())
//! ```

pub mod calibration;
pub mod credit;
mod error;
pub mod link;
mod logistic;
pub mod market_risk;
pub mod metrics;
mod mlp;
pub mod onnx;
pub mod policy;
pub mod recommend;

pub use error::{Error, Result};
pub use logistic::{LogisticModel, LogisticParams, Standardizer, ValidLogisticParams, sigmoid};
pub use mlp::{FitReport, MlpModel, MlpParams, ValidMlpParams};
