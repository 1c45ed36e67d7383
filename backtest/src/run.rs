//! The whole backtest: walk-forward model evaluation behind the no-look-ahead guard, the policy
//! replay (parameters in force, static, zkrisk under steward bounds) with forward-looking risk,
//! and the stress scenarios; [`Outcome::metrics`] is the deterministic `metrics.json`.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use zkrisk_models::{
    market_risk::MonteCarlo,
    metrics::{self, ReliabilityBin},
    recommend::RecommendConfig,
};
use zkrisk_pipeline::prices::ymd;

use crate::{
    Error, Result,
    config::ValidConfig,
    governance::{Change, StepSummary, step_summary},
    history::{Book, FeatureSource, MakerFeatures, MakerHistory},
    lookahead::{self, LookaheadReport},
    replay::{
        ForwardRisk, Params, Policy, PolicyRun, Position, ReplayConfig, RunTotals, Scheduled,
        forward_risk, replay, totals,
    },
    steward::{Bounds, ScoreRule, Steward, StewardStep},
    stress::{self, Scenario, StressOutcome},
    walk_forward::{SERIES, WalkForward, WalkForwardReport, liquidation_params, rolling_folds},
};

/// Fractional bits of the scores the on-chain rule reads (as in the proofs' outputs).
pub const RULE_BITS: u8 = 11;

/// The model evaluation's results.
#[derive(Debug, Clone)]
pub struct ModelOutcome {
    /// Where the features came from.
    pub source: String,
    /// Label horizon, days.
    pub horizon: i32,
    /// Feature columns.
    pub features: Vec<String>,
    /// Rows of the feature table.
    pub rows: usize,
    /// The guard's report (`None` when turned off).
    pub lookahead: Option<LookaheadReport>,
    /// Walk-forward report.
    pub report: WalkForwardReport,
    /// Pooled reliability diagram (10 bins) of each of [`SERIES`].
    pub reliability: Vec<Vec<ReliabilityBin>>,
    /// The logistic model's out-of-sample probabilities per day, in the rule's fixed point
    /// (11 fractional bits).
    pub scores_by_day: BTreeMap<i64, Vec<u64>>,
}

/// One policy's results.
#[derive(Debug, Clone)]
pub struct PolicyOutcome {
    /// Short key (`actual`, `static`, `zkrisk_steward`).
    pub key: &'static str,
    /// Description.
    pub description: String,
    /// The replay.
    pub run: PolicyRun,
    /// Its totals.
    pub totals: RunTotals,
    /// Forward-looking 24 h risk every `risk.every_days`.
    pub forward: Vec<ForwardRisk>,
    /// The steward's reviews (zkrisk policy only).
    pub steward: Vec<StewardStep>,
    /// Stress outcome per scenario, in [`Outcome::scenarios`] order, on the book of the last
    /// day.
    pub stress: Vec<StressOutcome>,
    /// The same on the book of every `stress.every_days` from the first day (the last day
    /// included): `(valuation day, outcomes)`.
    pub stress_dates: Vec<(i64, Vec<StressOutcome>)>,
}

/// Everything a backtest produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The configuration.
    pub config: ValidConfig,
    /// First and last replayed day.
    pub days: (i64, i64),
    /// Model evaluation (`None` when disabled).
    pub model: Option<ModelOutcome>,
    /// Policies.
    pub policies: Vec<PolicyOutcome>,
    /// Scenarios.
    pub scenarios: Vec<Scenario>,
    /// Recorded liquidations in the replayed days: (liquidation rows, vault-days, vaults).
    pub recorded: (usize, usize, usize),
    /// Recorded liquidation vault-days per replayed day (for the cumulative plot).
    pub recorded_days: Vec<i64>,
    /// The replay under the parameters in force against the recorded liquidations.
    pub validation: Validation,
    /// Aave governance's own steps of LTV, LT and bonus (all markets) in `data/aave-governance`.
    pub governance_steps: Vec<StepSummary>,
}

