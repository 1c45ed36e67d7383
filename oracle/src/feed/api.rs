//! The feed's HTTP API (axum). `docs/openapi.json` documents every route; the service serves that
//! same file at `/openapi.json`.
//!
//! Errors are JSON, `{"error": {"code": "...", "message": "..."}}`, with a stable `code`:
//! `invalid_parameter` (400), `unknown_market`, `unknown_epoch`, `unknown_model`,
//! `unknown_artifact`, `inputs_not_published`, `route_not_found` (404), `method_not_allowed` (405),
//! `not_ready` (503).

use std::{
    convert::Infallible,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use alloy::primitives::Address;
use axum::{
    Json, Router,
    extract::{
        Path, Query, State,
        rejection::{PathRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use futures_util::{Stream, StreamExt, stream};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::index::{ARTIFACTS, FeedModel, FeedUpdate, Index, Indexer, artifact_path};

/// The OpenAPI document of this API (`docs/openapi.json`).
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// Most updates one history page holds.
pub const MAX_PAGE: usize = 500;
/// Updates per history page when `limit` is not given.
pub const DEFAULT_PAGE: usize = 50;

/// The service's shared state.
#[derive(Debug)]
pub struct Feed {
    /// What has been indexed.
    pub index: RwLock<Index>,
    /// The reader of the chain.
    pub indexer: Indexer,
    /// New updates, for the event stream.
    pub events: broadcast::Sender<FeedUpdate>,
    /// Set after the first complete read of the chain.
    pub ready: AtomicBool,
    /// Set to `true` at shutdown: every event stream ends.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// The last read's error (RPC URL scrubbed), until a read succeeds.
    pub last_error: std::sync::Mutex<Option<String>>,
    /// The RPC URL, scrubbed from the text of errors ([`super::scrub`]).
    pub rpc_url: Option<crate::keeper::config::Secret>,
}

impl Feed {
    /// A feed over `indexer`, starting at block `from_block`.
    pub fn new(indexer: Indexer, from_block: u64) -> Self {
        Self {
            index: RwLock::new(Index::new(from_block)),
            indexer,
            events: broadcast::channel(1024).0,
            ready: AtomicBool::new(false),
            closing: tokio::sync::watch::channel(false).0,
            last_error: std::sync::Mutex::new(None),
            rpc_url: None,
        }
    }

    /// One read of the chain; new updates go to the event stream.
    ///
    /// # Errors
    /// The indexer's.
    pub async fn sync(&self) -> crate::Result<usize> {
        let found = match self.indexer.sync(&self.index).await {
            Ok(found) => found,
            Err(e) => {
                let text = match &self.rpc_url {
                    Some(url) => super::scrub(&e.to_string(), url.expose()),
                    None => e.to_string(),
                };
                *self.last_error.lock().expect("error lock") = Some(text.clone());
                return Err(crate::Error::Rpc(text));
            }
        };
        *self.last_error.lock().expect("error lock") = None;
        self.ready.store(true, Ordering::SeqCst);
        for u in &found {
            // No subscriber is not an error.
            let _ = self.events.send(u.clone());
        }
        Ok(found.len())
    }
}

/// An API error: status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        Self::bad(e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::bad(e.body_text())
    }
}

type Shared = Arc<Feed>;
type ApiResult<T> = Result<T, ApiError>;

/// The router of the feed.
pub fn router(feed: Shared) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        .route("/v1/markets", get(markets))
        .route("/v1/markets/{market}/latest", get(latest))
        .route("/v1/markets/{market}/updates", get(history))
        .route("/v1/markets/{market}/updates/{epoch}", get(by_epoch))
        .route("/v1/markets/{market}/updates/{epoch}/inputs", get(inputs))
        .route("/v1/models", get(models))
        .route("/v1/models/{id}", get(model))
        .route("/v1/models/{id}/artifacts/{name}", get(artifact))
        .route("/v1/stream", get(stream_updates))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "route_not_found",
                "no such route; see /openapi.json",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "the feed answers GET only",
            )
        })
        .with_state(feed)
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    indexed_block: Option<u64>,
    head: u64,
    markets: usize,
    updates: usize,
    last_error: Option<String>,
}

