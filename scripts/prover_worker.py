#!/usr/bin/env python3
"""zkrisk prover worker: a thin adapter between zkrisk (Rust) and ezkl.

Protocol: one JSON request per line on stdin, one JSON response per line on stdout.
  request:  {"id": 1, "method": "setup", "params": {...}}
  response: {"id": 1, "ok": true, "result": {...}}
            {"id": 1, "ok": false, "error": {"kind": "...", "message": "..."}}
Methods: ping, setup, prove, verify, check_inputs, evm_verifier, reusable. Every path is given by the caller; the worker decides
nothing (which model, batch, retries and timeouts stay in Rust). ezkl's own log lines go to stderr.
"""
import asyncio
import inspect
import json
import os
import sys
import time
import traceback

PROTOCOL_VERSION = 1

# Stdout carries the protocol; anything ezkl prints must go to stderr.
_protocol_out = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

try:
    import ezkl  # noqa: E402
except ImportError as e:  # reported on the first request, so the caller gets a clear error
    ezkl = None
    _import_error = str(e)


class WorkerError(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def run(value):
    """ezkl returns plain values from some calls and awaitables from others; some of its calls
    also need a running event loop. Run everything inside one."""

    async def inner():
        v = value() if callable(value) else value
        if inspect.isawaitable(v):
            v = await v
        return v

    return asyncio.run(inner())


def need(params, key):
    if key not in params:
        raise WorkerError("bad_request", f"missing parameter '{key}'")
    return params[key]


def must_exist(path, what):
    if not os.path.exists(path):
        raise WorkerError("missing_file", f"{what} not found: {path}")
    return path


def le_hex_to_int(h):
    """ezkl writes field elements as little-endian hex."""
    return int.from_bytes(bytes.fromhex(h), "little")


def ping(_params):
    if ezkl is None:
        raise WorkerError("ezkl_missing", f"cannot import ezkl: {_import_error}")
    return {"protocol": PROTOCOL_VERSION, "ezkl": getattr(ezkl, "__version__", "unknown")}


def setup(params):
    """Settings, calibration, compilation, SRS, keys and the Solidity verifier for one model."""
    ping(params)
    model = must_exist(need(params, "model"), "ONNX model")
    calibration = must_exist(need(params, "calibration_data"), "calibration data")
    out = need(params, "dir")
    srs = params.get("srs")  # path of a ceremony SRS; None = make an INSECURE local one
    # Fixed run arguments (no calibration), or None to let ezkl calibrate scales and lookups.
    fixed = params.get("run_args")
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)  # noqa: E731
    timings = {}

    t = time.perf_counter()
    def run_args(logrows=None):
        args = ezkl.PyRunArgs()
        # KZG-committed inputs put a commitment to the features in the proof; private ones do not.
        committed = fixed is not None and bool(fixed.get("committed_inputs"))
        args.input_visibility = "polycommit" if committed else "private"
        args.output_visibility = "public"
        args.param_visibility = "fixed"
        if fixed is not None:
            args.input_scale = int(need(fixed, "input_scale"))
            args.param_scale = int(need(fixed, "param_scale"))
            args.num_inner_cols = int(need(fixed, "num_inner_cols"))
            # No rescaling after the product: the output keeps input + param scale, so no
            # division (and no range-check table) enters the circuit.
            args.scale_rebase_multiplier = int(need(fixed, "scale_rebase_multiplier"))
            args.ignore_range_check_inputs_outputs = bool(need(fixed, "ignore_range_check_io"))
            args.logrows = int(logrows or need(fixed, "min_logrows"))
        return args

    if not run(lambda: ezkl.gen_settings(model, p("settings.json"), py_run_args=run_args())):
        raise WorkerError("ezkl", "gen_settings failed")
    if fixed is None:
        if not run(lambda: ezkl.calibrate_settings(calibration, model, p("settings.json"), "resources")):
            raise WorkerError("ezkl", "calibrate_settings failed")
    else:
        # The smallest logrows that holds the circuit's rows and halo2's blinding rows.
        rows = json.load(open(p("settings.json")))["num_rows"]
        logrows = max(int(fixed["min_logrows"]), (rows + 16).bit_length())
        if logrows != int(fixed["min_logrows"]):
            if not run(lambda: ezkl.gen_settings(model, p("settings.json"), py_run_args=run_args(logrows))):
                raise WorkerError("ezkl", "gen_settings failed")
        if json.load(open(p("settings.json")))["required_lookups"]:
            raise WorkerError("ezkl", "the fixed run arguments left a lookup in the circuit")
    if not run(lambda: ezkl.compile_circuit(model, p("model.compiled"), p("settings.json"))):
        raise WorkerError("ezkl", "compile_circuit failed")
    settings = json.load(open(p("settings.json")))
    logrows = settings["run_args"]["logrows"]
    timings["settings_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    if srs is None:
        srs = p("kzg.insecure.srs")
        run(lambda: ezkl.gen_srs(srs, logrows))  # returns None; check the file instead
        must_exist(srs, "generated SRS")
        srs_kind = "insecure-local"
    else:
        must_exist(srs, "SRS file")
        srs_kind = "file"
    timings["srs_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    if not run(lambda: ezkl.setup(p("model.compiled"), p("vk.key"), p("pk.key"), srs_path=srs)):
        raise WorkerError("ezkl", "setup failed")
    timings["setup_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    ok = run(lambda: ezkl.create_evm_verifier(
        p("vk.key"), p("settings.json"), p("Verifier.sol"), p("Verifier.abi.json"), srs_path=srs))
    if not ok:
        raise WorkerError("ezkl", "create_evm_verifier failed")
    timings["verifier_seconds"] = time.perf_counter() - t

    return {
        "settings": p("settings.json"),
        "compiled": p("model.compiled"),
        "vk": p("vk.key"),
        "pk": p("pk.key"),
        "srs": srs,
        "srs_kind": srs_kind,
        "verifier_sol": p("Verifier.sol"),
        "logrows": logrows,
        "input_scale": settings["run_args"]["input_scale"],
        "output_scale": settings["model_output_scales"][0],
        "pk_bytes": os.path.getsize(p("pk.key")),
        "timings": timings,
    }


def prove(params):
    ping(params)
    d = need(params, "dir")
    srs = need(params, "srs")
    data = must_exist(need(params, "input"), "input data")
    proof_path = need(params, "proof")
    witness = proof_path + ".witness.json"
    compiled = must_exist(os.path.join(d, "model.compiled"), "compiled circuit")
    pk = must_exist(os.path.join(d, "pk.key"), "proving key")

    t = time.perf_counter()
    if not run(lambda: ezkl.gen_witness(data, compiled, witness)):
        raise WorkerError("ezkl", "gen_witness failed")
    witness_seconds = time.perf_counter() - t
    t = time.perf_counter()
    run(lambda: ezkl.prove(witness, compiled, pk, proof_path, srs_path=srs))
    prove_seconds = time.perf_counter() - t
    proof = json.load(open(must_exist(proof_path, "proof")))
    instances = [str(le_hex_to_int(h)) for h in proof["instances"][0]]
    return {
        "proof_path": proof_path,
        "proof_hex": proof["hex_proof"],
        "instances": instances,
        "witness_seconds": witness_seconds,
        "prove_seconds": prove_seconds,
    }


def verify(params):
    ping(params)
    d = need(params, "dir")
    proof = must_exist(need(params, "proof"), "proof")
    settings = must_exist(os.path.join(d, "settings.json"), "circuit settings")
    vk = must_exist(os.path.join(d, "vk.key"), "verifying key")
    srs = must_exist(need(params, "srs"), "SRS")
    t = time.perf_counter()
    try:
        ok = run(lambda: ezkl.verify(proof, settings, vk, srs_path=srs))
    except Exception as e:  # ezkl raises on a proof that does not verify
        return {"valid": False, "reason": str(e), "verify_seconds": time.perf_counter() - t}
    return {"valid": bool(ok), "verify_seconds": time.perf_counter() - t}


def check_inputs(params):
    """Whether published inputs are the ones a proof committed to (circuits with KZG-committed
    inputs): the witness of the inputs, with their commitment computed from the verifying key, has
    its commitment swapped into a copy of the proof, and the copy must still verify. Also returns
    the witness's outputs, every output of the graph in order (a price-bound circuit's price,
    then its logits), which must be the proof's public instances."""
    ping(params)
    d = need(params, "dir")
    srs = must_exist(need(params, "srs"), "SRS")
    proof = must_exist(need(params, "proof"), "proof")
    data = must_exist(need(params, "input"), "input data")
    compiled = must_exist(os.path.join(d, "model.compiled"), "compiled circuit")
    settings = must_exist(os.path.join(d, "settings.json"), "circuit settings")
    vk = must_exist(os.path.join(d, "vk.key"), "verifying key")
    witness = proof + ".inputs.witness.json"
    swapped = proof + ".inputs.proof.json"
    try:
        run(lambda: ezkl.gen_witness(data, compiled, witness, vk_path=vk, srs_path=srs))
    except Exception as e:  # inputs of the wrong shape or range
        return {"committed": False, "reason": f"the inputs do not fit the circuit: {e}", "outputs": []}
    w = json.load(open(witness))
    outputs = [str(le_hex_to_int(h)) for output in w["outputs"] for h in output]
    commitments = (w.get("processed_inputs") or {}).get("polycommit")
    if not commitments:
        return {"committed": False, "reason": "the circuit does not commit to its inputs", "outputs": outputs}
    with open(proof) as src, open(swapped, "w") as dst:
        dst.write(src.read())
    run(lambda: ezkl.swap_proof_commitments(swapped, witness))
    try:
        ok = bool(run(lambda: ezkl.verify(swapped, settings, vk, srs_path=srs)))
        reason = None if ok else "the proof does not verify with these inputs' commitment"
    except Exception as e:
        ok, reason = False, f"the proof does not verify with these inputs' commitment ({e})"
    return {"committed": ok, "reason": reason, "outputs": outputs}


def evm_verifier(params):
    """The Solidity verifier of a circuit's verifying key, written to `out` (what `setup` writes as
    Verifier.sol): compiled, it must be the code of the verifier a registry names for the circuit."""
    ping(params)
    d = need(params, "dir")
    srs = must_exist(need(params, "srs"), "SRS")
    out = need(params, "out")
    settings = must_exist(os.path.join(d, "settings.json"), "circuit settings")
    vk = must_exist(os.path.join(d, "vk.key"), "verifying key")
    abi = out + ".abi.json"
    if not run(lambda: ezkl.create_evm_verifier(vk, settings, out, abi, srs_path=srs)):
        raise WorkerError("ezkl", "create_evm_verifier failed")
    return {"verifier_sol": out}


def reusable(params):
    """ezkl's reusable verifier for a set-up circuit: the shared contract, this circuit's verifying
    key artifact (VKA) as 32-byte words for `registerVka`, and the `verifyProof` calldata of one
    proof against it."""
    ping(params)
    d = need(params, "dir")
    srs = must_exist(need(params, "srs"), "SRS")
    proof = must_exist(need(params, "proof"), "proof")
    settings = must_exist(os.path.join(d, "settings.json"), "circuit settings")
    vk = must_exist(os.path.join(d, "vk.key"), "verifying key")
    sol, abi, vka = (os.path.join(d, n) for n in ("VerifierReusable.sol", "VerifierReusable.abi.json", "vka.bin"))
    if not run(lambda: ezkl.create_evm_verifier(vk, settings, sol, abi, srs_path=srs, reusable=True)):
        raise WorkerError("ezkl", "create_evm_verifier (reusable) failed")
    if not run(lambda: ezkl.create_evm_vka(vk, settings, vka, srs_path=srs)):
        raise WorkerError("ezkl", "create_evm_vka failed")
    raw = open(vka, "rb").read()
    # The artifact is a length-prefixed (u64, little-endian) list of 32-byte words.
    count = int.from_bytes(raw[:8], "little")
    words = raw[8:]
    if len(words) != 32 * count:
        raise WorkerError("ezkl", f"unexpected VKA layout: {len(raw)} bytes for {count} words")
    calldata = run(lambda: ezkl.encode_evm_calldata(proof, os.path.join(d, "reusable.calldata"), vka_path=vka))
    return {
        "verifier_sol": sol,
        "vka_words": ["0x" + words[i:i + 32].hex() for i in range(0, len(words), 32)],
        "calldata_hex": "0x" + bytes(calldata).hex(),
    }


METHODS = {"ping": ping, "setup": setup, "prove": prove, "verify": verify, "check_inputs": check_inputs, "evm_verifier": evm_verifier, "reusable": reusable}


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            method = METHODS.get(req.get("method"))
            if method is None:
                raise WorkerError("bad_request", f"unknown method {req.get('method')!r}")
            resp = {"id": rid, "ok": True, "result": method(req.get("params") or {})}
        except WorkerError as e:
            resp = {"id": rid, "ok": False, "error": {"kind": e.kind, "message": str(e)}}
        except json.JSONDecodeError as e:
            resp = {"id": rid, "ok": False, "error": {"kind": "bad_request", "message": str(e)}}
        except Exception as e:  # an ezkl failure: keep serving, report it
            traceback.print_exc(file=sys.stderr)
            resp = {"id": rid, "ok": False, "error": {"kind": "ezkl", "message": str(e)}}
        _protocol_out.write(json.dumps(resp) + "\n")
        _protocol_out.flush()


if __name__ == "__main__":
    main()
