//! `zkrisk ingest` and `zkrisk positions`: argument parsing and printing only.

use std::path::PathBuf;

use eyre::WrapErr;
use zkrisk_oracle::ingest::{self, IngestConfig, ToBlock};
use zkrisk_pipeline::aave::{positions, store};

/// Arguments of `zkrisk ingest`.
#[derive(clap::Args)]
pub(crate) struct IngestArgs {
    /// JSON-RPC endpoint. Only its scheme, host and port are ever printed or logged.
    #[arg(long)]
    rpc: String,
    /// The Aave v3 Pool (its configurator, oracle, price sources and aTokens are found from it).
    #[arg(long)]
    pool: String,
    /// First block.
    #[arg(long)]
    from: u64,
    /// Last block, or `latest` for the head minus --confirmations.
    #[arg(long, default_value = "latest")]
    to: String,
    /// Output directory: Parquet partitions and the checkpoint (resumes when it exists).
    #[arg(long)]
    out: PathBuf,
    /// Blocks to stay behind the head.
    #[arg(long, default_value_t = 12)]
    confirmations: u64,
    /// Blocks per partition (partitions are aligned to multiples of it).
    #[arg(long, default_value_t = 10_000)]
    partition_blocks: u64,
    /// Largest block span of one eth_getLogs request; halved while the provider refuses.
    #[arg(long, default_value_t = 2_000)]
    max_range: u64,
    /// Attempts per request on transient errors.
    #[arg(long, default_value_t = 6)]
    attempts: u32,
    /// First retry delay in milliseconds (doubles per attempt, with jitter).
    #[arg(long, default_value_t = 500)]
    backoff_ms: u64,
    /// Partitions fetched at the same time (committed in order regardless).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Print the run's report as one JSON object on the last line of stdout.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn ingest(args: IngestArgs) -> eyre::Result<()> {
    let pool =
        args.pool.parse().map_err(|e| eyre::eyre!("--pool {}: not an address ({e})", args.pool))?;
    let to = match args.to.as_str() {
        "latest" => ToBlock::Latest,
        n => ToBlock::Number(
            n.parse().map_err(|_| eyre::eyre!("--to {n}: expected a block number or `latest`"))?,
        ),
    };
    let mut config = IngestConfig::new(args.rpc, pool, args.from, to, args.out);
    config.confirmations = args.confirmations;
    config.partition_blocks = args.partition_blocks;
    config.max_range = args.max_range;
    config.attempts = args.attempts;
    config.concurrency = args.concurrency;
    config.backoff = std::time::Duration::from_millis(args.backoff_ms);
    let mut progress = |_: &ingest::Progress| {};
    let report = tokio::select! {
        r = ingest::ingest(&config, &mut progress) => r?,
        _ = tokio::signal::ctrl_c() => eyre::bail!("interrupted; committed partitions are kept and the next run resumes"),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "ingested blocks {}..={} of chain {} into {}{}",
            report.started_at,
            report.to_block,
            report.chain_id,
            config.out.display(),
            if report.resumed { " (resumed)" } else { "" }
        );
        println!(
            "  {} logs in {} partitions, {:.1} s ({:.0} logs/s), {} requests, {} range splits, {} retries",
            report.logs,
            report.partitions,
            report.seconds,
            report.logs_per_second,
            report.requests,
            report.range_splits,
            report.retries
        );
        for (table, rows) in &report.rows {
            println!("  {table:<34} {rows:>8}");
        }
    }
    Ok(())
}

/// Arguments of `zkrisk positions`.
#[derive(clap::Args)]
pub(crate) struct PositionsArgs {
    /// A directory written by `zkrisk ingest`.
    #[arg(long)]
    data: PathBuf,
    /// Block to rebuild the accounts at (default: the last ingested block).
    #[arg(long)]
    block: Option<u64>,
    /// Timestamp of that block; needed when it has no event in the dataset.
    #[arg(long)]
    timestamp: Option<u64>,
    /// Print one JSON object per account (JSON lines) instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn positions(args: PositionsArgs) -> eyre::Result<()> {
    let data =
        store::load(&args.data).wrap_err_with(|| format!("--data {}", args.data.display()))?;
    let last = data.checkpoint.next_block.saturating_sub(1);
    let block = args.block.unwrap_or(last);
    if block > last {
        eyre::bail!("--block {block} is past the last ingested block {last}");
    }
    let timestamp = match args.timestamp {
        Some(t) => t,
        None => data
            .records
            .iter()
            .rev()
            .find(|r| r.meta.block_number == block)
            .map(|r| r.meta.block_timestamp)
            .ok_or_else(|| {
                eyre::eyre!("block {block} has no event in the dataset: pass --timestamp")
            })?,
    };
    let state = positions::rebuild(&data.records, &data.checkpoint, block)?;
    let mut rows = Vec::new();
    for user in state.accounts() {
        rows.push((user, state.account_data(user, timestamp)?));
    }
    // Riskiest first: the accounts a liquidator or a risk desk looks at.
    rows.sort_by(|a, b| a.1.health_factor.cmp(&b.1.health_factor).then(a.0.cmp(b.0)));
    if !args.json {
        println!("block {block} (timestamp {timestamp}), {} accounts", rows.len());
        println!("{:<44} {:>16} {:>16} {:>12}", "account", "collateral USD", "debt USD", "HF");
    }
    for (user, d) in rows {
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "account": user,
                    "block": block,
                    "timestamp": timestamp,
                    "total_collateral_base": d.total_collateral_base.to_string(),
                    "total_debt_base": d.total_debt_base.to_string(),
                    "available_borrows_base": d.available_borrows_base.to_string(),
                    "current_liquidation_threshold": d.current_liquidation_threshold.to_string(),
                    "ltv": d.ltv.to_string(),
                    "health_factor": d.health_factor.to_string(),
                })
            );
        } else {
            println!(
                "{user:<44} {:>16.2} {:>16.2} {:>12.4}",
                positions::base_to_f64(d.total_collateral_base),
                positions::base_to_f64(d.total_debt_base),
                d.health_factor_f64()
            );
        }
    }
    Ok(())
}
