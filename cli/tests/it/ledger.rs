//! The keeper's two ledgers keep the same rules: the same checks run on SQLite and on a real
//! PostgreSQL server. PostgreSQL also shows what only it has to survive: many connections racing
//! for one move, a server that goes away and comes back, a wrong password, a schema of another
//! version.

use std::{sync::Arc, time::Duration};

use zkrisk_oracle::keeper::{
    config::Secret,
    ledger::{Ledger, LedgerConfig},
    store::{Changes, EpochState::*, StoreError},
};

use crate::pg::{PASSWORD, PgServer};

fn artifact(kind: &str, body: &str) -> Changes {
    Changes { artifacts: vec![(kind.into(), body.into())], ..Changes::default() }
}

/// `a` and `b` are two handles (two keepers) on one ledger that holds nothing yet.
async fn same_rules(a: &Ledger, b: &Ledger) {
    let name = a.describe();
    assert!(a.plan("weth", 7, 100, 1_700).await.unwrap(), "{name}");
    assert!(!b.plan("weth", 7, 999, 9).await.unwrap(), "{name}: planning twice keeps the first");
    let e = b.get("weth", 7).await.unwrap().unwrap();
    assert_eq!(
        (e.state, e.data_block, e.data_time, e.attempts),
        (Pending, 100, 1_700, 0),
        "{name}"
    );
    assert_eq!(b.get("weth", 8).await.unwrap(), None, "{name}");

    // A move and its artifact, in one transaction; the move that lost stores nothing.
    let proven = Changes {
        proof_hash: Some("0xp".into()),
        artifacts: vec![("proof".into(), "ab01".into())],
        ..Changes::default()
    };
    a.transition("weth", 7, Pending, Proven, &proven).await.unwrap();
    let err =
        b.transition("weth", 7, Pending, Proven, &artifact("proof", "ffff")).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { found, expected: "pending", .. } if found == "proven"),
        "{name}: {err}"
    );
    assert_eq!(b.artifact("weth", 7, "proof").await.unwrap().as_deref(), Some("ab01"), "{name}");

    let sent = Changes {
        tx_hash: Some("0xt1".into()),
        nonce: Some(4),
        artifacts: vec![("tx".into(), "0xt1 4 00".into())],
        ..Changes::default()
    };
    a.transition("weth", 7, Proven, Submitted, &sent).await.unwrap();
    let bumped = Changes {
        tx_hash: Some("0xt2".into()),
        artifacts: vec![("tx".into(), "0xt2 4 01".into())],
        ..Changes::default()
    };
    b.transition(
        "weth",
        7,
        Submitted,
        Submitted,
        &Changes { if_tx_hash: Some("0xt1".into()), ..bumped.clone() },
    )
    .await
    .unwrap();
    // A replacement of a transaction that is no longer the recorded one is refused.
    let stale = Changes {
        tx_hash: Some("0xt3".into()),
        if_tx_hash: Some("0xt1".into()),
        artifacts: vec![("tx".into(), "0xt3 4 02".into())],
        ..Changes::default()
    };
    let err = a.transition("weth", 7, Submitted, Submitted, &stale).await.unwrap_err();
    assert!(err.to_string().contains("submitted with transaction 0xt2"), "{name}: {err}");
    let e = a.get("weth", 7).await.unwrap().unwrap();
    assert_eq!((e.tx_hash.as_deref(), e.nonce), (Some("0xt2"), Some(4)), "{name}");
    assert_eq!(e.proof_hash.as_deref(), Some("0xp"), "{name}: unchanged columns stay");
    assert_eq!(a.artifact("weth", 7, "tx").await.unwrap().as_deref(), Some("0xt2 4 01"), "{name}");
    assert_eq!(a.last_nonce().await.unwrap(), Some(4), "{name}");

    // Failures count; a skip is final; the unfinished are what a restart resumes.
    b.plan("weth", 9, 120, 1_900).await.unwrap();
    // A second epoch signed with a recorded nonce is refused (a keeper that lost the lease
    // unknowingly), and nothing of that move is stored.
    a.transition("weth", 9, Pending, Proven, &Changes::default()).await.unwrap();
    let reuse = Changes { nonce: Some(4), ..artifact("tx", "0xt9 4 00") };
    let err = b.transition("weth", 9, Proven, Submitted, &reuse).await.unwrap_err();
    assert!(!matches!(err, StoreError::Conflict { .. }), "{name}: {err}");
    assert!(err.to_string().to_lowercase().contains("unique"), "{name}: {err}");
    assert_eq!(a.get("weth", 9).await.unwrap().unwrap().state, Proven, "{name}");
    assert_eq!(a.artifact("weth", 9, "tx").await.unwrap(), None, "{name}");
    b.plan("usdc", 1, 10, 100).await.unwrap();
    assert_eq!(a.record_failure("weth", 9, "rpc down").await.unwrap(), 1, "{name}");
    assert_eq!(b.record_failure("weth", 9, "rpc down again").await.unwrap(), 2, "{name}");
    let open: Vec<u64> = a.unfinished("weth").await.unwrap().iter().map(|e| e.epoch).collect();
    assert_eq!(open, vec![7, 9], "{name}");
    let why = Changes { reason: Some("stale".into()), ..Changes::default() };
    a.transition("weth", 9, Proven, Skipped, &why).await.unwrap();
    let e = b.get("weth", 9).await.unwrap().unwrap();
    assert_eq!((e.state, e.attempts, e.reason.as_deref()), (Skipped, 2, Some("stale")), "{name}");
    assert!(b.transition("weth", 9, Pending, Proven, &Changes::default()).await.is_err(), "{name}");
    let all: Vec<(String, u64)> =
        a.epochs(None).await.unwrap().into_iter().map(|e| (e.feed, e.epoch)).collect();
    let want = [("usdc", 1), ("weth", 7), ("weth", 9)].map(|(f, e)| (f.to_string(), e));
    assert_eq!(all, want, "{name}: every feed, oldest first");
    a.transition(
        "weth",
        7,
        Submitted,
        Confirmed,
        &Changes { mined_block: Some(130), ..Changes::default() },
    )
    .await
    .unwrap();
    assert_eq!(a.unfinished("weth").await.unwrap(), vec![], "{name}");

    // Leases: one holder until it runs out or gives it back.
    assert!(a.acquire_lease("wallet:0x1", "host-a", 60).await.unwrap(), "{name}");
    assert!(!b.acquire_lease("wallet:0x1", "host-b", 60).await.unwrap(), "{name}");
    assert!(a.acquire_lease("wallet:0x1", "host-a", 60).await.unwrap(), "{name}: renewed");
    assert!(b.acquire_lease("wallet:0x2", "host-b", 60).await.unwrap(), "{name}: per key");
    let leases = b.leases().await.unwrap();
    assert_eq!(leases.iter().map(|l| l.holder.as_str()).collect::<Vec<_>>(), ["host-a", "host-b"]);
    a.release_lease("wallet:0x1", "host-b").await.unwrap(); // not b's to give: nothing happens
    assert!(!b.acquire_lease("wallet:0x1", "host-b", 60).await.unwrap(), "{name}");
    a.release_lease("wallet:0x1", "host-a").await.unwrap();
    assert!(b.acquire_lease("wallet:0x1", "host-b", 1).await.unwrap(), "{name}: given back");
    // The leader dies: its lease runs out and the other takes over.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert!(a.acquire_lease("wallet:0x1", "host-a", 60).await.unwrap(), "{name}: ran out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_ledger_keeps_the_rules_of_the_sqlite_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = LedgerConfig::Sqlite(dir.path().join("keeper.sqlite"));
    let (a, b) = (Ledger::open(&sqlite).await.unwrap(), Ledger::open(&sqlite).await.unwrap());
    same_rules(&a, &b).await;

    let pg = PgServer::start();
    let config = LedgerConfig::Postgres(Secret::new(pg.url.clone()));
    // Two keepers starting at once both create the schema (under the advisory lock).
    let (a, b) = tokio::join!(Ledger::open(&config), Ledger::open(&config));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.describe(), format!("postgres://zkrisk@127.0.0.1:{}/postgres", pg.port));
    same_rules(&a, &b).await;

    // 16 connections race for one move, released together once all are open: exactly one wins,
    // and its artifact is the one stored.
    a.plan("race", 1, 1, 1).await.unwrap();
    let go = Arc::new(tokio::sync::Barrier::new(16));
    let mut handles = Vec::new();
    for k in 0..16 {
        let (config, go) = (config.clone(), go.clone());
        handles.push(tokio::spawn(async move {
            let l = Ledger::open(&config).await.unwrap();
            l.get("race", 1).await.unwrap(); // connected
            go.wait().await;
            let c = artifact("proof", &format!("keeper-{k}"));
            l.transition("race", 1, Pending, Proven, &c).await.map(|()| k)
        }));
    }
    let mut won = Vec::new();
    for h in handles {
        match h.await.unwrap() {
            Ok(k) => won.push(k),
            Err(StoreError::Conflict { found, .. }) => assert_eq!(found, "proven"),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let body = a.artifact("race", 1, "proof").await.unwrap();
    assert_eq!(body, Some(format!("keeper-{}", won[0])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_ledger_survives_a_server_restart_and_refuses_what_it_must() {
    let pg = PgServer::start();
    let url = Secret::new(pg.url.clone());
    let ledger = Arc::new(Ledger::open(&LedgerConfig::Postgres(url.clone())).await.unwrap());
    ledger.plan("weth", 1, 10, 100).await.unwrap();

    // The server goes away: calls fail with the server named and no password, nothing is lost;
    // it comes back and the same handle works again.
    pg.stop();
    let err = ledger.get("weth", 1).await.unwrap_err().to_string();
    assert!(err.contains(&format!("127.0.0.1:{}", pg.port)) && !err.contains(PASSWORD), "{err}");
    let err = ledger.plan("weth", 2, 20, 200).await.unwrap_err().to_string();
    assert!(!err.contains(PASSWORD), "{err}");
    pg.start_again();
    let e = ledger.get("weth", 1).await.unwrap().unwrap();
    assert_eq!((e.data_block, e.data_time), (10, 100));
    assert!(ledger.plan("weth", 2, 20, 200).await.unwrap());

    // A wrong password, and nothing listening: clear errors, without the secret.
    let wrong = pg.url.replace(PASSWORD, "not-the-password");
    let err = Ledger::open(&LedgerConfig::Postgres(Secret::new(wrong))).await.unwrap_err();
    let err = err.to_string();
    assert!(
        err.contains("zkrisk") && err.contains("password") && !err.contains("not-the-password"),
        "{err}"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nobody = format!("postgres://zkrisk:{PASSWORD}@127.0.0.1:{port}/postgres");
    let err = Ledger::open(&LedgerConfig::Postgres(Secret::new(nobody))).await.unwrap_err();
    let err = err.to_string();
    assert!(err.contains(&format!("127.0.0.1:{port}")) && !err.contains(PASSWORD), "{err}");

    // A ledger written by a keeper of another schema version is refused by name.
    let (client, conn) = tokio_postgres::connect(&pg.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute("UPDATE zkrisk_keeper_meta SET schema_version = 9").await.unwrap();
    let err = Ledger::open(&LedgerConfig::Postgres(url)).await.unwrap_err().to_string();
    assert!(err.contains("schema version 9; this keeper knows 2"), "{err}\n{}", pg.server_log());
}