/// How the replay under the parameters in force matches the liquidations recorded on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Validation {
    /// Recorded liquidation vault-days in the replayed period.
    pub recorded_vault_days: usize,
    /// Of those, how many the replay also liquidates (same vault, within a day).
    pub recorded_also_replayed: usize,
    /// Liquidations in the replay.
    pub replayed: usize,
    /// Of those, how many were recorded (same vault, within a day).
    pub replayed_also_recorded: usize,
}

fn validation(recorded: &[(i64, usize)], replayed: &[(i64, usize)]) -> Validation {
    let near = |set: &[(i64, usize)], (d, v): (i64, usize)| {
        set.iter().any(|(e, w)| *w == v && (e - d).abs() <= 1)
    };
    Validation {
        recorded_vault_days: recorded.len(),
        recorded_also_replayed: recorded.iter().filter(|x| near(replayed, **x)).count(),
        replayed: replayed.len(),
        replayed_also_recorded: replayed.iter().filter(|x| near(recorded, **x)).count(),
    }
}

/// Runs the backtest on `history`; with `table`, the models are evaluated on that source instead
/// (and the score-rule policy, which needs scores of the replayed vaults, is left out);
/// `progress` receives one line per stage.
///
/// # Errors
/// Data, model and policy errors; [`Error::LookAhead`] when a feature reads the future.
pub fn run(
    cfg: &ValidConfig,
    history: &MakerHistory,
    governance: &[Change],
    table: Option<&dyn FeatureSource>,
    progress: &mut dyn FnMut(String),
) -> Result<Outcome> {
    let book = history.book()?;
    let last =
        cfg.to.unwrap_or(history.event_days.1).min(history.event_days.1).min(book.last_price_day());
    let from = cfg.from.max(history.event_days.0 + 1);
    if from > last {
        return Err(Error::Config(format!(
            "from {} is after the last day of the data {}",
            ymd(from),
            ymd(last)
        )));
    }
    let model = match (cfg.model.enabled, table) {
        (false, _) => None,
        (true, Some(t)) => {
            let mut m = evaluate(cfg, t, from, last, progress)?;
            m.source = if cfg.model.aave.is_empty() {
                format!("{} + {}", cfg.model.accounts, cfg.model.events)
            } else {
                format!("Aave v3 dataset {}", cfg.model.aave)
            };
            Some(m)
        }
        (true, None) => {
            let source = MakerFeatures {
                history,
                names: cfg.model.features.clone(),
                horizon: cfg.model.horizon,
            };
            Some(evaluate(cfg, &source, from, last, progress)?)
        }
    };
    // The score rule scores the replayed vaults: only with the ETH-B features.
    let scores = model.as_ref().filter(|_| table.is_none()).map(|m| &m.scores_by_day);
    let (policies, scenarios) =
        policies(cfg, &Sources { history, governance, scores, book: &book }, from, last, progress)?;
    let recorded: Vec<_> =
        book.real_liquidations.iter().filter(|l| (from..=last).contains(&l.day)).collect();
    let mut vault_days: Vec<(i64, usize)> = recorded.iter().map(|l| (l.day, l.vault)).collect();
    vault_days.dedup();
    let mut vaults: Vec<usize> = recorded.iter().map(|l| l.vault).collect();
    vaults.sort_unstable();
    vaults.dedup();
    let actual = policies
        .iter()
        .find(|p| p.key == "actual")
        .map_or(&[][..], |p| &p.run.liquidation_events[..]);
    let validation = validation(&vault_days, actual);
    Ok(Outcome {
        governance_steps: step_summary(governance),
        validation,
        config: cfg.clone(),
        days: (from, last),
        model,
        policies,
        scenarios,
        recorded: (recorded.len(), vault_days.len(), vaults.len()),
        recorded_days: vault_days.iter().map(|(d, _)| *d).collect(),
    })
}

