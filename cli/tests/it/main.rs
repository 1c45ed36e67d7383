//! End-to-end tests of the `zkrisk` binary. They need the set-up of `scripts/setup.sh` (Foundry
//! tools, the ezkl virtualenv, the contracts' build); `scripts/test.sh` runs it first.

mod backtest;
mod bench_prove;
mod demo;
mod feed;
mod ingest;
mod keeper;
mod keeper_hosts;
mod keeper_service;
mod ledger;
mod pg;
#[path = "../../../oracle/tests/it/proxy.rs"]
mod proxy;
mod risk;
mod stack;
#[path = "../../../oracle/tests/it/support.rs"]
mod support;
mod train;

use std::path::PathBuf;

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}
