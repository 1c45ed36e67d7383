#!/usr/bin/env bash
# Sets up what is missing, then runs `zkrisk demo` (pass --json for a machine-readable report).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/env.sh
scripts/setup.sh
cargo build --quiet -p zkrisk-cli
exec "$CARGO_TARGET_DIR/debug/zkrisk" --root "$root" demo "$@"
