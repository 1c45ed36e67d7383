//! `zkrisk keeper --config keeper.toml`: the service; `zkrisk keeper check|status`: checking a
//! configuration and reading the epoch ledger.

use std::path::PathBuf;

use zkrisk_oracle::keeper::{
    config,
    ledger::{Ledger, LedgerConfig},
    service::{self, RunOptions},
    store::EpochState,
};

/// `zkrisk keeper`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct KeeperArgs {
    #[command(subcommand)]
    command: Option<KeeperCommand>,
    /// Runs the service with this configuration until SIGINT or SIGTERM.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Does everything for one epoch per market now (ingest, features, proof, signing and the
    /// node's simulation of the submission) except sending it; leaves the ledger alone; exits.
    #[arg(long, requires = "config")]
    dry_run: bool,
}

/// `zkrisk keeper` subcommands.
#[derive(clap::Subcommand)]
pub(crate) enum KeeperCommand {
    /// Checks a keeper.toml whole (keys, addresses, schedules, secrets present) and exits.
    Check {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Prints what the ledger says about every feed's epochs.
    Status {
        /// The configuration file (its `[store]` ledger is read: SQLite or PostgreSQL).
        #[arg(long, conflicts_with = "store", required_unless_present = "store")]
        config: Option<PathBuf>,
        /// An SQLite ledger itself, without a configuration.
        #[arg(long)]
        store: Option<PathBuf>,
        /// One JSON object per epoch (JSON lines).
        #[arg(long)]
        json: bool,
    },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub(crate) async fn run(root: PathBuf, args: KeeperArgs) -> eyre::Result<()> {
    let command = match (args.command, args.config) {
        (Some(c), _) => c,
        (None, Some(path)) => {
            let cfg = config::load(&path, &env)?;
            service::run(
                cfg,
                RunOptions { root, dry_run: args.dry_run },
                crate::shutdown_signal("finishing the step in progress"),
            )
            .await?;
            return Ok(());
        }
        (None, None) => eyre::bail!(
            "pass --config keeper.toml to run the keeper, or a subcommand (check, status)"
        ),
    };
    match command {
        KeeperCommand::Check { config } => {
            let c = config::load(&config, &env)?;
            println!(
                "{}: ok — chain {}, oracle {}, {} feed(s): {}; ledger {}",
                config.display(),
                c.chain_id,
                c.oracle,
                c.feeds.len(),
                c.feeds.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", "),
                c.store.describe()
            );
            Ok(())
        }
        KeeperCommand::Status { config, store, json } => {
            let ledger = match (config, store) {
                (Some(c), _) => config::load(&c, &env)?.store,
                (None, Some(s)) => LedgerConfig::Sqlite(s),
                (None, None) => eyre::bail!("pass --config or --store"),
            };
            if let LedgerConfig::Sqlite(path) = &ledger
                && !path.is_file()
            {
                eyre::bail!(
                    "{}: no keeper ledger here (the keeper creates it on start)",
                    path.display()
                );
            }
            let store = Ledger::open(&ledger).await?;
            let epochs = store.epochs(None).await?;
            if json {
                for e in &epochs {
                    println!("{}", serde_json::to_string(e)?);
                }
                return Ok(());
            }
            println!("ledger {}: {} epoch(s)", store.describe(), epochs.len());
            let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
            // Expiry is the ledger's clock (PostgreSQL: the server's); this host's clock only
            // tells which side of it we are.
            for l in store.leases().await? {
                let at = chrono::DateTime::from_timestamp(i64::try_from(l.expires_at)?, 0)
                    .map_or_else(|| l.expires_at.to_string(), |t| t.to_rfc3339());
                if l.expires_at > now {
                    println!("  lease {}: held by {} until {at}", l.key, l.holder);
                } else {
                    println!("  lease {}: ran out at {at} (last held by {})", l.key, l.holder);
                }
            }
            let mut feeds: Vec<&str> = epochs.iter().map(|e| e.feed.as_str()).collect();
            feeds.dedup();
            for feed in feeds {
                let of: Vec<_> = epochs.iter().filter(|e| e.feed == feed).collect();
                let count = |s: EpochState| of.iter().filter(|e| e.state == s).count();
                let last =
                    of.iter().filter(|e| e.state == EpochState::Confirmed).map(|e| e.epoch).max();
                println!(
                    "  {feed}: {} confirmed, {} skipped, {} in flight; last confirmed epoch {}",
                    count(EpochState::Confirmed),
                    count(EpochState::Skipped),
                    of.iter().filter(|e| !e.state.is_final()).count(),
                    last.map_or_else(|| "none".into(), |e| e.to_string())
                );
                for e in of.iter().filter(|e| !e.state.is_final() || e.state == EpochState::Skipped)
                {
                    println!(
                        "    epoch {:>6}  {:<9}  data block {:>10}  attempts {}  {}",
                        e.epoch,
                        e.state.as_str(),
                        e.data_block,
                        e.attempts,
                        e.reason.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(())
        }
    }
}