fn health(feed: &Feed) -> Health {
    let last_error = feed.last_error.lock().expect("error lock").clone();
    let i = feed.index.read().expect("index lock");
    Health {
        status: match (feed.ready.load(Ordering::SeqCst), &last_error) {
            (false, _) => "starting",
            (true, Some(_)) => "degraded",
            (true, None) => "ok",
        },
        indexed_block: i.next_block.checked_sub(1),
        head: i.head,
        markets: i.markets.len(),
        updates: i.markets.values().map(|m| m.len()).sum(),
        last_error,
    }
}

async fn healthz(State(feed): State<Shared>) -> Json<Health> {
    Json(health(&feed))
}

async fn readyz(State(feed): State<Shared>) -> ApiResult<Json<Health>> {
    if feed.ready.load(Ordering::SeqCst) {
        Ok(Json(health(&feed)))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the first read of the chain has not finished",
        ))
    }
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

fn market_of(i: &Index, key: &str) -> ApiResult<Address> {
    i.market(key).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_market",
            format!("no update of market `{key}` is indexed"),
        )
    })
}

fn epoch_of(s: &str) -> ApiResult<u64> {
    s.parse().map_err(|_| ApiError::bad(format!("epoch `{s}` is not a non-negative integer")))
}

#[derive(Serialize)]
struct MarketSummary {
    market: String,
    symbol: Option<String>,
    updates: usize,
    latest: FeedUpdate,
}

#[derive(Serialize)]
struct Markets {
    markets: Vec<MarketSummary>,
}

async fn markets(State(feed): State<Shared>) -> Json<Markets> {
    let i = feed.index.read().expect("index lock");
    let markets = i
        .markets
        .values()
        .filter_map(|m| {
            let latest = m.values().next_back()?.clone();
            Some(MarketSummary {
                market: latest.market.clone(),
                symbol: latest.symbol.clone(),
                updates: m.len(),
                latest,
            })
        })
        .collect();
    Json(Markets { markets })
}

async fn latest(
    State(feed): State<Shared>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<FeedUpdate>> {
    let Path(key) = p?;
    let i = feed.index.read().expect("index lock");
    let m = market_of(&i, &key)?;
    Ok(Json(i.markets[&m].values().next_back().expect("indexed markets have updates").clone()))
}

/// `GET /v1/markets/{market}/updates` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    limit: Option<usize>,
    before: Option<u64>,
    from: Option<u64>,
    to: Option<u64>,
}

#[derive(Serialize)]
struct Page {
    updates: Vec<FeedUpdate>,
    next_before: Option<u64>,
}

async fn history(
    State(feed): State<Shared>,
    p: Result<Path<String>, PathRejection>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> ApiResult<Json<Page>> {
    let Path(key) = p?;
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad(format!("limit {limit} is outside 1..={MAX_PAGE}")));
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(ApiError::bad(format!("from {from} is after to {to}")));
    }
    let i = feed.index.read().expect("index lock");
    let m = market_of(&i, &key)?;
    let in_window = |u: &&FeedUpdate| {
        q.from.is_none_or(|f| u.data_timestamp >= f) && q.to.is_none_or(|t| u.data_timestamp <= t)
    };
    // Newest first, `before` an exclusive epoch cursor.
    let mut it =
        i.markets[&m].range(..q.before.unwrap_or(u64::MAX)).rev().map(|(_, u)| u).filter(in_window);
    let updates: Vec<FeedUpdate> = it.by_ref().take(limit).cloned().collect();
    let next_before = if it.next().is_some() { updates.last().map(|u| u.epoch) } else { None };
    Ok(Json(Page { updates, next_before }))
}

fn update_at(i: &Index, key: &str, epoch: &str) -> ApiResult<FeedUpdate> {
    let m = market_of(i, key)?;
    let e = epoch_of(epoch)?;
    i.markets[&m].get(&e).cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_epoch",
            format!("market `{key}` has no update for epoch {e}"),
        )
    })
}

