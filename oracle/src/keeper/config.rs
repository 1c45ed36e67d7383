//! `keeper.toml`: the keeper's configuration, read once at start and checked whole before
//! anything runs. Every error names the key (`feed[1].schedule`, `chain.oracle`, …) and what is
//! wrong with it. Secrets (RPC URLs with keys, keystore passwords, private keys) are never in the
//! file itself: the file names an environment variable or a file that holds them, and
//! [`Secret`] never prints its value.
//!
//! ```toml
//! [chain]
//! rpc_url_env = "ZKRISK_RPC_URL"      # or rpc_url = "http://127.0.0.1:8545" (no key in it)
//! chain_id = 31337
//! oracle = "0x…"                       # RiskOracle
//! pool = "0x…"                         # the Aave v3 Pool whose data the feeds score
//! confirmations = 2
//! max_fee_gwei = 150.0                 # EIP-1559 fee cap; replacements never exceed it
//!
//! [signer]
//! keystore = "keeper.json"             # an encrypted JSON keystore (alloy's local signer)
//! password_file = "keeper.password"    # or password_env = "ZKRISK_KEYSTORE_PASSWORD"
//! # or: private_key_env = "ZKRISK_KEEPER_KEY"
//!
//! [store]
//! path = ".zkrisk/keeper.sqlite"      # backend = "sqlite", the default: keepers on this host
//! # or, for keepers on several hosts sharing one schedule:
//! # backend = "postgres"
//! # url_env = "ZKRISK_LEDGER_URL"     # postgres://user:password@host:5432/dbname
//!
//! [keeper]
//! work_dir = ".zkrisk/keeper"          # ingested data, circuits, proofs (this host's own)
//! poll_seconds = 5                     # how often epochs in flight are driven
//! lease_seconds = 120                  # leadership among keepers sharing the ledger
//! ingest_from_block = 0                # first block of the Pool's history
//!
//! [observability]
//! listen = "127.0.0.1:9464"            # /metrics, /healthz, /readyz
//!
//! [[feed]]
//! name = "weth-7d"
//! model = "models/liquidation_7d_logistic.json"   # as `zkrisk train` writes it
//! calibration = "models/calibration_7d.json"      # rows that set the circuit's scales (`zkrisk train`)
//! model_id = 1                         # its id in RiskOracle's registry
//! batch = 64                           # scores per proof (the registered circuit's batch)
//! markets = ["WETH"]
//! schedule = "0 0 * * * *"             # sec min hour day month weekday (UTC)
//! max_data_age_seconds = 3600
//! ```

use std::{
    collections::HashSet,
    fmt,
    path::{Path, PathBuf},
};

use alloy::primitives::Address;
use serde::Deserialize;

use super::ledger::LedgerConfig;

/// A secret value: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub const fn new(value: String) -> Self {
        Self(value)
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What is wrong with a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key, or a value of the wrong type (the TOML
    /// parser's message names the key and the line).
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A key has a value the keeper cannot use.
    #[error("{}: `{key}`: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `feed[0].schedule`.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// `[chain]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// RPC URL without secrets in it (use `rpc_url_env` for a URL that carries an API key).
    pub rpc_url: Option<String>,
    /// Environment variable holding the RPC URL.
    pub rpc_url_env: Option<String>,
    /// Chain id the keeper must find at the RPC (a guard against the wrong network).
    pub chain_id: u64,
    /// The `RiskOracle` address.
    pub oracle: String,
    /// The Aave v3 Pool the feeds read.
    pub pool: String,
    /// Blocks after which a submission counts as confirmed.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
    /// EIP-1559 `maxFeePerGas` cap, gwei.
    #[serde(default = "default_max_fee")]
    pub max_fee_gwei: f64,
    /// Seconds before an unmined transaction is replaced with bumped fees.
    #[serde(default = "default_replace_after")]
    pub replace_after_seconds: u64,
}

const fn default_confirmations() -> u64 {
    2
}
const fn default_max_fee() -> f64 {
    150.0
}
const fn default_replace_after() -> u64 {
    60
}

/// `[signer]`: exactly one of a keystore (with a password file or env var) or a private key in
/// an environment variable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// Encrypted JSON keystore.
    pub keystore: Option<PathBuf>,
    /// File holding the keystore's password.
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the keystore's password.
    pub password_env: Option<String>,
    /// Environment variable holding a hex private key.
    pub private_key_env: Option<String>,
}

