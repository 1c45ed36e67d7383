//! Aave v3 events as tables: the decoded rows an ingestion run produces, their Parquet layout on
//! disk, and the accounts rebuilt from them.
//!
//! - [`events`]: one row type per event kind ([`events::AaveEvent`]) and the table schema;
//! - [`store`]: block-range partitions written atomically, the checkpoint, reading back;
//! - [`positions`]: every account's collateral, debt and health factor at any block, computed
//!   from the events with Aave's own integer arithmetic.
//!
//! The network side (fetching logs over JSON-RPC and decoding them) lives in `zkrisk-oracle`;
//! this module never touches a chain.

pub mod events;
pub mod positions;
pub mod store;
