//! `zkrisk keeper --config` on a real Aave v3 market on anvil, run for many epochs while the faults
//! of real chains and machines are injected: an RPC outage, a transaction dropped from the pool,
//! the prover worker killed mid-proof, the keeper killed with SIGKILL and started again, a reorg
//! that removes a mined submission, and a second keeper on the same configuration. At the end
//! every epoch of the ledger is on chain exactly once or skipped with a reason, and the wallet used
//! exactly one nonce per epoch on chain (no duplicate, no reverted submission).

use std::{
    collections::BTreeSet,
    path::Path,
    process::Command,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use alloy::{
    primitives::B256,
    providers::{DynProvider, Provider},
};
use zkrisk_oracle::keeper::store::EpochState;

use crate::{
    proxy, root,
    stack::{self, KEEPER_KEY, Service, confirmed, epochs, free_addr, http_get, raw, until},
};

/// The first submission seen waiting in the node's pool: `(epoch, tx hash)`.
async fn pooled_submission(p: &DynProvider, store: &Path, k: &Service) -> (u64, B256) {
    let t = Instant::now();
    loop {
        for e in epochs(store).into_iter().filter(|e| e.state == EpochState::Submitted) {
            let h: B256 = e.tx_hash.unwrap().parse().unwrap();
            if let Ok(Some(tx)) = p.get_transaction_by_hash(h).await
                && tx.block_number.is_none()
            {
                return (e.epoch, h);
            }
        }
        assert!(t.elapsed() < Duration::from_secs(240), "no submission in the pool:\n{}", k.log());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_survives_outage_drop_worker_kill_restart_and_reorg_and_two_keepers_do_not_both_submit()
 {
    let root = root();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let stack = stack::keeper_stack(&root, dir).await;
    let (plain, d, keeper_addr) = (&stack.plain, &stack.deployment, stack.keeper);
    let work = dir.join("work");

    let outage = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rpc = proxy::start(
        stack.anvil.url(),
        proxy::Faults { outage: outage.clone(), ..Default::default() },
    )
    .await;
    let listen = free_addr();
    let store = dir.join("keeper.sqlite");
    let config = dir.join("keeper.toml");
    std::fs::write(&config, stack::keeper_config(&stack, &rpc.url, &listen)).unwrap();

    // --dry-run: one epoch proven and simulated, nothing sent, no ledger.
    let out = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["--root", root.to_str().unwrap(), "keeper", "--dry-run", "--config"])
        .arg(&config)
        .env("ZKRISK_TEST_KEEPER_KEY", KEEPER_KEY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("dry run: weth/WETH"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!store.exists(), "a dry run touches no ledger");
    assert_eq!(
        plain.get_transaction_count(keeper_addr).await.unwrap(),
        0,
        "a dry run sends nothing"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(&KEEPER_KEY[2..]), "the key reached the logs");

    // Start checks against the real oracle: each refusal names what is wrong.
    let base = std::fs::read_to_string(&config).unwrap();
    let other_key = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
    for (text, key, want) in [
        (base.clone(), other_key, "is not a keeper of RiskOracle"),
        (
            base.replace("markets = [\"WETH\"]", "markets = [\"WBTC\"]"),
            KEEPER_KEY,
            "is not configured in the oracle",
        ),
        (
            base.replace("markets = [\"WETH\"]", "markets = [\"XYZ\"]"),
            KEEPER_KEY,
            "`XYZ` is not a reserve of the Pool",
        ),
        (base.replace("model_id = 1", "model_id = 2"), KEEPER_KEY, "model 2 is not registered"),
    ] {
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
            .args(["--root", root.to_str().unwrap(), "keeper", "--config"])
            .arg(&bad)
            .env("ZKRISK_TEST_KEEPER_KEY", key)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(want), "{want}:\n{stderr}");
    }
    assert!(!store.exists(), "a refused start writes no ledger");

    let a = Service::keeper(&root, &config, dir.join("keeper-a.log"));
    let first =
        until(240, "a first confirmed epoch", &[&a], || confirmed(&store).first().copied()).await;
    let (code, body) = http_get(&listen, "/readyz").await;
    assert_eq!(code, 200, "{body}");

    // 1. RPC outage: readiness drops, the keeper waits, then goes on.
    outage.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (code, body) = http_get(&listen, "/readyz").await;
    assert_eq!(code, 503, "{body}");
    outage.store(false, Ordering::SeqCst);
    let before = *confirmed(&store).last().unwrap();
    until(240, "an epoch confirmed after the outage", &[&a], || {
        confirmed(&store).into_iter().find(|e| *e > before)
    })
    .await;
    assert!(rpc.counters.failed.load(Ordering::SeqCst) > 0);

    // 2. A submission dropped from the pool: mining stops, the transaction is dropped, mining goes
    //    on; the keeper sends the same signed transaction again.
    raw(plain, "evm_setIntervalMining", serde_json::json!([0])).await;
    let (dropped_epoch, dropped) = pooled_submission(plain, &store, &a).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    raw(plain, "anvil_dropTransaction", serde_json::json!([format!("{dropped:#x}")])).await;
    assert!(plain.get_transaction_by_hash(dropped).await.unwrap().is_none(), "dropped");
    tokio::time::sleep(Duration::from_secs(2)).await;
    raw(plain, "evm_setIntervalMining", serde_json::json!([1])).await;
    until(240, "the dropped epoch confirmed", &[&a], || {
        confirmed(&store).contains(&dropped_epoch).then_some(())
    })
    .await;

    // 3. The prover worker killed in the middle of a proof.
    let runs = work.join("runs/weth/WETH");
    let done: BTreeSet<u64> = epochs(&store).iter().map(|e| e.epoch).collect();
    let killed_epoch = until(240, "a proof in progress", &[&a], || {
        let entries = std::fs::read_dir(&runs).ok()?;
        entries.flatten().find_map(|e| {
            let epoch: u64 = e.file_name().to_str()?.parse().ok()?;
            let p = e.path();
            (!done.contains(&epoch)
                && p.join("input.json").exists()
                && !p.join("proof.json").exists())
            .then_some(epoch)
        })
    })
    .await;
    let pkill = Command::new("pkill")
        .args(["-KILL", "-P", &a.pid().to_string(), "-f", "prover_worker.py"])
        .status()
        .unwrap();
    assert!(pkill.success(), "no prover worker under the keeper");
    until(240, "the epoch of the killed proof to end", &[&a], || {
        epochs(&store).into_iter().find(|e| e.epoch == killed_epoch && e.state.is_final())
    })
    .await;
    let after_kill = confirmed(&store).last().copied().unwrap();
    until(240, "an epoch confirmed after the worker died", &[&a], || {
        confirmed(&store).into_iter().find(|e| *e > after_kill.max(killed_epoch))
    })
    .await;
    assert!(a.log().contains("prover worker died"), "{}", a.log());

    // 4. The keeper killed (SIGKILL) with a submission in flight, then started again.
    until(240, "a submission in flight", &[&a], || {
        epochs(&store).into_iter().find(|e| e.state == EpochState::Submitted)
    })
    .await;
    let in_flight: Vec<u64> =
        epochs(&store).into_iter().filter(|e| !e.state.is_final()).map(|e| e.epoch).collect();
    a.kill();
    tokio::time::sleep(Duration::from_secs(22)).await; // at least two ticks missed
    let a = Service::keeper(&root, &config, dir.join("keeper-a2.log"));
    until(240, "the epochs in flight at the kill to end", &[&a], || {
        let e = epochs(&store);
        in_flight
            .iter()
            .all(|x| e.iter().any(|r| r.epoch == *x && r.state.is_final()))
            .then_some(())
    })
    .await;
    assert!(
        epochs(&store).iter().any(|e| e.reason.as_deref().is_some_and(|r| r.contains("missed"))),
        "ticks missed while the keeper was down are recorded"
    );

    // 5. A reorg that removes the block holding a submission (before it has its 3 confirmations).
    let reorg_epoch = loop {
        let (epoch, tx) = pooled_submission(plain, &store, &a).await;
        let block = loop {
            if let Some(r) = plain.get_transaction_receipt(tx).await.unwrap() {
                break r.block_number.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let head = plain.get_block_number().await.unwrap();
        // Only while it has fewer than 3 confirmations (the keeper's depth); else try the next.
        if head - block + 1 < 3 {
            raw(plain, "anvil_reorg", serde_json::json!([head - block + 1, []])).await;
            break epoch;
        }
    };
    until(240, "the reorged epoch confirmed", &[&a], || {
        epochs(&store).into_iter().find(|e| e.epoch == reorg_epoch && e.state.is_final())
    })
    .await;

    // 6. A second keeper on the same configuration; then the first stops and it takes over.
    // The same configuration but for the metrics port (both run on this one host).
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config_b = dir.join("keeper-b.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config_b, text.replace(&listen, &other.to_string())).unwrap();
    let b = Service::keeper(&root, &config_b, dir.join("keeper-b.log"));
    tokio::time::sleep(Duration::from_secs(25)).await;
    let (code, metrics) = http_get(&listen, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("zkrisk_keeper_epochs_total{feed=\"weth/WETH\",outcome=\"confirmed\"}"),
        "{metrics}"
    );
    for series in [
        "zkrisk_keeper_gas_used_total",
        "zkrisk_keeper_lag_blocks",
        "zkrisk_keeper_wallet_balance_wei",
    ] {
        assert!(metrics.contains(&format!("\n{series} ")), "{series}:\n{metrics}");
    }
    let handover = confirmed(&store).last().copied().unwrap();
    a.stop("keeper started");
    until(240, "the second keeper confirming an epoch", &[&b], || {
        confirmed(&store).into_iter().find(|e| *e > handover)
    })
    .await;

    // Drain: stop, then restart on a schedule that does not fire again soon; the restarted keeper
    // finishes the epochs in flight and starts no new one.
    b.stop("keeper started");
    let drain = dir.join("keeper-drain.toml");
    let text = std::fs::read_to_string(&config_b).unwrap();
    std::fs::write(&drain, text.replace("*/10 * * * * *", "0 0 0 1 1 *")).unwrap();
    let c = Service::keeper(&root, &drain, dir.join("keeper-drain.log"));
    until(240, "the epochs in flight to end", &[&c], || {
        epochs(&store).iter().all(|e| e.state.is_final()).then_some(())
    })
    .await;
    c.stop("keeper started");

    // Every epoch: on chain exactly once, or skipped with a reason.
    let ledger = epochs(&store);
    for e in &ledger {
        match e.state {
            EpochState::Confirmed => {}
            EpochState::Skipped => {
                assert!(e.reason.as_deref().is_some_and(|r| !r.is_empty()), "{e:?}");
            }
            _ => panic!("an epoch in flight after the drain: {e:?}"),
        }
    }
    let mut onchain = stack::onchain_epochs(plain, d.oracle, Some(d.asset), None).await;
    let n = onchain.len();
    onchain.dedup();
    assert_eq!(onchain.len(), n, "an epoch on chain twice: {onchain:?}");
    let ours = confirmed(&store);
    assert_eq!(onchain.iter().copied().collect::<BTreeSet<_>>(), ours, "{ledger:#?}");
    assert!(ours.len() >= 6, "only {} epochs confirmed", ours.len());
    assert!(ours.contains(&first) && ours.contains(&dropped_epoch));
    // One nonce per epoch on chain: no duplicate, replaced-and-mined or reverted submission.
    assert_eq!(plain.get_transaction_count(keeper_addr).await.unwrap(), ours.len() as u64);
    let b_log = std::fs::read_to_string(dir.join("keeper-b.log")).unwrap();
    assert!(!b_log.contains(&KEEPER_KEY[2..]), "the key reached the logs");
    stack.anvil.stop().await.unwrap();
}
