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
pub(crate) const OTHER_KEY: &str =
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const T0: u64 = 1_700_000_000;

pub(crate) struct Fixture {
    proof: Vec<u8>,
    scores: Vec<u64>,
    bits: u8,
    batch: u16,
}

pub(crate) fn fixture() -> Fixture {
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
    ctx: &chain::UpdateContext,
) -> RiskOracle::Update {
    let outputs: Vec<U256> = scores.iter().map(|s| U256::from(*s)).collect();
    chain::update_for(asset, epoch, data_ts, &outputs, f.bits, policy::Link::Identity, ctx).unwrap()
}

fn reverted_with(r: zkrisk_oracle::Result<impl std::fmt::Debug>, name: &str) {
    match r {
        Err(Error::Reverted { error }) => assert!(error.contains(name), "{error} is not {name}"),
        other => panic!("expected a revert with {name}, got {other:?}"),
    }
}

/// The latest block's timestamp and number.
async fn chain_now(provider: &alloy::providers::DynProvider) -> (u64, u64) {
    use alloy::providers::Provider;
    let block = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .expect("latest block");
    (block.header.timestamp, block.header.number)
}

/// Deploys the whole stack on a fresh anvil with the fixture's verifier (model 1, WETH reserve,
/// Aave's production bounds, a two-day timelock waited out on anvil's clock).
pub(crate) async fn stack_with_fixture()
-> (Anvil, alloy::providers::DynProvider, Address, chain::Deployment) {
    let f = fixture();
    stack_with_verifier("Halo2Verifier", |keeper| {
        chain::StackConfig::local(keeper, f.bits, f.batch, 86_400, "WETH", INITIAL)
    })
    .await
}

/// Deploys the whole stack on a fresh anvil with the fixture verifier `contract`
/// (`contracts/test/fixtures/<contract>.sol`) and the configuration `stack` gives for the keeper.
async fn stack_with_verifier(
    contract: &str,
    stack: impl FnOnce(Address) -> chain::StackConfig,
) -> (Anvil, alloy::providers::DynProvider, Address, chain::Deployment) {
    let root = root();
    let anvil =
        Anvil::spawn(&root.join("contracts/node_modules/.bin/anvil"), Some(T0)).await.unwrap();
    let (provider, keeper) = chain::signer_provider(anvil.url(), ANVIL_DEV_KEY).unwrap();
    let file = root.join(format!("contracts/test/fixtures/{contract}.sol"));
    let verifier = solc::compile(&root.join("scripts/solc"), &file, contract).unwrap();
    assert!(verifier.runtime_size < 24_576, "verifier runtime {} B", verifier.runtime_size);
    let stack = stack(keeper);
    let d = chain::deploy_stack(
        &provider,
        &root.join("contracts/out"),
        &root.join("contracts/node_modules/@aave/core-v3/artifacts"),
        verifier.creation,
        &stack,
    )
    .await
    .unwrap();
    (anvil, provider, keeper, d)
}

/// The fixture's update context at the chain's current time: model 1, price from the aggregator.
pub(crate) async fn context_now(
    provider: &alloy::providers::DynProvider,
    d: &chain::Deployment,
) -> (u64, chain::UpdateContext) {
    let (now, block) = chain_now(provider).await;
    let ctx = chain::UpdateContext {
        model_id: d.model_id,
        data_block: block,
        valid_until: now + 86_400,
        collateral_price: chain::aggregator_price(provider, d.price_source).await.unwrap(),
    };
    (now, ctx)
}

/// Submits the fixture's valid update (epoch 1) and returns its submit and execute gas.
pub(crate) async fn submit_fixture(
    provider: &alloy::providers::DynProvider,
    d: &chain::Deployment,
) -> (u64, u64) {
    let f = fixture();
    let (now, ctx) = context_now(provider, d).await;
    let client = OracleClient::new(provider.clone(), d.oracle);
    let sent =
        client.submit(&update(&f, d.asset, 1, now - 600, &f.scores, &ctx), &f.proof).await.unwrap();
    let id = client.market_state(d.asset).await.unwrap().stewardUpdateId;
    chain::advance_time(provider, 3_600).await.unwrap();
    let applied = client.execute_queued(id).await.unwrap();
    (sent.gas_used, applied.gas_used)
}

const INITIAL: policy::CollateralParams =
    policy::CollateralParams { ltv: 8000, liquidation_threshold: 8500, liquidation_bonus: 10_500 };

