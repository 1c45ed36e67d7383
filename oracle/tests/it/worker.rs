use std::{path::Path, time::Duration};

use zkrisk_oracle::{
    Error,
    prover::{Circuit, EzklWorker, Prover, WorkerConfig},
};

use crate::root;

/// A worker config whose "worker" is a small Python script, to isolate one fault.
fn fake(dir: &Path, body: &str) -> WorkerConfig {
    let script = dir.join("fake_worker.py");
    std::fs::write(&script, body).unwrap();
    let mut cfg = WorkerConfig::in_project(&root());
    cfg.python = which_python();
    cfg.script = script;
    cfg.ping_timeout = Duration::from_millis(1500);
    cfg
}

fn which_python() -> std::path::PathBuf {
    for p in ["/usr/bin/python3", "/usr/local/bin/python3"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    let out = std::process::Command::new("sh").args(["-c", "command -v python3"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().into()
}

#[tokio::test]
async fn missing_virtualenv_is_named() {
    let mut cfg = WorkerConfig::in_project(Path::new("/nonexistent-zkrisk"));
    cfg.ping_timeout = Duration::from_secs(1);
    let err = EzklWorker::start(cfg).await.unwrap_err();
    assert!(matches!(err, Error::WorkerMissing { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("/nonexistent-zkrisk/.venv/bin/python") && msg.contains("setup.sh"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_silent_worker_times_out_and_is_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fake(dir.path(), "import time\ntime.sleep(60)\n");
    let err = EzklWorker::start(cfg).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { ref method, .. } if method == "ping"), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_worker_that_exits_is_reported_dead() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fake(dir.path(), "import sys\nsys.exit(3)\n");
    let err = EzklWorker::start(cfg).await.unwrap_err();
    assert!(matches!(err, Error::WorkerDied { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn garbage_on_stdout_is_a_protocol_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fake(dir.path(), "import sys\nfor _ in sys.stdin:\n    print('hello', flush=True)\n");
    let err = EzklWorker::start(cfg).await.unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn the_real_worker_names_a_missing_artifact() {
    let cfg = WorkerConfig::in_project(&root());
    assert!(cfg.python.exists(), "run scripts/setup.sh first: {} is missing", cfg.python.display());
    let mut worker = EzklWorker::start(cfg).await.unwrap();
    assert_eq!(worker.version(), "23.0.5");
    let dir = tempfile::tempdir().unwrap();
    let circuit = Circuit {
        dir: dir.path().into(),
        srs: dir.path().join("kzg.srs"),
        srs_kind: "insecure-local".into(),
        verifier_sol: dir.path().join("Verifier.sol"),
        logrows: 15,
        input_scale: 11,
        output_scale: 11,
        pk_bytes: 0,
        kind: zkrisk_oracle::prover::CircuitKind::Calibrated,
    };
    let input = dir.path().join("input.json");
    std::fs::write(&input, r#"{"input_data": [[1.0]]}"#).unwrap();
    let err = worker.prove(&circuit, &input, &dir.path().join("proof.json")).await.unwrap_err();
    match &err {
        Error::Worker { method, kind, message } => {
            assert_eq!(method, "prove");
            assert_eq!(kind, "missing_file");
            assert!(message.contains("model.compiled"), "{message}");
        }
        other => panic!("expected a worker error, got {other:?}"),
    }
    // The worker is still serving after an error.
    let err = worker.verify(&circuit, &dir.path().join("nope.json")).await.unwrap_err();
    assert!(err.to_string().contains("nope.json"), "{err}");
    worker.shutdown().await;
}
