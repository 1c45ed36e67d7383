#!/usr/bin/env bash
# Installs everything zkrisk needs, from the package registries only, into the project:
#   contracts/node_modules  forge, anvil, cast (native binaries from npm), solc-js, Solidity libraries
#   .venv                   Python virtualenv with ezkl (the prover worker)
#   ~/.svm/0.8.20/solc-0.8.20  a wrapper of scripts/solc, where ezkl looks for solc
#   contracts/out           the Foundry build
# Idempotent: each step is skipped when its inputs have not changed since it last ran.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"
}
need node "install Node.js >= 20 (Debian: apt-get install nodejs npm)"
need npm "install npm (Debian: apt-get install npm)"
need python3 "install Python >= 3.9 with venv (Debian: apt-get install python3 python3-venv)"
need cargo "install Rust (rustup) >= 1.88"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js >= 20 is needed (found $(node --version))"
[ "$(uname -m)" = x86_64 ] || die "the Foundry binaries installed from npm are linux-amd64; this is $(uname -m)"

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# 1. Node packages (Foundry binaries, solc-js, libraries), exactly as locked.
h=$(hash_of contracts/package-lock.json)
if ! stamp_ok contracts/node_modules/.zkrisk-stamp "$h"; then
  say "installing contracts/node_modules (npm ci)"
  (cd contracts && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in contracts/"
  echo "$h" > contracts/node_modules/.zkrisk-stamp
fi
for bin in forge anvil cast; do
  [ -x "contracts/node_modules/.bin/$bin" ] || die "contracts/node_modules/.bin/$bin missing after npm ci"
done

# 2. Python virtualenv with ezkl.
h=$(hash_of scripts/requirements.txt)
if ! stamp_ok .venv/.zkrisk-stamp "$h"; then
  say "creating .venv and installing ezkl (pip)"
  python3 -m venv .venv || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt \
    || die "pip could not install scripts/requirements.txt"
  echo "$h" > .venv/.zkrisk-stamp
fi
.venv/bin/python -c 'import ezkl' 2>/dev/null || die ".venv has no working ezkl; delete .venv and rerun"

# 3. solc: ezkl compiles its verifier with the solc at ~/.svm/0.8.20/solc-0.8.20 and otherwise
#    tries to download one. Point it at the solc-js shim.
svm="$HOME/.svm/0.8.20/solc-0.8.20"
want="#!/bin/sh
exec \"$root/scripts/solc\" \"\$@\""
if [ ! -f "$svm" ] || [ "$(cat "$svm")" != "$want" ]; then
  say "installing the solc shim at $svm"
  mkdir -p "$(dirname "$svm")"
  printf '%s\n' "$want" > "$svm"
  chmod +x "$svm"
fi
"$svm" --version | grep -q 'Version: 0.8.20' || die "the solc shim does not answer (see scripts/solc)"

# 4. Contracts.
say "building contracts (forge build)"
(cd contracts && node_modules/.bin/forge build --quiet) || die "forge build failed in contracts/"
say "ready"