/// The Rust bindings, the Rust copy of the rule and the real contracts agree: a real proof is
/// accepted once, queued in the steward and, after the steward's delay, lands in a real Aave v3
/// reserve; each rejection decodes to the oracle's (or the steward's, or Aave's) error.
#[tokio::test]
async fn oracle_client_against_the_real_contracts() {
    let f = fixture();
    let (anvil, provider, keeper, d) = stack_with_fixture().await;
    let asset = d.asset;
    assert_eq!(Some(asset), d.aave.reserve("WETH").map(|r| r.asset));
    let dp = d.aave.data_provider;
    assert_eq!(chain::read_params(&provider, dp, asset).await.unwrap(), INITIAL);
    // The steward answers to the oracle alone and holds Aave's RISK_ADMIN; the oracle holds no role.
    let steward = AaveRiskSteward::new(d.steward, provider.clone());
    assert_eq!(steward.riskOracle().call().await.unwrap(), d.oracle);
    assert_eq!(steward.poolConfigurator().call().await.unwrap(), d.aave.pool_configurator);
    assert_eq!(steward.poolDataProvider().call().await.unwrap(), d.aave.data_provider);
    let acl = IACLManager::new(d.aave.acl_manager, provider.clone());
    assert!(acl.isRiskAdmin(d.steward).call().await.unwrap());
    assert!(!acl.isRiskAdmin(d.oracle).call().await.unwrap());
    // The registry holds the model and the market's rules (registered through the timelock).
    let oracle = RiskOracle::new(d.oracle, provider.clone());
    let model = oracle.model(d.model_id).call().await.unwrap();
    assert_eq!(model.verifier, d.verifier);
    assert!(model.active);
    assert_eq!(oracle.marketConfig(asset).call().await.unwrap().priceSource, d.price_source);
    assert!(oracle.isKeeper(keeper).call().await.unwrap());

    let (now, ctx) = context_now(&provider, &d).await;
    let direct = steward.queue(AaveRiskSteward::ParamUpdate {
        asset,
        ltv: 7_990,
        liquidationThreshold: 8_490,
        liquidationBonus: 10_500,
        supplyCap: chain::KEEP_CURRENT_CAP,
        borrowCap: chain::KEEP_CURRENT_CAP,
        validUntil: alloy::primitives::aliases::U40::from(now + 100),
    });
    reverted_with(direct.call().await.map(|_| ()).map_err(chain::revert_error), "NotRiskOracle");
    reverted_with(
        steward.setRiskOracle(keeper).call().await.map(|_| ()).map_err(chain::revert_error),
        "OracleAlreadySet",
    );
    // Nobody but a risk or pool admin reaches Aave's configurator (CALLER_NOT_RISK_OR_POOL_ADMIN, 4).
    let (other, _) = chain::signer_provider(anvil.url(), OTHER_KEY).unwrap();
    let pc = IPoolConfigurator::new(d.aave.pool_configurator, other.clone());
    let call =
        pc.configureReserveAsCollateral(asset, U256::from(1), U256::from(2), U256::from(10_001));
    reverted_with(call.call().await.map(|_| ()).map_err(chain::revert_error), "Error(\"4\")");
    let client = OracleClient::new(provider.clone(), d.oracle);
    let data_ts = now - 600;

    // Wrong parameters: the Rust rule and the Solidity rule must agree for the right ones.
    let mut wrong = update(&f, asset, 1, data_ts, &f.scores, &ctx);
    wrong.params.ltv -= 1;
    reverted_with(client.check(&wrong, &f.proof).await, "ParamsMismatch");
    // Data from the future, data too old.
    reverted_with(
        client.check(&update(&f, asset, 1, now + 10_000, &f.scores, &ctx), &f.proof).await,
        "FutureData",
    );
    reverted_with(
        client.check(&update(&f, asset, 1, now - 200_000, &f.scores, &ctx), &f.proof).await,
        "StaleData",
    );
    // A collateral price 5 % off the aggregator's (the tolerance is 1 %).
    let mut off = ctx;
    off.collateral_price = ctx.collateral_price * U256::from(105) / U256::from(100);
    reverted_with(
        client.check(&update(&f, asset, 1, data_ts, &f.scores, &off), &f.proof).await,
        "PriceMismatch",
    );
    // A model the market does not pin; an expired update.
    let mut other_model = ctx;
    other_model.model_id = 2;
    reverted_with(
        client.check(&update(&f, asset, 1, data_ts, &f.scores, &other_model), &f.proof).await,
        "WrongModel",
    );
    let mut expired = ctx;
    expired.valid_until = now - 1;
    reverted_with(
        client.check(&update(&f, asset, 1, data_ts, &f.scores, &expired), &f.proof).await,
        "UpdateExpired",
    );
    // A proof of other scores.
    let mut bumped = f.scores.clone();
    bumped[3] += 1;
    reverted_with(
        client.check(&update(&f, asset, 1, data_ts, &bumped, &ctx), &f.proof).await,
        "InvalidProof",
    );
    // Not a keeper.
    let stranger = OracleClient::new(other, d.oracle);
    reverted_with(
        stranger.check(&update(&f, asset, 1, data_ts, &f.scores, &ctx), &f.proof).await,
        "NotKeeper",
    );

    // The valid update is accepted once and queued; Aave has not moved yet.
    let good = update(&f, asset, 1, data_ts, &f.scores, &ctx);
    let sent = client.submit(&good, &f.proof).await.unwrap();
    eprintln!("submit gas (proof, price binding, steward queue): {}", sent.gas_used);
    assert!(sent.gas_used > 300_000, "gas {}", sent.gas_used);
    let expected = policy::apply(&f.scores, f.bits).unwrap();
    let state = client.market_state(asset).await.unwrap();
    assert_eq!(state.epoch, 1);
    assert_eq!(state.riskBps, expected.risk_bps);
    assert_eq!(state.proofHash, keccak256(&f.proof));
    assert_eq!(state.publisher, keeper);
    assert_eq!(state.stewardUpdateId, U256::from(1));
    assert_eq!(chain::read_params(&provider, dp, asset).await.unwrap(), INITIAL);
    // Replaying it is rejected.
    reverted_with(client.submit(&good, &f.proof).await, "StaleEpoch");
    // The steward applies it only after its execution delay; then Aave holds the proven parameters.
    reverted_with(client.execute_queued(state.stewardUpdateId).await, "UpdateNotReady");
    chain::advance_time(&provider, 3_600).await.unwrap();
    let applied = client.execute_queued(state.stewardUpdateId).await.unwrap();
    eprintln!("steward execute gas (bounds, Aave's PoolConfigurator): {}", applied.gas_used);
    assert_eq!(chain::read_params(&provider, dp, asset).await.unwrap(), expected.params);
    reverted_with(client.execute_queued(state.stewardUpdateId).await, "UpdateNotPending");

    // With the steward paused by its guardian, the next proven update is still recorded (the feed
    // stays live) but nothing is queued, and the receipt names the steward's refusal.
    assert_eq!(d.aave.admin, keeper, "the deployer is the steward's guardian here");
    steward.pause().send().await.unwrap().get_receipt().await.unwrap();
    let (now, ctx) = context_now(&provider, &d).await;
    let sent =
        client.submit(&update(&f, asset, 2, now - 60, &f.scores, &ctx), &f.proof).await.unwrap();
    let refused = sent.steward_refused.expect("the steward refused");
    assert!(refused.contains("epoch 2") && refused.contains("StewardPaused"), "{refused}");
    let state = client.market_state(asset).await.unwrap();
    assert_eq!((state.epoch, state.stewardUpdateId), (2, U256::ZERO), "recorded, not queued");
    assert_eq!(steward.updateCount().call().await.unwrap(), U256::from(1), "nothing new queued");
    assert_eq!(chain::read_params(&provider, dp, asset).await.unwrap(), expected.params);
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

/// The packed epoch circuit end to end on anvil: the update the Rust side builds from a real
/// 255-score proof (`Link::PackedLogistic`: unpacking, the link and the rule) is the one the
/// contracts accept, with the real verifier; a slot moved by one is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_packed_logit_proof_built_in_rust_is_accepted_on_chain() {
    let root = root();
    let path = root.join("contracts/test/fixtures/epoch_proof_packed.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(v["layout"], "PackedLogits");
    let proof = hex::decode(v["proof"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    let instances: Vec<U256> = v["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().parse().unwrap())
        .collect();
    let bits = v["outputScaleBits"].as_u64().unwrap() as u8;
    let batch = v["batchSize"].as_u64().unwrap() as u16;
    assert_eq!(usize::from(batch), 3 * instances.len());

    // The fixture's batch asks for an LTV of about 79.2 %: start within the steward's 50 bps.
    let initial = policy::CollateralParams {
        ltv: 7950,
        liquidation_threshold: 8450,
        liquidation_bonus: 10_500,
    };
    let (anvil, provider, _, d) = stack_with_verifier("Halo2VerifierPacked", |keeper| {
        let mut stack = chain::StackConfig::local(keeper, bits, batch, 86_400, "WETH", initial);
        stack.layout = chain::layout_for(policy::Link::PackedLogistic);
        stack
    })
    .await;
    let (now, ctx) = context_now(&provider, &d).await;
    let client = OracleClient::new(provider.clone(), d.oracle);
    let link = policy::Link::PackedLogistic;
    let update = |outputs: &[U256], epoch| {
        chain::update_for(d.asset, epoch, now - 600, outputs, bits, link, &ctx).unwrap()
    };
    // A slot moved by one (the lowest logit of instance 0 one unit higher): the parameters follow
    // the Rust rule, the proof does not.
    let mut moved = instances.clone();
    moved[0] = (moved[0] + U256::from(1)) % zkrisk_models::link::FIELD_MODULUS;
    reverted_with(client.check(&update(&moved, 1), &proof).await, "InvalidProof");
    let sent = client.submit(&update(&instances, 1), &proof).await.unwrap();
    let state = client.market_state(d.asset).await.unwrap();
    let expected = policy::apply_outputs(&instances, bits, link).unwrap();
    assert_eq!(state.epoch, 1);
    assert_eq!(state.riskBps, expected.risk_bps);
    assert_eq!(state.params.ltv, expected.params.ltv);
    assert!(expected.params.ltv < initial.ltv, "{expected:?}");
    assert!(sent.gas_used > 0);
    anvil.stop().await.unwrap();
}
