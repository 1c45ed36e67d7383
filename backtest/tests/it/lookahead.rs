//! A feature planted with the future in it (the label itself, copied into a feature column) on the
//! real ETH-B history: the guard refuses to evaluate it, and without the guard the same feature
//! would make the walk-forward look near perfect, so the guard is what stands between the leak
//! and a report.

use zkrisk_backtest::{
    Error,
    config::BacktestConfig,
    history::{FeatureSource, MakerFeatures, MakerHistory},
    lookahead::Planted,
    run::evaluate,
};

use crate::root;

fn config(checkpoints: usize) -> zkrisk_backtest::config::ValidConfig {
    let mut cfg =
        BacktestConfig { from: "2022-04-01".into(), to: "2022-09-30".into(), ..Default::default() };
    cfg.model.test_days = 91;
    cfg.model.lookahead_checkpoints = checkpoints;
    cfg.check().unwrap()
}

#[test]
fn a_planted_future_feature_is_refused_and_would_otherwise_fake_skill() {
    let history = MakerHistory::load(&root().join("data")).unwrap();
    let honest = MakerFeatures {
        history: &history,
        names: vec!["log_collateral_ratio".into(), "distance_to_liquidation".into()],
        horizon: 7,
    };
    let leak = Planted {
        inner: &honest,
        name: "leak".into(),
        value: |_, label| f64::from(u8::from(label)),
    };
    let (from, to) = (
        zkrisk_pipeline::prices::day_from_ymd("2022-04-01").unwrap(),
        zkrisk_pipeline::prices::day_from_ymd("2022-09-30").unwrap(),
    );
    let mut quiet = |_: String| {};

    // The honest features pass the guard.
    let good = evaluate(&config(2), &honest, from, to, &mut quiet).unwrap();
    let guard = good.lookahead.as_ref().unwrap();
    // Two fold starts and the days before the three busiest liquidation days.
    assert_eq!(guard.checkpoints.len(), 5, "{:?}", guard.checkpoints);
    assert!(guard.values_compared > 10_000, "{guard:?}");

    // The planted one is refused, by name.
    match evaluate(&config(2), &leak, from, to, &mut quiet).err() {
        Some(Error::LookAhead { feature, full, cut, .. }) => {
            assert_eq!(feature, "leak");
            assert_eq!((full, cut), (1.0, 0.0));
        }
        other => panic!("expected a look-ahead refusal, got {:?}", other.map(|e| e.to_string())),
    }

    // Without the guard the leak sails through and fakes skill: this is what the guard prevents.
    let faked = evaluate(&config(0), &leak, from, to, &mut quiet).unwrap();
    assert!(faked.lookahead.is_none());
    let (honest_auroc, leak_auroc) = (good.report.pooled[0].auroc, faked.report.pooled[0].auroc);
    assert!(
        leak_auroc > 0.99 && leak_auroc > honest_auroc + 0.05,
        "honest {honest_auroc}, leak {leak_auroc}"
    );
    // Sanity: the leak column really is the label.
    let f = leak.features(Some(19_100)).unwrap();
    assert_eq!(f.names.last().map(String::as_str), Some("leak"));
}

/// A subtler leak: each row carries the same vault's feature value of the *next* day (what a
/// centred window or a `shift(-1)` does). Nothing about it names a label, and the guard still
/// refuses it, because the value of a row dated `t` changes when the day after `t` is cut away.
struct NextDay<'a>(&'a dyn FeatureSource);

impl FeatureSource for NextDay<'_> {
    fn features(
        &self,
        until: Option<i32>,
    ) -> zkrisk_backtest::Result<zkrisk_backtest::history::Features> {
        let mut f = self.0.features(until)?;
        let next: std::collections::HashMap<(&str, i32), f64> = (0..f.rows())
            .map(|i| ((f.accounts[i].as_str(), f.dates[i] - 1), f.row(i)[0]))
            .collect();
        let shifted: Vec<f64> = (0..f.rows())
            .map(|i| next.get(&(f.accounts[i].as_str(), f.dates[i])).copied().unwrap_or(0.0))
            .collect();
        let cols = f.names.len();
        for (i, v) in shifted.into_iter().enumerate() {
            f.values[i * cols] = v;
        }
        f.names[0] = "log_collateral_ratio_tomorrow".into();
        Ok(f)
    }
}

#[test]
fn a_feature_shifted_one_day_into_the_future_is_refused() {
    let history = MakerHistory::load(&root().join("data")).unwrap();
    let honest =
        MakerFeatures { history: &history, names: vec!["log_collateral_ratio".into()], horizon: 7 };
    let leak = NextDay(&honest);
    let full = leak.features(None).unwrap();
    let day = i32::try_from(zkrisk_pipeline::prices::day_from_ymd("2022-06-12").unwrap()).unwrap();
    match zkrisk_backtest::lookahead::check(&leak, &full, &[day]).err() {
        Some(Error::LookAhead { feature, day: row_day, checkpoint, .. }) => {
            assert_eq!(feature, "log_collateral_ratio_tomorrow");
            assert_eq!((row_day, checkpoint), (day, day));
        }
        other => panic!("expected a look-ahead refusal, got {:?}", other.map(|e| e.to_string())),
    }
}
