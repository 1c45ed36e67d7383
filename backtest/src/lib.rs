//! Honest evaluation of zkrisk's models on history: time-ordered splits with no look-ahead.
//!
//! Rows carry the day they describe (days since 1970-01-01). A model is trained on rows whose
//! label window closes before the cut-off and scored on rows at or after it, so neither features
//! nor labels of the test period reach training.
//!
//! ```
//! use zkrisk_backtest::TimeSplit;
//!
//! // Horizon 7 days, cut-off day 100: day 92 is the last training day (92 + 7 < 100).
//! let split = TimeSplit::new(100, 7).apply(&[90, 92, 93, 99, 100, 101]);
//! assert_eq!(split.train, vec![0, 1]);
//! assert_eq!(split.test, vec![4, 5]);
//! ```

mod holdout;
pub mod walk_forward;

pub use holdout::{Holdout, HoldoutReport, Metrics, TimeSplit, TimeSplitIdx};
pub use walk_forward::{Fold, WalkForward, WalkForwardReport, rolling_folds};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One side of a split has no rows, or a single class (the message says which).
    #[error("split at day {cutoff}: {reason}")]
    EmptySplit {
        /// Cut-off day.
        cutoff: i32,
        /// What is missing.
        reason: String,
    },
    /// A feature the evaluation needs is not among the matrix columns.
    #[error("feature `{0}` is not in the matrix")]
    MissingFeature(String),
    /// A model error.
    #[error(transparent)]
    Models(#[from] zkrisk_models::Error),
}
