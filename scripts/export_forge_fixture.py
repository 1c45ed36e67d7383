#!/usr/bin/env python3
"""Turn one model's ezkl artifacts into the fixture the Foundry tests read.

Usage:
    scripts/export_forge_fixture.py [--logits | --packed | --priced=SHIFT] ARTIFACTS_DIR OUT_DIR

ARTIFACTS_DIR must hold what ezkl wrote for one model:
    proof.json     `hex_proof` (the bytes the EVM verifier takes) and `instances`
                   (field elements as 64-hex-digit little-endian strings)
    settings.json  `model_output_scales` (the outputs are round(p * 2^scale))
    Verifier.sol   the generated `Halo2Verifier` contract

OUT_DIR receives:
    Halo2Verifier.sol   the verifier, byte for byte, under a header naming its source
    epoch_proof.json    {"proof": "0x...", "scores": ["<decimal uint256>", ...],
                         "outputScaleBits": N, "batchSize": N}

The scores are the proof's public instances in order, as decimal strings (a uint256 may not fit
a JSON number), so `RiskOracle.submit` can pass them to the verifier unchanged.

With --logits the circuit is a logit circuit (the oracle's `Logits` layout): the instances are
logits as field elements, not probabilities, and OUT_DIR receives Halo2VerifierLogits.sol (the
contract renamed `Halo2VerifierLogits`, so both fixtures compile side by side) and
epoch_proof_logits.json (with "layout": "Logits").

With --packed the circuit packs three logits to an instance (`PackedLogits`): OUT_DIR receives
Halo2VerifierPacked.sol and epoch_proof_packed.json, whose outputScaleBits are the logits' (the
output scale less the weights' scale) and whose batchSize is three per instance. Only the
standard library is used: this runs without the ezkl virtualenv.

With --priced=SHIFT the circuit is the price-bound epoch circuit (`PriceThenLogits`) whose price
input is the aggregator's answer shifted right by SHIFT bits (`prover::PriceInput`, the model's
`priceShiftBits`): its first output is the collateral price it computed its features at and the
second the logits. OUT_DIR receives Halo2VerifierPriced.sol and epoch_proof_priced.json, whose
"price" is instance 0 (decimal), "priceShiftBits" SHIFT, and "scores" the logits after the price,
at the second output's scale.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

# BN254 scalar field modulus: every public instance of an ezkl (Halo2/KZG) proof is below it.
BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617


class FixtureError(Exception):
    """The artifacts cannot be turned into a fixture; the message says why."""


def field_from_le_hex(value: str) -> int:
    """Decode one ezkl instance: 32 bytes as 64 hex digits, least significant byte first."""
    text = value[2:] if value.startswith(("0x", "0X")) else value
    if len(text) != 64:
        raise FixtureError(f"instance {value!r} is not 32 bytes of hex")
    try:
        raw = bytes.fromhex(text)
    except ValueError as err:
        raise FixtureError(f"instance {value!r} is not hex: {err}") from err
    number = int.from_bytes(raw, "little")
    if number >= BN254_R:
        raise FixtureError(f"instance {value!r} is not a BN254 field element")
    return number


def load_json(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as err:
        raise FixtureError(f"missing artifact: {path}") from err
    except json.JSONDecodeError as err:
        raise FixtureError(f"{path} is not JSON: {err}") from err


def build_fixture(
    proof: dict,
    settings: dict,
    logits: bool = False,
    packed: bool = False,
    price_shift: int | None = None,
) -> dict:
    """The epoch_proof.json document for one proof and its settings."""
    hex_proof = proof.get("hex_proof")
    if not isinstance(hex_proof, str) or not hex_proof.startswith("0x") or len(hex_proof) < 4:
        raise FixtureError("proof.json has no 0x-prefixed `hex_proof`")
    try:
        bytes.fromhex(hex_proof[2:])
    except ValueError as err:
        raise FixtureError(f"`hex_proof` is not hex: {err}") from err

    instances = proof.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], list):
        raise FixtureError("expected `instances` to hold exactly one column (the model's output)")
    scores = [field_from_le_hex(v) for v in instances[0]]
    if not scores:
        raise FixtureError("the proof has no public instances")
    price = None
    priced = price_shift is not None
    if priced:
        if len(scores) < 2:
            raise FixtureError("a priced proof needs its price and at least one logit")
        price, scores = scores[0], scores[1:]

    scales = settings.get("model_output_scales")
    outputs = 2 if priced else 1
    if (
        not isinstance(scales, list)
        or len(scales) != outputs
        or not all(isinstance(v, int) for v in scales)
    ):
        raise FixtureError(f"expected exactly {outputs} integers in settings `model_output_scales`")
    scale_bits = scales[-1]
    if packed:
        # The outputs are Σ q_j 2^(50 j): the logits keep input + param scale.
        scale_bits -= int(settings["run_args"]["param_scale"])
    if not 0 <= scale_bits <= 64:
        raise FixtureError(f"output scale {scale_bits} is outside 0..=64")

    one = 1 << scale_bits
    for index, score in enumerate(scores):
        if logits:
            if score >= BN254_R:
                raise FixtureError(f"instance {index} = {score} is not a field element")
        elif score > one:
            raise FixtureError(
                f"score {index} = {score} exceeds 2^{scale_bits}: the outputs must be probabilities"
            )

    fixture = {
        "proof": hex_proof.lower(),
        "scores": [str(s) for s in scores],
        "outputScaleBits": scale_bits,
        "batchSize": len(scores) * (3 if packed else 1),
    }
    if logits:
        fixture["layout"] = "PackedLogits" if packed else "PriceThenLogits" if priced else "Logits"
    if priced:
        if price % (1 << price_shift):
            raise FixtureError(f"the price instance {price} has some of its low {price_shift} bits set")
        fixture["price"] = str(price)
        fixture["priceShiftBits"] = price_shift
    return fixture


def header(artifacts: Path, source: bytes, settings: dict, renamed: bool = False) -> str:
    version = settings.get("version", "unknown")
    digest = hashlib.sha256(source).hexdigest()
    change = "these header lines and the contract's name" if renamed else "these header lines"
    return (
        "// Generated by ezkl {version}. Copied by scripts/export_forge_fixture.py from\n"
        "// {path}; apart from {change} the file is unchanged\n"
        "// (sha256 of the original: {digest}).\n"
        "// Do not edit: re-run the script instead.\n"
    ).format(version=version, path=artifacts / "Verifier.sol", change=change, digest=digest)


def with_header(source: bytes, text: str) -> bytes:
    """Insert the header after the SPDX line (which stays first), or at the top."""
    lines = source.decode("utf-8").splitlines(keepends=True)
    if lines and lines[0].startswith("// SPDX-License-Identifier"):
        return (lines[0] + text + "".join(lines[1:])).encode("utf-8")
    return (text + "".join(lines)).encode("utf-8")


def main(argv: list[str]) -> int:
    packed = "--packed" in argv[1:]
    shifts = [a.removeprefix("--priced=") for a in argv[1:] if a.startswith("--priced=")]
    if len(shifts) > 1 or (shifts and not shifts[0].isdigit()):
        print("error: --priced=SHIFT takes one number of bits", file=sys.stderr)
        return 2
    price_shift = int(shifts[0]) if shifts else None
    priced = price_shift is not None
    if packed and priced:
        print("error: --packed and --priced exclude each other", file=sys.stderr)
        return 2
    logits = packed or priced or "--logits" in argv[1:]
    argv = [a for a in argv if a not in ("--logits", "--packed") and not a.startswith("--priced=")]
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    artifacts, out_dir = Path(argv[1]), Path(argv[2])
    suffix = "Packed" if packed else "Priced" if priced else "Logits" if logits else ""
    contract = "Halo2Verifier" + suffix
    proof_name = "epoch_proof_" + suffix.lower() + ".json" if suffix else "epoch_proof.json"
    try:
        proof = load_json(artifacts / "proof.json")
        settings = load_json(artifacts / "settings.json")
        verifier_path = artifacts / "Verifier.sol"
        try:
            source = verifier_path.read_bytes()
        except FileNotFoundError as err:
            raise FixtureError(f"missing artifact: {verifier_path}") from err
        if b"contract Halo2Verifier" not in source:
            raise FixtureError(f"{verifier_path} does not define `contract Halo2Verifier`")
        fixture = build_fixture(proof, settings, logits, packed, price_shift)
        original = source
        if suffix:
            source = source.replace(b"contract Halo2Verifier ", f"contract {contract} ".encode(), 1)
    except FixtureError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{contract}.sol").write_bytes(
        with_header(source, header(artifacts, original, settings, renamed=logits))
    )
    with (out_dir / proof_name).open("w", encoding="utf-8") as handle:
        json.dump(fixture, handle, indent=2)
        handle.write("\n")
    print(
        f"wrote {out_dir / (contract + '.sol')} and {out_dir / proof_name} "
        f"({fixture['batchSize']} scores at scale 2^{fixture['outputScaleBits']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