/// Walk-forward evaluation of `source` with test folds over `from..=last`, behind the guard.
///
/// # Errors
/// [`Error::LookAhead`] from the guard; the models' errors.
pub fn evaluate(
    cfg: &ValidConfig,
    source: &dyn FeatureSource,
    from: i64,
    last: i64,
    progress: &mut dyn FnMut(String),
) -> Result<ModelOutcome> {
    let m = &cfg.model;
    let full = source.features(None)?;
    progress(format!("features: {} account-days × {} columns", full.rows(), full.names.len()));
    let last_day = full.dates.iter().copied().max().unwrap_or(0);
    let last_label_day = last_day - m.horizon;
    let end = i32::try_from(last).unwrap_or(i32::MAX).min(last_label_day);
    let folds = rolling_folds(
        i32::try_from(from).unwrap_or(0),
        end,
        m.test_days,
        m.validation_days,
        m.horizon,
    );
    if folds.is_empty() {
        return Err(Error::Config(format!(
            "from {}: no test day with a full label window before {}",
            ymd(from),
            ymd(i64::from(end))
        )));
    }
    let guard = if m.lookahead_checkpoints > 0 {
        // Decision days: the day before a fold's test starts, spread over the folds.
        let k = m.lookahead_checkpoints.min(folds.len());
        let mut checkpoints: Vec<i32> =
            (0..k).map(|i| folds[i * (folds.len() - 1) / (k - 1).max(1)].test_start - 1).collect();
        checkpoints.extend(source.probe_days());
        checkpoints.sort_unstable();
        checkpoints.dedup();
        progress(format!(
            "no-look-ahead guard: recomputing features cut at {} decision days",
            checkpoints.len()
        ));
        Some(lookahead::check(source, &full, &checkpoints)?)
    } else {
        None
    };
    let names: Vec<&str> = full.names.iter().map(String::as_str).collect();
    let wf = WalkForward {
        features: &names,
        values: &full.values,
        labels: &full.labels,
        days: &full.dates,
        horizon: m.horizon,
        last_label_day,
        baseline_feature: "log_collateral_ratio",
    };
    let (lp, mp) = liquidation_params()?;
    progress(format!(
        "walk-forward: {} folds of {} days, horizon {} d",
        folds.len(),
        m.test_days,
        m.horizon
    ));
    let report = wf.run(&folds, &lp, &mp)?;
    let reliability = report
        .predictions
        .iter()
        .map(|p| metrics::reliability(p, &report.pooled_labels, 10))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // The test rows of each evaluated fold, in the order of the pooled predictions.
    let mut scores_by_day: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
    let mut offset = 0;
    for f in &report.folds {
        let test = f.fold.split(&full.dates, m.horizon, last_label_day).test;
        if test.len() != f.test_rows {
            return Err(Error::Data(format!(
                "fold {}: {} test rows, expected {}",
                f.fold.test_start,
                test.len(),
                f.test_rows
            )));
        }
        for (k, i) in test.iter().enumerate() {
            let p = report.predictions[0][offset + k];
            scores_by_day
                .entry(i64::from(full.dates[*i]))
                .or_default()
                .push(zkrisk_models::policy::to_fixed(p, RULE_BITS));
        }
        offset += test.len();
    }
    Ok(ModelOutcome {
        source: "data/maker-eth-b".into(),
        scores_by_day,
        horizon: m.horizon,
        features: full.names.clone(),
        rows: full.rows(),
        lookahead: guard,
        report,
        reliability,
    })
}

fn actual_policy(history: &MakerHistory) -> Scheduled {
    Scheduled {
        name: "actual".into(),
        steps: history
            .ratio_changes
            .iter()
            .map(|(ms, r)| {
                (
                    ms.div_euclid(crate::history::MS_PER_DAY),
                    Params::maker(*r, crate::history::ETH_B_CHOP),
                )
            })
            .collect(),
    }
}

type Policies = (Vec<PolicyOutcome>, Vec<Scenario>);

/// What the policies are built from.
struct Sources<'a> {
    history: &'a MakerHistory,
    governance: &'a [Change],
    scores: Option<&'a BTreeMap<i64, Vec<u64>>>,
    book: &'a Book,
}

