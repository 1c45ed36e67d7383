//! Integration tests of the backtester on the data shipped in `data/`.

mod lookahead;
mod table;

use std::path::PathBuf;

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}
