//! The keeper: the service that turns each feed's schedule into proven, submitted and confirmed
//! epochs.
//!
//! - [`config`]: `keeper.toml`, checked whole at start; errors name the key; secrets never print.
//! - [`store`]: the SQLite epoch ledger (`pending → proven → submitted → confirmed | skipped`)
//!   with compare-and-set transitions and per-feed leases, so a restart neither skips nor
//!   repeats an epoch and two keepers never both submit one.

pub mod config;
pub mod store;