async fn by_epoch(
    State(feed): State<Shared>,
    p: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<FeedUpdate>> {
    let Path((key, epoch)) = p?;
    let i = feed.index.read().expect("index lock");
    Ok(Json(update_at(&i, &key, &epoch)?))
}

async fn inputs(
    State(feed): State<Shared>,
    p: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Response> {
    let Path((key, epoch)) = p?;
    let (u, path) = {
        let i = feed.index.read().expect("index lock");
        let u = update_at(&i, &key, &epoch)?;
        let market: Address = u.market.parse().expect("indexed markets are addresses");
        let path = i.inputs.get(&(market, u.epoch)).cloned();
        (u, path)
    };
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "inputs_not_published",
            format!("the inputs of epoch {} of `{key}` are not published by this feed", u.epoch),
        )
    };
    let path = path.ok_or_else(missing)?;
    let body = tokio::fs::read(&path).await.map_err(|_| missing())?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Serialize)]
struct Models {
    models: Vec<FeedModel>,
}

async fn models(State(feed): State<Shared>) -> Json<Models> {
    let i = feed.index.read().expect("index lock");
    Json(Models { models: i.models.values().map(|(f, _)| f.clone()).collect() })
}

fn model_id(s: &str) -> ApiResult<u32> {
    s.parse().map_err(|_| ApiError::bad(format!("model id `{s}` is not a 32-bit unsigned integer")))
}

fn unknown_model(id: u32) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_model", format!("model {id} is not registered"))
}

async fn model(
    State(feed): State<Shared>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<FeedModel>> {
    let Path(id) = p?;
    let id = model_id(&id)?;
    let i = feed.index.read().expect("index lock");
    i.models.get(&id).map(|(f, _)| Json(f.clone())).ok_or_else(|| unknown_model(id))
}

async fn artifact(
    State(feed): State<Shared>,
    p: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Response> {
    let Path((id, name)) = p?;
    let id = model_id(&id)?;
    if !feed.index.read().expect("index lock").models.contains_key(&id) {
        return Err(unknown_model(id));
    }
    let missing = || {
        let names: Vec<&str> = ARTIFACTS.iter().map(|(n, _)| *n).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_artifact",
            format!("model {id} has no artifact `{name}` here (artifacts: {})", names.join(", ")),
        )
    };
    let dir = feed.indexer.circuit_dir(id).ok_or_else(missing)?;
    let path = artifact_path(dir, &name).ok_or_else(missing)?;
    let file = tokio::fs::File::open(&path).await.map_err(|_| missing())?;
    let len = file.metadata().await.map(|m| m.len()).map_err(|_| missing())?;
    // Streamed in chunks: an SRS can be large, and many clients may download at once.
    let chunks = stream::unfold(Some(file), |f| async move {
        let mut f = f?;
        let mut buf = vec![0u8; 64 * 1024];
        match tokio::io::AsyncReadExt::read(&mut f, &mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), Some(f)))
            }
            // The error ends the body (the client sees a cut response, never a wrong file).
            Err(e) => Some((Err(e), None)),
        }
    });
    let kind =
        if name.ends_with(".json") { "application/json" } else { "application/octet-stream" };
    Ok((
        [(header::CONTENT_TYPE, kind.to_string()), (header::CONTENT_LENGTH, len.to_string())],
        axum::body::Body::from_stream(chunks),
    )
        .into_response())
}

/// `GET /v1/stream` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    market: Option<String>,
}

/// An update's position in the chain, the stream's event id: `block-logIndex`.
fn event_id(u: &FeedUpdate) -> String {
    format!("{}-{}", u.block_number, u.log_index)
}

fn event(u: &FeedUpdate) -> Event {
    Event::default()
        .event("update")
        .id(event_id(u))
        .json_data(u)
        .unwrap_or_else(|_| Event::default().event("error").data("unserialisable update"))
}

