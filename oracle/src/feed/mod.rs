//! The risk feed: `zkrisk feed serve --config feed.toml`, an HTTP service over the chain and the
//! keeper's ledger that DAOs read from their dashboards (JSON, server-sent events) and check with
//! `zkrisk verify` ([`crate::verify`]).
//!
//! - [`config`]: `feed.toml`, checked at start; errors name the key.
//! - [`index`]: the updates `RiskOracle` accepted, read from the chain (events, `submit`
//!   calldata), and the models of its registry.
//! - [`load`]: `zkrisk bench feed`, concurrent clients and latency figures.
//! - [`api`]: the routes (documented in `docs/openapi.json`, served at `/openapi.json`).

pub mod api;
pub mod config;
pub mod index;
pub mod load;

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy::providers::{Provider, ProviderBuilder};
use tracing::{info, warn};

use crate::{Error, ingest::redact_url};

/// Runs the feed service until `shutdown` completes: checks the chain id and the oracle, reads the
/// chain once, then serves while it polls for new updates every `poll_seconds`. At shutdown the
/// event streams end and requests in flight finish.
///
/// # Errors
/// A wrong chain id, an unreadable card, a listen address in use, or a failing first read.
pub async fn serve(
    cfg: config::FeedConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    let url = cfg.rpc_url.expose();
    let provider = ProviderBuilder::new()
        .connect_http(url.parse().map_err(|e| Error::Input(format!("chain.rpc_url: {e}")))?)
        .erased();
    let id = provider
        .get_chain_id()
        .await
        .map_err(|e| Error::Rpc(format!("{}: chain id: {e}", redact_url(url))))?;
    if id != cfg.chain_id {
        return Err(Error::Input(format!(
            "{}: `chain.chain_id`: the RPC serves chain {id}, not {}",
            cfg.path.display(),
            cfg.chain_id
        )));
    }
    if provider
        .get_code_at(cfg.oracle)
        .await
        .map_err(|e| Error::Rpc(format!("code: {e}")))?
        .is_empty()
    {
        return Err(Error::Input(format!(
            "{}: `chain.oracle`: no contract at {:#x} on chain {id}",
            cfg.path.display(),
            cfg.oracle
        )));
    }
    let mut files = HashMap::new();
    for m in &cfg.models {
        let card = match &m.card {
            Some(p) => Some(std::fs::read_to_string(p).map_err(Error::io(p))?),
            None => None,
        };
        files.insert(m.id, (card, m.circuit.clone()));
    }
    let indexer = index::Indexer::new(
        provider,
        cfg.chain_id,
        cfg.oracle,
        cfg.confirmations,
        cfg.keeper.clone(),
        files,
    );
    let feed = Arc::new(api::Feed::new(indexer, cfg.from_block));
    let listener = tokio::net::TcpListener::bind(cfg.listen).await.map_err(|e| {
        Error::Input(format!("{}: `server.listen`: {}: {e}", cfg.path.display(), cfg.listen))
    })?;
    let n = feed.sync().await?;
    info!(listen = %cfg.listen, oracle = %cfg.oracle, updates = n, rpc = %redact_url(url), "feed serving");

    let poller = {
        let feed = feed.clone();
        let every = Duration::from_secs(cfg.poll_seconds);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match feed.sync().await {
                    Ok(0) => {}
                    Ok(n) => info!(updates = n, "new updates indexed"),
                    Err(e) => {
                        warn!(error = %e, "reading the chain failed; serving what is indexed")
                    }
                }
            }
        })
    };
    let closing = feed.closing.clone();
    let shutdown = async move {
        shutdown.await;
        // Event streams never end by themselves: end them, so the graceful shutdown can finish.
        let _ = closing.send(true);
    };
    let served = axum::serve(listener, api::router(feed)).with_graceful_shutdown(shutdown).await;
    poller.abort();
    served.map_err(|e| Error::Io { path: "feed listener".into(), source: e })?;
    info!("feed stopped");
    Ok(())
}
