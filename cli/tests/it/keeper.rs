//! `zkrisk keeper check` and `zkrisk keeper status`: a bad configuration is refused at start with
//! the key named and no secret printed; the ledger is read back. `zkrisk keeper --config` refuses
//! to start on the wrong chain, with a key it cannot use, or with an unfunded wallet.

use std::process::Command;

use alloy::providers::Provider;
use zkrisk_oracle::{
    chain::{self, ANVIL_DEV_KEY, Anvil},
    keeper::store::{Changes, EpochState, Store},
};

use crate::root;

const CONFIG: &str = r#"
[chain]
rpc_url_env = "ZKRISK_TEST_RPC"
chain_id = 31337
oracle = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
pool = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"

[signer]
private_key_env = "ZKRISK_TEST_KEY"

[store]
path = "ledger.sqlite"

[[feed]]
name = "weth-7d"
model = "model.json"
calibration = "model.json"
model_id = 1
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
    std::fs::write(dir.path().join("model.json"), "{}").unwrap();
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
        store.plan("weth-7d", epoch, 100 * epoch, 0).unwrap();
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

    // A lease the wallet's leader holds shows who leads.
    store.acquire_lease("wallet:0xabc", "host-a", 600).unwrap();
    let (ok, out, err) = keeper(&["status", "--config", p]);
    assert!(ok, "{err}");
    assert!(out.contains("lease wallet:0xabc: held by host-a until 20"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_refuses_to_start_on_the_wrong_chain_with_a_bad_key_or_an_unfunded_wallet() {
    let root = root();
    let anvil = Anvil::spawn(&root.join("contracts/node_modules/.bin/anvil"), None).await.unwrap();
    let (admin, _) = chain::signer_provider(anvil.url(), ANVIL_DEV_KEY).unwrap();
    // Any contract stands in for the oracle: the checks before the oracle's own run first.
    let init = hex_bytes("6001600c60003960016000f300");
    let (contract, _) = chain::deploy(&admin, init).await.unwrap();
    assert!(!admin.get_code_at(contract).await.unwrap().is_empty());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.json"), "{}").unwrap();
    std::fs::write(dir.path().join("bad-keystore.json"), "{\"crypto\": {}}").unwrap();
    std::fs::write(dir.path().join("pw"), "hunter2").unwrap();
    let path = dir.path().join("keeper.toml");
    let base = CONFIG
        .replace("rpc_url_env = \"ZKRISK_TEST_RPC\"", &format!("rpc_url = \"{}\"", anvil.url()))
        .replace("0x5FbDB2315678afecb367f032d93F642f64180aa3", &contract.to_string());
    let run = |config: String, key: &str| {
        std::fs::write(&path, config).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_zkrisk"))
            .args(["--root", root.to_str().unwrap(), "keeper", "--config"])
            .arg(&path)
            .env("ZKRISK_TEST_KEY", key)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // A fresh key: valid, but holds nothing.
    let unfunded = "0x1111111111111111111111111111111111111111111111111111111111111111";
    let cases = [
        (
            base.replace("chain_id = 31337", "chain_id = 1"),
            unfunded,
            "`chain.chain_id`: is 1, but the RPC",
        ),
        (base.clone(), "0xnot-a-key", "does not hold a 32-byte hex private key"),
        (
            base.replace(
                "private_key_env = \"ZKRISK_TEST_KEY\"",
                "keystore = \"bad-keystore.json\"\npassword_file = \"pw\"",
            ),
            unfunded,
            "bad-keystore.json does not decrypt",
        ),
        (
            base.replace(&contract.to_string(), "0x000000000000000000000000000000000000dEaD"),
            unfunded,
            "no contract at",
        ),
        (base.clone(), unfunded, "holds 0 wei"),
        (base.replace("[[feed]]", "[[feed]\nname = 1"), unfunded, "keeper.toml"),
        (
            base.replace(
                "private_key_env = \"ZKRISK_TEST_KEY\"",
                "keystore = \"missing.json\"\npassword_file = \"pw\"",
            ),
            unfunded,
            "`signer.keystore`",
        ),
    ];
    for (config, key, want) in cases {
        let (ok, err) = run(config, key);
        assert!(!ok && err.contains(want), "{want}: {err}");
        assert!(
            !err.contains("1111111111111111111111111111111111111111111111111111111111111111"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
    }
    anvil.stop().await.unwrap();
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}