fn policies(
    cfg: &ValidConfig,
    src: &Sources<'_>,
    from: i64,
    last: i64,
    progress: &mut dyn FnMut(String),
) -> Result<Policies> {
    let Sources { history, governance, scores, book } = *src;
    let p = &cfg.raw.policy;
    let rc = ReplayConfig {
        auction_discount: p.auction_discount,
        intraday_low: cfg.intraday_low,
        ..ReplayConfig::default()
    };
    if cfg.intraday_low && book.lows.iter().all(|l| !l.is_finite()) {
        return Err(Error::Config(format!(
            "policy.liquidation_price = \"low\" needs the WETH candles ({} in the data directory)",
            crate::history::WETH_CANDLES
        )));
    }
    let mut actual = actual_policy(history);
    let ratio0 = history.ratio_at(from - 1).ok_or_else(|| {
        Error::Data(format!("no liquidation ratio in force on {}", ymd(from - 1)))
    })?;
    let in_force = Params::maker(ratio0, crate::history::ETH_B_CHOP);
    // Warm-up: the book at the end of `from − 1`, replayed under the parameters in force.
    let first = book.flows.first().map_or(from, |f| f.day);
    let start: Vec<Position> = if first < from {
        progress(format!(
            "warm-up: replaying {} → {} under the parameters in force",
            ymd(first),
            ymd(from - 1)
        ));
        replay(book, &[], first, from - 1, in_force, &mut actual, &rc, |_, _| {})?.positions
    } else {
        Vec::new()
    };
    let bps0 = (
        (1e4 / ratio0).floor() as u16,
        (1e4 / ratio0).floor() as u16,
        (crate::history::ETH_B_CHOP * 1e4).round() as u16,
    );
    let steward = Steward {
        name: "zkrisk_steward".into(),
        bounds: Bounds { max_step_bps: p.max_step_bps, min_delay_days: p.min_delay_days },
        recommend: RecommendConfig {
            measure: cfg.measure,
            max_fraction: p.target_pct / 100.0,
            ..RecommendConfig::default()
        },
        mc: MonteCarlo {
            paths: p.recommend_paths,
            horizon_days: 1,
            block_len: 0,
            seed: cfg.raw.seed,
        },
        history_days: p.history_days,
        current: bps0,
        last_update: None,
        steps: Vec::new(),
    };
    let (static_ltv, static_lt, static_source) = match (p.static_ltv_bps, p.static_lt_bps) {
        (Some(a), Some(b)) => (a, b, "policy.static_* in the configuration".to_string()),
        _ => {
            let (a, b, date) = crate::governance::first_v3_ethereum(governance, "WETH").ok_or_else(|| {
                Error::Config(
                    "policy.static_ltv_bps: not set, and data/aave-governance holds no Aave v3 Ethereum WETH change to take it from"
                        .into(),
                )
            })?;
            let to16 = |x: u32| u16::try_from(x).unwrap_or(u16::MAX);
            (
                to16(a),
                to16(b),
                format!("Aave v3 Ethereum WETH before its change of {date}, data/aave-governance"),
            )
        }
    };
    let static_params = Params::from_bps(static_ltv, static_lt, p.static_bonus_bps);
    let scenarios = scenarios(cfg, book, last);
    let ctx = Ctx { cfg, book, start: &start, from, last, rc, scenarios: &scenarios };
    let mut statik = Scheduled { name: "static".into(), steps: vec![(i64::MIN, static_params)] };
    let mut steward = steward;
    let mut out = vec![
        ctx.one(
            "actual",
            format!(
                "parameters in force (MakerDAO ETH-B: liquidation ratio from ETHB-Parameter-Changes.csv, {:.0} % throughout; penalty 13 %)",
                ratio0 * 100.0
            ),
            &mut actual,
            in_force,
            progress,
        )?,
        ctx.one(
            "static",
            format!(
                "static LTV {:.2} %, LT {:.2} %, bonus {:.2} % ({static_source})",
                static_params.ltv * 100.0,
                static_params.lt * 100.0,
                (static_params.bonus - 1.0) * 100.0
            ),
            &mut statik,
            static_params,
            progress,
        )?,
    ];
    let mut z = ctx.one(
        "zkrisk_steward",
        format!(
            "zkrisk recommendation ({} of bad debt ≤ {} % of collateral, {} paths per grid point) moved ≤ {} bps per {} days from the parameters in force",
            p.measure, p.target_pct, p.recommend_paths, p.max_step_bps, p.min_delay_days
        ),
        &mut steward,
        Params::from_bps(bps0.0, bps0.1, bps0.2),
        progress,
    )?;
    z.steward = steward.steps;
    out.push(z);
    if let Some(scores) = scores {
        let mut rule = ScoreRule {
            name: "zkrisk_rule".into(),
            bounds: Bounds { max_step_bps: p.max_step_bps, min_delay_days: p.min_delay_days },
            scores: scores.clone(),
            bits: RULE_BITS,
            current: bps0,
            last_review: None,
            steps: Vec::new(),
        };
        let mut r = ctx.one(
            "zkrisk_rule",
            format!(
                "zkrisk's on-chain rule (RiskRule: LTV 80 % → 50 % as the mean out-of-sample 7-day liquidation probability of yesterday's vaults rises to 20 %, LT = LTV + 5 %, bonus 5 %) moved ≤ {} bps per {} days from the parameters in force",
                p.max_step_bps, p.min_delay_days
            ),
            &mut rule,
            Params::from_bps(bps0.0, bps0.1, bps0.2),
            progress,
        )?;
        r.steward = rule.steps;
        out.push(r);
    }
    Ok((out, scenarios))
}

