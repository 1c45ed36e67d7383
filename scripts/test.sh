#!/usr/bin/env bash
# Sets up what is missing, then runs every test: Rust (unit, integration, end to end on anvil with
# the real ezkl prover) and Solidity (forge), plus the format checks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/env.sh
scripts/setup.sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== forge fmt --check"
(cd contracts && node_modules/.bin/forge fmt --check)
echo "== forge test"
(cd contracts && node_modules/.bin/forge test)
echo "== forge snapshot --check"
(cd contracts && node_modules/.bin/forge snapshot --check)
echo "== cargo test"
cargo test --workspace
