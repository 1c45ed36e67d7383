//! `zkrisk`: the command line of the zkrisk risk engine. Every behaviour lives in the libraries;
//! this binary parses arguments, sets up logging and prints results.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use eyre::WrapErr;
use zkrisk_oracle::demo::{self, DemoConfig, DemoReport};

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

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    let result = match cli.command {
        Command::Demo { json } => demo(cli.root, json).await,
    };
    if let Err(err) = result {
        eprintln!("Error: {err:?}");
        std::process::exit(1);
    }
}
