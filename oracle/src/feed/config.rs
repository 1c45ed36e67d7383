//! `feed.toml`: the feed service's configuration, checked whole at start; every error names the
//! key. The feed needs no key of its own: it reads the chain, and (optionally) the keeper's ledger
//! and work directory for what only the keeper has (the inputs it published beside each proof).
//!
//! ```toml
//! [chain]
//! rpc_url_env = "ZKRISK_RPC_URL"     # or rpc_url = "http://127.0.0.1:8545" (no key in it)
//! chain_id = 31337
//! oracle = "0x…"                      # RiskOracle
//! from_block = 0                      # first block to index
//! confirmations = 2                   # an update is served once this many blocks deep
//!
//! [server]
//! listen = "127.0.0.1:8080"
//! poll_seconds = 2                    # how often the chain is read for new updates
//!
//! [keeper]                            # optional: the keeper whose updates these are
//! store = ".zkrisk/keeper.sqlite"
//! work_dir = ".zkrisk/keeper"
//!
//! [[model]]                           # optional, one per model id: what `/v1/models/{id}` adds
//! id = 1
//! card = "models/model_card.md"       # the model card `zkrisk train` writes
//! circuit = ".zkrisk/keeper/circuits/…"  # settings.json, vk.key, the SRS, model.compiled
//! ```

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use serde::Deserialize;

use crate::keeper::config::{ConfigError, Secret, nonzero_address, resolve_rpc_url};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    rpc_url: Option<String>,
    rpc_url_env: Option<String>,
    chain_id: u64,
    oracle: String,
    #[serde(default)]
    from_block: u64,
    #[serde(default = "default_confirmations")]
    confirmations: u64,
}

const fn default_confirmations() -> u64 {
    2
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default = "default_listen")]
    listen: String,
    #[serde(default = "default_poll")]
    poll_seconds: u64,
}