async fn stream_updates(
    State(feed): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<StreamQuery>, QueryRejection>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let Query(q) = q?;
    let market = match &q.market {
        Some(key) => Some(market_of(&feed.index.read().expect("index lock"), key)?),
        None => None,
    };
    let wanted =
        move |u: &FeedUpdate| market.is_none_or(|m| u.market.parse::<Address>().ok() == Some(m));
    // Subscribe first, then replay what a reconnecting client missed (`Last-Event-ID`), so that
    // nothing falls between the two; the replay's last position drops duplicates.
    let rx = feed.events.subscribe();
    let last: Option<(u64, u64)> = match headers.get("last-event-id") {
        Some(v) => {
            let s = v.to_str().unwrap_or_default();
            let parsed =
                s.split_once('-').and_then(|(b, l)| Some((b.parse().ok()?, l.parse().ok()?)));
            Some(parsed.ok_or_else(|| {
                ApiError::bad(format!("Last-Event-ID `{s}` is not block-logIndex"))
            })?)
        }
        None => None,
    };
    let mut replay: Vec<FeedUpdate> = match last {
        Some(pos) => {
            let i = feed.index.read().expect("index lock");
            i.markets
                .values()
                .flat_map(|m| m.values())
                .filter(|u| (u.block_number, u.log_index) > pos && wanted(u))
                .cloned()
                .collect()
        }
        None => Vec::new(),
    };
    replay.sort_by_key(|u| (u.block_number, u.log_index));
    let seen = replay.last().map(|u| (u.block_number, u.log_index)).or(last);
    let replayed = stream::iter(replay.into_iter().map(|u| Ok(event(&u))));
    let closing = feed.closing.subscribe();
    let live = stream::unfold((rx, seen, closing), move |(mut rx, seen, mut closing)| async move {
        loop {
            let next = tokio::select! {
                next = rx.recv() => next,
                _ = closing.wait_for(|c| *c) => return None,
            };
            match next {
                Ok(u) if wanted(&u) && seen.is_none_or(|s| (u.block_number, u.log_index) > s) => {
                    return Some((Ok(event(&u)), (rx, seen, closing)));
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let e = Event::default().event("lagged").data(format!(
                        "{n} updates were dropped for this slow client; reconnect with Last-Event-ID"
                    ));
                    return Some((Ok(e), (rx, seen, closing)));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(replayed.chain(live))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use alloy::providers::{Provider, ProviderBuilder};

    use super::*;
    use crate::feed::index::tests::update;

    /// A feed whose index holds epochs 1..=5 of WETH (blocks 10..=50, data time 1000·epoch), served
    /// on loopback; nothing reads a chain.
    async fn serve() -> (String, Shared) {
        let provider =
            ProviderBuilder::new().connect_http("http://127.0.0.1:1".parse().unwrap()).erased();
        let indexer = Indexer::new(provider, 31337, Address::ZERO, 2, None, HashMap::new());
        let feed = Arc::new(Feed::new(indexer, 0));
        {
            let mut i = feed.index.write().unwrap();
            for e in 1..=5u64 {
                let mut u = update();
                u.epoch = e;
                u.block_number = 10 * e;
                u.data_timestamp = 1000 * e;
                i.insert(u, None);
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(feed.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), feed)
    }

    async fn get(url: &str) -> (u16, serde_json::Value) {
        let r = reqwest::get(url).await.unwrap();
        let status = r.status().as_u16();
        (status, serde_json::from_slice(&r.bytes().await.unwrap()).unwrap())
    }

    fn epochs(page: &serde_json::Value) -> Vec<u64> {
        page["updates"].as_array().unwrap().iter().map(|u| u["epoch"].as_u64().unwrap()).collect()
    }

    #[tokio::test]
    async fn history_pages_newest_first_with_an_exclusive_cursor_and_inclusive_windows() {
        let (base, _) = serve().await;
        let mut pages = Vec::new();
        let mut url = format!("{base}/v1/markets/WETH/updates?limit=2");
        loop {
            let (code, page) = get(&url).await;
            assert_eq!(code, 200, "{page}");
            pages.push(epochs(&page));
            match page["next_before"].as_u64() {
                Some(b) => url = format!("{base}/v1/markets/weth/updates?limit=2&before={b}"),
                None => break,
            }
        }
        assert_eq!(pages, [vec![5, 4], vec![3, 2], vec![1]]);
        let (_, page) = get(&format!("{base}/v1/markets/WETH/updates?from=2000&to=4000")).await;
        assert_eq!(
            (epochs(&page), page["next_before"].clone()),
            (vec![4, 3, 2], serde_json::Value::Null)
        );
        // A full last page has no next page.
        let (_, page) = get(&format!("{base}/v1/markets/WETH/updates?limit=5")).await;
        assert_eq!((epochs(&page).len(), page["next_before"].is_null()), (5, true));
    }

    #[tokio::test]
    async fn bad_input_gets_its_code() {
        let (base, feed) = serve().await;
        for (path, status, code) in [
            ("/v1/markets/WETH/updates?limit=0", 400, "invalid_parameter"),
            ("/v1/markets/WETH/updates?limit=501", 400, "invalid_parameter"),
            ("/v1/markets/WETH/updates?before=-1", 400, "invalid_parameter"),
            ("/v1/markets/WETH/updates/x", 400, "invalid_parameter"),
            ("/v1/markets/WETH/updates/6", 404, "unknown_epoch"),
            ("/v1/markets/WETH/updates/5/inputs", 404, "inputs_not_published"),
            ("/v1/markets/WBTC/latest", 404, "unknown_market"),
            ("/v1/models/1", 404, "unknown_model"),
            ("/v1/models/4294967296", 400, "invalid_parameter"),
            ("/nowhere", 404, "route_not_found"),
            ("/readyz", 503, "not_ready"),
        ] {
            let (got, v) = get(&format!("{base}{path}")).await;
            assert_eq!((got, v["error"]["code"].as_str()), (status, Some(code)), "{path}: {v}");
        }
        feed.ready.store(true, Ordering::SeqCst);
        assert_eq!(get(&format!("{base}/readyz")).await.0, 200);
        let r = reqwest::Client::new().delete(format!("{base}/v1/markets")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 405);
    }

    /// The `update` events of an event stream, until `n` have come.
    async fn events(r: reqwest::Response, n: usize) -> Vec<(String, u64)> {
        let mut r = r;
        let mut text = String::new();
        let mut got = Vec::new();
        while got.len() < n {
            let chunk = tokio::time::timeout(Duration::from_secs(10), r.chunk())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            text.push_str(&String::from_utf8_lossy(&chunk));
            got = text
                .split("\n\n")
                .filter(|e| e.contains("event: update"))
                .filter_map(|e| {
                    let id = e.lines().find_map(|l| l.strip_prefix("id: "))?.to_string();
                    let data: serde_json::Value =
                        serde_json::from_str(e.lines().find_map(|l| l.strip_prefix("data: "))?)
                            .ok()?;
                    Some((id, data["epoch"].as_u64()?))
                })
                .collect();
        }
        got
    }

    #[tokio::test]
    async fn a_reconnecting_client_gets_what_it_missed_once_then_live_updates() {
        let (base, feed) = serve().await;
        let r = reqwest::Client::new()
            .get(format!("{base}/v1/stream?market=WETH"))
            .header("Last-Event-ID", "30-1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        // Epoch 5 again on the live channel (already replayed: dropped), then a new epoch 6.
        let mut again = update();
        (again.epoch, again.block_number) = (5, 50);
        let mut new = update();
        (new.epoch, new.block_number) = (6, 60);
        let sender = feed.events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            sender.send(again).unwrap();
            sender.send(new).unwrap();
        });
        let got = events(r, 3).await;
        assert_eq!(got, [("40-1".into(), 4), ("50-1".into(), 5), ("60-1".into(), 6)]);
    }
}
