#!/usr/bin/env bash
# Benchmark (not a test): `zkrisk ingest` and cryo (`cryo logs`, cryo_cli from crates.io) extract the
# same simulated Aave v3 chain; prints events per second for both.
#
#   scripts/bench_ingest.sh                 1,000 accounts, 2022-01-01 → 2022-06-30 (the defaults)
#   BENCH_ACCOUNTS=300 BENCH_DAYS=61 BENCH_FROM=2022-05-01 scripts/bench_ingest.sh
#
# The simulator packs each round into one block, so the chain has few, full blocks; both tools
# therefore work in 100-block files and requests (BENCH_BLOCKS), which gives each many of them.
#
# cryo is installed on first use into ~/.cache/zkrisk/cryo (cargo install cryo_cli 0.3.2; its
# lockfile's `time` crate no longer builds on current Rust, so it is installed without --locked).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/env.sh
scripts/setup.sh >/dev/null
say() { printf '[bench] %s\n' "$*" >&2; }

accounts="${BENCH_ACCOUNTS:-1000}"
days="${BENCH_DAYS:-181}"
from="${BENCH_FROM:-2022-01-01}"
blocks="${BENCH_BLOCKS:-100}"
export BENCH_BLOCKS="$blocks"
cryo_root="$HOME/.cache/zkrisk/cryo"
cryo="$cryo_root/bin/cryo"
if [ ! -x "$cryo" ]; then
  say "installing cryo_cli 0.3.2 into $cryo_root (crates.io; a long build)"
  cargo install cryo_cli --version 0.3.2 --root "$cryo_root" >&2
fi
cargo build --quiet --workspace
zkrisk="$CARGO_TARGET_DIR/debug/zkrisk"

work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rpc="http://127.0.0.1:$port"
contracts/node_modules/.bin/anvil --port "$port" --timestamp "$(( $(date -u -d "$from" +%s) - 86400 ))" --silent >/dev/null 2>&1 &
anvil_pid=$!
trap 'kill $anvil_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do contracts/node_modules/.bin/cast block-number --rpc-url "$rpc" >/dev/null 2>&1 && break; sleep 0.1; done

say "deploying Aave v3 and simulating $accounts accounts over $days days from $from"
"$zkrisk" aave deploy --rpc "$rpc" --out "$work/market.json" >/dev/null
"$zkrisk" aave simulate --rpc "$rpc" --market "$work/market.json" --accounts "$accounts" \
  --from "$from" --days "$days" --json 2>/dev/null | tail -1 > "$work/sim.json"
head=$(contracts/node_modules/.bin/cast block-number --rpc-url "$rpc")
pool=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pool'])" "$work/market.json")

run_zkrisk() { # $1 = concurrency
  rm -rf "$work/zkrisk"
  "$zkrisk" ingest --rpc "$rpc" --pool "$pool" --from 0 --to "$head" --confirmations 0 \
    --partition-blocks "$blocks" --max-range "$blocks" --out "$work/zkrisk" --concurrency "$1" --json 2>/dev/null | tail -1
}
z1=$(run_zkrisk 1)
z4=$(run_zkrisk 4)

# cryo gets the same contracts (read from zkrisk's checkpoint) and the same block range. It keeps
# every log of those contracts (no topic filter, raw logs, no decoding). Its files and requests are
# sized like zkrisk's: $blocks blocks per file and per eth_getLogs.
addresses=$(python3 -c "import json,sys; print(' '.join(c['address'] for c in json.load(open(sys.argv[1]))['contracts']))" "$work/zkrisk/_checkpoint.json")
run_cryo() { # $1 = output dir, then extra cryo arguments; prints "rows seconds"
  local out="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$cryo" logs --rpc "$rpc" --blocks "0:$((head + 1))" --contract $addresses \
    --chunk-size "$blocks" --inner-request-size "$blocks" --output-dir "$out" --no-report "$@" \
    >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  local rows
  rows=$(grep -o 'rows written: [0-9,]*' "$out.log" | tr -d ', ' | cut -d: -f2)
  echo "${rows:-0} $(python3 -c "print($t1 - $t0)")"
}
cryo_all=$(run_cryo "$work/cryo-all")
# The same 14 event signatures zkrisk asks for, as topic0 filters.
topics=""
for sig in \
  "Supply(address,address,address,uint256,uint16)" \
  "Withdraw(address,address,address,uint256)" \
  "Borrow(address,address,address,uint256,uint8,uint256,uint16)" \
  "Repay(address,address,address,uint256,bool)" \
  "LiquidationCall(address,address,address,uint256,uint256,address,bool)" \
  "ReserveDataUpdated(address,uint256,uint256,uint256,uint256,uint256)" \
  "ReserveUsedAsCollateralEnabled(address,address)" \
  "ReserveUsedAsCollateralDisabled(address,address)" \
  "UserEModeSet(address,uint8)" \
  "CollateralConfigurationChanged(address,uint256,uint256,uint256)" \
  "ReserveInitialized(address,address,address,address,address)" \
  "AssetSourceUpdated(address,address)" \
  "AnswerUpdated(int256,uint256,uint256)" \
  "BalanceTransfer(address,address,uint256,uint256)"; do
  topics="$topics $(contracts/node_modules/.bin/cast keccak "$sig")"
done
# shellcheck disable=SC2086
cryo_same=$(run_cryo "$work/cryo-same" --topic0 $topics)

python3 - "$work" "$z1" "$z4" "$cryo_all" "$cryo_same" "$head" <<'PY'
import json, os, sys
work, z1, z4, head = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[6])
(all_rows, all_s), (same_rows, same_s) = [(int(r), float(t)) for r, t in (a.split() for a in sys.argv[4:6])]
sim = json.load(open(os.path.join(work, "sim.json")))
print(f"chain: {head} blocks, {sim.get('txs')} transactions, {sim.get('liquidations')} liquidations (simulated Aave v3, anvil)")
print(f"zkrisk ingest --concurrency 1 : {z1['logs']:>8} events {z1['seconds']:8.2f} s {z1['logs_per_second']:10.0f} events/s")
print(f"zkrisk ingest --concurrency 4 : {z4['logs']:>8} events {z4['seconds']:8.2f} s {z4['logs_per_second']:10.0f} events/s")
print(f"cryo logs, same topics        : {same_rows:>8} events {same_s:8.2f} s {same_rows / same_s:10.0f} events/s")
print(f"cryo logs, every topic        : {all_rows:>8} events {all_s:8.2f} s {all_rows / all_s:10.0f} events/s")
print(f"ratio zkrisk(4) / cryo(same topics), events/s: {z4['logs_per_second'] / (same_rows / same_s):.2f}")
print("zkrisk: dev build (dependencies at opt-level 1); decodes 14 Aave event kinds into typed tables, checkpoints each partition,")
print("        and its time includes resolving the market (about 30 calls). cryo: release build, raw undecoded logs,")
print(f"        the same contracts, {os.environ.get('BENCH_BLOCKS', '100')}-block files and requests for both.")
PY
