//! `RiskCappedVault` against the real Aave v3 market on anvil: caps from the real oracle's feed (after
//! a real proof), supply into Aave's USDC reserve, and deposits and withdrawals to the exact unit.

use alloy::primitives::U256;
use zkrisk_oracle::{
    aave::bindings::TestERC20,
    chain::{self, RiskCappedVault, RiskOracle},
};

use crate::{
    chain::{OTHER_KEY, stack_with_fixture, submit_fixture},
    root,
};

const USDC: u64 = 1_000_000;
const CAP_TIMELOCK: u64 = 86_400;

#[tokio::test]
async fn vault_supplies_into_real_aave_under_feed_caps_with_exact_accounting() {
    let (anvil, provider, alice, d) = stack_with_fixture().await;
    let (submit_gas, execute_gas) = submit_fixture(&provider, &d).await;
    eprintln!("submit gas {submit_gas}, steward execute gas {execute_gas}");
    let risk_bps = RiskOracle::new(d.oracle, provider.clone())
        .marketState(d.asset)
        .call()
        .await
        .unwrap()
        .riskBps;

    // A USDC vault whose one market is Aave's USDC reserve, capped by the WETH feed's risk.
    let usdc = d.aave.reserve("USDC").expect("USDC listed").clone();
    let vault_addr = chain::deploy_vault(
        &provider,
        &root().join("contracts/out"),
        usdc.asset,
        d.oracle,
        alice,
        CAP_TIMELOCK,
    )
    .await
    .unwrap();
    let vault = RiskCappedVault::new(vault_addr, provider.clone());
    let max_cap = U256::from(1_500 * USDC);
    vault
        .addMarket(d.aave.pool, d.asset, max_cap)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let market = vault.market(U256::ZERO).call().await.unwrap();
    assert_eq!(market.aToken, usdc.a_token, "the vault found Aave's aToken");
    assert_eq!(market.cap, U256::ZERO, "a new market waits for its timelock");
    let expected_cap = max_cap * U256::from(10_000 - risk_bps) / U256::from(10_000);
    assert_eq!(market.pendingCap, expected_cap);
    let early = vault.acceptCap(U256::ZERO).call().await.map(|_| ()).map_err(chain::revert_error);
    assert!(format!("{early:?}").contains("CapTimelockNotElapsed"), "{early:?}");
    chain::advance_time(&provider, CAP_TIMELOCK).await.unwrap();
    vault.acceptCap(U256::ZERO).send().await.unwrap().get_receipt().await.unwrap();
    assert_eq!(vault.market(U256::ZERO).call().await.unwrap().cap, expected_cap);
    assert_eq!(
        vault.allocationCap(U256::ZERO).call().await.unwrap(),
        expected_cap,
        "deposits may fill the market to the synced cap"
    );

    // Two depositors: the first fills Aave, the second reaches the cap and the rest stays idle.
    let (bob_provider, bob) = chain::signer_provider(anvil.url(), OTHER_KEY).unwrap();
    let token = TestERC20::new(usdc.asset, provider.clone());
    let a_token = TestERC20::new(usdc.a_token, provider.clone());
    let amount = U256::from(1_000 * USDC);
    for (p, who) in [(&provider, alice), (&bob_provider, bob)] {
        let t = TestERC20::new(usdc.asset, p.clone());
        t.mint(who, amount).send().await.unwrap().get_receipt().await.unwrap();
        t.approve(vault_addr, U256::MAX).send().await.unwrap().get_receipt().await.unwrap();
    }
    let receipt = vault.deposit(amount, alice).send().await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    eprintln!("vault deposit gas (one Aave supply): {}", receipt.gas_used);
    assert_eq!(a_token.balanceOf(vault_addr).call().await.unwrap(), amount, "all supplied to Aave");
    let bob_vault = RiskCappedVault::new(vault_addr, bob_provider.clone());
    bob_vault.deposit(amount, bob).send().await.unwrap().get_receipt().await.unwrap();
    let supplied = a_token.balanceOf(vault_addr).call().await.unwrap();
    let idle = token.balanceOf(vault_addr).call().await.unwrap();
    assert_eq!(supplied, expected_cap, "Aave holds exactly the cap");
    assert_eq!(idle, amount * U256::from(2) - expected_cap, "the rest is idle");
    assert_eq!(
        vault.totalAssets().call().await.unwrap(),
        supplied + idle,
        "totalAssets = aTokens + idle"
    );
    assert_eq!(vault.totalAssets().call().await.unwrap(), amount * U256::from(2));

    // Alice redeems everything: exactly her deposit, from idle cash first and then Aave.
    let shares = vault.balanceOf(alice).call().await.unwrap();
    let receipt =
        vault.redeem(shares, alice, alice).send().await.unwrap().get_receipt().await.unwrap();
    eprintln!("vault redeem gas (idle and one Aave withdraw): {}", receipt.gas_used);
    assert_eq!(
        token.balanceOf(alice).call().await.unwrap(),
        amount,
        "alice got exactly her deposit"
    );
    // Bob withdraws his exact amount; nothing is left behind.
    bob_vault.withdraw(amount, bob, bob).send().await.unwrap().get_receipt().await.unwrap();
    assert_eq!(token.balanceOf(bob).call().await.unwrap(), amount, "bob got exactly his deposit");
    assert_eq!(vault.totalAssets().call().await.unwrap(), U256::ZERO);
    assert_eq!(vault.totalSupply().call().await.unwrap(), U256::ZERO);
    assert_eq!(a_token.balanceOf(vault_addr).call().await.unwrap(), U256::ZERO);
    anvil.stop().await.unwrap();
}
