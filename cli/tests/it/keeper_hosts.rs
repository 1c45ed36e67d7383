//! Two keepers on two hosts share one schedule through a PostgreSQL ledger: the same
//! configuration, each with its own work directory (nothing on disk is shared), one real
//! PostgreSQL server, a real Aave v3 market on anvil. One leads; it is killed (SIGKILL) with a
//! submission in flight; the other takes over from what the ledger holds and finishes that epoch
//! without signing it again. At the end every epoch is on chain exactly once or skipped with a
//! reason, the wallet used one nonce per epoch, and the ledger's password reached no log.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

use alloy::providers::Provider;

use crate::{
    pg::{PASSWORD, PgServer},
    root,
    stack::{self, KEEPER_KEY, Service, free_addr, http_get, raw, until},
};

const URL_VAR: &str = "ZKRISK_TEST_LEDGER_URL";

/// One host: its own copy of the model, the calibration and the work directory with the circuit,
/// and a `keeper.toml` whose `[store]` is the shared PostgreSQL ledger.
/// Returns the configuration and its metrics address.
fn host(dir: &Path, name: &str, stack: &stack::KeeperStack, rpc: &str) -> (PathBuf, String) {
    let home = dir.join(name);
    std::fs::create_dir_all(&home).unwrap();
    for f in ["liquidation_7d_logistic.json", "calibration_7d.json"] {
        std::fs::copy(dir.join(f), home.join(f)).unwrap();
    }
    let cp = Command::new("cp").arg("-r").arg(dir.join("work")).arg(&home).status().unwrap();
    assert!(cp.success());
    let listen = free_addr();
    let text = stack::keeper_config(stack, rpc, &listen)
        .replace(
            "[store]\npath = \"keeper.sqlite\"",
            &format!("[store]\nbackend = \"postgres\"\nurl_env = \"{URL_VAR}\""),
        )
        .replace("[keeper]\n", &format!("[keeper]\nid = \"{name}\"\n"));
    assert!(text.contains("backend = \"postgres\"") && text.contains("id = "));
    let config = home.join("keeper.toml");
    std::fs::write(&config, text).unwrap();
    (config, listen)
}

/// `zkrisk keeper status --config`: (text, JSON lines).
fn status(root: &Path, config: &Path, url: &str) -> (String, Vec<serde_json::Value>) {
    let run = |json: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_zkrisk"));
        c.args(["--root", root.to_str().unwrap(), "keeper", "status", "--config"])
            .arg(config)
            .env("ZKRISK_TEST_KEEPER_KEY", KEEPER_KEY)
            .env(URL_VAR, url);
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let lines = run(true).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (run(false), lines)
}