struct Ctx<'a> {
    cfg: &'a ValidConfig,
    book: &'a Book,
    start: &'a [Position],
    from: i64,
    last: i64,
    rc: ReplayConfig,
    scenarios: &'a [Scenario],
}

impl Ctx<'_> {
    fn one(
        &self,
        key: &'static str,
        description: String,
        policy: &mut dyn Policy,
        initial: Params,
        progress: &mut dyn FnMut(String),
    ) -> Result<PolicyOutcome> {
        let (cfg, book) = (self.cfg, self.book);
        let r = &cfg.raw.risk;
        progress(format!("replay: policy {key}, {} → {}", ymd(self.from), ymd(self.last)));
        let mut forward = Vec::new();
        let mut err = None;
        let mut n = 0i64;
        let every = cfg.raw.stress.every_days;
        let mut books: Vec<(i64, Vec<Position>, Params, f64)> = Vec::new();
        let recorder = |rec: &crate::replay::DayRecord, pos: &[Position]| {
            n += 1;
            if every > 0 && (n - 1) % every == 0 && rec.day != self.last {
                books.push((rec.day, pos.to_vec(), rec.params, rec.price));
            }
            if (n - 1) % r.every_days != 0 || err.is_some() {
                return;
            }
            let mc =
                MonteCarlo { paths: r.paths, horizon_days: 1, block_len: 0, seed: cfg.raw.seed };
            match forward_risk(
                pos,
                book.closes_before(rec.day + 1),
                rec.day,
                &rec.params,
                r.history_days,
                &mc,
            ) {
                Ok(f) => forward.push(f),
                Err(e) => err = Some(e),
            }
        };
        let run =
            replay(book, self.start, self.from, self.last, initial, policy, &self.rc, recorder)?;
        if let Some(e) = err {
            return Err(e);
        }
        let t = totals(&run)?;
        progress(format!(
            "  {key}: {} liquidations, bad debt {:.0} DAI, {} parameter changes, {} account-steps",
            t.liquidations, t.bad_debt, t.parameter_changes, t.account_steps
        ));
        let params = run.last_params().unwrap_or(initial);
        let p0 = book.close(self.last).unwrap_or(f64::NAN);
        let apply = |pos: &[Position], p0: f64, params: &Params| -> Vec<StressOutcome> {
            self.scenarios
                .iter()
                .map(|s| {
                    stress::apply(pos, p0, &s.path, params, self.rc.auction_discount, self.rc.dust)
                })
                .collect()
        };
        let stress = apply(&run.positions, p0, &params);
        let mut stress_dates: Vec<(i64, Vec<StressOutcome>)> =
            books.iter().map(|(day, pos, params, p0)| (*day, apply(pos, *p0, params))).collect();
        stress_dates.push((self.last, stress.clone()));
        Ok(PolicyOutcome {
            key,
            description,
            totals: t,
            forward,
            steward: Vec::new(),
            stress,
            stress_dates,
            run,
        })
    }
}

