//! The crate's error type.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while loading data or building feature tables.
///
/// Errors about an input file name the file; errors about a column name the column (and, for a
/// bad value, the line and the value).
#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// An input file (or data directory) does not exist.
    #[error("missing input file: {}", path.display())]
    MissingFile {
        /// The path that was looked for.
        path: PathBuf,
    },
    /// Polars could not read a CSV file at all (I/O error, malformed CSV).
    #[error("cannot read CSV {}: {source}", path.display())]
    Csv {
        /// The file being read.
        path: PathBuf,
        /// Polars' own error.
        source: polars::error::PolarsError,
    },
    /// A file lacks a required column, or a column has an unusable shape.
    #[error("{}: column `{column}`: {reason}", path.display())]
    Schema {
        /// The file being read.
        path: PathBuf,
        /// The column concerned.
        column: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A cell could not be parsed or is out of its allowed range (e.g. a positive withdrawal).
    #[error("{}:{line}: column `{column}`: {reason} (value `{value}`)", path.display())]
    Value {
        /// The file being read.
        path: PathBuf,
        /// 1-based line number in the file (the header is line 1).
        line: usize,
        /// The column concerned.
        column: String,
        /// The offending value as written in the file (empty for a missing value).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The same calendar day appears twice in a daily price file.
    #[error("{}: duplicate date {date} (lines {first_line} and {second_line})", path.display())]
    DuplicateDate {
        /// The file being read.
        path: PathBuf,
        /// The duplicated day, `YYYY-MM-DD`.
        date: String,
        /// Line of the first occurrence.
        first_line: usize,
        /// Line of the second occurrence.
        second_line: usize,
    },
    /// A file has no usable rows (e.g. no `SPOTTER.ilks.mat` change in a parameter file).
    #[error("{}: {what}", path.display())]
    Empty {
        /// The file being read.
        path: PathBuf,
        /// What was expected and not found.
        what: String,
    },
    /// An in-memory frame handed to this crate lacks a column, has the wrong type or a bad value.
    #[error("input frame `{frame}`: column `{column}`: {reason}")]
    Frame {
        /// Which argument (e.g. `events`, `prices`, `states`).
        frame: &'static str,
        /// The column concerned.
        column: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No price is known at the end of a day for which a vault state is needed.
    #[error("no ETH/USD price known at the end of {date} (price history starts later)")]
    MissingPrice {
        /// The day, `YYYY-MM-DD`.
        date: String,
    },
    /// No liquidation ratio is in force at the end of a day for which a vault state is needed.
    #[error("no liquidation ratio in force at the end of {date}")]
    MissingLiquidationRatio {
        /// The day, `YYYY-MM-DD`.
        date: String,
    },
    /// The label horizon must be at least one day.
    #[error("invalid label horizon: {0} days (must be at least 1)")]
    InvalidHorizon(u32),
    /// A Parquet file could not be written or read.
    #[error("Parquet {}: {source}", path.display())]
    Parquet {
        /// The file concerned.
        path: PathBuf,
        /// Polars' own error.
        source: polars::error::PolarsError,
    },
    /// A file or directory operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An ingestion checkpoint is unreadable, of another version or inconsistent.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Rebuilding accounts from events met an event it cannot account for, or a dataset that
    /// is missing something the computation needs.
    #[error("rebuilding Aave positions: {0}")]
    Rebuild(String),
    /// Any other Polars error (lazy query execution, casts).
    #[error(transparent)]
    Polars(#[from] polars::error::PolarsError),
}
