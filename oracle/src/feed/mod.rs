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

/// GET `url` from a feed: the body, or an error with the feed's JSON error message.
///
/// # Errors
/// [`Error::Rpc`] when the feed cannot be reached; [`Error::Input`] for a non-2xx answer.
pub async fn get(client: &reqwest::Client, url: &str) -> crate::Result<Vec<u8>> {
    let r = client.get(url).send().await.map_err(|e| Error::Rpc(format!("feed {url}: {e}")))?;
    let status = r.status();
    let body = r.bytes().await.map_err(|e| Error::Rpc(format!("feed {url}: {e}")))?;
    if !status.is_success() {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let msg = v["error"]["message"]
            .as_str()
            .map_or_else(|| String::from_utf8_lossy(&body).into_owned(), Into::into);
        return Err(Error::Input(format!("feed {url}: {status}: {msg}")));
    }
    Ok(body.to_vec())
}

/// `text` with every occurrence of the secret-bearing `url` replaced by its redacted form (HTTP
/// client errors quote the URL they failed on, API key and all).
pub fn scrub(text: &str, url: &str) -> String {
    let redacted = redact_url(url);
    let mut out = text.replace(url, &redacted);
    let bare = url.trim_end_matches('/');
    if !bare.is_empty() {
        out = out.replace(bare, &redacted);
    }
    out
}

/// Runs the feed service until `shutdown` completes: checks the chain id and the oracle, then
/// serves at once (`/readyz` answers 503 until the first read of the chain has finished) while it
/// reads the chain every `poll_seconds`. At shutdown the event streams end and requests in flight
/// finish.
///
/// # Errors
/// A wrong chain id, no contract at the oracle, an unreadable card, a listen address in use.
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
        .map_err(|e| Error::Rpc(scrub(&format!("chain id: {e}"), url)))?;
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
        .map_err(|e| Error::Rpc(scrub(&format!("code: {e}"), url)))?
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
    let mut feed = api::Feed::new(indexer, cfg.from_block);
    feed.rpc_url = Some(cfg.rpc_url.clone());
    let feed = Arc::new(feed);
    let listener = tokio::net::TcpListener::bind(cfg.listen).await.map_err(|e| {
        Error::Input(format!("{}: `server.listen`: {}: {e}", cfg.path.display(), cfg.listen))
    })?;
    info!(listen = %cfg.listen, oracle = %cfg.oracle, confirmations = cfg.confirmations, rpc = %redact_url(url), "feed serving");

    let poller = {
        let feed = feed.clone();
        let every = Duration::from_secs(cfg.poll_seconds);
        tokio::spawn(async move {
            let mut first = true;
            loop {
                match feed.sync().await {
                    Ok(n) if first => info!(updates = n, "chain read: ready"),
                    Ok(0) => {}
                    Ok(n) => info!(updates = n, "new updates indexed"),
                    // Already scrubbed of the RPC URL's secrets.
                    Err(e) => {
                        warn!(error = %e, "reading the chain failed; serving what is indexed")
                    }
                }
                first = first && !feed.ready.load(std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(every).await;
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

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn the_rpc_url_is_scrubbed_from_error_text() {
        let url = "https://eth.example/v2/SECRETKEY";
        let text = format!("error sending request for url ({url}/): connection refused; {url}");
        let clean = scrub(&text, url);
        assert!(!clean.contains("SECRETKEY"), "{clean}");
        assert!(clean.contains("https://eth.example/"), "{clean}");
    }
}