/// `[store]`: the epoch ledger.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Where the ledger lives.
    #[serde(default)]
    pub backend: Backend,
    /// SQLite ledger of epochs (`sqlite` only).
    pub path: Option<PathBuf>,
    /// Environment variable holding the PostgreSQL connection URL (`postgres` only; the URL may
    /// hold a password, so it is never in the file).
    pub url_env: Option<String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { backend: Backend::Sqlite, path: None, url_env: None }
    }
}

/// `[store] backend`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// An SQLite file: keepers on one host.
    #[default]
    Sqlite,
    /// A PostgreSQL database: keepers on several hosts.
    Postgres,
}

fn default_store() -> PathBuf {
    PathBuf::from(".zkrisk/keeper.sqlite")
}

/// `[observability]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservabilityConfig {
    /// Address of the metrics and health endpoints.
    #[serde(default = "default_listen")]
    pub listen: String,
}

impl Default for ObservabilityConfig {
    fn default() -> Self {
        Self { listen: default_listen() }
    }
}

fn default_listen() -> String {
    "127.0.0.1:9464".into()
}

/// `[keeper]`: the service's own settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Ingested data, circuits and proofs (the ledger keeps what another keeper needs).
    #[serde(default = "default_work_dir")]
    pub work_dir: PathBuf,
    /// Seconds between two passes over the epochs in flight.
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
    /// Seconds a keeper's leadership lasts without renewal.
    #[serde(default = "default_lease")]
    pub lease_seconds: u64,
    /// First block of the Pool's history to ingest.
    #[serde(default)]
    pub ingest_from_block: u64,
    /// Name of this keeper in leases and logs (default: the host name). The process id and a
    /// random suffix are appended, so two processes never share a lease holder's name.
    pub id: Option<String>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            work_dir: default_work_dir(),
            poll_seconds: default_poll(),
            lease_seconds: default_lease(),
            ingest_from_block: 0,
            id: None,
        }
    }
}

fn default_work_dir() -> PathBuf {
    PathBuf::from(".zkrisk/keeper")
}
const fn default_poll() -> u64 {
    5
}
const fn default_lease() -> u64 {
    120
}
const fn default_batch() -> usize {
    64
}

/// Which hardware the prover runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProverBackend {
    /// ezkl on the CPU (the `ezkl` wheel in `.venv`).
    #[default]
    Cpu,
    /// ezkl's ICICLE GPU path (`ENABLE_ICICLE_GPU=true` for the worker): needs an interpreter whose
    /// ezkl was built with GPU support (`prover.python`) and a CUDA device.
    Gpu,
}

/// `[prover]`: the ezkl worker.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProverConfig {
    /// Python interpreter whose environment holds ezkl (default: the project's
    /// `.venv/bin/python`); relative paths are relative to the configuration file.
    pub python: Option<PathBuf>,
    /// `cpu` (default) or `gpu`.
    pub backend: ProverBackend,
}

/// One `[[feed]]`: a model scoring some markets on a schedule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Unique name (used in the ledger, logs and metrics).
    pub name: String,
    /// The trained logistic model, JSON (as `zkrisk train` writes it).
    pub model: PathBuf,
    /// ezkl input JSON of representative feature rows (the training extremes `zkrisk train` writes
    /// as `calibration_<horizon>.json`): the circuit's fixed-point scales and lookup ranges come
    /// from it, so live inputs outside its range may fail to prove.
    pub calibration: PathBuf,
    /// The model's id in `RiskOracle`'s registry.
    pub model_id: u32,
    /// Scores per proof: the batch of the circuit whose verifier is registered.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Prove three logits to a public instance (the oracle's `PackedLogits` layout): for batches
    /// that are a multiple of 3, where a third of the instances keeps verification cheap (255
    /// scores: about 421k gas, 1.7k per score; docs/proving.md).
    #[serde(default)]
    pub packed: bool,
    /// Reserves scored (symbols of the market, e.g. `WETH`).
    pub markets: Vec<String>,
    /// Cron expression with seconds (`sec min hour day month weekday`, UTC).
    pub schedule: String,
    /// Oldest data an update may carry; an epoch not on chain within it is skipped.
    pub max_data_age_seconds: u64,
}

/// The whole file, as parsed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[chain]`.
    pub chain: ChainConfig,
    /// `[signer]`.
    pub signer: SignerConfig,
    /// `[store]`.
    #[serde(default)]
    pub store: StoreConfig,
    /// `[observability]`.
    #[serde(default)]
    pub observability: ObservabilityConfig,
    /// `[keeper]`.
    #[serde(default)]
    pub keeper: ServiceConfig,
    /// `[prover]`.
    #[serde(default)]
    pub prover: ProverConfig,
    /// `[[feed]]` tables.
    #[serde(default, rename = "feed")]
    pub feeds: Vec<FeedConfig>,
}

