//! Integration tests of zkrisk-oracle: the prover worker's failure modes, and the Rust bindings
//! against the real contracts on anvil with a real ezkl proof (the forge fixture).

mod aave;
mod chain;
mod fidelity;
mod ingest;
mod keeper_tx;
mod priced;
mod proxy;
mod sim;
mod support;
mod vault;
mod worker;

use std::path::PathBuf;

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}
