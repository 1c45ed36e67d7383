//! `zkrisk feed serve --config feed.toml`: the risk feed; `zkrisk verify`: the checks anyone can
//! run on one of its updates; `zkrisk bench feed`: the feed under many concurrent clients.

use std::path::{Path, PathBuf};

use eyre::WrapErr;
use zkrisk_oracle::{
    feed::{self, config, load},
    prover::WorkerConfig,
    verify::{self, Options, Source},
};

/// `zkrisk feed`.
#[derive(clap::Args)]
pub(crate) struct FeedArgs {
    #[command(subcommand)]
    command: FeedCommand,
}

#[derive(clap::Subcommand)]
enum FeedCommand {
    /// Serves the feed (HTTP, JSON, server-sent events) until SIGINT or SIGTERM.
    Serve {
        /// The feed's configuration (see docs/feed.md).
        #[arg(long)]
        config: PathBuf,
    },
}

/// `zkrisk verify`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["feed", "file", "tx"])))]
pub(crate) struct VerifyArgs {
    /// Base URL of a feed, e.g. http://127.0.0.1:8080 (with --market).
    #[arg(long, requires = "market")]
    feed: Option<String>,
    /// The market to read from the feed: its asset address or symbol.
    #[arg(long)]
    market: Option<String>,
    /// The epoch to read from the feed [default: the latest].
    #[arg(long, requires = "feed")]
    epoch: Option<u64>,
    /// A file holding one update as the feed serves it.
    #[arg(long)]
    file: Option<PathBuf>,
    /// A RiskOracle.submit transaction hash (with --rpc).
    #[arg(long, requires = "rpc")]
    tx: Option<String>,
    /// JSON-RPC endpoint of the update's chain: the on-chain checks (verifier call, recorded event).
    #[arg(long, requires = "oracle")]
    rpc: Option<String>,
    /// The RiskOracle you trust (your DAO's): the on-chain checks read it, not the oracle the update
    /// names.
    #[arg(long)]
    oracle: Option<String>,
    /// The model's circuit directory (settings.json, vk.key, the SRS, model.compiled) [default:
    /// downloaded from the feed].
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// The inputs of the proof (ezkl input JSON) [default: downloaded from the feed when published].
    #[arg(long)]
    inputs: Option<PathBuf>,
    /// Where downloads go [default: <root>/.zkrisk/verify].
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Print the verdict as one JSON object.
    #[arg(long)]
    json: bool,
}

/// `zkrisk bench feed`.
#[derive(clap::Args)]
pub(crate) struct BenchFeedArgs {
    /// Base URL of a running feed.
    #[arg(long)]
    url: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Requests per client.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Print the figures as one JSON object.
    #[arg(long)]
    json: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub(crate) async fn run(args: FeedArgs) -> eyre::Result<()> {
    match args.command {
        FeedCommand::Serve { config } => {
            let cfg = config::load(&config, &env)?;
            feed::serve(cfg, crate::shutdown_signal("ending event streams, finishing requests"))
                .await?;
        }
    }
    Ok(())
}

/// Runs the checks; exits 0 for a valid update, 1 for an invalid one (and for errors).
pub(crate) async fn verify(root: &Path, a: VerifyArgs) -> eyre::Result<bool> {
    let source = match (a.feed, a.file, a.tx) {
        (Some(url), _, _) => {
            Source::Feed { url, market: a.market.unwrap_or_default(), epoch: a.epoch }
        }
        (_, Some(p), _) => Source::File(p),
        (_, _, Some(h)) => {
            Source::Tx(h.parse().wrap_err_with(|| format!("--tx `{h}` is not a transaction hash"))?)
        }
        _ => eyre::bail!("give --feed, --file or --tx"),
    };
    let oracle = match &a.oracle {
        Some(o) => Some(o.parse().wrap_err_with(|| format!("--oracle `{o}` is not an address"))?),
        None => None,
    };
    let opts = Options {
        rpc_url: a.rpc,
        oracle,
        artifacts: a.artifacts,
        inputs: a.inputs,
        work_dir: a.work_dir.unwrap_or_else(|| root.join(".zkrisk/verify")),
        worker: WorkerConfig::in_project(root),
        solc: Some(root.join("scripts/solc")),
    };
    let v = verify::verify(&source, &opts).await?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({ "verdict": v, "reasons": v.reasons() }))?
        );
    } else {
        print!("{}", v.render());
    }
    Ok(v.valid)
}

pub(crate) async fn bench(a: &BenchFeedArgs) -> eyre::Result<()> {
    eyre::ensure!(a.clients > 0 && a.requests > 0, "--clients and --requests must be at least 1");
    let base = a.url.trim_end_matches('/');
    let paths = load::routes(base).await?;
    tracing::info!(
        clients = a.clients,
        requests = a.clients * a.requests,
        routes = paths.len(),
        "loading the feed"
    );
    let r = load::run(base, &paths, a.clients, a.requests).await?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "zkrisk bench feed — {base}, {} clients × {} requests over {} routes",
            r.clients,
            a.requests,
            r.paths.len()
        );
        println!(
            "  requests  {} in {:.2} s: {:.0} req/s, {} errors, {:.1} MB received",
            r.requests,
            r.seconds,
            r.requests_per_second,
            r.errors,
            r.bytes as f64 / 1e6
        );
        println!(
            "  latency   p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms
        );
        for e in &r.error_samples {
            println!("  error     {e}");
        }
    }
    eyre::ensure!(r.errors == 0, "{} of {} requests failed", r.errors, r.requests);
    Ok(())
}
