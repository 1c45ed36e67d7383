//! The keeper: the service that turns each feed's schedule into proven, submitted and confirmed
//! epochs.
//!
//! - [`config`]: `keeper.toml`, checked whole at start; errors name the key; secrets never print.
//! - [`store`]: the SQLite epoch ledger (`pending → proven → submitted → confirmed | skipped`)
//!   with compare-and-set transitions and per-feed leases, so a restart neither skips nor
//!   repeats an epoch and two keepers never both submit one.
//! - [`pg`]: the same ledger in PostgreSQL, for keepers on several hosts (leases on the database's
//!   clock elect one leader per wallet); [`ledger`] is the one the keeper holds, as configured.
//! - [`runner`]: one epoch driven to an end over the ledger, behind the [`runner::Pipeline`] and
//!   [`runner::Chain`] traits (the ezkl prover and alloy plug in; tests plug in fakes).
//! - [`tx`]: the keeper's transactions with alloy (EIP-1559 under a cap, replacement, rebroadcast).
//! - [`live`]: the real pipeline (ingest → features → scores → ezkl proof → calldata) and chain.
//! - [`service`]: `zkrisk keeper --config`: start checks, cron ticks, the driver, recovery.
//! - [`metrics`]: the Prometheus series behind `/metrics`.

pub mod config;
pub mod ledger;
pub mod live;
pub mod metrics;
pub mod pg;
pub mod runner;
pub mod service;
pub mod store;
pub mod tx;
