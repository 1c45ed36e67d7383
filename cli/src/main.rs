//! `zkrisk`: the command line of the zkrisk risk engine. Every behaviour lives in the libraries;
//! this binary parses arguments, sets up logging and prints results.

mod backtest;
mod feed;
mod ingest;
mod keeper;
mod risk;
mod train;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use eyre::WrapErr;
use zkrisk_oracle::{
    aave::deploy::{AaveMarket, default_reserves, deploy_aave},
    chain,
    demo::{self, DemoConfig, DemoReport},
};

#[derive(Parser)]
#[command(name = "zkrisk", version, about = "Proof-checked risk parameters for lending markets")]
struct Cli {
    /// Project root (holds data/, contracts/, scripts/ and .venv/).
    #[arg(long, global = true, default_value = ".")]
    root: PathBuf,
    /// Log as JSON lines instead of text (logs go to stderr).
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One proof-checked risk update end to end: real data, model, ezkl proof, local chain.
    Demo {
        /// Print the report as one JSON object on the last line of stdout.
        #[arg(long)]
        json: bool,
    },
    /// Aave v3 logs from a JSON-RPC endpoint into partitioned Parquet; resumes where it stopped.
    Ingest(ingest::IngestArgs),
    /// Every account's collateral, debt and health factor at a block, rebuilt from ingested events.
    Positions(ingest::PositionsArgs),
    /// Walk-forward evaluation and training of the liquidation (24 h, 7 d) and credit-score models
    /// on data/; writes models, ONNX, a model card, metrics and reliability diagrams.
    Train(train::TrainArgs),
    /// Backtest of the models and parameter policies on the ETH-B history: walk-forward
    /// evaluation, policy replay, stress scenarios; writes report.html and metrics.json.
    Backtest(backtest::BacktestArgs),
    /// Benchmarks: `zkrisk bench train` times training and scoring; `zkrisk bench prove` the epoch
    /// proof per circuit configuration (prove time, proving key, gas on anvil); `zkrisk bench
    /// backtest` the policy replay beside pandas; `zkrisk bench feed` a running feed under load.
    Bench(train::BenchArgs),
    /// Market risk (VaR/ES/EVaR of bad debt, LaR) by Monte-Carlo and recommended parameters per
    /// reserve, for an ingested Aave v3 dataset or the MakerDAO ETH-B vaults in data/.
    Risk(risk::RiskArgs),
    /// The keeper service: `zkrisk keeper --config keeper.toml` runs it; `check` and `status`
    /// read its configuration and its epoch ledger.
    Keeper(keeper::KeeperArgs),
    /// The risk feed for DAOs: `zkrisk feed serve --config feed.toml` serves every verified
    /// update (latest, history, models, an event stream) over HTTP.
    Feed(feed::FeedArgs),
    /// Checks one update of the feed without trusting it: the rule, the proof off-chain (ezkl,
    /// the model's verifying key) and on-chain (the registered verifier), the oracle's record of
    /// it, and its published inputs. Prints a verdict; exits 1 when the update is invalid.
    Verify(feed::VerifyArgs),
    /// A real Aave v3 market (Aave's own compiled contracts) on a chain.
    Aave {
        #[command(subcommand)]
        command: AaveCommand,
    },
}

