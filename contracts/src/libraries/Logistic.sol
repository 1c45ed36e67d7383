// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Errors} from "./Errors.sol";

/// @title Logistic
/// @notice The logistic link `p = 1 / (1 + e^(-z))`, applied on-chain to logits a proof made public.
/// @dev A circuit that proves only the logit needs no lookup table (the sigmoid's table is what sets a
///      logistic circuit's size), so the proof stays small and the monotone link runs here, on public
///      values. The Rust copy (`zkrisk_models::link`) does the same integer arithmetic; both are tested
///      against test/fixtures/logistic_vectors.json and agree bit for bit.
///
///      A logit is a BN254 scalar-field element: z for z >= 0, r - |z| for z < 0, with `bits`
///      fractional bits. With a = min(|z|, LOGIT_CAP) = m + f (integer part m, fraction f):
///      - E = e^a in 64-bit fixed point: with f = j/8 + g, e^g by its Taylor series to degree 11
///        (Horner form), times e^(j/8) and e^m from constants; every step rounds one way, giving a
///        lower or an upper bound;
///      - z < 0: p = 1 / (1 + E), E rounded down, p up;
///      - z >= 0: p = 1 - 1 / (1 + E), E rounded up, 1 / (1 + E) down.
///      The probability (PROB_BITS fractional bits) is never below the exact sigma(z) and at most one
///      unit (2^-32) above it: it favours the protocol. About 2.3k gas per logit.
library Logistic {
    /// @notice Fractional bits of the probabilities returned (2^32 = certainty).
    uint8 internal constant PROB_BITS = 32;
    /// @notice Logits beyond +-LOGIT_CAP are clamped to it.
    uint256 internal constant LOGIT_CAP = 40;
    /// @notice The largest logit scale accepted.
    uint8 internal constant MAX_LOGIT_BITS = 64;
    /// @notice Logits per instance of a `PackedLogits` circuit.
    uint256 internal constant PACK_SLOTS = 3;
    /// @notice The BN254 scalar field modulus: public instances are below it.
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    uint256 private constant ONE = 1 << 64;
    // floor(e^(j/8) * 2^64), j = 1..7, and floor(e^(2^i) * 2^64), i = 0..5; the ceilings are one more.
    uint256 private constant F1 = 20902899511243624348;
    uint256 private constant F2 = 23686088245777032822;
    uint256 private constant F3 = 26839854254906582563;
    uint256 private constant F4 = 30413539329486470295;
    uint256 private constant F5 = 34463055043494675914;
    uint256 private constant F6 = 39051757510492878761;
    uint256 private constant F7 = 44251438612555821956;
    uint256 private constant E1 = 50143449209799256682;
    uint256 private constant E2 = 136304026803256390412;
    uint256 private constant E4 = 1007158100559408451354;
    uint256 private constant E8 = 54988969081439155412736;
    uint256 private constant E16 = 163919806582506698591828152;
    uint256 private constant E32 = 1456609517792428406714055862390917;

    /// @notice The probability of a proven logit, rounded up, with PROB_BITS fractional bits.
    /// @dev Reverts with `NotAFieldElement` if `logit >= FIELD_MODULUS` and `OutputScaleTooLarge` if
    ///      `bits > MAX_LOGIT_BITS`.
    /// @param logit The proof's public instance (a field element).
    /// @param bits Fractional bits of the logit.
    function probabilityUp(uint256 logit, uint8 bits) internal pure returns (uint256 p) {
        if (logit >= FIELD_MODULUS) revert Errors.NotAFieldElement(logit);
        if (bits > MAX_LOGIT_BITS) revert Errors.OutputScaleTooLarge(bits);
        bool negative = logit > FIELD_MODULUS >> 1;
        return _probabilityUp(negative, negative ? FIELD_MODULUS - logit : logit, bits);
    }

    /// @notice The sum of the probabilities (as `probabilityUp`) of the three logits packed in one
    ///         instance of a `PackedLogits` circuit.
    /// @dev The instance is the signed integer sum_j q_j * 2^(50 j), j < 3, each q_j in [-2^49, 2^49)
    ///      (a logit with `bits` fractional bits), encoded in the field like any instance. Slots are
    ///      read from the lowest as signed remainders modulo 2^50, in 256-bit two's complement.
    ///      Reverts with `NotAFieldElement` if `instance >= FIELD_MODULUS` and `MalformedPackedLogits` if
    ///      anything is left above the three slots; `OutputScaleTooLarge` if `bits > MAX_LOGIT_BITS`.
    function packedProbabilitySumUp(uint256 instance, uint8 bits) internal pure returns (uint256 sum) {
        if (instance >= FIELD_MODULUS) revert Errors.NotAFieldElement(instance);
        if (bits > MAX_LOGIT_BITS) revert Errors.OutputScaleTooLarge(bits);
        // Two's complement of the signed value; |value| < r / 2 < 2^253.
        uint256 v = instance;
        if (instance > FIELD_MODULUS >> 1) {
            unchecked {
                v = 0 - (FIELD_MODULUS - instance);
            }
        }
        for (uint256 j; j < PACK_SLOTS; ++j) {
            uint256 lo;
            uint256 rest;
            bool negative;
            assembly ("memory-safe") {
                lo := and(v, sub(shl(50, 1), 1))
                negative := iszero(lt(lo, shl(49, 1)))
                // The signed remainder lo - 2^50 when negative (two's complement), then its removal.
                if negative { lo := sub(lo, shl(50, 1)) }
                rest := sar(50, sub(v, lo))
                // The magnitude of the slot's logit.
                if negative { lo := sub(0, lo) }
            }
            sum += _probabilityUp(negative, lo, bits);
            v = rest;
        }
        if (v != 0) revert Errors.MalformedPackedLogits(instance);
    }

    /// @dev The probability of the logit -magnitude (negative) or +magnitude, rounded up.
    function _probabilityUp(bool negative, uint256 magnitude, uint8 bits) private pure returns (uint256 p) {
        uint256 e = _exp(magnitude, bits, !negative);
        assembly ("memory-safe") {
            // scale * ONE = 2^96; 1 + E < 2^125: no overflow.
            let num := shl(96, 1)
            let d := add(shl(64, 1), e)
            switch negative
            // p = 1 / (1 + E), E rounded down, p up.
            case 1 { p := add(div(num, d), gt(mod(num, d), 0)) }
            // p = 1 - 1 / (1 + E), E rounded up, the quotient down.
            default { p := sub(shl(32, 1), div(num, d)) }
        }
    }

    /// @dev e^(magnitude / 2^bits), the exponent clamped to LOGIT_CAP, in 64-bit fixed point, rounded
    ///      down or up at every step. With a = m + j/8 + g (g < 1/8): e^g by its Taylor series to degree
    ///      11 (the tail is below 2^-64), times e^(j/8) and e^m from the constants. In assembly: no step
    ///      can overflow (the accumulator stays below e^41 * 2^64 < 2^124, every factor below 2^111),
    ///      and checked arithmetic cost several times the gas.
    function _exp(uint256 magnitude, uint8 bits, bool up) private pure returns (uint256 acc) {
        uint256 cap = LOGIT_CAP << bits;
        uint256 a = magnitude < cap ? magnitude : cap;
        assembly ("memory-safe") {
            // x * c / 2^64, rounded up when `roundUp` and inexact.
            function mulOne(x, c, roundUp) -> r {
                let num := mul(x, c)
                r := add(shr(64, num), and(roundUp, gt(and(num, 0xffffffffffffffff), 0)))
            }
            let one := shl(64, 1)
            let m := shr(bits, a)
            // The fraction in 64-bit fixed point (exact: bits <= 64), split into j/8 + g.
            let f := shl(sub(64, bits), sub(a, shl(bits, m)))
            let j := shr(61, f)
            let g := and(f, sub(shl(61, 1), 1))
            // Horner: 1 + g/1 (1 + g/2 (... (1 + g/11))), each quotient rounded down or up.
            acc := one
            switch up
            case 0 {
                for { let n := 11 } n { n := sub(n, 1) } { acc := add(one, div(mul(acc, g), shl(64, n))) }
            }
            default {
                for { let n := 11 } n { n := sub(n, 1) } {
                    let num := mul(acc, g)
                    let d := shl(64, n)
                    acc := add(add(one, div(num, d)), gt(mod(num, d), 0))
                }
                // The series' tail beyond degree 11 is below one unit.
                acc := add(acc, 1)
            }
            let c := 0
            switch j
            case 1 { c := F1 }
            case 2 { c := F2 }
            case 3 { c := F3 }
            case 4 { c := F4 }
            case 5 { c := F5 }
            case 6 { c := F6 }
            case 7 { c := F7 }
            // acc * (c + up) / ONE rounded, for e^(j/8) and each e^(2^i) in m.
            if c { acc := mulOne(acc, add(c, up), up) }
            if and(m, 1) { acc := mulOne(acc, add(E1, up), up) }
            if and(m, 2) { acc := mulOne(acc, add(E2, up), up) }
            if and(m, 4) { acc := mulOne(acc, add(E4, up), up) }
            if and(m, 8) { acc := mulOne(acc, add(E8, up), up) }
            if and(m, 16) { acc := mulOne(acc, add(E16, up), up) }
            if and(m, 32) { acc := mulOne(acc, add(E32, up), up) }
        }
    }
}
