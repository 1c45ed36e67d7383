//! The risk feed end to end: a real Aave v3 market on anvil, the keeper proving and submitting
//! epochs, `zkrisk feed serve` over the chain and the keeper's ledger, and `zkrisk verify`
//! checking what the feed serves. Also: the OpenAPI document checked against the running service,
//! the event stream, pagination and time filters, and a load of concurrent clients.

use std::{
    collections::BTreeSet,
    path::Path,
    process::{Command, Output},
    time::{Duration, Instant},
};

use alloy::providers::Provider;
use serde_json::Value;
use zkrisk_oracle::{
    keeper::service::feed_circuit,
    prover::{EzklWorker, WorkerConfig},
};

use crate::{
    root,
    stack::{self, Service, confirmed, free_addr, http, http_get, until},
};

/// The body of an HTTP response (chunked bodies joined), parsed as JSON.
fn body_json(response: &str) -> Value {
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        body.to_string()
    };
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

async fn get_json(addr: &str, path: &str) -> (u16, Value) {
    let (code, r) = http_get(addr, path).await;
    (code, body_json(&r))
}

/// Checks `v` against an OpenAPI schema (the subset the feed's document uses: `$ref`, `type`
/// with `null`, `properties`, `required`, `additionalProperties: false`, `items`, `enum`,
/// `minimum`, `maximum`, `pattern`); returns the first violation.
fn check(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], v, at);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_u64() || v.is_i64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {v} is not {types:?}"));
        }
    }
    if let (Some(p), Some(text)) = (schema["pattern"].as_str(), v.as_str())
        && !regex::Regex::new(p).unwrap().is_match(text)
    {
        return Err(format!("{at}: `{text}` does not match {p}"));
    }
    if let Some(e) = schema["enum"].as_array()
        && !e.contains(v)
    {
        return Err(format!("{at}: {v} is not one of {e:?}"));
    }
    if let (Some(min), Some(x)) = (schema["minimum"].as_f64(), v.as_f64())
        && x < min
    {
        return Err(format!("{at}: {x} < {min}"));
    }
    if let (Some(max), Some(x)) = (schema["maximum"].as_f64(), v.as_f64())
        && x > max
    {
        return Err(format!("{at}: {x} > {max}"));
    }
    if let Some(o) = v.as_object() {
        for r in schema["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            if !o.contains_key(r) {
                return Err(format!("{at}: `{r}` is missing"));
            }
        }
        let props = schema["properties"].as_object();
        for (k, x) in o {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(doc, s, x, &format!("{at}.{k}"))?,
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    return Err(format!("{at}: `{k}` is not documented"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(a)) = (schema.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            check(doc, items, x, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

fn zkrisk(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkrisk"))
        .args(["--root", root.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap()
}

fn verdict(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!("no verdict ({e}):\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr))
    })
}

/// The `--json` verdict of a `zkrisk` run that must end with status 1 (an invalid update).
fn invalid(root: &Path, args: &[&str]) -> Value {
    let out = zkrisk(root, args);
    let v = verdict(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {v}");
    v
}

fn check_status(v: &Value, name: &str) -> String {
    v["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no check {name}: {v}"))
}

/// The first `update` event of an event stream, read from a live connection.
async fn next_event(addr: &str, path: &str, headers: &str, secs: u64) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let t = Instant::now();
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(i) = text.find("event: update") {
            let after = &text[i..];
            if let Some(j) = after.find("data: ")
                && let Some(line) = after[j + 6..].split('\n').next()
                && let Ok(v) = serde_json::from_str::<Value>(line)
            {
                assert!(text.contains("text/event-stream"), "{text}");
                return v;
            }
        }
        assert!(t.elapsed() < Duration::from_secs(secs), "no update event:\n{text}");
        let mut chunk = [0u8; 65536];
        let n = tokio::time::timeout(Duration::from_secs(secs), s.read(&mut chunk))
            .await
            .expect("the stream went quiet")
            .unwrap();
        assert!(n > 0, "the stream closed:\n{text}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_to_feed_to_verify_and_the_openapi_document_holds() {
    let root = root();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let stack = stack::keeper_stack(&root, dir).await;
    let url = stack.anvil.url().to_string();

    // The keeper proves and submits an epoch every 10 s.
    let keeper_config = dir.join("keeper.toml");
    std::fs::write(&keeper_config, stack::keeper_config(&stack, &url, &free_addr())).unwrap();
    let store = dir.join("keeper.sqlite");
    let keeper = Service::keeper(&root, &keeper_config, dir.join("keeper.log"));
    until(300, "two confirmed epochs", &[&keeper], || (confirmed(&store).len() >= 2).then_some(()))
        .await;

    // The feed over the chain and the keeper's ledger.
    let listen = free_addr();
    let feed_text = format!(
        r#"[chain]
rpc_url = "{url}"
chain_id = 31337
oracle = "{oracle}"

[server]
listen = "{listen}"
poll_seconds = 1

[keeper]
store = "keeper.sqlite"
work_dir = "work"

[[model]]
id = 1
card = "model_card.md"
circuit = "{circuit}"
"#,
        oracle = stack.deployment.oracle,
        circuit = stack.circuit.dir.display(),
    );
    let feed_config = dir.join("feed.toml");
    std::fs::write(&feed_config, &feed_text).unwrap();
    // A wrong chain id is refused at start, naming the key.
    let wrong = dir.join("wrong.toml");
    std::fs::write(&wrong, feed_text.replace("chain_id = 31337", "chain_id = 1")).unwrap();
    let out = zkrisk(&root, &["feed", "serve", "--config", wrong.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("`chain.chain_id`"), "{stderr}");

    let feed = Service::start(&root, &["feed", "serve"], &feed_config, dir.join("feed.log"));
    let t = Instant::now();
    while http_get(&listen, "/readyz").await.0 != 200 {
        assert!(t.elapsed() < Duration::from_secs(60), "feed not ready:\n{}", feed.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The event stream delivers the next accepted update.
    let streamed = next_event(&listen, "/v1/stream?market=WETH", "", 120).await;
    assert_eq!(streamed["symbol"], "WETH", "{streamed}");
    // A client reconnecting from position 0-0 gets the history first.
    let replayed = next_event(&listen, "/v1/stream", "Last-Event-ID: 0-0\r\n", 30).await;
    assert!(replayed["epoch"].as_u64() < streamed["epoch"].as_u64(), "{replayed}");
    keeper.stop("keeper started");

    // The feed holds exactly the updates on chain, once it has read the head.
    let head = stack.plain.get_block_number().await.unwrap();
    let t = Instant::now();
    loop {
        let (_, h) = get_json(&listen, "/healthz").await;
        if h["indexed_block"].as_u64() >= Some(head) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "{h}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let onchain: BTreeSet<u64> =
        stack::onchain_epochs(&stack.plain, stack.deployment.oracle, None, Some(head))
            .await
            .into_iter()
            .collect();
    assert!(onchain.len() >= 3, "{onchain:?}");
    let market = format!("{:#x}", stack.deployment.asset);
    let mut paged = Vec::new();
    let mut before = String::new();
    for _ in 0..=onchain.len() {
        let (code, page) =
            get_json(&listen, &format!("/v1/markets/WETH/updates?limit=1{before}")).await;
        assert_eq!(code, 200, "{page}");
        let updates = page["updates"].as_array().unwrap();
        assert!(updates.len() <= 1);
        paged.extend(updates.iter().map(|u| u["epoch"].as_u64().unwrap()));
        match page["next_before"].as_u64() {
            Some(e) => before = format!("&before={e}"),
            None => break,
        }
    }
    let newest_first: Vec<u64> = onchain.iter().rev().copied().collect();
    assert_eq!(paged, newest_first, "pagination walks every update once, newest first");
    let (_, latest) = get_json(&listen, &format!("/v1/markets/{market}/latest")).await;
    let epoch = latest["epoch"].as_u64().unwrap();
    assert_eq!(Some(&epoch), onchain.last());
    let ts = latest["data_timestamp"].as_u64().unwrap();
    let (_, window) = get_json(&listen, &format!("/v1/markets/WETH/updates?from={ts}")).await;
    assert!(
        window["updates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["data_timestamp"].as_u64() >= Some(ts))
            && !window["updates"].as_array().unwrap().is_empty(),
        "{window}"
    );
    let (_, early) = get_json(&listen, &format!("/v1/markets/WETH/updates?to={}", ts - 1)).await;
    let early = early["updates"].as_array().unwrap();
    assert!(!early.is_empty() && early.iter().all(|u| u["epoch"].as_u64().unwrap() < epoch));

    // The document the service serves is the committed one.
    let (code, served) = get_json(&listen, "/openapi.json").await;
    assert_eq!(code, 200);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("docs/openapi.json")).unwrap())
            .unwrap();
    assert_eq!(served, doc);

    // Every documented route answers 200 with the documented shape.
    let fill = |p: &str| {
        p.replace("{market}", &market)
            .replace("{epoch}", &epoch.to_string())
            .replace("{id}", "1")
            .replace("{name}", "settings.json")
    };
    let paths = doc["paths"].as_object().unwrap();
    for (path, item) in paths {
        if path == "/v1/stream" {
            // An event stream does not end: its head is checked below.
            continue;
        }
        let op = &item["get"];
        let url = fill(path);
        let (code, response) = http_get(&listen, &url).await;
        assert_eq!(code, 200, "{url}: {response}");
        let content = &op["responses"]["200"]["content"];
        if let Some(schema) = content.get("application/json").map(|c| &c["schema"]) {
            let v = body_json(&response);
            check(&doc, schema, &v, &url).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let (code, head) = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(&listen).await.unwrap();
        s.write_all(format!("GET /v1/stream HTTP/1.1\r\nHost: {listen}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut b = [0u8; 4096];
        let n = s.read(&mut b).await.unwrap();
        let t = String::from_utf8_lossy(&b[..n]).into_owned();
        (t.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok()).unwrap_or(0), t)
    };
    assert!(code == 200 && head.contains("text/event-stream"), "{head}");
    // The artifacts the model lists are served with the listed digest.
    let (_, model) = get_json(&listen, "/v1/models/1").await;
    assert_eq!(model["layout"], "logits");
    assert!(model["card"].as_str().unwrap().contains('#'), "the model card is served");
    let names: Vec<&str> = model["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["settings.json", "vk.key", "srs", "model.compiled"]);

    // Undocumented or malformed input: a 4xx, a JSON error with a documented code, and a status
    // the route documents.
    let error_schema = serde_json::json!({ "$ref": "#/components/schemas/Error" });
    for (method, url, status, code, route) in [
        (
            "GET",
            "/v1/markets/WETH/updates?bogus=1".to_string(),
            400,
            "invalid_parameter",
            Some("/v1/markets/{market}/updates"),
        ),
        (
            "GET",
            "/v1/markets/WETH/updates?limit=0".into(),
            400,
            "invalid_parameter",
            Some("/v1/markets/{market}/updates"),
        ),
        (
            "GET",
            "/v1/markets/WETH/updates?limit=many".into(),
            400,
            "invalid_parameter",
            Some("/v1/markets/{market}/updates"),
        ),
        (
            "GET",
            "/v1/markets/WETH/updates?from=9&to=1".into(),
            400,
            "invalid_parameter",
            Some("/v1/markets/{market}/updates"),
        ),
        (
            "GET",
            "/v1/markets/WETH/updates/abc".into(),
            400,
            "invalid_parameter",
            Some("/v1/markets/{market}/updates/{epoch}"),
        ),
        (
            "GET",
            "/v1/markets/WETH/updates/1".into(),
            404,
            "unknown_epoch",
            Some("/v1/markets/{market}/updates/{epoch}"),
        ),
        (
            "GET",
            "/v1/markets/XYZ/latest".into(),
            404,
            "unknown_market",
            Some("/v1/markets/{market}/latest"),
        ),
        (
            "GET",
            "/v1/markets/0x0000000000000000000000000000000000000001/latest".into(),
            404,
            "unknown_market",
            Some("/v1/markets/{market}/latest"),
        ),
        ("GET", "/v1/models/x".into(), 400, "invalid_parameter", Some("/v1/models/{id}")),
        ("GET", "/v1/models/7".into(), 404, "unknown_model", Some("/v1/models/{id}")),
        (
            "GET",
            "/v1/models/1/artifacts/pk.key".into(),
            404,
            "unknown_artifact",
            Some("/v1/models/{id}/artifacts/{name}"),
        ),
        ("GET", "/v1/stream?market=XYZ".into(), 404, "unknown_market", Some("/v1/stream")),
        ("GET", "/v1/stream?since=1".into(), 400, "invalid_parameter", Some("/v1/stream")),
        ("GET", "/v2/markets".into(), 404, "route_not_found", None),
        ("POST", "/v1/markets".into(), 405, "method_not_allowed", None),
    ] {
        let (got, response) = http(&listen, method, &url, "Content-Length: 0\r\n").await;
        assert_eq!(got, status, "{method} {url}: {response}");
        let v = body_json(&response);
        check(&doc, &error_schema, &v, &url).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["error"]["code"], code, "{url}: {v}");
        if let Some(route) = route {
            assert!(
                doc["paths"][route]["get"]["responses"].get(status.to_string()).is_some(),
                "{route} does not document {status}"
            );
        }
    }

    // `zkrisk verify` on the feed's latest update: every check passes.
    let work = dir.join("verify");
    let feed_url = format!("http://{listen}");
    let oracle = format!("{:#x}", stack.deployment.oracle);
    let out = zkrisk(
        &root,
        &[
            "verify",
            "--feed",
            &feed_url,
            "--market",
            "WETH",
            "--rpc",
            &url,
            "--oracle",
            &oracle,
            "--json",
            "--work-dir",
            work.to_str().unwrap(),
        ],
    );
    let v = verdict(&out);
    assert!(out.status.success() && v["verdict"]["valid"] == true, "{v}");
    for name in ["rule", "proof_offchain", "proof_onchain", "verifying_key", "recorded", "inputs"] {
        assert_eq!(check_status(&v, name), "pass", "{name}: {v}");
    }
    // The plain verdict, from the transaction alone.
    let tx = latest["tx_hash"].as_str().unwrap();
    let circuit = stack.circuit.dir.to_str().unwrap();
    let out = zkrisk(
        &root,
        &["verify", "--tx", tx, "--rpc", &url, "--oracle", &oracle, "--artifacts", circuit],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.trim_end().ends_with("VALID"), "{text}");
    assert!(text.contains("pass  verifying_key"), "{text}");
    eprintln!("{text}");

    // A tampered update from the feed is invalid, and the verdict says why.
    let (_, original) = get_json(&listen, &format!("/v1/markets/WETH/updates/{epoch}")).await;
    let inputs =
        std::fs::read_dir(work.join(format!("31337-{:#x}-model1", stack.deployment.oracle)))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("input-"))
            .expect("verify downloaded the published inputs");
    let tamper = |name: &str, f: &dyn Fn(&mut Value)| {
        let mut u = original.clone();
        f(&mut u);
        let p = dir.join(format!("{name}.json"));
        std::fs::write(&p, u.to_string()).unwrap();
        invalid(
            &root,
            &[
                "verify",
                "--file",
                p.to_str().unwrap(),
                "--rpc",
                &url,
                "--oracle",
                &oracle,
                "--artifacts",
                stack.circuit.dir.to_str().unwrap(),
                "--inputs",
                inputs.to_str().unwrap(),
                "--json",
            ],
        )
    };
    let v = tamper("score", &|u| {
        let s: alloy::primitives::U256 = u["scores"][0].as_str().unwrap().parse().unwrap();
        u["scores"][0] = Value::String((s + alloy::primitives::U256::from(1u8)).to_string());
    });
    assert_eq!(v["verdict"]["valid"], false);
    for name in ["proof_offchain", "proof_onchain", "recorded", "inputs"] {
        assert_eq!(check_status(&v, name), "fail", "{name}: {v}");
    }
    assert!(v["reasons"].to_string().contains("scores"), "{v}");
    let v = tamper("ltv", &|u| {
        u["params"]["ltv"] = Value::from(u["params"]["ltv"].as_u64().unwrap() + 100);
    });
    assert_eq!(
        (check_status(&v, "rule"), check_status(&v, "recorded")),
        ("fail".into(), "fail".into()),
        "{v}"
    );
    assert_eq!(check_status(&v, "proof_onchain"), "pass", "the proof itself is untouched: {v}");
    assert!(v["reasons"].to_string().contains("RiskRule gives"), "{v}");
    // A risk shown on a dashboard that is not the scores'.
    let v = tamper("risk", &|u| {
        u["risk_bps"] = Value::from(u["risk_bps"].as_u64().unwrap() + 1);
    });
    assert_eq!(
        (check_status(&v, "rule"), check_status(&v, "recorded")),
        ("fail".into(), "fail".into()),
        "{v}"
    );
    // Checked against another oracle than the user's: nothing on chain vouches for it.
    let u = dir.join("untampered.json");
    std::fs::write(&u, original.to_string()).unwrap();
    let v = invalid(
        &root,
        &[
            "verify",
            "--file",
            u.to_str().unwrap(),
            "--rpc",
            &url,
            "--oracle",
            &format!("{:#x}", stack.market.pool),
            "--json",
        ],
    );
    let reasons = v["reasons"].as_array().unwrap();
    assert!(
        reasons.len() == 1 && reasons[0].as_str().unwrap().contains("not of yours"),
        "the one reason is the foreign oracle: {v}"
    );
    // A verifying key that is not the model's (another circuit's: batch 6): the key check and the
    // off-chain proof fail, the on-chain verifier still accepts the honest proof.
    let other_circuit = {
        let model =
            zkrisk_models::LogisticModel::load(&dir.join("liquidation_7d_logistic.json")).unwrap();
        let mut w = EzklWorker::start(WorkerConfig::in_project(&root)).await.unwrap();
        let (c, _) = feed_circuit(
            &mut w,
            &dir.join("other"),
            &model,
            6,
            &dir.join("calibration_7d.json"),
            false,
        )
        .await
        .unwrap();
        w.shutdown().await;
        c.dir
    };
    let v = invalid(
        &root,
        &[
            "verify",
            "--file",
            u.to_str().unwrap(),
            "--rpc",
            &url,
            "--oracle",
            &oracle,
            "--artifacts",
            other_circuit.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        (check_status(&v, "verifying_key"), check_status(&v, "proof_offchain")),
        ("fail".into(), "fail".into()),
        "{v}"
    );
    assert_eq!(check_status(&v, "proof_onchain"), "pass", "{v}");
    // Inputs that are not the proof's.
    let other = dir.join("other-input.json");
    let mut x: Value = serde_json::from_str(&std::fs::read_to_string(&inputs).unwrap()).unwrap();
    x["input_data"][0][0] = Value::from(x["input_data"][0][0].as_f64().unwrap() + 0.25);
    std::fs::write(&other, x.to_string()).unwrap();
    let v = invalid(
        &root,
        &[
            "verify",
            "--file",
            u.to_str().unwrap(),
            "--artifacts",
            stack.circuit.dir.to_str().unwrap(),
            "--inputs",
            other.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        (check_status(&v, "proof_offchain"), check_status(&v, "inputs")),
        ("pass".into(), "fail".into()),
        "{v}"
    );

    // Many concurrent clients on loopback: no request fails.
    let out = zkrisk(
        &root,
        &["bench", "feed", "--url", &feed_url, "--clients", "32", "--requests", "50", "--json"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{stdout}");
    let r: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!((r["requests"].as_u64(), r["errors"].as_u64()), (Some(1600), Some(0)), "{r}");

    // A reorg deeper than the feed's confirmations removes the block of the latest update: the feed
    // notices the changed block hash, rebuilds, and serves what the chain now holds.
    let removed = latest["block_number"].as_u64().unwrap();
    let head = stack.plain.get_block_number().await.unwrap();
    stack::raw(&stack.plain, "anvil_reorg", serde_json::json!([head - removed + 1, []])).await;
    let feed_view = || async {
        let (_, page) = get_json(&listen, "/v1/markets/WETH/updates?limit=500").await;
        let mut v: Vec<(u64, u64)> = page["updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["epoch"].as_u64().unwrap(), u["block_number"].as_u64().unwrap()))
            .collect();
        v.reverse();
        v
    };
    let t = Instant::now();
    loop {
        let now = stack.plain.get_block_number().await.unwrap();
        let chain =
            stack::onchain_updates(&stack.plain, stack.deployment.oracle, None, Some(now - 2))
                .await;
        let view = feed_view().await;
        if view == chain && !view.contains(&(epoch, removed)) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "feed {view:?}, chain {chain:?}:\n{}",
            feed.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(feed.log().contains("rebuilding the index"), "{}", feed.log());

    // SIGTERM ends the feed cleanly, even with an event stream open.
    let mut open = tokio::net::TcpStream::connect(&listen).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut open,
        format!("GET /v1/stream HTTP/1.1\r\nHost: {listen}\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    feed.stop("feed serving");
    stack.anvil.stop().await.unwrap();
}
