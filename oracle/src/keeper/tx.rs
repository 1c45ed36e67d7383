//! The keeper's transactions with alloy: EIP-1559 fees under a cap, nonces that never go
//! backwards, replacement of a stuck transaction under the same nonce, rebroadcast of a lost one,
//! and confirmation depth. [`TxSender`] is the transaction half of the runner's
//! [`Chain`](super::runner::Chain); the payload it sends is ready calldata for one contract.

use std::{collections::HashMap, sync::Mutex, time::Instant};

use alloy::{
    consensus::{Transaction as _, TxEnvelope},
    eips::{
        BlockNumberOrTag,
        eip2718::{Decodable2718, Encodable2718},
    },
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, Bytes},
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};

use super::runner::{Signed, TxStatus};
use crate::Error;

/// Replacement bump: geth and reth require at least 10 % on both fee fields; 12.5 % leaves room.
const BUMP_NUM: u128 = 1_125;
const BUMP_DEN: u128 = 1_000;

/// Signs and sends the keeper's transactions to one contract.
pub struct TxSender {
    provider: DynProvider,
    wallet: EthereumWallet,
    from: Address,
    to: Address,
    chain_id: u64,
    max_fee: u128,
    /// When each pending transaction was first seen pending (for the replacement delay).
    seen: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for TxSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxSender").field("from", &self.from).field("to", &self.to).finish()
    }
}

fn rpc(what: &str) -> impl FnOnce(alloy::transports::TransportError) -> Error + '_ {
    move |e| Error::Rpc(format!("{what}: {e}"))
}

impl TxSender {
    /// A sender from `signer`'s address to `to` on `chain_id`, never paying more than `max_fee`
    /// wei per gas. `provider` needs no wallet: transactions are signed here.
    pub fn new(
        provider: DynProvider,
        signer: PrivateKeySigner,
        to: Address,
        chain_id: u64,
        max_fee: u128,
    ) -> Self {
        let from = signer.address();
        Self {
            provider,
            wallet: EthereumWallet::from(signer),
            from,
            to,
            chain_id,
            max_fee,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The sending address.
    pub const fn from(&self) -> Address {
        self.from
    }

    async fn build(&self, req: TransactionRequest) -> Result<Signed, Error> {
        let nonce = req.nonce.unwrap_or_default();
        let envelope: TxEnvelope = req
            .build(&self.wallet)
            .await
            .map_err(|e| Error::Keeper(format!("signing the transaction: {e}")))?;
        Ok(Signed {
            tx_hash: format!("{:#x}", envelope.tx_hash()),
            nonce,
            raw: envelope.encoded_2718(),
        })
    }

    /// Signs a call of `calldata` with nonce `max(pending nonce, min_nonce)`, gas from an estimate
    /// (+20 %), and fees `min(cap, 2·base fee + tip)`. Refuses when the base fee alone is over the
    /// cap (the transaction could not be mined).
    pub async fn sign(&self, calldata: &[u8], min_nonce: u64) -> Result<Signed, Error> {
        let p = &self.provider;
        let pending = p.get_transaction_count(self.from).pending().await.map_err(rpc("nonce"))?;
        let nonce = pending.max(min_nonce);
        let block = p
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(rpc("latest block"))?
            .ok_or_else(|| Error::Rpc("no latest block".into()))?;
        let base = u128::from(block.header.base_fee_per_gas.unwrap_or(0));
        if base > self.max_fee {
            return Err(Error::Rpc(format!(
                "base fee {base} wei is over the cap {} wei; waiting",
                self.max_fee
            )));
        }
        let tip = p.get_max_priority_fee_per_gas().await.unwrap_or(1_000_000_000);
        let max_fee = (2 * base + tip).min(self.max_fee);
        let tip = tip.min(max_fee);
        let call = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.to)
            .with_input(Bytes::copy_from_slice(calldata));
        // A call that would revert fails here, with the oracle's custom error decoded.
        let gas = p
            .estimate_gas(call.clone())
            .await
            .map_err(|e| crate::chain::revert_error(alloy::contract::Error::TransportError(e)))?;
        let req = call
            .with_nonce(nonce)
            .with_chain_id(self.chain_id)
            .with_gas_limit(gas + gas / 5)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(tip);
        self.build(req).await
    }

    /// Re-signs `stuck` with the same nonce, gas and calldata and both fees raised by 12.5 %;
    /// refuses when the cap does not leave room for a replacement the pool would accept.
    pub async fn bump(&self, stuck: &Signed) -> Result<Signed, Error> {
        let tx = TxEnvelope::decode_2718(&mut stuck.raw.as_slice())
            .map_err(|e| Error::Keeper(format!("stuck transaction does not decode: {e}")))?;
        let fee = tx.max_fee_per_gas() * BUMP_NUM / BUMP_DEN + 1;
        let tip = tx.max_priority_fee_per_gas().unwrap_or(0) * BUMP_NUM / BUMP_DEN + 1;
        if fee > self.max_fee {
            return Err(Error::Rpc(format!(
                "replacing {} needs a fee of {fee} wei, over the cap {} wei; waiting",
                stuck.tx_hash, self.max_fee
            )));
        }
        let req = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.to)
            .with_input(tx.input().clone())
            .with_nonce(tx.nonce())
            .with_chain_id(self.chain_id)
            .with_gas_limit(tx.gas_limit())
            .with_max_fee_per_gas(fee)
            .with_max_priority_fee_per_gas(tip.min(fee));
        self.build(req).await
    }

    /// Sends a signed transaction. A node that already has it, or has already mined its nonce,
    /// is not an error: the status check tells what happened.
    pub async fn broadcast(&self, signed: &Signed) -> Result<(), Error> {
        match self.provider.send_raw_transaction(&signed.raw).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let m = e.to_string().to_lowercase();
                if m.contains("already known")
                    || m.contains("already imported")
                    || m.contains("nonce too low")
                    || m.contains("replacement transaction underpriced")
                {
                    Ok(())
                } else {
                    Err(Error::Rpc(format!("sending {}: {e}", signed.tx_hash)))
                }
            }
        }
    }

    /// What the node knows about `tx_hash`.
    pub async fn status(&self, tx_hash: &str) -> Result<TxStatus, Error> {
        let hash = tx_hash
            .parse()
            .map_err(|e| Error::Keeper(format!("`{tx_hash}` is not a transaction hash: {e}")))?;
        let p = &self.provider;
        if let Some(r) = p.get_transaction_receipt(hash).await.map_err(rpc("receipt"))? {
            let head = p.get_block_number().await.map_err(rpc("head"))?;
            let block = r.block_number.unwrap_or(head);
            return Ok(TxStatus::Mined {
                block,
                confirmations: head.saturating_sub(block) + 1,
                success: r.status(),
            });
        }
        let in_pool = p.get_transaction_by_hash(hash).await.map_err(rpc("transaction"))?.is_some();
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if in_pool {
            let first = *seen.entry(tx_hash.to_string()).or_insert_with(Instant::now);
            Ok(TxStatus::Pending { seconds: first.elapsed().as_secs() })
        } else {
            seen.remove(tx_hash);
            Ok(TxStatus::Unknown)
        }
    }
}