fn scenarios(cfg: &ValidConfig, book: &Book, last: i64) -> Vec<Scenario> {
    let s = &cfg.raw.stress;
    let mut base: Vec<(String, i64, i64)> = cfg.windows.clone();
    for (i, (a, b, dd)) in stress::worst_windows(
        &book.closes,
        book.price_first_day,
        (cfg.worst_since, last),
        s.window_days,
        s.worst,
    )
    .into_iter()
    .enumerate()
    {
        base.push((
            format!("worst {}d #{} from {} (-{:.0} %)", s.window_days, i + 1, ymd(a), dd * 100.0),
            a,
            b,
        ));
    }
    let mut out = Vec::new();
    for (k, (name, a, b)) in base.into_iter().enumerate() {
        let Some(path) = stress::window_path(&book.closes, book.price_first_day, a, b) else {
            continue;
        };
        let sc = |name: String, kind, path: Vec<f64>| Scenario {
            name,
            kind,
            from: a,
            to: b,
            max_drop: stress::max_drop(&path),
            path,
        };
        out.push(sc(format!("{name} ×{}", s.shock), "shocked", stress::shocked(&path, s.shock)));
        for v in 0..s.variants {
            let seed = cfg.raw.seed.wrapping_mul(1_000_003).wrapping_add((k * 1_000 + v) as u64);
            out.push(sc(
                format!("{name} reordered #{}", v + 1),
                "reordered",
                stress::reordered(&path, seed),
            ));
        }
        let at = out.len() - 1 - s.variants;
        out.insert(at, sc(name, "historical", path));
    }
    out
}

