//! Fixtures shared by the oracle and CLI integration tests: a real Aave v3 market on a fresh
//! anvil, optionally driven by the simulator, and a byte snapshot of an output directory.

use std::{collections::BTreeMap, path::Path};

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use zkrisk_oracle::{
    aave::{
        deploy::{AaveMarket, default_reserves, deploy_aave},
        sim::{PricePaths, SimConfig, SimReport, simulate},
    },
    chain::{self, ANVIL_DEV_KEY, Anvil},
};

/// A fresh anvil (clock at `genesis` when given) with Aave v3 deployed, and a provider without a
/// wallet.
pub(crate) async fn deployed_market(
    root: &Path,
    genesis: Option<u64>,
) -> (Anvil, DynProvider, AaveMarket) {
    let anvil =
        Anvil::spawn(&root.join("contracts/node_modules/.bin/anvil"), genesis).await.unwrap();
    let (admin, _) = chain::signer_provider(anvil.url(), ANVIL_DEV_KEY).unwrap();
    let market = deploy_aave(
        &admin,
        &root.join("contracts/node_modules/@aave/core-v3/artifacts"),
        &root.join("contracts/out"),
        &default_reserves(),
    )
    .await
    .unwrap();
    let plain = ProviderBuilder::new().connect_http(anvil.url().parse().unwrap()).erased();
    (anvil, plain, market)
}

/// [`deployed_market`], then `cfg` simulated on it with the shipped prices.
pub(crate) async fn simulated_market(
    root: &Path,
    cfg: &SimConfig,
    genesis: u64,
) -> (Anvil, DynProvider, AaveMarket, SimReport) {
    let (anvil, plain, market) = deployed_market(root, Some(genesis)).await;
    let prices = PricePaths::load(&root.join("data")).unwrap();
    let report =
        simulate(&plain, &market, &prices, &root.join("contracts/out"), cfg, |_| {}).await.unwrap();
    (anvil, plain, market, report)
}

/// Every file under `dir` (relative path → bytes).
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                files.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    files
}
