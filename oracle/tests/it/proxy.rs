//! A JSON-RPC proxy in front of a real node that injects the faults providers produce: refused
//! `eth_getLogs` ranges, HTTP 503s and latency. Tests use it only to isolate those faults; every
//! answer that is not a fault comes from the real node.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::transports::http::reqwest;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// Which faults to inject.
#[derive(Clone, Debug, Default)]
pub(crate) struct Faults {
    /// Refuse `eth_getLogs` spanning more blocks than this, the way Infura does (-32005).
    pub max_log_span: Option<u64>,
    /// Answer every n-th request with HTTP 503.
    pub fail_every: Option<u64>,
    /// Delay before forwarding each request.
    pub latency: Duration,
    /// Answer every request for this method with JSON-RPC error -32601 (a permanent error).
    pub unsupported: Option<&'static str>,
    /// While set, answer every request with HTTP 503 (a provider outage); tests flip it.
    pub outage: Arc<AtomicBool>,
}

/// Counters of what the proxy did.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Requests seen.
    pub requests: AtomicU64,
    /// Ranges refused.
    pub refused: AtomicU64,
    /// 503s sent.
    pub failed: AtomicU64,
    /// Requests answered as unsupported.
    pub unsupported: AtomicU64,
}

/// A running proxy; it stops when dropped.
pub(crate) struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// What it did.
    pub counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn hex_u64(v: &serde_json::Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// Starts a proxy to `upstream` on a free port.
pub(crate) async fn start(upstream: &str, faults: Faults) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counters = Arc::new(Counters::default());
    let client = reqwest::Client::new();
    let upstream = upstream.to_string();
    let c = counters.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            tokio::spawn(serve(
                stream,
                client.clone(),
                upstream.clone(),
                faults.clone(),
                c.clone(),
            ));
        }
    });
    Proxy { url, counters, task }
}

async fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf[header_end..header_end + len].to_vec())
}

async fn respond(stream: &mut TcpStream, status: &str, body: &[u8]) -> bool {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(body).await.is_ok()
}

async fn serve(
    mut stream: TcpStream,
    client: reqwest::Client,
    upstream: String,
    faults: Faults,
    counters: Arc<Counters>,
) {
    while let Some(body) = read_request(&mut stream).await {
        let n = counters.requests.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(faults.latency).await;
        if faults.fail_every.is_some_and(|k| n.is_multiple_of(k))
            || faults.outage.load(Ordering::SeqCst)
        {
            counters.failed.fetch_add(1, Ordering::SeqCst);
            if !respond(&mut stream, "503 Service Unavailable", b"upstream busy").await {
                return;
            }
            continue;
        }
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if faults.unsupported.is_some_and(|m| request["method"] == m) {
            counters.unsupported.fetch_add(1, Ordering::SeqCst);
            let refusal = serde_json::json!({
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {"code": -32601, "message": "the method does not exist/is not available"}
            });
            if !respond(&mut stream, "200 OK", refusal.to_string().as_bytes()).await {
                return;
            }
            continue;
        }
        if request["method"] == "eth_getLogs"
            && let Some(max) = faults.max_log_span
        {
            let f = &request["params"][0];
            if let (Some(from), Some(to)) = (hex_u64(&f["fromBlock"]), hex_u64(&f["toBlock"]))
                && to - from + 1 > max
            {
                counters.refused.fetch_add(1, Ordering::SeqCst);
                let refusal = serde_json::json!({
                    "jsonrpc": "2.0",
                    "id": request["id"],
                    "error": {"code": -32005, "message": "query returned more than 10000 results"}
                });
                if !respond(&mut stream, "200 OK", refusal.to_string().as_bytes()).await {
                    return;
                }
                continue;
            }
        }
        let answer = client
            .post(&upstream)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let ok = match answer {
            Ok(r) => match r.bytes().await {
                Ok(bytes) => respond(&mut stream, "200 OK", &bytes).await,
                Err(_) => respond(&mut stream, "502 Bad Gateway", b"").await,
            },
            Err(_) => respond(&mut stream, "502 Bad Gateway", b"").await,
        };
        if !ok {
            return;
        }
    }
}
