//! `zkrisk`: the command line of the zkrisk risk engine. Every behaviour lives in the libraries;
//! this binary parses arguments, sets up logging and prints results.

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
    println!(
        "  tampered  rejected: {} (flipped proof byte: {}; bumped score: {})",
        r.tampered.rejected, r.tampered.proof_flip, r.tampered.score_bump
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
        Command::Aave { command: AaveCommand::Deploy { rpc, out, private_key_env } } => {
            aave_deploy(cli.root, &rpc, out, private_key_env).await
        }
    };
    if let Err(err) = result {
        eprintln!("Error: {err:?}");
        std::process::exit(1);
    }
}