fn in_state(epochs: &[serde_json::Value], state: &str) -> BTreeSet<u64> {
    epochs.iter().filter(|e| e["state"] == state).map(|e| e["epoch"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_keepers_on_two_hosts_share_a_postgres_ledger_and_submit_each_epoch_once() {
    let root = root();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pg = PgServer::start();
    let url = pg.url.clone();
    let stack = stack::keeper_stack(&root, dir).await;
    let (plain, d) = (&stack.plain, &stack.deployment);
    let (a, b) = (
        host(dir, "host-a", &stack, stack.anvil.url()),
        host(dir, "host-b", &stack, stack.anvil.url()),
    );
    let listen = [a.1, b.1];
    let configs = [a.0, b.0];
    let env = [(URL_VAR, url.as_str())];
    let start = |k: usize, log: &str| {
        Service::start_with(&root, &["keeper"], &configs[k], dir.join(log), &env)
    };
    let mut keepers = [Some(start(0, "host-a.log")), Some(start(1, "host-b.log"))];
    let both: Vec<&Service> = keepers.iter().flatten().collect();

    let ledger = |k: usize| status(&root, &configs[k], &url).1;
    until(300, "two confirmed epochs", &both, || {
        (in_state(&ledger(0), "confirmed").len() >= 2).then_some(())
    })
    .await;

    // The database goes away: neither keeper is ready, and neither acts; it comes back and they
    // go on.
    pg.stop();
    for addr in &listen {
        let t = std::time::Instant::now();
        loop {
            let (code, body) = http_get(addr, "/readyz").await;
            if code == 503 && body.contains("the ledger does not answer") {
                break;
            }
            assert!(t.elapsed().as_secs() < 60, "still ready without a ledger: {code} {body}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    pg.start_again();
    let before = *in_state(&ledger(0), "confirmed").last().unwrap();
    until(240, "an epoch confirmed after the ledger came back", &both, || {
        in_state(&ledger(0), "confirmed").into_iter().find(|e| *e > before)
    })
    .await;
    for addr in &listen {
        let (code, body) = http_get(addr, "/readyz").await;
        assert_eq!(code, 200, "{body}");
    }

    // The leader, from the lease `keeper status` shows.
    let (text, _) = status(&root, &configs[1], &url);
    let leader = if text.contains(": held by host-a/") {
        0
    } else {
        assert!(text.contains(": held by host-b/"), "{text}");
        1
    };
    let follower = 1 - leader;

    // Kill the leader while one of its submissions is in flight. Mining stops first, so that the
    // submission cannot be confirmed before the kill: whatever moves it afterwards is the other
    // keeper, working from the ledger.
    raw(plain, "evm_setIntervalMining", serde_json::json!([0])).await;
    let in_flight = until(300, "a submission in flight", &both, || {
        in_state(&ledger(0), "submitted").first().copied()
    })
    .await;
    let killed = keepers[leader].take().unwrap();
    let killed_log = killed.log();
    killed.kill();
    assert!(in_state(&ledger(0), "submitted").contains(&in_flight), "still in flight at the kill");
    raw(plain, "evm_setIntervalMining", serde_json::json!([1])).await;
    let f = keepers[follower].as_ref().unwrap();
    let e = until(240, "the epoch in flight at the kill to end", &[f], || {
        let l = ledger(follower);
        l.into_iter().find(|e| e["epoch"] == in_flight && e["state"] != "submitted")
    })
    .await;
    assert_eq!(e["state"], "confirmed", "{e}");
    let handover = in_flight;
    until(240, "the follower confirming an epoch of its own", &[f], || {
        in_state(&ledger(follower), "confirmed").into_iter().find(|e| *e > handover)
    })
    .await;
    let (text, _) = status(&root, &configs[follower], &url);
    let name = ["host-a", "host-b"][follower];
    assert!(text.contains(&format!(": held by {name}/")), "the follower leads now:\n{text}");
    println!("after the takeover:\n{text}");
    assert!(f.log().contains("epoch confirmed"), "{}", f.log());

    // Drain: the follower restarts on a schedule that does not fire soon and finishes what is in
    // flight.
    keepers[follower].take().unwrap().stop("keeper started");
    let drain = configs[follower].with_file_name("drain.toml");
    let text = std::fs::read_to_string(&configs[follower]).unwrap();
    std::fs::write(&drain, text.replace("*/10 * * * * *", "0 0 0 1 1 *")).unwrap();
    let c = Service::start_with(&root, &["keeper"], &drain, dir.join("drain.log"), &env);
    until(240, "every epoch final", &[&c], || {
        ledger(follower)
            .iter()
            .all(|e| e["state"] == "confirmed" || e["state"] == "skipped")
            .then_some(())
    })
    .await;
    c.stop("keeper started");

    // What an operator sees (`--nocapture` shows it).
    println!("at the end:\n{}", status(&root, &configs[follower], &url).0);
    let epochs = ledger(0);
    for e in &epochs {
        if e["state"] == "skipped" {
            assert!(e["reason"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
        }
    }
    // The oracle refuses an epoch it holds, so the real checks are the set and the nonces.
    let onchain = stack::onchain_epochs(plain, d.oracle, Some(d.asset), None).await;
    let confirmed = in_state(&epochs, "confirmed");
    assert_eq!(onchain.iter().copied().collect::<BTreeSet<_>>(), confirmed, "{onchain:?}");
    assert_eq!(onchain.len(), confirmed.len(), "an epoch on chain twice: {onchain:?}");
    assert!(confirmed.contains(&in_flight) && confirmed.len() >= 4, "{confirmed:?}");
    // One nonce per epoch on chain: the follower sent the leader's signed transaction, not its own.
    assert_eq!(plain.get_transaction_count(stack.keeper).await.unwrap(), confirmed.len() as u64);
    for log in [
        killed_log,
        std::fs::read_to_string(dir.join("host-a.log")).unwrap(),
        std::fs::read_to_string(dir.join("host-b.log")).unwrap(),
    ] {
        assert!(
            !log.contains(PASSWORD) && !log.contains(&KEEPER_KEY[2..]),
            "a secret reached the logs"
        );
        assert!(
            log.contains("postgres://zkrisk@127.0.0.1"),
            "the ledger is named in the log:\n{log}"
        );
    }
    stack.anvil.stop().await.unwrap();
}
