//! `zkrisk keeper check` and `zkrisk keeper status`: a bad configuration is refused at start with
//! the key named and no secret printed; the ledger is read back.

use std::process::Command;

use zkrisk_oracle::keeper::store::{Changes, EpochState, Store};

const CONFIG: &str = r#"
[chain]
rpc_url_env = "ZKRISK_TEST_RPC"
chain_id = 31337
oracle = "0x5FbDB2315678afecb367f032d93F642f64180aa3"

[signer]
private_key_env = "ZKRISK_TEST_KEY"

[store]
path = "ledger.sqlite"

[[feed]]
name = "weth-7d"
model = "models/weth"
markets = ["WETH"]
schedule = "0 0 * * * *"
max_data_age_seconds = 3600
"#;

fn keeper(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .arg("keeper")
        .args(args)
        .env("ZKRISK_TEST_RPC", "https://node.example/v2/SECRET-API-KEY")
        .env("ZKRISK_TEST_KEY", "0xSECRETKEY")
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn keeper_check_names_the_bad_key_and_status_reads_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keeper.toml");
    let p = path.to_str().unwrap();

    std::fs::write(&path, CONFIG).unwrap();
    let (ok, out, err) = keeper(&["check", "--config", p]);
    assert!(ok, "{err}");
    assert!(out.contains("ok") && out.contains("weth-7d") && !out.contains("SECRET"), "{out}");

    for (from, to, key) in [
        ("0 0 * * * *", "hourly", "feed[0].schedule"),
        ("chain_id = 31337", "chain_id = 31337\ngas = 1", "unknown field `gas`"),
        ("private_key_env = \"ZKRISK_TEST_KEY\"", "keystore = \"nope.json\"", "signer.keystore"),
    ] {
        std::fs::write(&path, CONFIG.replacen(from, to, 1)).unwrap();
        let (ok, _, err) = keeper(&["check", "--config", p]);
        assert!(!ok && err.contains(key) && err.contains("keeper.toml"), "{key}: {err}");
        assert!(!err.contains("SECRET"), "{err}");
    }

    // The ledger a keeper left: one epoch confirmed, one skipped, one in flight.
    std::fs::write(&path, CONFIG).unwrap();
    let store = Store::open(&dir.path().join("ledger.sqlite")).unwrap();
    for (epoch, to) in
        [(1, EpochState::Confirmed), (2, EpochState::Skipped), (3, EpochState::Proven)]
    {
        store.plan("weth-7d", epoch, 100 * epoch).unwrap();
        let why = Changes { reason: Some(format!("reason {epoch}")), ..Changes::default() };
        if to == EpochState::Confirmed {
            store
                .transition("weth-7d", epoch, EpochState::Pending, EpochState::Proven, &why)
                .unwrap();
            store
                .transition("weth-7d", epoch, EpochState::Proven, EpochState::Submitted, &why)
                .unwrap();
            store.transition("weth-7d", epoch, EpochState::Submitted, to, &why).unwrap();
        } else {
            store.transition("weth-7d", epoch, EpochState::Pending, to, &why).unwrap();
        }
    }
    let (ok, out, err) = keeper(&["status", "--config", p]);
    assert!(ok, "{err}");
    assert!(out.contains("1 confirmed, 1 skipped, 1 in flight; last confirmed epoch 1"), "{out}");
    assert!(out.contains("reason 2") && out.contains("proven"), "{out}");
    let (ok, out, _) = keeper(&[
        "status",
        "--store",
        dir.path().join("ledger.sqlite").to_str().unwrap(),
        "--json",
    ]);
    assert!(ok);
    let lines: Vec<serde_json::Value> =
        out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["state"], "skipped");
}
