//! The proof and chain side of zkrisk: the prover boundary, the local chain, the contracts and the
//! update path a keeper uses.
//!
//! - [`prover`]: the [`prover::Prover`] trait and its ezkl backend, a long-lived Python worker
//!   driven over stdin/stdout ([`prover::EzklWorker`]).
//! - [`aave`]: a real Aave v3 market (Aave's compiled contracts) deployed on a chain, and the
//!   `sol!` bindings of its contracts.
//! - [`chain`]: a local anvil node, contract deployment from the Foundry build, and
//!   [`chain::OracleClient`], the one code path that submits proof-checked updates.
//! - [`solc`]: compiles generated Solidity (the ezkl verifier) with the project's offline solc.
//! - [`ingest`]: Aave v3 logs from a JSON-RPC endpoint into partitioned Parquet, resumable.
//! - [`keeper`]: the keeper service's configuration and epoch ledger.
//! - [`feed`]: `zkrisk feed serve`, the HTTP risk feed over the chain and the keeper's ledger.
//! - [`verify`]: `zkrisk verify`, the checks anyone can run on an update of the feed.
//! - [`demo`]: the end-to-end walk through every layer that `zkrisk demo` runs.
//!
//! ```no_run
//! # async fn f() -> zkrisk_oracle::Result<()> {
//! use zkrisk_oracle::prover::{EzklWorker, Prover, WorkerConfig};
//!
//! let mut worker = EzklWorker::start(WorkerConfig::in_project(".".as_ref())).await?;
//! println!("ezkl {}", worker.version());
//! # Ok(()) }
//! ```

pub mod aave;
pub mod bench;
pub mod chain;
pub mod demo;
mod error;
pub mod feed;
pub mod ingest;
pub mod keeper;
pub mod prover;
pub mod solc;
pub mod verify;

pub use error::{Error, Result};
