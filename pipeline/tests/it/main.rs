//! Integration tests of zkrisk-pipeline: a hand-computed fixture (`tests/res`), no look-ahead,
//! bad inputs, and the real ETH-B data shipped in `data/`.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use polars::prelude::*;
use zkrisk_pipeline::{
    Error, maker, prices,
    vaults::{self, FEATURES, LABEL},
};

mod features;

fn res() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/res")
}

/// Day number of 2021-01-`d` (or 2020-12-31 for `d == 0`).
const fn jan(d: i32) -> i32 {
    18_627 + d
}

/// One output row, keyed by (date, account).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    collateral: f64,
    debt: f64,
    price: f64,
    collateral_ratio: f64,
    liquidation_ratio: f64,
    features: Vec<f64>,
    label: bool,
}

fn f64s(df: &DataFrame, name: &str) -> Vec<f64> {
    df.column(name).unwrap().f64().unwrap().iter().map(Option::unwrap).collect()
}

fn rows(df: &DataFrame) -> BTreeMap<(i32, String), Row> {
    let m = vaults::to_matrix(df).unwrap();
    let (collateral, debt, price, cr, lr) = (
        f64s(df, "collateral"),
        f64s(df, "debt"),
        f64s(df, "price"),
        f64s(df, "collateral_ratio"),
        f64s(df, "liquidation_ratio"),
    );
    (0..m.rows)
        .map(|i| {
            let row = Row {
                collateral: collateral[i],
                debt: debt[i],
                price: price[i],
                collateral_ratio: cr[i],
                liquidation_ratio: lr[i],
                features: m.row(i).to_vec(),
                label: m.labels[i],
            };
            ((m.dates[i], m.accounts[i].clone()), row)
        })
        .collect()
}

fn fixture_states(dir: &Path, horizon: u32) -> zkrisk_pipeline::Result<DataFrame> {
    let maker_dir = dir.join("maker-eth-b");
    vaults::daily_states(
        maker::load_events(&maker_dir)?,
        prices::load_daily_usd(&dir.join("prices/eth_usd_daily.csv"))?,
        &maker::load_liquidation_ratio(&maker_dir)?,
        horizon,
    )
}

/// Copies the fixture into a temporary directory so a test can edit it.
fn fixture_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for sub in ["maker-eth-b", "prices"] {
        fs::create_dir_all(tmp.path().join(sub)).unwrap();
        for entry in fs::read_dir(res().join(sub)).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), tmp.path().join(sub).join(entry.file_name())).unwrap();
        }
    }
    tmp
}

fn append(path: &Path, lines: &str) {
    let mut text = fs::read_to_string(path).unwrap();
    text.push_str(lines);
    fs::write(path, text).unwrap();
}

