//! Data pipelines for zkrisk: loaders for the datasets shipped in `data/`, the canonical event
//! table, and the daily vault-state feature table that liquidation models train on.
//!
//! - [`maker`] reads the MakerDAO ETH-B vault events and liquidation-ratio history;
//! - [`prices`] reads daily USD prices;
//! - [`vaults`] turns events and prices into one row per vault and day with the model
//!   [`FEATURES`](vaults::FEATURES) and the [`LABEL`](vaults::LABEL), without look-ahead, and into
//!   a row-major [`Matrix`](vaults::Matrix).
//!
//! - [`features`] builds the account features (collateral ratio, distance to liquidation,
//!   activity in trailing windows, market context) and the 1-, 7- and 30-day liquidation labels
//!   as Polars lazy pipelines over a canonical daily account table, for Maker and Aave alike.
//!
//! - [`aave`] holds ingested Aave v3 events as Parquet tables and rebuilds every account's
//!   collateral, debt and health factor from them.
//!
//! - [`market`] snapshots a whole market's positions (ingested Aave or Maker ETH-B), computes the
//!   daily market features (utilization, concentration, debt at risk under price drops, realized
//!   volatility, drawdown) and the joint daily return history of its assets.
//!
//! All times are UTC. The crate is pure: no network, no chain.
//!
//! # Example
//! ```no_run
//! use std::path::Path;
//!
//! use zkrisk_pipeline::vaults;
//!
//! # fn main() -> zkrisk_pipeline::Result<()> {
//! // data/maker-eth-b/*.csv and data/prices/eth_usd_daily_coingecko.csv
//! let states = vaults::load_maker_eth_b(Path::new("data"), 7)?;
//! let matrix = vaults::to_matrix(&states)?;
//! assert_eq!(matrix.cols, vaults::FEATURES.len());
//! println!("{} vault-days, {} liquidated within 7 days", matrix.rows,
//!     matrix.labels.iter().filter(|l| **l).count());
//! # Ok(())
//! # }
//! ```

pub mod aave;
mod error;
pub mod features;
pub mod maker;
pub mod market;
pub mod prices;
mod table;
pub mod vaults;

pub use error::{Error, Result};
