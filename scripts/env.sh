# Sourced by the other scripts: where cargo builds. A target directory outside the clone is reused
# across clones and CI runs on one machine (a clean build of polars and alloy is slow).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkrisk/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
