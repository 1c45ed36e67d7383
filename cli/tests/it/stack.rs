//! What the keeper and feed tests share: a real Aave v3 market on anvil with simulated activity,
//! the 7-day model `zkrisk train` fits on the real MakerDAO history, its circuit, the oracle
//! stack with that circuit's verifier, a `keeper.toml` for it, and the keeper process.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use zkrisk_models::LogisticModel;
use zkrisk_oracle::{
    aave::{deploy::AaveMarket, sim::SimConfig},
    chain::{self, ANVIL_DEV_KEY, AaveRiskSteward, Anvil, Deployment, RiskOracle, StackConfig},
    demo::INITIAL_PARAMS,
    keeper::{
        service::feed_circuit,
        store::{EpochRecord, EpochState, Store},
    },
    prover::{Circuit, EzklWorker, WorkerConfig},
    solc,
};

use crate::support;

/// Anvil's second dev account: the keeper's wallet (the first deploys).
pub(crate) const KEEPER_KEY: &str =
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
pub(crate) const BATCH: usize = 8;
pub(crate) const MAX_AGE: u64 = 300;

/// The 7-day liquidation model and its calibration rows, from `zkrisk train` on the real MakerDAO
/// history: what an operator points a feed at.
fn train(root: &Path, out: &Path) -> (PathBuf, PathBuf) {
    let status = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["--root", root.to_str().unwrap(), "train", "--out"])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    (out.join("liquidation_7d_logistic.json"), out.join("calibration_7d.json"))
}

pub(crate) async fn raw(
    p: &DynProvider,
    method: &'static str,
    params: serde_json::Value,
) -> serde_json::Value {
    p.raw_request::<_, serde_json::Value>(method.into(), params).await.unwrap()
}

/// A keeper's world on anvil.
pub(crate) struct KeeperStack {
    pub(crate) anvil: Anvil,
    /// A provider without a wallet.
    pub(crate) plain: DynProvider,
    pub(crate) market: AaveMarket,
    pub(crate) deployment: Deployment,
    pub(crate) keeper: Address,
    /// The feed's circuit, in the keeper's work directory where the keeper finds it.
    pub(crate) circuit: Circuit,
}

/// A real Aave v3 market with a few days of simulated June-2022 activity, the trained model and
/// its circuit (in `dir`), and the oracle stack with the circuit's verifier (wide steward bounds,
/// one-minute timelock); then a block every second, like a real chain.
pub(crate) async fn keeper_stack(root: &Path, dir: &Path) -> KeeperStack {
    let sim = SimConfig {
        seed: 11,
        accounts: 40,
        start: "2022-06-10".into(),
        days: 3,
        steps_per_day: 2,
        activity: 0.3,
    };
    let (anvil, plain, market, _) = support::simulated_market(root, &sim, 1_654_732_800).await;

    let (model_path, calibration) = train(root, dir);
    let model = LogisticModel::load(&model_path).unwrap();
    let work = dir.join("work");
    let mut worker = EzklWorker::start(WorkerConfig::in_project(root)).await.unwrap();
    let (circuit, _) =
        feed_circuit(&mut worker, &work, &model, BATCH, &calibration, false).await.unwrap();
    worker.shutdown().await;
    let verifier =
        solc::compile(&root.join("scripts/solc"), &circuit.verifier_sol, "Halo2Verifier").unwrap();
    let (admin, _) = chain::signer_provider(anvil.url(), ANVIL_DEV_KEY).unwrap();
    let (_, keeper) = chain::signer_provider(anvil.url(), KEEPER_KEY).unwrap();
    let mut stack = StackConfig::local(
        keeper,
        u8::try_from(circuit.score_bits()).unwrap(),
        BATCH as u16,
        MAX_AGE,
        "WETH",
        INITIAL_PARAMS,
    );
    stack.timelock_delay = 60;
    // The feed's circuit proves logits; the oracle applies the link (`Logits` layout).
    stack.layout = chain::layout_of(circuit.kind);
    let wide = AaveRiskSteward::Bound { maxIncrease: 5_000, maxDecrease: 5_000, minDelay: 1 };
    stack.bounds = [wide.clone(), wide.clone(), wide.clone(), wide.clone(), wide];
    let deployment = chain::deploy_oracle(
        &admin,
        &root.join("contracts/out"),
        market.clone(),
        verifier.creation.clone(),
        &stack,
    )
    .await
    .unwrap();
    raw(&plain, "evm_setAutomine", serde_json::json!([false])).await;
    raw(&plain, "evm_setIntervalMining", serde_json::json!([1])).await;
    KeeperStack { anvil, plain, market, deployment, keeper, circuit }
}