/// Where the signing key comes from, resolved.
#[derive(Debug)]
pub enum KeySource {
    /// A keystore and its password.
    Keystore {
        /// The keystore file (exists).
        path: PathBuf,
        /// Its password.
        password: Secret,
    },
    /// A raw private key.
    PrivateKey(Secret),
}

/// A configuration that passed every check: the only kind the keeper runs with.
#[derive(Debug)]
pub struct KeeperConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// RPC URL (may hold an API key).
    pub rpc_url: Secret,
    /// Expected chain id.
    pub chain_id: u64,
    /// `RiskOracle`.
    pub oracle: Address,
    /// The Aave v3 Pool.
    pub pool: Address,
    /// Confirmations.
    pub confirmations: u64,
    /// Fee cap, wei.
    pub max_fee_wei: u128,
    /// Replacement delay, seconds.
    pub replace_after_seconds: u64,
    /// Signing key source.
    pub key: KeySource,
    /// The ledger: an SQLite file (relative paths are relative to the configuration file) or a
    /// PostgreSQL URL.
    pub store: LedgerConfig,
    /// Metrics and health address.
    pub listen: std::net::SocketAddr,
    /// `[keeper]`, with `work_dir` resolved like `store`.
    pub service: ServiceConfig,
    /// `[prover]`, with `python` resolved like `store` (and checked to exist).
    pub prover: ProverConfig,
    /// Feeds.
    pub feeds: Vec<FeedConfig>,
}

/// Reads and checks a configuration file; `env` looks up environment variables (tests pass a
/// map, the binary passes `std::env::var`).
pub fn load(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<KeeperConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    let raw: RawConfig = toml::from_str(&text)
        .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
    check(path, raw, env)
}

/// The RPC URL of `[chain]`: `rpc_url`, or the content of the variable `rpc_url_env` names (exactly
/// one of them), an http:// or https:// URL.
pub(crate) fn resolve_rpc_url(
    rpc_url: Option<&String>,
    rpc_url_env: Option<&String>,
    env: &dyn Fn(&str) -> Option<String>,
    bad: &dyn Fn(&str, String) -> ConfigError,
) -> Result<String, ConfigError> {
    let url = match (rpc_url, rpc_url_env) {
        (Some(url), None) => url.clone(),
        (None, Some(var)) => env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
            bad("chain.rpc_url_env", format!("environment variable {var} is not set"))
        })?,
        _ => {
            return Err(bad(
                "chain.rpc_url",
                "set exactly one of `rpc_url` and `rpc_url_env`".into(),
            ));
        }
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(bad("chain.rpc_url", "must be an http:// or https:// URL".into()));
    }
    Ok(url)
}

