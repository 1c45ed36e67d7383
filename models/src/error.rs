use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while training, scoring or exporting a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A feature matrix whose length is not `rows × cols`, or labels of another length.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A feature value is NaN or infinite (the message names row and column).
    #[error("non-finite feature value at row {row}, column `{column}`")]
    NonFinite {
        /// Row index in the matrix.
        row: usize,
        /// Feature name.
        column: String,
    },
    /// Training needs both classes present.
    #[error("training labels contain a single class ({positives} positives of {rows} rows)")]
    SingleClass {
        /// Number of positive labels.
        positives: usize,
        /// Number of rows.
        rows: usize,
    },
    /// A hyper-parameter outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// Parameter name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The optimiser failed.
    #[error("training failed: {0}")]
    Training(String),
    /// Writing, reading or running an ONNX graph failed.
    #[error("onnx: {0}")]
    Onnx(String),
    /// A model file could not be read or written.
    #[error("model file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model file is not valid JSON for a model.
    #[error("model file {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}
