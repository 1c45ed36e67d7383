use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the prover boundary, the chain and the update path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Python interpreter of the prover worker's virtualenv does not exist.
    #[error("prover worker: no Python at {python} (run scripts/setup.sh to create the virtualenv)")]
    WorkerMissing {
        /// Where the interpreter was looked for.
        python: PathBuf,
    },
    /// The worker process could not be started.
    #[error("prover worker: cannot start {program}: {source}")]
    WorkerSpawn {
        /// The program.
        program: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The worker exited or closed its pipe while a request was in flight.
    #[error("prover worker died during `{method}` (its log: {log})")]
    WorkerDied {
        /// The request in flight.
        method: String,
        /// Where the worker's stderr went.
        log: String,
    },
    /// A request took longer than its timeout; the worker was killed.
    #[error("prover worker: `{method}` timed out after {seconds} s")]
    Timeout {
        /// The request.
        method: String,
        /// The timeout.
        seconds: u64,
    },
    /// The worker answered with an error.
    #[error("prover worker: `{method}` failed ({kind}): {message}")]
    Worker {
        /// The request.
        method: String,
        /// The worker's error class (`missing_file`, `ezkl`, `ezkl_missing`, `bad_request`).
        kind: String,
        /// The worker's message.
        message: String,
    },
    /// The worker sent something that is not a response of the protocol.
    #[error("prover worker protocol: {0}")]
    Protocol(String),
    /// Compiling Solidity failed.
    #[error("solc ({path}): {message}")]
    Solc {
        /// The source or compiler involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A build artifact (Foundry output, ezkl artifact) is missing or malformed.
    #[error("artifact {path}: {reason}")]
    Artifact {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The local node could not be started or stopped.
    #[error("anvil: {0}")]
    Anvil(String),
    /// A JSON-RPC or transport failure talking to the node.
    #[error("rpc: {0}")]
    Rpc(String),
    /// A JSON-RPC endpoint kept failing with transient errors (unreachable, timeouts, 5xx, rate
    /// limits) through every retry. `endpoint` is redacted (no path, query or credentials).
    #[error("rpc {endpoint}: {what} failed after {attempts} attempts; last error: {last}")]
    RpcUnavailable {
        /// Scheme, host and port of the endpoint.
        endpoint: String,
        /// The request.
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last error seen.
        last: String,
    },
    /// A command's input is wrong (an address that is not a Pool, a range past the head, an
    /// output directory that belongs to another run); the message names the input.
    #[error("{0}")]
    Input(String),
    /// A contract call reverted; `error` is the decoded custom error when known.
    #[error("contract reverted: {error}")]
    Reverted {
        /// The decoded custom error (e.g. `InvalidProof()`), or the raw revert data.
        error: String,
    },
    /// A transaction was mined but failed.
    #[error("transaction {tx} failed (status 0)")]
    TxFailed {
        /// Transaction hash.
        tx: String,
    },
    /// A step of deploying or configuring contracts failed; `step` names it (e.g. `deploying Pool`,
    /// `PoolConfigurator.initReserves`) and `reason` says why (the node's revert message included).
    #[error("{step}: {reason}")]
    Deploy {
        /// What was being done.
        step: String,
        /// Why it failed.
        reason: String,
    },
    /// A file exists but its content is not what it should be (e.g. a market JSON that does not
    /// parse).
    #[error("{path}: {reason}")]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No usable signing key: the named environment variable is unset or empty, or none was named
    /// on a chain other than anvil's (31337). The message names the variable, never the key.
    #[error("signing key: {0}")]
    Key(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The keeper's ledger or its artifacts are inconsistent (the message says what).
    #[error("keeper: {0}")]
    Keeper(String),
    /// `zkrisk bench prove` cannot measure a configuration: too few rows, or a proof that its own
    /// verifier rejects (the message names the configuration).
    #[error("bench prove: {0}")]
    Bench(String),
    /// The demo found something it cannot go on from (the message says what).
    #[error("{0}")]
    Demo(String),
    /// The Aave simulator cannot run or go on: a bad configuration, a market without one of its
    /// reserves, prices that do not cover the window, or a node that does not mine what it was sent
    /// (the message says which).
    #[error("simulator: {0}")]
    Sim(String),
    /// A model error.
    #[error(transparent)]
    Models(#[from] zkrisk_models::Error),
    /// A data pipeline error.
    #[error(transparent)]
    Pipeline(#[from] zkrisk_pipeline::Error),
    /// An evaluation error.
    #[error(transparent)]
    Backtest(#[from] zkrisk_backtest::Error),
}

impl Error {
    /// Whether trying the same operation again may succeed (transport hiccups, a worker that died
    /// or timed out and can be restarted). Reverts, bad artifacts and bad input are final.
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Rpc(_)
                | Self::RpcUnavailable { .. }
                | Self::Timeout { .. }
                | Self::WorkerDied { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
