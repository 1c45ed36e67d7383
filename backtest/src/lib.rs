//! Honest evaluation of zkrisk's models and parameter policies on history: time-ordered splits
//! with no look-ahead, a policy replay over the MakerDAO ETH-B vaults, stress scenarios and a
//! report (`metrics.json`, `report.html`). See `docs/backtest.md`.
//!
//! - [`walk_forward`]: rolling purged folds, models next to baselines;
//! - [`lookahead`]: the guard that recomputes features from data cut at decision days;
//! - [`replay`]: policies, the daily replay and its accounting; [`steward`]: zkrisk's
//!   recommendation under Risk Steward bounds; [`stress`]: historical and shocked price paths;
//! - [`run`]: the whole backtest, [`report`]: the HTML report; [`config`]: `backtest.toml`;
//!   [`table`]: model evaluation on any history in the canonical schema (Parquet).
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

pub mod config;
pub mod governance;
pub mod history;
mod holdout;
pub mod lookahead;
pub mod replay;
pub mod report;
pub mod run;
pub mod steward;
pub mod stress;
pub mod table;
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
    /// A loader or feature-pipeline error (it names the file or column).
    #[error(transparent)]
    Pipeline(#[from] zkrisk_pipeline::Error),
    /// Input data the backtest cannot use (the message says which).
    #[error("data: {0}")]
    Data(String),
    /// A bad configuration value (the message names the key).
    #[error("config: {0}")]
    Config(String),
    /// A policy returned unusable parameters or failed.
    #[error("policy {0}")]
    Policy(String),
    /// A feature of a row changes when the data after the row's decision day are removed: it
    /// reads the future.
    #[error(
        "look-ahead: feature `{feature}` of {account} on day {day} is {full} from all data but {cut} \
         from the data known at the end of day {checkpoint}; refusing to evaluate"
    )]
    LookAhead {
        /// The feature.
        feature: String,
        /// The row's account.
        account: String,
        /// The row's day (days since 1970-01-01).
        day: i32,
        /// The decision day the data were cut at.
        checkpoint: i32,
        /// Value from all data.
        full: f64,
        /// Value from the cut data.
        cut: f64,
    },
}
