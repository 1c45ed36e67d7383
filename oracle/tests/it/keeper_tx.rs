//! The keeper's transaction layer on a real anvil: a stuck transaction replaced under the same
//! nonce (only one is mined), a dropped one sent again, nonces that never go backwards, and the
//! fee cap.

use alloy::{
    primitives::Address,
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use zkrisk_oracle::{
    chain::Anvil,
    keeper::{runner::TxStatus, tx::TxSender},
};

use crate::root;

/// anvil's second development key (public; local chains only).
const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_and_dropped_transactions_are_mined_once_each() {
    let anvil =
        Anvil::spawn(&root().join("contracts/node_modules/.bin/anvil"), None).await.unwrap();
    let p = ProviderBuilder::new().connect_http(anvil.url().parse().unwrap()).erased();
    let _: serde_json::Value = p.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
    let signer: PrivateKeySigner = KEY.parse().unwrap();
    let to = Address::repeat_byte(0xde);
    let sender = TxSender::new(p.clone(), signer.clone(), to, 31337, 100_000_000_000);
    let mine = || async {
        let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await.unwrap();
    };

    // Sent, then stuck in the pool: replaced with higher fees under the same nonce.
    let first = sender.sign(b"epoch 1", 0).await.unwrap();
    assert_eq!(first.nonce, 0);
    sender.broadcast(&first).await.unwrap();
    assert!(matches!(sender.status(&first.tx_hash).await.unwrap(), TxStatus::Pending { .. }));
    let bumped = sender.bump(&first).await.unwrap();
    assert_eq!(bumped.nonce, first.nonce);
    assert_ne!(bumped.tx_hash, first.tx_hash);
    sender.broadcast(&bumped).await.unwrap();
    sender.broadcast(&bumped).await.unwrap(); // twice: "already known" is not an error
    mine().await;
    match sender.status(&bumped.tx_hash).await.unwrap() {
        TxStatus::Mined { confirmations: 1, success: true, .. } => {}
        other => panic!("replacement not mined: {other:?}"),
    }
    assert_eq!(sender.status(&first.tx_hash).await.unwrap(), TxStatus::Unknown);
    assert_eq!(p.get_transaction_count(signer.address()).await.unwrap(), 1, "one nonce used");
    mine().await;
    assert!(matches!(
        sender.status(&bumped.tx_hash).await.unwrap(),
        TxStatus::Mined { confirmations: 2, .. }
    ));

    // Dropped from the pool: the same signed bytes go out again and are mined.
    let second = sender.sign(b"epoch 2", 0).await.unwrap();
    assert_eq!(second.nonce, 1);
    sender.broadcast(&second).await.unwrap();
    let _: serde_json::Value =
        p.raw_request("anvil_dropTransaction".into(), (second.tx_hash.clone(),)).await.unwrap();
    assert_eq!(sender.status(&second.tx_hash).await.unwrap(), TxStatus::Unknown);
    sender.broadcast(&second).await.unwrap();
    mine().await;
    assert!(matches!(
        sender.status(&second.tx_hash).await.unwrap(),
        TxStatus::Mined { success: true, .. }
    ));

    // A ledger that has used nonce 6 already: never go below it.
    assert_eq!(sender.sign(b"epoch 3", 7).await.unwrap().nonce, 7);

    // The fee cap: a base fee above it means wait, not overpay; a bump past it is refused.
    let poor = TxSender::new(p.clone(), signer, to, 31337, 1);
    let e = poor.sign(b"epoch 3", 0).await.unwrap_err().to_string();
    assert!(e.contains("over the cap"), "{e}");
    let e = poor.bump(&second).await.unwrap_err().to_string();
    assert!(e.contains("over the cap"), "{e}");
}
