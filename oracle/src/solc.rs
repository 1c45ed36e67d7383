//! Compiles generated Solidity (the ezkl verifier) with the project's offline `solc`.
//!
//! `scripts/solc` answers like native solc and runs solc-js; any native solc works too.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use serde_json::{Value, json};

use crate::{Error, Result};

/// A compiled contract.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// Creation bytecode.
    pub creation: Vec<u8>,
    /// Runtime bytecode size in bytes (mainnet's limit is 24,576).
    pub runtime_size: usize,
    /// Runtime bytecode (what `eth_getCode` returns once deployed).
    pub runtime: Vec<u8>,
}

/// Compiles `contract` from one self-contained Solidity file, with the optimizer on (the ezkl
/// verifier does not compile without it).
pub fn compile(solc: &Path, source: &Path, contract: &str) -> Result<Compiled> {
    let code = std::fs::read_to_string(source).map_err(Error::io(source))?;
    let name = source.file_name().and_then(|n| n.to_str()).unwrap_or("Source.sol").to_string();
    let input = json!({
        "language": "Solidity",
        "sources": { &name: { "content": code } },
        "settings": {
            "optimizer": { "enabled": true, "runs": 1 },
            "evmVersion": "shanghai",
            "outputSelection": { "*": { "*": ["evm.bytecode.object", "evm.deployedBytecode.object"] } }
        }
    });
    let err = |message: String| Error::Solc { path: PathBuf::from(source), message };
    let mut child = Command::new(solc)
        .arg("--standard-json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Solc { path: solc.into(), message: format!("cannot run: {e}") })?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.to_string().as_bytes())
        .map_err(|e| err(format!("writing to solc: {e}")))?;
    let out = child.wait_with_output().map_err(|e| err(format!("waiting for solc: {e}")))?;
    if !out.status.success() {
        return Err(err(format!(
            "solc exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let v: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| err(format!("solc output: {e}")))?;
    let errors: Vec<String> = v["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["severity"] == "error")
        .map(|e| e["formattedMessage"].as_str().unwrap_or("?").to_string())
        .collect();
    if !errors.is_empty() {
        return Err(err(errors.join("\n")));
    }
    let c = &v["contracts"][&name][contract];
    let hex_of = |key: &str| -> Result<Vec<u8>> {
        let s = c["evm"][key]["object"]
            .as_str()
            .ok_or_else(|| err(format!("no contract `{contract}` in the output")))?;
        hex::decode(s).map_err(|e| err(format!("bytecode: {e}")))
    };
    let runtime = hex_of("deployedBytecode")?;
    Ok(Compiled { creation: hex_of("bytecode")?, runtime_size: runtime.len(), runtime })
}