/// The address at `key`, which must parse and not be zero.
pub(crate) fn nonzero_address(
    key: &str,
    text: &str,
    bad: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Address, ConfigError> {
    let a: Address =
        text.parse().map_err(|e| bad(key, format!("`{text}` is not an address ({e})")))?;
    if a == Address::ZERO {
        return Err(bad(key, "the zero address".into()));
    }
    Ok(a)
}

fn check(
    path: &Path,
    raw: RawConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<KeeperConfig, ConfigError> {
    let bad = |key: &str, reason: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        reason,
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let rel = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    let from_env = |key: &str, var: &str| {
        env(var)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(key, format!("environment variable {var} is not set")))
    };

    let c = &raw.chain;
    let rpc_url = resolve_rpc_url(c.rpc_url.as_ref(), c.rpc_url_env.as_ref(), env, &bad)?;
    let oracle = nonzero_address("chain.oracle", &c.oracle, &bad)?;
    let pool = nonzero_address("chain.pool", &c.pool, &bad)?;
    if !(c.max_fee_gwei.is_finite() && c.max_fee_gwei > 0.0) {
        return Err(bad(
            "chain.max_fee_gwei",
            format!("{} is not a positive number", c.max_fee_gwei),
        ));
    }
    if c.replace_after_seconds == 0 {
        return Err(bad("chain.replace_after_seconds", "must be at least 1".into()));
    }

    let s = &raw.signer;
    let key = match (&s.keystore, &s.private_key_env) {
        (Some(keystore), None) => {
            let keystore = rel(keystore);
            if !keystore.is_file() {
                return Err(bad(
                    "signer.keystore",
                    format!("{} does not exist", keystore.display()),
                ));
            }
            let password = match (&s.password_file, &s.password_env) {
                (Some(file), None) => {
                    let file = rel(file);
                    std::fs::read_to_string(&file)
                        .map(|p| p.trim_end_matches(['\n', '\r']).to_string())
                        .map_err(|e| {
                            bad("signer.password_file", format!("{}: {e}", file.display()))
                        })?
                }
                (None, Some(var)) => from_env("signer.password_env", var)?,
                _ => {
                    return Err(bad(
                        "signer.password_file",
                        "a keystore needs exactly one of `password_file` and `password_env`".into(),
                    ));
                }
            };
            KeySource::Keystore { path: keystore, password: Secret(password) }
        }
        (None, Some(var)) => {
            if s.password_file.is_some() || s.password_env.is_some() {
                return Err(bad("signer.password_file", "only used with `keystore`".into()));
            }
            KeySource::PrivateKey(Secret(from_env("signer.private_key_env", var)?))
        }
        _ => {
            return Err(bad(
                "signer",
                "set exactly one of `keystore` and `private_key_env`".into(),
            ));
        }
    };

    let listen = raw.observability.listen.parse().map_err(|e| {
        bad(
            "observability.listen",
            format!("`{}` is not host:port ({e})", raw.observability.listen),
        )
    })?;

    if raw.feeds.is_empty() {
        return Err(bad("feed", "no [[feed]] configured".into()));
    }
    let mut names = HashSet::new();
    for (k, f) in raw.feeds.iter().enumerate() {
        let key = |field: &str| format!("feed[{k}].{field}");
        if f.name.is_empty()
            || !f.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            return Err(bad(
                &key("name"),
                format!("`{}`: use letters, digits, `-` and `_`", f.name),
            ));
        }
        if !names.insert(f.name.as_str()) {
            return Err(bad(&key("name"), format!("`{}` is used by another feed", f.name)));
        }
        if f.markets.is_empty() {
            return Err(bad(&key("markets"), "no market".into()));
        }
        if !rel(&f.model).is_file() {
            return Err(bad(&key("model"), format!("{} does not exist", rel(&f.model).display())));
        }
        if !rel(&f.calibration).is_file() {
            return Err(bad(
                &key("calibration"),
                format!("{} does not exist", rel(&f.calibration).display()),
            ));
        }
        if f.model_id == 0 {
            return Err(bad(&key("model_id"), "must be at least 1".into()));
        }
        if f.batch == 0 || f.batch > usize::from(u16::MAX) {
            return Err(bad(&key("batch"), format!("{} is not in 1..=65535", f.batch)));
        }
        if f.packed && !f.batch.is_multiple_of(3) {
            return Err(bad(
                &key("packed"),
                format!("a packed circuit needs a batch that is a multiple of 3, not {}", f.batch),
            ));
        }
        if f.max_data_age_seconds == 0 {
            return Err(bad(&key("max_data_age_seconds"), "must be at least 1".into()));
        }
        tokio_cron_scheduler::Job::new_async(f.schedule.as_str(), |_, _| Box::pin(async {}))
            .map_err(|e| {
                bad(&key("schedule"), format!(
                "`{}` is not a cron expression ({e:?}); expected six fields, `sec min hour day month weekday`, e.g. `0 0 * * * *` for hourly",
                f.schedule
            ))
            })?;
    }

    let k = &raw.keeper;
    if k.poll_seconds == 0 {
        return Err(bad("keeper.poll_seconds", "must be at least 1".into()));
    }
    if k.lease_seconds < 2 * k.poll_seconds {
        return Err(bad(
            "keeper.lease_seconds",
            format!("{} must be at least twice poll_seconds ({})", k.lease_seconds, k.poll_seconds),
        ));
    }
    let service = ServiceConfig { work_dir: rel(&k.work_dir), ..k.clone() };
    let st = &raw.store;
    let store = match (st.backend, &st.path, &st.url_env) {
        (Backend::Sqlite, path, None) => {
            LedgerConfig::Sqlite(rel(path.as_deref().unwrap_or(&default_store())))
        }
        (Backend::Sqlite, _, Some(_)) => {
            return Err(bad("store.url_env", "only used with backend = \"postgres\"".into()));
        }
        (Backend::Postgres, Some(_), _) => {
            return Err(bad("store.path", "only used with backend = \"sqlite\"".into()));
        }
        (Backend::Postgres, None, None) => {
            return Err(bad(
                "store.url_env",
                "backend = \"postgres\" needs the variable that holds the connection URL".into(),
            ));
        }
        (Backend::Postgres, None, Some(var)) => {
            let url = Secret(from_env("store.url_env", var)?);
            // The parser's message never repeats the URL (it may hold a password).
            super::pg::describe_url(&url).map_err(|e| {
                bad("store.url_env", format!("{var} does not hold a PostgreSQL URL: {e}"))
            })?;
            LedgerConfig::Postgres(url)
        }
    };
    let python = raw.prover.python.as_deref().map(rel);
    if let Some(p) = &python
        && !p.is_file()
    {
        return Err(bad("prover.python", format!("{} does not exist", p.display())));
    }
    let prover = ProverConfig { python, backend: raw.prover.backend };
    let feeds = raw
        .feeds
        .into_iter()
        .map(|f| FeedConfig { model: rel(&f.model), calibration: rel(&f.calibration), ..f })
        .collect();

    Ok(KeeperConfig {
        path: path.to_path_buf(),
        rpc_url: Secret(rpc_url),
        chain_id: c.chain_id,
        oracle,
        pool,
        confirmations: c.confirmations,
        max_fee_wei: (c.max_fee_gwei * 1e9) as u128,
        replace_after_seconds: c.replace_after_seconds,
        key,
        store,
        listen,
        service,
        prover,
        feeds,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const GOOD: &str = r#"
[chain]
rpc_url_env = "RPC"
chain_id = 31337
oracle = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
pool = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"

[signer]
private_key_env = "KEY"

[[feed]]
name = "weth-7d"
model = "model.json"
calibration = "model.json"
model_id = 1
markets = ["WETH"]
schedule = "0 0 * * * *"
max_data_age_seconds = 3600
"#;

    fn load_str(text: &str, env: &[(&str, &str)]) -> Result<KeeperConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keeper.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::write(dir.path().join("model.json"), "{}").unwrap();
        let env: HashMap<String, String> =
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        load(&path, &|k| env.get(k).cloned())
    }

    const ENV: &[(&str, &str)] =
        &[("RPC", "https://node.example/v2/SECRETKEY"), ("KEY", "0xSECRETHEX")];

    #[test]
    fn a_good_file_loads_and_never_prints_its_secrets() {
        let c = load_str(GOOD, ENV).unwrap();
        assert_eq!(c.chain_id, 31337);
        assert_eq!(c.confirmations, 2);
        assert_eq!(c.feeds[0].name, "weth-7d");
        assert_eq!(c.rpc_url.expose(), "https://node.example/v2/SECRETKEY");
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn every_mistake_names_its_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "oracle = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"",
                "oracle = \"0x12\"",
                "chain.oracle",
            ),
            ("schedule = \"0 0 * * * *\"", "schedule = \"every hour\"", "feed[0].schedule"),
            (
                "max_data_age_seconds = 3600",
                "max_data_age_seconds = 0",
                "feed[0].max_data_age_seconds",
            ),
            ("markets = [\"WETH\"]", "markets = []", "feed[0].markets"),
            ("rpc_url_env = \"RPC\"", "rpc_url_env = \"NOPE\"", "chain.rpc_url_env"),
            ("private_key_env = \"KEY\"", "keystore = \"missing.json\"", "signer.keystore"),
            ("private_key_env = \"KEY\"", "", "signer"),
            ("chain_id = 31337", "chain_id = 31337\ncolour = \"blue\"", "colour"),
            ("chain_id = 31337", "chain_id = \"mainnet\"", "chain_id"),
            ("model = \"model.json\"", "model = \"nope.json\"", "feed[0].model"),
            ("model_id = 1", "model_id = 0", "feed[0].model_id"),
            ("calibration = \"model.json\"", "calibration = \"c.json\"", "feed[0].calibration"),
            ("model_id = 1", "model_id = 1\nbatch = 0", "feed[0].batch"),
            ("model_id = 1", "model_id = 1\nbatch = 64\npacked = true", "feed[0].packed"),
            (
                "pool = \"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\"",
                "pool = \"pool\"",
                "chain.pool",
            ),
            ("[[feed]]", "[keeper]\npoll_seconds = 0\n\n[[feed]]", "keeper.poll_seconds"),
            ("[[feed]]", "[prover]\npython = \"no/python\"\n\n[[feed]]", "prover.python"),
            ("[[feed]]", "[prover]\nbackend = \"tpu\"\n\n[[feed]]", "backend"),
        ];
        for (from, to, key) in cases {
            let text = GOOD.replacen(from, to, 1);
            let err = load_str(&text, ENV).expect_err(key).to_string();
            assert!(err.contains(key) && err.contains("keeper.toml"), "{key}: {err}");
            assert!(!err.contains("SECRET"), "{err}");
        }
    }

    #[test]
    fn a_postgres_ledger_comes_from_an_env_var_and_never_prints_its_password() {
        let pg = "[store]\nbackend = \"postgres\"\nurl_env = \"LEDGER\"\n\n[[feed]]";
        let text = GOOD.replacen("[[feed]]", pg, 1);
        let url = "postgres://keeper:SECRETPW@db.internal:6432/risk";
        let env = [ENV[0], ENV[1], ("LEDGER", url)];
        let c = load_str(&text, &env).unwrap();
        assert!(matches!(&c.store, LedgerConfig::Postgres(u) if u.expose() == url));
        assert_eq!(c.store.describe(), "postgres://keeper@db.internal:6432/risk");
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        type Env<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(&str, Env<'_>, &str)] = &[
            (pg, ENV, "environment variable LEDGER is not set"),
            (
                pg,
                &[ENV[0], ENV[1], ("LEDGER", "postgres://k:SECRETPW@db:port/x")],
                "does not hold a PostgreSQL URL",
            ),
            ("[store]\nbackend = \"postgres\"\n\n[[feed]]", &env, "needs the variable"),
            (
                "[store]\nbackend = \"postgres\"\npath = \"k.sqlite\"\n\n[[feed]]",
                &env,
                "store.path",
            ),
            (
                "[store]\nurl_env = \"LEDGER\"\n\n[[feed]]",
                &env,
                "only used with backend = \"postgres\"",
            ),
            ("[store]\nbackend = \"mysql\"\n\n[[feed]]", &env, "unknown variant `mysql`"),
        ];
        for (store, env, want) in cases {
            let err = load_str(&GOOD.replacen("[[feed]]", store, 1), env).unwrap_err().to_string();
            assert!(err.contains(want) && err.contains("keeper.toml"), "{want}: {err}");
            assert!(!err.contains("SECRET"), "{err}");
        }
    }

    #[test]
    fn the_prover_backend_is_configuration() {
        assert_eq!(load_str(GOOD, ENV).unwrap().prover.backend, ProverBackend::Cpu);
        let text = GOOD.replacen("[[feed]]", "[prover]\nbackend = \"gpu\"\n\n[[feed]]", 1);
        let c = load_str(&text, ENV).unwrap();
        assert_eq!(c.prover.backend, ProverBackend::Gpu);
        assert_eq!(c.prover.python, None);
    }

    #[test]
    fn two_feeds_may_not_share_a_name() {
        let text = format!("{GOOD}\n{}", &GOOD[GOOD.find("[[feed]]").unwrap()..]);
        let err = load_str(&text, ENV).unwrap_err().to_string();
        assert!(err.contains("feed[1].name") && err.contains("another feed"), "{err}");
    }

    #[test]
    fn a_keystore_password_comes_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k.json"), "{}").unwrap();
        std::fs::write(dir.path().join("pw"), "hunter2\n").unwrap();
        std::fs::write(dir.path().join("model.json"), "{}").unwrap();
        let text = GOOD.replacen(
            "private_key_env = \"KEY\"",
            "keystore = \"k.json\"\npassword_file = \"pw\"",
            1,
        );
        let path = dir.path().join("keeper.toml");
        std::fs::write(&path, text).unwrap();
        let c = load(&path, &|k| (k == "RPC").then(|| "http://127.0.0.1:8545".into())).unwrap();
        match c.key {
            KeySource::Keystore { path, password } => {
                assert_eq!(path, dir.path().join("k.json"));
                assert_eq!(password.expose(), "hunter2");
            }
            KeySource::PrivateKey(_) => panic!("expected a keystore"),
        }
        assert!(
            matches!(&c.store, LedgerConfig::Sqlite(p) if *p == dir.path().join(".zkrisk/keeper.sqlite")),
            "{:?}",
            c.store
        );
        assert_eq!(c.service.work_dir, dir.path().join(".zkrisk/keeper"));
        assert_eq!(c.feeds[0].model, dir.path().join("model.json"));
        assert_eq!(c.feeds[0].calibration, dir.path().join("model.json"));
    }
}