/// The error of a result whose success type is not `Debug` (e.g. a `LazyFrame`).
fn error<T>(result: zkrisk_pipeline::Result<T>) -> Error {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn feature(name: &str) -> usize {
    FEATURES.iter().position(|f| *f == name).unwrap()
}

#[test]
fn events_are_canonical() {
    let events = maker::load_events(&res().join("maker-eth-b")).unwrap().collect().unwrap();
    assert_eq!(events.height(), 3 + 3 + 1 + 5 + 1 + 2);
    let kinds: Vec<&str> = events.column("kind").unwrap().str().unwrap().iter().flatten().collect();
    // Vault 101's first block: open, deposit, borrow in kind order.
    assert_eq!(&kinds[..3], ["open", "deposit", "borrow"]);
    let schema = events.schema();
    assert_eq!(schema.get("block"), Some(&DataType::UInt64));
    assert_eq!(schema.get("timestamp"), Some(&DataType::Datetime(TimeUnit::Milliseconds, None)));
    assert_eq!(schema.get("account"), Some(&DataType::String));
    let liq = events.clone().lazy().filter(col("kind").eq(lit("liquidate"))).collect().unwrap();
    assert_eq!(f64s(&liq, "collateral_delta"), [-5.0, -1.0]);
    assert_eq!(f64s(&liq, "debt_delta"), [-4000.0, -550.0]);
    let wd = events.lazy().filter(col("kind").eq(lit("withdraw"))).collect().unwrap();
    assert_eq!(f64s(&wd, "collateral_delta"), [-2.0]);
}

#[test]
fn liquidation_ratio_history() {
    let lr = maker::load_liquidation_ratio(&res().join("maker-eth-b")).unwrap();
    // BOM stripped, other parameters and other ilks ignored.
    assert_eq!(f64s(&lr, "liquidation_ratio"), [1.3, 1.5]);
}

/// (day, account, collateral, debt, end-of-day price, liquidation ratio, label, debt change 7d)
type Expected = (i32, &'static str, f64, f64, f64, f64, bool, f64);

#[test]
fn hand_computed_states() {
    let states = fixture_states(&res(), 7).unwrap();
    let got = rows(&states);
    // (day, account, collateral, debt, end-of-day price, liquidation ratio, label, debt change 7d);
    // the debt change compares with the debt 7 days earlier (0 before the vault's first day),
    // relative to the larger of the two.
    #[rustfmt::skip]
    let want: &[Expected] = &[
        (jan(1), "101", 10.0, 5000.0, 1000.0, 1.3, true, 1.0),
        (jan(2), "101", 10.0, 5000.0, 1100.0, 1.3, true, 1.0),
        (jan(2), "102", 20.0, 10000.0, 1100.0, 1.3, false, 1.0),
        (jan(3), "101", 8.0, 5000.0, 1000.0, 1.3, true, 1.0),
        (jan(3), "102", 20.0, 10000.0, 1000.0, 1.3, false, 1.0),
        (jan(4), "101", 8.0, 5000.0, 800.0, 1.3, true, 1.0),
        // vault 102 repaid everything on Jan 4 and has no rows until it borrows again.
        (jan(5), "101", 8.0, 5000.0, 700.0, 1.3, true, 1.0),
        // The liquidation at 2021-01-06 00:00:00 belongs to Jan 6: not in the Jan 5 state,
        // in Jan 5's label window, not in Jan 6's.
        (jan(6), "101", 3.0, 1000.0, 900.0, 1.3, false, 1.0),
        (jan(7), "101", 3.0, 1000.0, 1000.0, 1.3, false, 1.0),
        // The ratio change at 2021-01-08 00:00:00 is in force at the end of Jan 8, not Jan 7.
        (jan(8), "101", 3.0, 1000.0, 1000.0, 1.5, false, -0.8),
        (jan(8), "102", 20.0, 2000.0, 1000.0, 1.5, false, 1.0),
        (jan(9), "101", 3.0, 1000.0, 1200.0, 1.5, false, -0.8),
        (jan(9), "102", 20.0, 2000.0, 1200.0, 1.5, false, -0.8),
        // Vault 103 had dust debt (50 DAI) until Jan 9; liquidated at 23:59:59.999 on Jan 10.
        (jan(9), "103", 1.0, 550.0, 1200.0, 1.5, true, 1.0),
        (jan(10), "101", 3.0, 1000.0, 1500.0, 1.5, false, -0.8),
        (jan(10), "102", 20.0, 2000.0, 1500.0, 1.5, false, -0.8),
    ];
    assert_eq!(got.len(), want.len(), "{states}");
    for &(day, account, collateral, debt, price, lr, label, debt_change) in want {
        let row = got.get(&(day, account.to_string())).unwrap_or_else(|| panic!("{day} {account}"));
        let cr = collateral * price / debt;
        let ctx = format!("day {day} vault {account}: {row:?}");
        assert_eq!(row.collateral, collateral, "{ctx}");
        assert_eq!(row.debt, debt, "{ctx}");
        assert_eq!(row.price, price, "{ctx}");
        assert_eq!(row.collateral_ratio, cr, "{ctx}");
        assert_eq!(row.liquidation_ratio, lr, "{ctx}");
        assert_eq!(row.label, label, "{ctx}");
        assert_eq!(row.features[feature("log_collateral_ratio")], cr.ln(), "{ctx}");
        assert_eq!(row.features[feature("distance_to_liquidation")], cr / lr - 1.0, "{ctx}");
        assert_eq!(row.features[feature("log_debt")], debt.ln_1p(), "{ctx}");
        assert_eq!(row.features[feature("debt_change_7d")], debt_change, "{ctx}");
    }
    // Sorted by (date, account).
    let keys: Vec<_> = got.keys().cloned().collect();
    let m = vaults::to_matrix(&states).unwrap();
    let order: Vec<_> = m.dates.iter().cloned().zip(m.accounts.iter().cloned()).collect();
    assert_eq!(order, keys);
    // Vault 101 was opened on Jan 1: age 9 days on Jan 10.
    assert_eq!(got[&(jan(10), "101".into())].features[feature("log_age_days")], 10f64.ln());
    assert_eq!(got[&(jan(1), "101".into())].features[feature("log_age_days")], 0.0);
    // Distance to liquidation is negative exactly on the two liquidatable days of vault 101.
    let below: Vec<i32> = got
        .iter()
        .filter(|(_, r)| r.features[feature("distance_to_liquidation")] < 0.0)
        .map(|((d, _), _)| *d)
        .collect();
    assert_eq!(below, [jan(4), jan(5)]);
}

#[test]
fn market_features() {
    let states = fixture_states(&res(), 7).unwrap();
    let got = rows(&states);
    // End-of-day prices: p(d) is the snapshot of d + 1; the fixture's first is 2020-12-28,
    // so p(x) exists from 2020-12-27 (day 18623).
    let snapshots = [
        1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1100.0, 1000.0, 800.0, 700.0, 900.0,
        1000.0, 1000.0, 1200.0, 1500.0,
    ];
    let p = |day: i32| snapshots[usize::try_from(day - 18_623).unwrap()];
    for day in jan(1)..=jan(10) {
        let Some(row) = got.iter().find(|((d, _), _)| *d == day).map(|(_, r)| r) else {
            continue;
        };
        let ret = |k: i32| p(day) / p((day - k).max(18_623)) - 1.0;
        assert_eq!(row.features[feature("eth_return_1d")], ret(1), "day {day}");
        assert_eq!(row.features[feature("eth_return_7d")], ret(7), "day {day}");
        let logs: Vec<f64> =
            ((day - 29).max(18_624)..=day).map(|x| (p(x) / p(x - 1)).ln()).collect();
        let n = logs.len() as f64;
        let mean = logs.iter().sum::<f64>() / n;
        let sd = (logs.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let vol = row.features[feature("eth_volatility_30d")];
        assert!((vol - sd).abs() < 1e-12, "day {day}: {vol} vs {sd}");
    }
    // A hand-checked value: Jan 4 ends at 800 after 1000 on Jan 3.
    let jan4 = &got[&(jan(4), "101".into())];
    assert_eq!(jan4.features[feature("eth_return_1d")], 800.0 / 1000.0 - 1.0);
}

#[test]
fn label_horizon() {
    for (horizon, positives) in [
        (1, vec![(jan(5), "101"), (jan(9), "103")]),
        (3, vec![(jan(3), "101"), (jan(4), "101"), (jan(5), "101"), (jan(9), "103")]),
        (
            7,
            vec![
                (jan(1), "101"),
                (jan(2), "101"),
                (jan(3), "101"),
                (jan(4), "101"),
                (jan(5), "101"),
                (jan(9), "103"),
            ],
        ),
    ] {
        let got = rows(&fixture_states(&res(), horizon).unwrap());
        let pos: Vec<(i32, &str)> =
            got.iter().filter(|(_, r)| r.label).map(|((d, a), _)| (*d, a.as_str())).collect();
        assert_eq!(pos, positives, "horizon {horizon}");
    }
    assert!(matches!(fixture_states(&res(), 0), Err(Error::InvalidHorizon(0))));
}

/// Everything but the label must be identical whatever happens after the row's day.
fn assert_same_features(
    before: &BTreeMap<(i32, String), Row>,
    after: &BTreeMap<(i32, String), Row>,
) {
    for (key, row) in before {
        let other = after.get(key).unwrap_or_else(|| panic!("{key:?} disappeared"));
        let strip = |r: &Row| Row { label: false, ..r.clone() };
        assert_eq!(strip(row), strip(other), "{key:?}");
    }
}

#[test]
fn no_look_ahead_under_truncation() {
    let dir = res().join("maker-eth-b");
    let prices = prices::load_daily_usd(&res().join("prices/eth_usd_daily.csv")).unwrap();
    let lr = maker::load_liquidation_ratio(&dir).unwrap();
    let events = maker::load_events(&dir).unwrap();
    let full = rows(&vaults::daily_states(events.clone(), prices.clone(), &lr, 7).unwrap());
    for cutoff in jan(1)..=jan(10) {
        let end_ms = i64::from(cutoff + 1) * 86_400_000;
        let truncated =
            events.clone().filter(col("timestamp").cast(DataType::Int64).lt(lit(end_ms)));
        let part = rows(&vaults::daily_states(truncated, prices.clone(), &lr, 7).unwrap());
        assert_same_features(&part, &full);
        let last = part.keys().map(|(d, _)| *d).max().unwrap();
        assert_eq!(part.len(), full.keys().filter(|(d, _)| *d <= last).count(), "cutoff {cutoff}");
    }
}

#[test]
fn no_look_ahead_when_appending_events() {
    let before = rows(&fixture_states(&res(), 7).unwrap());
    let tmp = fixture_copy();
    let m = tmp.path().join("maker-eth-b");
    append(&m.join("ethb_vault_liquidations.csv"), "1200,2021-01-12 00:00:00.000,101,3,1000\n");
    append(&m.join("ethb_dai_borrows.csv"), "1100,2021-01-11 00:00:00.000,102,5000\n");
    append(
        &m.join("ethb_vault_creations.csv"),
        "1150,2021-01-11 05:00:00.000,104,ETH-B,0x00000000000000000000000000000000000000a4\n",
    );
    append(
        &tmp.path().join("prices/eth_usd_daily.csv"),
        "2021-01-12 00:00:00 UTC,1400\n2021-01-13 00:00:00 UTC,1300\n",
    );
    let after = rows(&fixture_states(tmp.path(), 7).unwrap());
    assert_same_features(&before, &after);
    assert!(after.len() > before.len());
    for ((day, account), row) in &before {
        let changed = after[&(*day, account.clone())].label != row.label;
        // Only vault 101's labels within 7 days before the Jan 12 liquidation may change
        // (from false to true; Jan 5 was already true because of the Jan 6 liquidation).
        assert_eq!(
            changed,
            account == "101" && *day >= jan(12) - 7 && !row.label,
            "{day} {account}"
        );
    }
}

#[test]
fn missing_file_is_named() {
    let tmp = fixture_copy();
    fs::remove_file(tmp.path().join("maker-eth-b/ethb_vault_liquidations.csv")).unwrap();
    let err = error(maker::load_events(&tmp.path().join("maker-eth-b")));
    assert!(matches!(err, Error::MissingFile { .. }), "{err:?}");
    assert!(err.to_string().contains("ethb_vault_liquidations.csv"), "{err}");

    let err = error(prices::load_daily_usd(&tmp.path().join("prices/nope.csv")));
    assert!(err.to_string().contains("nope.csv"), "{err}");
    let err = vaults::load_maker_eth_b(&tmp.path().join("no-such-dir"), 7).unwrap_err();
    assert!(matches!(err, Error::MissingFile { .. }), "{err:?}");
}

#[test]
fn missing_column_is_named() {
    let tmp = fixture_copy();
    let path = tmp.path().join("maker-eth-b/ethb_dai_borrows.csv");
    let text = fs::read_to_string(&path).unwrap().replace("DAI_MINTED", "DAI_MINT");
    fs::write(&path, text).unwrap();
    let err = error(maker::load_events(&tmp.path().join("maker-eth-b")));
    let msg = err.to_string();
    assert!(matches!(&err, Error::Schema { column, .. } if column == "DAI_MINTED"), "{err:?}");
    assert!(msg.contains("ethb_dai_borrows.csv") && msg.contains("DAI_MINTED"), "{msg}");

    let path = tmp.path().join("prices/eth_usd_daily.csv");
    let text = fs::read_to_string(&path).unwrap().replace("snapped_at", "time");
    fs::write(&path, text).unwrap();
    let msg = error(prices::load_daily_usd(&path)).to_string();
    assert!(msg.contains("eth_usd_daily.csv") && msg.contains("snapped_at"), "{msg}");
}

#[test]
fn bad_values_are_named() {
    let tmp = fixture_copy();
    let m = tmp.path().join("maker-eth-b");
    // A positive withdrawal, on line 3.
    append(&m.join("ethb_vault_withdrawals.csv"), "320,2021-01-04 00:00:00.000,0xa1,ETH-B,101,2\n");
    let msg = error(maker::load_events(&m)).to_string();
    for part in ["ethb_vault_withdrawals.csv:3", "WITHDRAWN_AMOUNT_ADJ", "<= 0"] {
        assert!(msg.contains(part), "{msg}");
    }
    // A timestamp that does not parse.
    let tmp = fixture_copy();
    let m = tmp.path().join("maker-eth-b");
    append(&m.join("ethb_dai_repayments.csv"), "401,2021/01/05 11:00,102,1\n");
    let msg = error(maker::load_events(&m)).to_string();
    assert!(msg.contains("ethb_dai_repayments.csv:3") && msg.contains("BLOCK_TIMESTAMP"), "{msg}");
    // A duplicated price day (a second snapshot on 2021-01-11).
    let path = tmp.path().join("prices/eth_usd_daily.csv");
    append(&path, "2021-01-11 00:05:00 UTC,1510\n");
    let err = error(prices::load_daily_usd(&path));
    assert!(matches!(err, Error::DuplicateDate { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("eth_usd_daily.csv") && msg.contains("2021-01-11"), "{msg}");
    // No liquidation ratio at all.
    let path = m.join("ETHB-Parameter-Changes.csv");
    let text = fs::read_to_string(&path).unwrap().replace("SPOTTER.ilks.mat", "SPOTTER.ilks.pip");
    fs::write(&path, text).unwrap();
    let msg = maker::load_liquidation_ratio(&m).unwrap_err().to_string();
    assert!(
        msg.contains("ETHB-Parameter-Changes.csv") && msg.contains("SPOTTER.ilks.mat"),
        "{msg}"
    );
}

#[test]
fn states_need_a_price_and_a_ratio() {
    let dir = res().join("maker-eth-b");
    let events = maker::load_events(&dir).unwrap();
    let lr = maker::load_liquidation_ratio(&dir).unwrap();
    let late_prices = prices::load_daily_usd(&res().join("prices/eth_usd_daily.csv"))
        .unwrap()
        .filter(col("date").cast(DataType::Int32).gt(lit(jan(3))));
    let err = vaults::daily_states(events.clone(), late_prices, &lr, 7).unwrap_err();
    assert!(matches!(err, Error::MissingPrice { ref date } if date == "2021-01-01"), "{err:?}");

    let prices = prices::load_daily_usd(&res().join("prices/eth_usd_daily.csv")).unwrap();
    let late_ratio = lr.slice(1, 1);
    let err = vaults::daily_states(events, prices, &late_ratio, 7).unwrap_err();
    assert!(matches!(err, Error::MissingLiquidationRatio { .. }), "{err:?}");
}

/// The real ETH-B data shipped in `data/` (see data/README.md).
#[test]
fn real_maker_eth_b() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let dir = data.join("maker-eth-b");
    let events = maker::load_events(&dir).unwrap().collect().unwrap();
    let counts = events.lazy().group_by([col("kind")]).agg([len().alias("n")]).collect().unwrap();
    let kinds = counts.column("kind").unwrap().str().unwrap();
    let ns = counts.column("n").unwrap().cast(&DataType::UInt64).unwrap();
    let ns = ns.u64().unwrap();
    let got: BTreeMap<&str, u64> = kinds.iter().flatten().zip(ns.iter().flatten()).collect();
    let want: BTreeMap<&str, u64> = [
        ("open", 1_025),
        ("deposit", 9_742),
        ("withdraw", 9_020),
        ("borrow", 9_641),
        ("repay", 6_685),
        ("liquidate", 499),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);

    let lr = maker::load_liquidation_ratio(&dir).unwrap();
    assert_eq!(f64s(&lr, "liquidation_ratio"), [1.3]);

    let states = vaults::load_maker_eth_b(&data, 7).unwrap();
    assert!(f64s(&states, "liquidation_ratio").iter().all(|r| *r == 1.3));
    let m = vaults::to_matrix(&states).unwrap();
    assert_eq!(m.cols, FEATURES.len());
    assert_eq!(m.values.len(), m.rows * m.cols);
    assert!(m.values.iter().all(|v| v.is_finite()));
    let positives = m.labels.iter().filter(|l| **l).count();
    assert!(positives > 0);
    assert!(f64s(&states, "debt").iter().all(|d| *d > vaults::DUST_DAI));
    let vaults_n = m.accounts.iter().collect::<std::collections::BTreeSet<_>>().len();
    let negative_collateral = f64s(&states, "collateral").iter().filter(|c| **c < 0.0).count();
    let below =
        m.values.chunks(m.cols).filter(|r| r[feature("distance_to_liquidation")] < 0.0).count();
    eprintln!(
        "real ETH-B: {} vault-days over {} vaults, {} positive ({LABEL}), dates {}..={}, \
         {} rows with negative collateral, {} rows below the liquidation ratio",
        m.rows,
        vaults_n,
        positives,
        m.dates.first().unwrap(),
        m.dates.last().unwrap(),
        negative_collateral,
        below,
    );
}