fn num(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

fn params_json(p: &Params) -> Value {
    json!({ "ltv": num(p.ltv), "lt": num(p.lt), "bonus": num(p.bonus) })
}

impl Outcome {
    /// The steward's reviews, if it ran.
    pub fn steward_steps(&self) -> &[StewardStep] {
        self.policies.iter().find(|p| p.key == "zkrisk_steward").map_or(&[], |p| &p.steward)
    }

    /// `metrics.json`: only inputs and results (no time, no path), so the same inputs give the
    /// same bytes.
    pub fn metrics(&self) -> Value {
        let cfg = &self.config.raw;
        let model = self.model.as_ref().map(|m| {
            let pooled: serde_json::Map<String, Value> =
                SERIES.iter().zip(&m.report.pooled).map(|(s, v)| ((*s).to_string(), serde_json::to_value(v).unwrap_or(Value::Null))).collect();
            json!({
                "source": m.source,
                "horizon_days": m.horizon,
                "features": m.features,
                "account_days": m.rows,
                "no_lookahead_guard": m.lookahead.as_ref().map(|g| json!({
                    "checkpoints": g.checkpoints.iter().map(|d| ymd(i64::from(*d))).collect::<Vec<_>>(),
                    "values_compared": g.values_compared,
                })),
                "pooled": pooled,
                "pooled_rows": m.report.pooled_rows,
                "pooled_positives": m.report.pooled_positives,
                "folds": m.report.folds.iter().map(|f| json!({
                    "test_from": ymd(i64::from(f.fold.test_start)),
                    "test_to": ymd(i64::from(f.fold.test_end - 1)),
                    "validation_from": ymd(i64::from(f.fold.validation_start)),
                    "train_rows": f.train_rows,
                    "test_rows": f.test_rows,
                    "test_positives": f.test_positives,
                    "metrics": SERIES.iter().zip(&f.metrics).map(|(s, m)| ((*s).to_string(), serde_json::to_value(m).unwrap_or(Value::Null))).collect::<serde_json::Map<_, _>>(),
                })).collect::<Vec<_>>(),
                "skipped_folds": m.report.skipped.len(),
                "reliability": SERIES.iter().zip(&m.reliability).map(|(s, bins)| ((*s).to_string(), serde_json::to_value(bins).unwrap_or(Value::Null))).collect::<serde_json::Map<_, _>>(),
            })
        });
        let policies: serde_json::Map<String, Value> = self
            .policies
            .iter()
            .map(|p| {
                let t = &p.totals;
                let fwd_mean = |f: fn(&ForwardRisk) -> f64| {
                    if p.forward.is_empty() {
                        0.0
                    } else {
                        p.forward.iter().map(f).sum::<f64>() / p.forward.len() as f64
                    }
                };
                let fwd_max =
                    |f: fn(&ForwardRisk) -> f64| p.forward.iter().map(f).fold(0.0, f64::max);
                let path: Vec<Value> = p
                    .run
                    .days
                    .iter()
                    .enumerate()
                    .filter(|(i, d)| *i == 0 || p.run.days[i - 1].params != d.params)
                    .map(|(_, d)| json!({ "from": ymd(d.day), "params": params_json(&d.params) }))
                    .collect();
                (
                    p.key.to_string(),
                    json!({
                        "description": p.description,
                        "liquidations": t.liquidations,
                        "vaults_liquidated": t.vaults_liquidated,
                        "liquidated_collateral_usd": num(t.liquidated_usd),
                        "bad_debt_dai": num(t.bad_debt),
                        "borrow_denied_dai": num(t.borrow_denied),
                        "mean_borrowing_power_usd": num(t.mean_borrowing_power),
                        "mean_debt_dai": num(t.mean_debt),
                        "historical_lar95_daily_usd": num(t.lar95_daily),
                        "historical_var95_daily_bad_debt_dai": num(t.var95_daily_bad_debt),
                        "max_daily_bad_debt_dai": num(t.max_daily_bad_debt),
                        "parameter_changes": t.parameter_changes,
                        "account_steps": t.account_steps,
                        "forward_24h": {
                            "measurements": p.forward.len(),
                            "mean_var95_bad_debt_usd": num(fwd_mean(|f| f.var95)),
                            "max_var95_bad_debt_usd": num(fwd_max(|f| f.var95)),
                            "mean_es95_bad_debt_usd": num(fwd_mean(|f| f.es95)),
                            "max_es95_bad_debt_usd": num(fwd_max(|f| f.es95)),
                            "mean_lar95_usd": num(fwd_mean(|f| f.lar95)),
                            "max_lar95_usd": num(fwd_max(|f| f.lar95)),
                        },
                        "parameter_path": path,
                        "final_params": p.run.last_params().map(|x| params_json(&x)),
                        "steward_reviews": (!p.steward.is_empty()).then(|| {
                            let gap = |f: fn(&StewardStep) -> (u16, u16)| {
                                p.steward.iter().map(|s| { let (a, b) = f(s); f64::from(a.abs_diff(b)) }).sum::<f64>()
                                    / p.steward.len() as f64
                            };
                            json!({
                                "reviews": p.steward.len(),
                                "mean_gap_lt_bps": num(gap(|s| (s.target.1, s.applied.1))),
                                "mean_gap_ltv_bps": num(gap(|s| (s.target.0, s.applied.0))),
                                "mean_gap_bonus_bps": num(gap(|s| (s.target.2, s.applied.2))),
                                "last_target": { "ltv_bps": p.steward.last().map(|s| s.target.0), "lt_bps": p.steward.last().map(|s| s.target.1), "bonus_bps": p.steward.last().map(|s| s.target.2) },
                            })
                        }),
                        "stress": self.scenarios.iter().zip(&p.stress).enumerate().map(|(k, (s, o))| {
                            let over = p.stress_dates.iter().map(|(d, v)| (*d, v[k].bad_debt));
                            let (worst_day, worst) = over.clone().fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
                            let mean = over.map(|x| x.1).sum::<f64>() / p.stress_dates.len().max(1) as f64;
                            json!({
                                "scenario": s.name,
                                "liquidations": o.liquidations,
                                "liquidated_collateral_usd": num(o.liquidated_usd),
                                "bad_debt_dai": num(o.bad_debt),
                                "book_debt_dai": num(o.debt),
                                "over_valuation_days": {
                                    "books": p.stress_dates.len(),
                                    "mean_bad_debt_dai": num(mean),
                                    "worst_bad_debt_dai": num(worst),
                                    "worst_day": ymd(worst_day),
                                },
                            })
                        }).collect::<Vec<_>>(),
                    }),
                )
            })
            .collect();
        json!({
            "config": serde_json::to_value(cfg).unwrap_or(Value::Null),
            "period": { "from": ymd(self.days.0), "to": ymd(self.days.1), "days": self.days.1 - self.days.0 + 1 },
            "model": model,
            "policies": policies,
            "recorded_liquidations": {
                "rows": self.recorded.0,
                "vault_days": self.recorded.1,
                "vaults": self.recorded.2,
                "actual_replay_match": serde_json::to_value(self.validation).unwrap_or(Value::Null),
            },
            "aave_governance_steps": serde_json::to_value(&self.governance_steps).unwrap_or(Value::Null),
            "scenarios": self.scenarios.iter().map(|s| json!({
                "name": s.name, "kind": s.kind, "window_from": ymd(s.from), "window_to": ymd(s.to),
                "days": s.path.len(), "max_drop": num(s.max_drop),
            })).collect::<Vec<_>>(),
        })
    }
}

/// A float rounded to [`SIGNIFICANT_DIGITS`] significant digits, printed as the shortest decimal
/// that reads back to that rounded value (`null` when not finite).
fn fixed(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    let rounded: f64 = format!("{:.*e}", SIGNIFICANT_DIGITS - 1, x).parse().unwrap_or(x);
    Value::from(rounded).to_string()
}

/// Significant digits of the floats in `metrics.json`: far below the noise of any metric, and far
/// above the last-bit differences a different `libm` could make.
pub const SIGNIFICANT_DIGITS: usize = 12;

/// JSON with object keys sorted at every level, two-space indented, floats rounded to
/// [`SIGNIFICANT_DIGITS`], non-finite numbers as null: one byte sequence per value.
pub fn canonical_json(v: &Value) -> String {
    fn write(v: &Value, indent: usize, out: &mut String) {
        let pad = |n: usize| "  ".repeat(n);
        match v {
            Value::Object(m) => {
                if m.is_empty() {
                    out.push_str("{}");
                    return;
                }
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push_str("{\n");
                for (i, k) in keys.iter().enumerate() {
                    out.push_str(&pad(indent + 1));
                    out.push_str(&Value::String((*k).clone()).to_string());
                    out.push_str(": ");
                    write(&m[*k], indent + 1, out);
                    out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push('}');
            }
            Value::Array(a) => {
                if a.is_empty() {
                    out.push_str("[]");
                    return;
                }
                out.push_str("[\n");
                for (i, x) in a.iter().enumerate() {
                    out.push_str(&pad(indent + 1));
                    write(x, indent + 1, out);
                    out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push(']');
            }
            Value::Number(n) if n.is_f64() => out.push_str(&fixed(n.as_f64().unwrap_or(f64::NAN))),
            other => out.push_str(&other.to_string()),
        }
    }
    let mut s = String::new();
    write(v, 0, &mut s);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_fixes_floats() {
        let v = json!({ "b": [1, 2.5, 1.0 / 3.0], "a": { "z": null, "y": 63_690.865_543_136_664 }, "c": {} });
        assert_eq!(
            canonical_json(&v),
            "{\n  \"a\": {\n    \"y\": 63690.8655431,\n    \"z\": null\n  },\n  \"b\": [\n    1,\n    2.5,\n    0.333333333333\n  ],\n  \"c\": {}\n}\n"
        );
        // Last-bit differences vanish.
        let a = canonical_json(&json!({ "x": 0.1 + 0.2 }));
        assert_eq!(a, canonical_json(&json!({ "x": 0.3 })));
    }
}