#[derive(Subcommand)]
enum AaveCommand {
    /// Deploys Aave v3.0 with six test reserves (WETH, WBTC, wstETH, USDC, USDT, DAI), each with a
    /// price feed the deployer controls, and writes the addresses as JSON.
    Deploy {
        /// JSON-RPC endpoint of the chain.
        #[arg(long)]
        rpc: String,
        /// Where to write the market's addresses (JSON).
        #[arg(long)]
        out: PathBuf,
        /// Environment variable holding the deployer's private key. Without it, anvil's public
        /// development key is used, and only on chain 31337.
        #[arg(long)]
        private_key_env: Option<String>,
    },
    /// Drives a deployed market like a real one: seeded accounts supply, borrow, repay and
    /// withdraw while the price feeds follow real daily candles (data/prices), and a liquidator
    /// liquidates every account below a health factor of 1. Needs anvil (impersonation, mining).
    Simulate {
        /// JSON-RPC endpoint of the anvil node.
        #[arg(long)]
        rpc: String,
        /// The market's JSON, as `zkrisk aave deploy` wrote it.
        #[arg(long)]
        market: PathBuf,
        /// Seed of every random draw (same seed and data, same transactions) [default: 1].
        #[arg(long)]
        seed: Option<u64>,
        /// Number of user accounts [default: 300].
        #[arg(long)]
        accounts: Option<usize>,
        /// First simulated day, YYYY-MM-DD [default: 2022-05-01].
        #[arg(long)]
        from: Option<String>,
        /// Number of simulated days [default: 61].
        #[arg(long)]
        days: Option<u32>,
        /// Print the report as one JSON object on the last line of stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Completes at SIGINT or SIGTERM, logging `what` (what the service does next).
pub(crate) async fn shutdown_signal(what: &'static str) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping: {what}");
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.with_target(false).init();
    }
}

fn print_human(r: &DemoReport) {
    let p = |c: &zkrisk_models::policy::CollateralParams| {
        format!(
            "LTV {:.2}%  LT {:.2}%  bonus {:.2}%",
            f64::from(c.ltv) / 100.0,
            f64::from(c.liquidation_threshold) / 100.0,
            f64::from(c.liquidation_bonus) / 100.0 - 100.0
        )
    };
    println!("\nzkrisk demo — MakerDAO ETH-B, hold-out from {}", r.model.holdout_from);
    println!(
        "  model     AUROC {:.4}  Brier {:.5}   ({} test vault-days, {} positive)",
        r.model.auroc, r.model.brier, r.model.test_rows, r.model.test_positives
    );
    println!(
        "  baseline  AUROC {:.4}  Brier {:.5}   ({})",
        r.baseline.auroc, r.baseline.brier, r.baseline.rule
    );
    println!(
        "  epoch     {} : {} largest of {} vaults, mean p(liquidation 7d) {:.4}",
        r.epoch.date, r.epoch.scored, r.epoch.vaults_with_debt, r.epoch.mean_probability
    );
    println!(
        "  proof     {:.2} s, verified off-chain: {}, logrows {}, pk {} MB, SRS {}",
        r.proof.prove_seconds,
        r.proof.verified_offchain,
        r.proof.logrows,
        r.proof.pk_bytes / 1_000_000,
        r.proof.srs
    );
    println!(
        "  on-chain  verified: {}, gas {}, tx {}",
        r.onchain.verified, r.onchain.gas_used, r.onchain.tx_hash
    );
    println!(
        "  reserve   Aave v3 {} {} (Pool {}), set through the steward {}",
        r.onchain.reserve, r.onchain.reserve_asset, r.onchain.aave_pool, r.onchain.steward
    );
    println!("  before    {}", p(&r.param.before));
    println!("  after     {}   (proof carried risk {} bps)", p(&r.param.after), r.param.risk_bps);
    let tolerance = f64::from(r.epoch.price_tolerance_bps) / 100.0;
    println!(
        "  price     ETH close {:.2} USD; the proof binds {} (8 decimals), the oracle checks it within {tolerance} %",
        r.epoch.eth_close_usd, r.epoch.proven_price
    );
    println!(
        "  tampered  rejected: {} (flipped proof byte: {}; bumped score: {}; another price: {}; a price off the grid: {}; aggregator moved {} %: {})",
        r.tampered.rejected,
        r.tampered.proof_flip,
        r.tampered.score_bump,
        r.tampered.price_bump,
        r.tampered.price_off_grid,
        2.0 * tolerance,
        r.tampered.price_moved
    );
}

async fn demo(root: PathBuf, json: bool) -> eyre::Result<()> {
    let root = root.canonicalize().wrap_err_with(|| format!("project root {}", root.display()))?;
    let cfg = DemoConfig::in_project(&root);
    let report = tokio::select! {
        r = demo::run(&cfg) => r?,
        _ = tokio::signal::ctrl_c() => {
            // Dropping the demo's future stops anvil and the prover worker (kill on drop).
            eyre::bail!("interrupted");
        }
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_human(&report);
    }
    Ok(())
}

async fn aave_deploy(
    root: PathBuf,
    rpc: &str,
    out: PathBuf,
    private_key_env: Option<String>,
) -> eyre::Result<()> {
    let chain_id = chain::chain_id(rpc).await?;
    let key = chain::signing_key(private_key_env.as_deref(), chain_id)?;
    let (provider, _) = chain::signer_provider(rpc, &key)?;
    let market = deploy_aave(
        &provider,
        &root.join("contracts/node_modules/@aave/core-v3/artifacts"),
        &root.join("contracts/out"),
        &default_reserves(),
    )
    .await?;
    market.write_json(&out)?;
    print_market(&market, &out);
    Ok(())
}

struct SimulateArgs {
    rpc: String,
    market: PathBuf,
    seed: Option<u64>,
    accounts: Option<usize>,
    from: Option<String>,
    days: Option<u32>,
    json: bool,
}

async fn aave_simulate(root: PathBuf, a: SimulateArgs) -> eyre::Result<()> {
    use zkrisk_oracle::aave::sim::{PricePaths, SimConfig, simulate_url};
    let d = SimConfig::default();
    let config = SimConfig {
        seed: a.seed.unwrap_or(d.seed),
        accounts: a.accounts.unwrap_or(d.accounts),
        start: a.from.unwrap_or(d.start),
        days: a.days.unwrap_or(d.days),
        ..d
    };
    let market = AaveMarket::read_json(&a.market)?;
    let prices = PricePaths::load(&root.join("data"))?;
    let report =
        simulate_url(&a.rpc, &market, &prices, &root.join("contracts/out"), &config, |p| {
            tracing::info!(
                day = p.day,
                date = %p.date,
                eth_usd = format!("{:.2}", p.eth_usd),
                liquidations = p.liquidations,
                txs = p.txs,
                block = p.block,
                "simulated day"
            );
        })
        .await?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let r = &report;
    println!("\nzkrisk aave simulate — seed {}, {} → {} ({} days)", r.seed, r.start, r.end, r.days);
    println!(
        "  accounts     {} (liquidator {}, treasury {})",
        r.accounts, r.liquidator, r.treasury
    );
    println!(
        "  txs          {} ({} reverted) in {:.1} s, {:.0} tx/s, blocks {} → {}",
        r.txs, r.failed_txs, r.seconds, r.tx_per_second, r.first_block, r.last_block
    );
    println!(
        "  events       {} supplies, {} borrows, {} repays, {} withdrawals",
        r.supplies, r.borrows, r.repays, r.withdrawals
    );
    println!(
        "  liquidations {} of {} accounts: {:.0} USD debt repaid, {:.0} USD collateral seized",
        r.liquidations, r.liquidated_accounts, r.liquidated_debt_usd, r.liquidated_collateral_usd
    );
    println!("  bad debt     {} accounts, {:.0} USD", r.bad_debt_accounts, r.bad_debt_usd);
    if r.time_shift > 0 {
        println!(
            "  chain time   {} s after the historical time (the node's clock was past it)",
            r.time_shift
        );
    }
    Ok(())
}

fn print_market(m: &AaveMarket, out: &std::path::Path) {
    println!("wrote {}", out.display());
    println!("chain {}  from block {}  admin {}", m.chain_id, m.deployed_block, m.admin);
    for (name, addr) in [
        ("PoolAddressesProvider", m.addresses_provider),
        ("ACLManager", m.acl_manager),
        ("Pool", m.pool),
        ("PoolConfigurator", m.pool_configurator),
        ("AaveOracle", m.oracle),
        ("AaveProtocolDataProvider", m.data_provider),
    ] {
        println!("  {name:<25} {addr}");
    }
    for r in &m.reserves {
        println!(
            "  {:<7} asset {}  feed {}  aToken {}  LTV {:.2}%  LT {:.2}%  bonus {:.2}%",
            r.symbol,
            r.asset,
            r.aggregator,
            r.a_token,
            f64::from(r.ltv) / 100.0,
            f64::from(r.liquidation_threshold) / 100.0,
            f64::from(r.liquidation_bonus) / 100.0 - 100.0
        );
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    let result = match cli.command {
        Command::Demo { json } => demo(cli.root, json).await,
        Command::Ingest(args) => ingest::ingest(args).await,
        Command::Keeper(args) => keeper::run(cli.root, args).await,
        Command::Feed(args) => feed::run(args).await,
        Command::Verify(args) => match feed::verify(&cli.root, args).await {
            Ok(true) => Ok(()),
            Ok(false) => std::process::exit(1),
            Err(e) => Err(e),
        },
        Command::Positions(args) => ingest::positions(args),
        Command::Risk(args) => risk::risk(cli.root, args),
        Command::Train(args) => train::train(&cli.root, args),
        Command::Backtest(args) => backtest::backtest(&cli.root, args),
        Command::Bench(args) => train::bench(&cli.root, args).await,
        Command::Aave { command: AaveCommand::Deploy { rpc, out, private_key_env } } => {
            aave_deploy(cli.root, &rpc, out, private_key_env).await
        }
        Command::Aave {
            command: AaveCommand::Simulate { rpc, market, seed, accounts, from, days, json },
        } => {
            let args = SimulateArgs { rpc, market, seed, accounts, from, days, json };
            aave_simulate(cli.root, args).await
        }
    };
    if let Err(err) = result {
        eprintln!("Error: {err:?}");
        std::process::exit(1);
    }
}
