//! `zkrisk bench feed`: many concurrent clients on one feed, the figures a DAO's dashboards care
//! about: requests per second, latency percentiles, and any request that did not get a 200.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Error;

/// What one load run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Concurrent clients (one keep-alive connection pool each).
    pub clients: usize,
    /// Requests sent in all.
    pub requests: usize,
    /// Requests that failed or answered other than 200.
    pub errors: usize,
    /// The first few failures, for the report.
    pub error_samples: Vec<String>,
    /// Wall seconds of the run.
    pub seconds: f64,
    /// Requests per second.
    pub requests_per_second: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 90th percentile, milliseconds.
    pub p90_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Slowest request, milliseconds.
    pub max_ms: f64,
    /// Bytes of response bodies received.
    pub bytes: u64,
    /// The routes requested, in rotation.
    pub paths: Vec<String>,
}

/// The routes a dashboard reads, from what the feed at `base` holds: health, markets, models and,
/// for each market, its latest update, a history page and one update by epoch.
///
/// # Errors
/// The feed cannot be read, or holds no market.
pub async fn routes(base: &str) -> Result<Vec<String>, Error> {
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/markets");
    let body = super::get(&client, &url).await?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| Error::Input(format!("feed {url}: {e}")))?;
    let mut paths = vec!["/healthz".to_string(), "/v1/markets".into(), "/v1/models".into()];
    for m in v["markets"].as_array().into_iter().flatten() {
        let (Some(market), Some(epoch)) = (m["market"].as_str(), m["latest"]["epoch"].as_u64())
        else {
            continue;
        };
        paths.push(format!("/v1/markets/{market}/latest"));
        paths.push(format!("/v1/markets/{market}/updates?limit=10"));
        paths.push(format!("/v1/markets/{market}/updates/{epoch}"));
    }
    if paths.len() == 3 {
        return Err(Error::Input(format!("feed {base} holds no update yet: nothing to load")));
    }
    Ok(paths)
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// `clients` tasks, each sending `per_client` GETs in turn over `paths`, all at once.
///
/// # Errors
/// Never for a failed request (that is counted); only when no client can be built.
pub async fn run(
    base: &str,
    paths: &[String],
    clients: usize,
    per_client: usize,
) -> Result<LoadReport, Error> {
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Rpc(format!("http client: {e}")))?;
        let urls: Vec<String> = paths.iter().map(|p| format!("{base}{p}")).collect();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            let (mut errors, mut bytes) = (Vec::new(), 0u64);
            for k in 0..per_client {
                let url = &urls[(c + k) % urls.len()];
                let t = Instant::now();
                match client.get(url).send().await {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(b) => bytes += b.len() as u64,
                        Err(e) => errors.push(format!("{url}: {e}")),
                    },
                    Ok(r) => errors.push(format!("{url}: {}", r.status())),
                    Err(e) => errors.push(format!("{url}: {e}")),
                }
                lat.push(t.elapsed());
            }
            (lat, errors, bytes)
        }));
    }
    let (mut lat, mut errors, mut bytes) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        let (l, e, b) = t.await.map_err(|e| Error::Rpc(format!("load client: {e}")))?;
        lat.extend(l);
        errors.extend(e);
        bytes += b;
    }
    let seconds = started.elapsed().as_secs_f64();
    lat.sort();
    let requests = lat.len();
    Ok(LoadReport {
        clients,
        requests,
        errors: errors.len(),
        error_samples: errors.into_iter().take(5).collect(),
        seconds,
        requests_per_second: requests as f64 / seconds.max(1e-9),
        p50_ms: percentile(&lat, 0.50),
        p90_ms: percentile(&lat, 0.90),
        p99_ms: percentile(&lat, 0.99),
        max_ms: lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        bytes,
        paths: paths.to_vec(),
    })
}