impl Default for RawServer {
    fn default() -> Self {
        Self { listen: default_listen(), poll_seconds: default_poll() }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
const fn default_poll() -> u64 {
    2
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeeper {
    store: PathBuf,
    work_dir: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    id: u32,
    card: Option<PathBuf>,
    circuit: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    chain: RawChain,
    #[serde(default)]
    server: RawServer,
    keeper: Option<RawKeeper>,
    #[serde(default, rename = "model")]
    models: Vec<RawModel>,
}

/// What the feed adds to a registered model: its card and the circuit's artifacts.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The model's id in the oracle's registry.
    pub id: u32,
    /// Its model card (Markdown).
    pub card: Option<PathBuf>,
    /// The directory of its circuit (ezkl's `settings.json`, `vk.key`, SRS, `model.compiled`).
    pub circuit: Option<PathBuf>,
}

/// The keeper whose ledger and work directory the feed reads.
#[derive(Debug, Clone)]
pub struct KeeperFiles {
    /// Its SQLite ledger.
    pub store: PathBuf,
    /// Its work directory (`runs/<feed>/<SYMBOL>/<epoch>/input.json`).
    pub work_dir: PathBuf,
}

/// A configuration that passed every check.
#[derive(Debug)]
pub struct FeedConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// RPC URL (may hold an API key: never logged).
    pub rpc_url: Secret,
    /// Expected chain id.
    pub chain_id: u64,
    /// `RiskOracle`.
    pub oracle: Address,
    /// First block indexed.
    pub from_block: u64,
    /// Depth at which an update is served.
    pub confirmations: u64,
    /// The HTTP address.
    pub listen: std::net::SocketAddr,
    /// Seconds between two reads of the chain.
    pub poll_seconds: u64,
    /// The keeper's files, if configured (relative paths resolved against the file's directory).
    pub keeper: Option<KeeperFiles>,
    /// Model cards and circuits, by model id.
    pub models: Vec<ModelFiles>,
}

/// Reads and checks a feed configuration; `env` looks up environment variables.
///
/// # Errors
/// [`ConfigError`] naming the file and the key.
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<FeedConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    let raw: RawConfig = toml::from_str(&text)
        .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
    let bad = |key: &str, reason: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        reason,
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let rel = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };

    let c = &raw.chain;
    let rpc_url = resolve_rpc_url(c.rpc_url.as_ref(), c.rpc_url_env.as_ref(), env, &bad)?;
    let oracle = nonzero_address("chain.oracle", &c.oracle, &bad)?;
    let listen = raw.server.listen.parse().map_err(|e| {
        bad("server.listen", format!("`{}` is not host:port ({e})", raw.server.listen))
    })?;
    if raw.server.poll_seconds == 0 {
        return Err(bad("server.poll_seconds", "must be at least 1".into()));
    }
    let keeper =
        raw.keeper.map(|k| KeeperFiles { store: rel(&k.store), work_dir: rel(&k.work_dir) });
    if let Some(k) = &keeper
        && !k.store.is_file()
    {
        return Err(bad("keeper.store", format!("{} does not exist", k.store.display())));
    }
    let mut models: Vec<ModelFiles> = Vec::with_capacity(raw.models.len());
    for (i, m) in raw.models.iter().enumerate() {
        if models.iter().any(|o| o.id == m.id) {
            return Err(bad(&format!("model[{i}].id"), format!("model {} is listed twice", m.id)));
        }
        let card = m.card.as_deref().map(rel);
        if let Some(p) = &card
            && !p.is_file()
        {
            return Err(bad(
                &format!("model[{i}].card"),
                format!("{} does not exist", p.display()),
            ));
        }
        let circuit = m.circuit.as_deref().map(rel);
        if let Some(d) = &circuit {
            for f in ["settings.json", "vk.key"] {
                if !d.join(f).is_file() {
                    return Err(bad(
                        &format!("model[{i}].circuit"),
                        format!("{} has no {f} (not an ezkl circuit directory)", d.display()),
                    ));
                }
            }
        }
        models.push(ModelFiles { id: m.id, card, circuit });
    }
    Ok(FeedConfig {
        path: path.to_path_buf(),
        rpc_url: Secret::new(rpc_url),
        chain_id: c.chain_id,
        oracle,
        from_block: c.from_block,
        confirmations: c.confirmations,
        listen,
        poll_seconds: raw.server.poll_seconds,
        keeper,
        models,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("feed.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    const GOOD: &str = r#"
[chain]
rpc_url_env = "RPC"
chain_id = 31337
oracle = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
"#;

    #[test]
    fn a_minimal_file_loads_with_defaults_and_hides_the_url() {
        let tmp = tempfile::tempdir().unwrap();
        let env = |v: &str| (v == "RPC").then(|| "http://node/key123".to_string());
        let c = load(&write(tmp.path(), GOOD), &env).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!((c.poll_seconds, c.confirmations, c.from_block), (2, 2, 0));
        assert!(c.keeper.is_none() && c.models.is_empty());
        assert!(!format!("{c:?}").contains("key123"));
    }

    #[test]
    fn each_bad_value_names_its_key() {
        let tmp = tempfile::tempdir().unwrap();
        let env = |_: &str| Some("http://node".to_string());
        for (text, key) in [
            (GOOD.replace("0x5FbDB2315678afecb367f032d93F642f64180aa3", "0x12"), "`chain.oracle`"),
            (format!("{GOOD}\n[server]\nlisten = \"nowhere\"\n"), "`server.listen`"),
            (format!("{GOOD}\n[server]\npoll_seconds = 0\n"), "`server.poll_seconds`"),
            (
                format!("{GOOD}\n[keeper]\nstore = \"no.sqlite\"\nwork_dir = \".\"\n"),
                "`keeper.store`",
            ),
            (format!("{GOOD}\n[[model]]\nid = 1\ncard = \"none.md\"\n"), "`model[0].card`"),
            (format!("{GOOD}\n[[model]]\nid = 1\ncircuit = \".\"\n"), "`model[0].circuit`"),
            (format!("{GOOD}\n[[model]]\nid = 1\n[[model]]\nid = 1\n"), "`model[1].id`"),
            (format!("{GOOD}\nport = 1\n"), "unknown field `port`"),
        ] {
            let err = load(&write(tmp.path(), &text), &env).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
        let unset = |_: &str| None;
        let err = load(&write(tmp.path(), GOOD), &unset).unwrap_err().to_string();
        assert!(err.contains("`chain.rpc_url_env`") && err.contains("RPC is not set"), "{err}");
    }
}
