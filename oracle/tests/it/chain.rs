use alloy::primitives::{Address, U256, keccak256};
use serde_json::Value;
use zkrisk_models::policy;
use zkrisk_oracle::{
    Error,
    aave::bindings::{IACLManager, IPoolConfigurator},
    chain::{self, ANVIL_DEV_KEY, AaveRiskSteward, Anvil, OracleClient, RiskOracle},
    solc,
};

use crate::root;

/// anvil's second development account (public, local chains only).
const OTHER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const T0: u64 = 1_700_000_000;

struct Fixture {
    proof: Vec<u8>,
    scores: Vec<u64>,
    bits: u8,
    batch: u16,
}

fn fixture() -> Fixture {
    let path = root().join("contracts/test/fixtures/epoch_proof.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Fixture {
        proof: hex::decode(v["proof"].as_str().unwrap().trim_start_matches("0x")).unwrap(),
        scores: v["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().parse().unwrap())
            .collect(),
        bits: v["outputScaleBits"].as_u64().unwrap() as u8,
        batch: v["batchSize"].as_u64().unwrap() as u16,
    }
}

fn update(
    f: &Fixture,
    asset: Address,
    epoch: u64,
    data_ts: u64,
    scores: &[u64],
) -> RiskOracle::Update {
    chain::update_for(asset, epoch, data_ts, scores, f.bits).unwrap()
}

fn reverted_with(r: zkrisk_oracle::Result<impl std::fmt::Debug>, name: &str) {
    match r {
        Err(Error::Reverted { error }) => assert!(error.contains(name), "{error} is not {name}"),
        other => panic!("expected a revert with {name}, got {other:?}"),
    }
}

/// The Rust bindings, the Rust copy of the rule and the real contracts agree: a real proof is
/// accepted once and lands in a real Aave v3 reserve through the steward, and each rejection decodes
/// to the oracle's (or the steward's, or Aave's) error.
#[tokio::test]
async fn oracle_client_against_the_real_contracts() {
    let root = root();
    let f = fixture();
    let anvil =
        Anvil::spawn(&root.join("contracts/node_modules/.bin/anvil"), Some(T0)).await.unwrap();
    let (provider, keeper) = chain::signer_provider(anvil.url(), ANVIL_DEV_KEY).unwrap();
    let verifier = solc::compile(
        &root.join("scripts/solc"),
        &root.join("contracts/test/fixtures/Halo2Verifier.sol"),
        "Halo2Verifier",
    )
    .unwrap();
    assert!(verifier.runtime_size < 24_576, "verifier runtime {} B", verifier.runtime_size);
    let initial = policy::CollateralParams {
        ltv: 8000,
        liquidation_threshold: 8500,
        liquidation_bonus: 10_500,
    };
    let stack = chain::StackConfig {
        keeper,
        output_scale_bits: f.bits,
        batch_size: f.batch,
        max_data_age: 86_400,
        reserve: "WETH".into(),
        initial,
    };
    let d = chain::deploy_stack(
        &provider,
        &root.join("contracts/out"),
        &root.join("contracts/node_modules/@aave/core-v3/artifacts"),
        verifier.creation,
        &stack,
    )
    .await
    .unwrap();
    let asset = d.asset;
    assert_eq!(Some(asset), d.aave.reserve("WETH").map(|r| r.asset));
    let dp = d.aave.data_provider;
    assert_eq!(chain::read_params(&provider, dp, asset).await.unwrap(), initial);
    // The steward answers to the oracle alone and holds Aave's RISK_ADMIN; the oracle holds no role.
    let steward = AaveRiskSteward::new(d.steward, provider.clone());
    assert_eq!(steward.oracle().call().await.unwrap(), d.oracle);
    assert_eq!(steward.poolConfigurator().call().await.unwrap(), d.aave.pool_configurator);
    let acl = IACLManager::new(d.aave.acl_manager, provider.clone());
    assert!(acl.isRiskAdmin(d.steward).call().await.unwrap());
    assert!(!acl.isRiskAdmin(d.oracle).call().await.unwrap());
    let direct = steward.configureReserveAsCollateral(
        asset,
        U256::from(7_000),
        U256::from(7_500),
        U256::from(10_500),
    );
    reverted_with(direct.call().await.map(|_| ()).map_err(chain::revert_error), "NotRiskOracle");
    reverted_with(
        steward.setOracle(keeper).call().await.map(|_| ()).map_err(chain::revert_error),
        "OracleAlreadySet",
    );
    // Nobody but a risk or pool admin reaches Aave's configurator (CALLER_NOT_RISK_OR_POOL_ADMIN, 4).
    let (other, _) = chain::signer_provider(anvil.url(), OTHER_KEY).unwrap();
    let pc = IPoolConfigurator::new(d.aave.pool_configurator, other.clone());
    let call =
        pc.configureReserveAsCollateral(asset, U256::from(1), U256::from(2), U256::from(10_001));
    reverted_with(call.call().await.map(|_| ()).map_err(chain::revert_error), "Error(\"4\")");
    let client = OracleClient::new(provider.clone(), d.oracle);

    // Wrong parameters: the Rust rule and the Solidity rule must agree for the right ones.
    let mut wrong = update(&f, asset, 1, T0, &f.scores);
    wrong.ltv -= 1;
    reverted_with(client.check(&wrong, &f.proof).await, "ParamsMismatch");
    // Data from the future, data too old.
    reverted_with(
        client.check(&update(&f, asset, 1, T0 + 10_000, &f.scores), &f.proof).await,
        "FutureData",
    );
    reverted_with(
        client.check(&update(&f, asset, 1, T0 - 200_000, &f.scores), &f.proof).await,
        "StaleData",
    );
    // A proof of other scores.
    let mut bumped = f.scores.clone();
    bumped[3] += 1;
    reverted_with(client.check(&update(&f, asset, 1, T0, &bumped), &f.proof).await, "InvalidProof");
    // Not the keeper.
    let stranger = OracleClient::new(other, d.oracle);
    reverted_with(
        stranger.check(&update(&f, asset, 1, T0, &f.scores), &f.proof).await,
        "NotKeeper",
    );

    // The valid update lands once.
    let good = update(&f, asset, 1, T0, &f.scores);
    let sent = client.submit(&good, &f.proof).await.unwrap();
    eprintln!("submit gas (proof, steward and Aave's PoolConfigurator): {}", sent.gas_used);
    assert!(sent.gas_used > 300_000, "gas {}", sent.gas_used);
    let expected = policy::apply(&f.scores, f.bits).unwrap();
    // Aave itself now holds the proven parameters.
    assert_eq!(chain::read_params(&provider, dp, asset).await.unwrap(), expected.params);
    let state = client.market_state(asset).await.unwrap();
    assert_eq!(state.epoch, 1);
    assert_eq!(state.riskBps, expected.risk_bps);
    assert_eq!(state.proofHash, keccak256(&f.proof));
    assert_eq!(state.publisher, keeper);
    // Replaying it is rejected.
    reverted_with(client.submit(&good, &f.proof).await, "StaleEpoch");
    anvil.stop().await.unwrap();
}

#[tokio::test]
async fn anvil_binary_missing_is_named() {
    let err = Anvil::spawn("/nonexistent/anvil".as_ref(), None).await.unwrap_err();
    assert!(err.to_string().contains("/nonexistent/anvil"), "{err}");
}

/// Ctrl-C and errors stop the demo by dropping its future: dropping the node must stop it.
#[tokio::test]
async fn dropping_anvil_stops_the_node() {
    let anvil =
        Anvil::spawn(&root().join("contracts/node_modules/.bin/anvil"), None).await.unwrap();
    let addr = anvil.url().trim_start_matches("http://").to_string();
    assert!(std::net::TcpStream::connect(&addr).is_ok(), "anvil listens on {addr}");
    drop(anvil);
    let mut closed = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(&addr).is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(closed, "anvil still listens on {addr} after the drop");
}
