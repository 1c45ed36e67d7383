//! `zkrisk ingest` killed with SIGKILL in the middle of a run and started again writes exactly the
//! Parquet of a run that was never interrupted; `zkrisk positions` reads it back.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use alloy::providers::Provider;
use zkrisk_oracle::aave::sim::SimConfig;
use zkrisk_pipeline::aave::store;

use crate::{
    proxy, root,
    support::{self, snapshot},
};

fn ingest_cmd(rpc: &str, pool: &str, to: u64, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkrisk"));
    cmd.args(["ingest", "--rpc", rpc, "--pool", pool, "--from", "0"])
        .args(["--to", &to.to_string(), "--out", out.to_str().unwrap()])
        .args(["--confirmations", "0", "--partition-blocks", "8", "--max-range", "8"])
        .args(["--backoff-ms", "20"]);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_killed_mid_run_resumes_to_identical_parquet() {
    let root = root();
    let cfg = SimConfig {
        seed: 3,
        accounts: 30,
        start: "2022-06-12".into(),
        days: 4,
        steps_per_day: 2,
        activity: 0.2,
    };
    let genesis = 1_654_905_600; // 2022-06-11
    let (anvil, plain, market, _) = support::simulated_market(&root, &cfg, genesis).await;
    let head = plain.get_block_number().await.unwrap();
    let pool = format!("{:#x}", market.pool);
    let tmp = tempfile::tempdir().unwrap();

    // The reference: one uninterrupted run.
    let reference = tmp.path().join("reference");
    let out = ingest_cmd(anvil.url(), &pool, head, &reference).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ingest") && stderr.contains("100.0%"), "no progress shown:\n{stderr}");
    let partitions = head / 8 + 1;

    // The same run through a slow provider, killed twice once it has committed some partitions.
    let slow = proxy::start(
        anvil.url(),
        proxy::Faults { latency: Duration::from_millis(40), ..Default::default() },
    )
    .await;
    let resumed = tmp.path().join("resumed");
    for fraction in [4, 2] {
        let mut child = ingest_cmd(&slow.url, &pool, head, &resumed)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let target = partitions / fraction;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let done =
                store::read_checkpoint(&resumed).ok().flatten().map_or(0, |c| c.next_block / 8);
            if done >= target {
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "the run ended before it was killed");
            assert!(Instant::now() < deadline, "no progress through the slow proxy");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap(); // SIGKILL: no chance to clean up.
        child.wait().unwrap();
        let c = store::read_checkpoint(&resumed).unwrap().unwrap();
        assert!(c.next_block <= head, "killed too late to test anything: {c:?}");
    }
    assert!(slow.counters.requests.load(std::sync::atomic::Ordering::SeqCst) > 0);
    let out = ingest_cmd(anvil.url(), &pool, head, &resumed).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (a, b) = (snapshot(&reference), snapshot(&resumed));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert!(a == b, "resumed run differs from the uninterrupted one");
    assert!(
        a.keys().any(|k| k.ends_with("liquidation_call.parquet") || k.ends_with("borrow.parquet"))
    );

    // `zkrisk positions` prints every account of the dataset at the last block.
    let out = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["positions", "--data", reference.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 20, "{} accounts", lines.len());
    assert!(lines.iter().all(|l| l["block"] == head && l["health_factor"].is_string()));
}
