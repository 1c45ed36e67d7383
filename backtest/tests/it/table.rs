//! The canonical schema from Parquet: the ETH-B history written as canonical account and event
//! tables gives exactly the features of the ETH-B source, passes the guard, and a table without a
//! required column is refused by file and column.

use polars::prelude::*;
use zkrisk_backtest::{
    history::{FeatureSource, MakerFeatures, MakerHistory},
    lookahead,
    table::TableFeatures,
};
use zkrisk_pipeline::{features, maker, prices};

use crate::root;

fn write(df: &mut DataFrame, path: &std::path::Path) {
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(df).unwrap();
}

#[test]
fn canonical_parquet_tables_give_the_same_features_and_pass_the_guard() {
    let data = root().join("data");
    let dir = data.join("maker-eth-b");
    let events = maker::load_events(&dir).unwrap();
    let ratio = maker::load_liquidation_ratio(&dir).unwrap();
    let px =
        prices::load_daily_usd(&data.join("prices").join("eth_usd_daily_coingecko.csv")).unwrap();
    let mut accounts = features::maker_accounts(events.clone(), px, &ratio).unwrap();
    let mut events =
        events.select([col("timestamp"), col("account"), col("kind")]).collect().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (a, e) = (tmp.path().join("accounts.parquet"), tmp.path().join("events.parquet"));
    write(&mut accounts, &a);
    write(&mut events, &e);

    let names: Vec<String> = features::MODEL_FEATURES.iter().map(|s| (*s).to_string()).collect();
    let table = TableFeatures::load(&a, &e, &data, names.clone(), 7).unwrap();
    let history = MakerHistory::load(&data).unwrap();
    let maker = MakerFeatures { history: &history, names, horizon: 7 };
    let (t, m) = (table.features(None).unwrap(), maker.features(None).unwrap());
    assert_eq!(t.rows(), m.rows());
    assert!(t == m, "features from the Parquet tables differ from the ETH-B source");
    assert_eq!(table.probe_days(), maker.probe_days());
    // The guard cuts the tables like the history.
    let cut = i32::try_from(zkrisk_pipeline::prices::day_from_ymd("2021-04-27").unwrap()).unwrap();
    let r = lookahead::check(&table, &t, &[cut]).unwrap();
    assert!(r.values_compared > 1_000);

    // A table without `debt` is refused, naming the file and the column.
    let mut broken = accounts.drop("debt").unwrap();
    let b = tmp.path().join("broken.parquet");
    write(&mut broken, &b);
    let err = TableFeatures::load(&b, &e, &data, vec!["log_collateral_ratio".into()], 7)
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.parquet") && err.contains("missing column `debt`"), "{err}");
}
