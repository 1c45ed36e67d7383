#!/usr/bin/env python3
"""The policy replay of `zkrisk backtest` written with pandas, for `zkrisk bench backtest`.

Usage: bench_backtest.py DATA_DIR

Reads the MakerDAO ETH-B vault events and the daily ETH/USD closes from DATA_DIR, builds each
vault's own flows per day (deposits, withdrawals, borrows, repayments; the recorded liquidations
are left out), and replays them from the first to the last event day under two static policies
(the parameters in force, ratio 130 % and penalty 13 %; and LTV 80 %, LT 82.5 %, bonus 5 %), with
the rules of docs/backtest.md: flows at the previous close, borrows and withdrawals capped at the
LTV, whole-vault liquidation at the close when LT x collateral value < debt. The state is a pandas
DataFrame indexed by vault; each day is a handful of vectorised pandas operations.

Prints one line per policy (liquidations, bad debt, account-steps), the same as
`result <policy> <liquidations> <bad debt> <account-steps>` for the caller to compare, and
`account_steps_per_second <x>` for the replay alone (loading and grouping are not timed).
"""

import sys
import time
from pathlib import Path

import pandas as pd

DUST = 1.0
EMPTY = 1e-6


def day_of(ts: pd.Series) -> pd.Series:
    t = pd.to_datetime(ts, format="mixed")
    return ((t - pd.Timestamp(0)) // pd.Timedelta(days=1)).astype("int64")


def load(data: Path):
    d = data / "maker-eth-b"
    parts = []
    for file, col, target, sign in [
        ("ethb_vault_deposits.csv", "DEPOSIT_AMOUNT_ADJ", "deposit", 1.0),
        ("ethb_vault_withdrawals.csv", "WITHDRAWN_AMOUNT_ADJ", "withdraw", -1.0),
        ("ethb_dai_borrows.csv", "DAI_MINTED", "borrow", 1.0),
        ("ethb_dai_repayments.csv", "DAI_REPAYED", "repay", 1.0),
    ]:
        df = pd.read_csv(d / file, usecols=["BLOCK_TIMESTAMP", "VAULT_NUMBER", col])
        parts.append(
            pd.DataFrame(
                {"day": day_of(df["BLOCK_TIMESTAMP"]), "vault": df["VAULT_NUMBER"].astype(str), target: sign * df[col].astype(float)}
            )
        )
    ev = pd.concat(parts, ignore_index=True).fillna(0.0)
    flows = ev.groupby(["day", "vault"], sort=True)[["deposit", "withdraw", "borrow", "repay"]].sum().reset_index()
    px = pd.read_csv(data / "prices" / "eth_usd_daily_coingecko.csv")
    snap_day = day_of(px["snapped_at"].str.replace(" UTC", "", regex=False))
    snaps = pd.Series(px["price"].astype(float).values, index=snap_day.values)
    # The close of d is the snapshot of d + 1, filled forward.
    days = range(int(snaps.index.min()) - 1, int(snaps.index.max()))
    closes = snaps.reindex([d + 1 for d in days]).ffill()
    closes.index = list(days)
    first_event = int(ev["day"].min())
    last_event = int(ev["day"].max())
    return flows, closes, first_event, last_event


def replay(flows: pd.DataFrame, closes: pd.Series, first: int, last: int, ltv: float, lt: float, bonus: float):
    vaults = sorted(flows["vault"].unique())
    state = pd.DataFrame({"c": 0.0, "d": 0.0}, index=pd.Index(vaults, name="vault"))
    by_day = {day: g.set_index("vault") for day, g in flows.groupby("day", sort=True)}
    liquidations, steps = 0, 0
    bad_debt = seized_usd = denied = 0.0
    for day in range(first, last + 1):
        p0 = closes[day - 1]
        p = closes[day]
        g = by_day.get(day)
        if g is not None:
            s = state.loc[g.index]
            c = s["c"] + g["deposit"]
            d = (s["d"] - g["repay"]).clip(lower=0.0)
            room = (ltv * c * p0 - d).clip(lower=0.0)
            take = pd.concat([g["borrow"], room], axis=1).min(axis=1)
            denied += float((g["borrow"] - take).sum())
            d = d + take
            free = (c - d / (ltv * p0)).clip(lower=0.0).where(d > 0.0, c)
            c = c - pd.concat([g["withdraw"], free], axis=1).min(axis=1)
            state.loc[g.index, "c"] = c
            state.loc[g.index, "d"] = d
        active = (state["c"] > EMPTY) | (state["d"] > EMPTY)
        steps += int(active.sum())
        liq = active & (state["d"] > DUST) & (lt * state["c"] * p < state["d"])
        if liq.any():
            s = state[liq]
            value = s["c"] * p
            seized = s["c"].where(value <= s["d"] * bonus, s["d"] * bonus / p)
            seized_usd += float((seized * p).sum())
            bad_debt += float((s["d"] - value).clip(lower=0.0).sum())
            liquidations += int(liq.sum())
            state.loc[liq, ["c", "d"]] = 0.0
    return liquidations, bad_debt, seized_usd, denied, steps


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "data")
    flows, closes, first, last = load(data)
    policies = [("actual", 1 / 1.3, 1 / 1.3, 1.13), ("static", 0.80, 0.825, 1.05)]
    total_steps = 0
    t = time.perf_counter()
    results = []
    for name, ltv, lt, bonus in policies:
        r = replay(flows, closes, first, last, ltv, lt, bonus)
        total_steps += r[4]
        results.append((name, r))
    seconds = time.perf_counter() - t
    print(
        f"pandas replay: {total_steps} account-steps ({last - first + 1} days x 2 policies) in {seconds:.3f} s: "
        f"{total_steps / seconds:.0f} account-steps/s (pandas {pd.__version__})"
    )
    for name, (liq, bad, seized, denied, steps) in results:
        print(f"       {name:<7} {liq} liquidations, bad debt {bad:.2f} DAI, {steps} account-steps")
    for name, (liq, bad, seized, denied, steps) in results:
        print(f"result {name} {liq} {bad!r} {steps}")
    print(f"account_steps_per_second {total_steps / seconds:.3f}")


if __name__ == "__main__":
    main()