/// A `keeper.toml` for the stack's WETH market: RPC `rpc`, metrics on `listen`, a tick every 10 s,
/// the ledger `keeper.sqlite` and the work directory `work` beside the file.
pub(crate) fn keeper_config(s: &KeeperStack, rpc: &str, listen: &str) -> String {
    format!(
        r#"[chain]
rpc_url = "{rpc}"
chain_id = 31337
oracle = "{oracle}"
pool = "{pool}"
confirmations = 3
replace_after_seconds = 30

[signer]
private_key_env = "ZKRISK_TEST_KEEPER_KEY"

[store]
path = "keeper.sqlite"

[keeper]
work_dir = "work"
poll_seconds = 1
lease_seconds = 6

[observability]
listen = "{listen}"

[[feed]]
name = "weth"
model = "liquidation_7d_logistic.json"
calibration = "calibration_7d.json"
model_id = 1
batch = {BATCH}
markets = ["WETH"]
schedule = "*/10 * * * * *"
max_data_age_seconds = {MAX_AGE}
"#,
        oracle = s.deployment.oracle,
        pool = s.market.pool,
    )
}

/// A free loopback address.
pub(crate) fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// A `zkrisk` service process (keeper or feed) logging to a file.
pub(crate) struct Service {
    child: Child,
    log: PathBuf,
}

impl Service {
    pub(crate) fn start(root: &Path, args: &[&str], config: &Path, log: PathBuf) -> Self {
        Self::start_with(root, args, config, log, &[])
    }

    /// [`Self::start`] with more environment variables.
    pub(crate) fn start_with(
        root: &Path,
        args: &[&str],
        config: &Path,
        log: PathBuf,
        env: &[(&str, &str)],
    ) -> Self {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
            .args(["--root", root.to_str().unwrap()])
            .args(args)
            .arg("--config")
            .arg(config)
            .env("ZKRISK_TEST_KEEPER_KEY", KEEPER_KEY)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Self { child, log }
    }

    /// `zkrisk keeper --config`.
    pub(crate) fn keeper(root: &Path, config: &Path, log: PathBuf) -> Self {
        Self::start(root, &["keeper"], config, log)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM once the service logged `started` (a keeper whose start checks end quickly, like
    /// the drain keeper, may otherwise get the signal while it starts), then a clean exit.
    pub(crate) fn stop(mut self, started: &str) {
        let t = Instant::now();
        while !self.log().contains(started) && t.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exited with {status}:\n{}", self.log());
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

pub(crate) fn epochs(store: &Path) -> Vec<EpochRecord> {
    Store::open(store).unwrap().epochs(None).unwrap()
}

pub(crate) fn confirmed(store: &Path) -> std::collections::BTreeSet<u64> {
    epochs(store)
        .into_iter()
        .filter(|e| e.state == EpochState::Confirmed)
        .map(|e| e.epoch)
        .collect()
}

/// Waits (up to `secs`) for a condition; on a timeout, panics with the services' logs.
pub(crate) async fn until<T>(
    secs: u64,
    what: &str,
    k: &[&Service],
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if t.elapsed() > Duration::from_secs(secs) {
            let logs: Vec<String> = k.iter().map(|k| k.log()).collect();
            panic!("timed out waiting for {what}; logs:\n{}", logs.join("\n-----\n"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One HTTP/1.1 request on a fresh connection: status and the whole response (head and body);
/// status 0 when nothing listens.
pub(crate) async fn http(addr: &str, method: &str, path: &str, headers: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return (0, format!("nothing listens on {addr}"));
    };
    s.write_all(
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let buf = String::from_utf8_lossy(&buf).into_owned();
    let code = buf.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, buf)
}

pub(crate) async fn http_get(addr: &str, path: &str) -> (u16, String) {
    http(addr, "GET", path, "").await
}

/// The epochs of every `UpdateAccepted` of `oracle` up to block `to` (of `market` only, when given),
/// in log order.
pub(crate) async fn onchain_epochs(
    p: &DynProvider,
    oracle: Address,
    market: Option<Address>,
    to: Option<u64>,
) -> Vec<u64> {
    onchain_updates(p, oracle, market, to).await.into_iter().map(|(e, _)| e).collect()
}

/// `(epoch, block)` of every `UpdateAccepted` of `oracle` up to block `to` (of `market` only,
/// when given), in log order.
pub(crate) async fn onchain_updates(
    p: &DynProvider,
    oracle: Address,
    market: Option<Address>,
    to: Option<u64>,
) -> Vec<(u64, u64)> {
    let mut filter = Filter::new()
        .address(oracle)
        .event_signature(RiskOracle::UpdateAccepted::SIGNATURE_HASH)
        .from_block(0);
    if let Some(m) = market {
        filter = filter.topic1(m.into_word());
    }
    if let Some(to) = to {
        filter = filter.to_block(to);
    }
    p.get_logs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|l| {
            let e = RiskOracle::UpdateAccepted::decode_log(&l.inner).unwrap().data.epoch;
            (e, l.block_number.unwrap())
        })
        .collect()
}
