//! The account feature pipeline on the Maker fixture: no feature of a day moves when the events
//! after that day are removed.

use polars::prelude::*;
use zkrisk_pipeline::{
    features::{self, ACCOUNT_FEATURES},
    maker, prices, vaults,
};

use crate::res;

fn table(events: LazyFrame) -> DataFrame {
    let dir = res().join("maker-eth-b");
    let price_file = res().join("prices/eth_usd_daily.csv");
    let lr = maker::load_liquidation_ratio(&dir).unwrap();
    let accounts =
        features::maker_accounts(events.clone(), prices::load_daily_usd(&price_file).unwrap(), &lr)
            .unwrap();
    let days = accounts.column("date").unwrap().cast(&DataType::Int32).unwrap();
    let (first, last) = (days.i32().unwrap().min().unwrap(), days.i32().unwrap().max().unwrap());
    let market = vaults::market_daily(
        prices::load_daily_usd(&price_file).unwrap(),
        i64::from(first),
        i64::from(last),
    )
    .unwrap();
    features::account_features(accounts.lazy(), events, market.lazy()).collect().unwrap()
}

#[test]
fn account_features_ignore_events_after_the_row_day() {
    let events = maker::load_events(&res().join("maker-eth-b")).unwrap();
    let full = features::to_matrix(&table(events.clone())).unwrap();
    assert!(full.rows > 0);
    let first = *full.dates.iter().min().unwrap();
    let last = *full.dates.iter().max().unwrap();
    for cutoff in first..last {
        let end_ms = i64::from(cutoff + 1) * 86_400_000;
        let part = events.clone().filter(col("timestamp").cast(DataType::Int64).lt(lit(end_ms)));
        let part = features::to_matrix(&table(part)).unwrap();
        let mut checked = 0;
        for i in (0..part.rows).filter(|i| part.dates[*i] <= cutoff) {
            let j = (0..full.rows)
                .find(|j| full.dates[*j] == part.dates[i] && full.accounts[*j] == part.accounts[i])
                .unwrap_or_else(|| panic!("row {} {} missing", part.dates[i], part.accounts[i]));
            for (k, name) in ACCOUNT_FEATURES.iter().enumerate() {
                assert_eq!(
                    part.values[i * part.cols + k],
                    full.values[j * full.cols + k],
                    "{name} on day {} of {} with events up to day {cutoff}",
                    part.dates[i],
                    part.accounts[i]
                );
            }
            checked += 1;
        }
        assert!(checked > 0, "cutoff {cutoff}");
    }
}
