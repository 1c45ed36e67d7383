#!/usr/bin/env bash
# Sets up what is missing, then runs every test: Rust (unit, integration, end to end on anvil with
# the real ezkl prover) and Solidity (forge), plus the format checks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/env.sh
scripts/setup.sh
# The shared keeper ledger's tests start their own PostgreSQL server (cli/tests/it/pg.rs): they need
# the server programs, from Debian's packages.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== installing PostgreSQL (Debian: postgresql)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
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
