//! The logistic link, applied outside the circuit: from a proven logit to a probability.
//!
//! A circuit that proves only the logit `z = w·x + b` needs no lookup table (the sigmoid's table
//! is what sets a logistic circuit's size), so the expensive part of the model stays in the proof
//! and the monotone link `p = 1 / (1 + e^(−z))` runs where its inputs are public: on-chain in
//! `contracts/src/libraries/Logistic.sol`, and here. Both copies do the same integer arithmetic
//! and are tested against the same vectors (`contracts/test/fixtures/logistic_vectors.json`), so
//! they agree bit for bit.
//!
//! # The arithmetic
//! A logit arrives as a BN254 scalar-field element (the proof's public instance): `z` for
//! `z ≥ 0`, `r − |z|` for `z < 0`, in fixed point with `bits` fractional bits. With
//! `a = min(|z|, 40)` split into its integer part `m` and fraction `f ∈ [0, 1)`:
//!
//! - `E = e^a` in 64-bit fixed point: with `f = j/8 + g`, `e^g` (Taylor series to degree 11,
//!   Horner form) times `e^(j/8)` and `e^m` (products of `e^(2^i)`, `i < 6`), all from 64-bit
//!   constants; every step rounds in one direction, so the result is a lower or an upper bound;
//! - for `z < 0`, `p = 1 / (1 + E)`, with `E` rounded down and `p` up;
//! - for `z ≥ 0`, `p = 1 − 1 / (1 + E)`, with `E` rounded up and `1 / (1 + E)` down;
//! - `p` has [`PROB_BITS`] fractional bits.
//!
//! So the probability is never below the true `σ(z)` rounded up to 2^−32 (it favours the
//! protocol, like every rounding in the parameter rule), and it is at most one unit above it.
//! Beyond `|z| = 40` the probability is flat: 1 unit (2^−32) below, `2^32` (certainty) above.
//!
//! ```
//! use zkrisk_models::link::{PROB_BITS, probability_up, to_field};
//!
//! // A logit of 0 is a probability of one half.
//! let half = probability_up(to_field(0), 16).unwrap();
//! assert_eq!(half, (1 << (PROB_BITS - 1)) + 1); // ½, rounded up by one unit
//! // A very negative logit still rounds up to one unit.
//! assert_eq!(probability_up(to_field(-100 << 16), 16).unwrap(), 1);
//! ```

use ruint::aliases::U256;

use crate::{Error, Result};

/// Fractional bits of the probabilities the link returns (`2^32` means certainty).
pub const PROB_BITS: u8 = 32;
/// The largest |logit| the link distinguishes; larger ones are clamped to it.
pub const LOGIT_CAP: u64 = 40;
/// The largest logit scale the link takes (fractional bits of the proof's logits).
pub const MAX_LOGIT_BITS: u8 = 64;
/// Highest degree of the Taylor series of `e^g`, `g ∈ [0, 1/8)`: the tail beyond it is below
/// `1.02 · 8^−12 / 12! < 2^−64`, less than the one unit added when rounding up.
const TAYLOR_DEGREE: u64 = 11;

/// The BN254 scalar field's modulus `r`: public instances are elements of `[0, r)`.
pub const FIELD_MODULUS: U256 = U256::from_limbs([
    0x43e1_f593_f000_0001,
    0x2833_e848_79b9_7091,
    0xb850_45b6_8181_585d,
    0x3064_4e72_e131_a029,
]);

const ONE: U256 = U256::from_limbs([0, 1, 0, 0]);

/// `⌊e^(2^i) · 2^64⌋` for `i = 0..6` (computed to 120 significant digits); the ceiling is one
/// more, since none of them is an integer. `Logistic.sol` holds the same six numbers.
const EXP_POW2_DOWN: [U256; 6] = [
    U256::from_limbs([0xb7e1_5162_8aed_2a6a, 0x2, 0, 0]),
    U256::from_limbs([0x6399_2e35_376b_730c, 0x7, 0, 0]),
    U256::from_limbs([0x9920_5c4e_74b0_cf1a, 0x36, 0, 0]),
    U256::from_limbs([0xf53e_a386_36f8_5f00, 0xba4, 0, 0]),
    U256::from_limbs([0x8540_0102_4911_f8b8, 0x87_975e, 0, 0]),
    U256::from_limbs([0xb1f6_11e2_1006_1085, 0x47d0_ff31_2d98, 0, 0]),
];

/// `⌊e^(j/8) · 2^64⌋` for `j = 0..8` (index 0 unused: `e^0` needs no factor); ceilings are one more.
const EXP_EIGHTHS_DOWN: [U256; 8] = [
    ONE,
    U256::from_limbs([0x2216_045b_6f5c_cf9c, 0x1, 0, 0]),
    U256::from_limbs([0x48b5_e3c3_e818_6676, 0x1, 0, 0]),
    U256::from_limbs([0x747a_513d_bef6_a623, 0x1, 0, 0]),
    U256::from_limbs([0xa612_98e1_e069_bc97, 0x1, 0, 0]),
    U256::from_limbs([0xde45_5df8_0e3c_05ca, 0x1, 0, 0]),
    U256::from_limbs([0x1df3_b68c_fb9e_f7a9, 0x2, 0, 0]),
    U256::from_limbs([0x661c_b0f6_c564_f384, 0x2, 0, 0]),
];

/// A logit `z` (an integer already in fixed point) as the field element a proof carries.
pub fn to_field(z: i128) -> U256 {
    let magnitude = U256::from(z.unsigned_abs());
    if z < 0 { FIELD_MODULUS - magnitude } else { magnitude }
}

/// A field element as a signed logit: `(negative, |z|)`. Elements above `(r − 1) / 2` are negative.
///
/// # Errors
/// [`Error::InvalidParam`] for a value that is not a field element (`x ≥ r`).
pub fn from_field(x: U256) -> Result<(bool, U256)> {
    if x >= FIELD_MODULUS {
        return Err(Error::InvalidParam {
            name: "logit",
            reason: format!("{x} is not a BN254 field element"),
        });
    }
    let half = FIELD_MODULUS >> 1;
    Ok(if x > half { (true, FIELD_MODULUS - x) } else { (false, x) })
}

fn div_round(n: U256, d: U256, up: bool) -> U256 {
    let q = n / d;
    if up && q * d != n { q + U256::from(1) } else { q }
}

/// `e^a` in 64-bit fixed point for `a = magnitude / 2^bits` clamped to [`LOGIT_CAP`], rounded down
/// (`up = false`) or up at every step: a lower or an upper bound of the exact value.
fn exp_bound(magnitude: U256, bits: u8, up: bool) -> U256 {
    let cap = U256::from(LOGIT_CAP) << bits as usize;
    let a = magnitude.min(cap);
    let m = (a >> bits as usize).to::<u64>();
    let frac = a - (U256::from(m) << bits as usize);
    // The fraction in 64-bit fixed point (exact, since bits ≤ 64), split into j/8 + g.
    let f = frac << (64 - bits as usize);
    let j: usize = (f >> 61_usize).to();
    let g = f & ((U256::from(1) << 61) - U256::from(1));
    // Horner: 1 + g/1·(1 + g/2·(… (1 + g/11))).
    let mut acc = ONE;
    for n in (1..=TAYLOR_DEGREE).rev() {
        acc = ONE + div_round(acc * g, U256::from(n) << 64, up);
    }
    if up {
        // The series' tail beyond degree 11 is below one unit.
        acc += U256::from(1);
    }
    if j > 0 {
        let c = EXP_EIGHTHS_DOWN[j] + if up { U256::from(1) } else { U256::ZERO };
        acc = div_round(acc * c, ONE, up);
    }
    for (i, c) in EXP_POW2_DOWN.iter().enumerate() {
        if m >> i & 1 == 1 {
            let c = *c + if up { U256::from(1) } else { U256::ZERO };
            acc = div_round(acc * c, ONE, up);
        }
    }
    acc
}

/// The probability of a proven logit, `σ(z)` with [`PROB_BITS`] fractional bits, rounded up.
///
/// `logit` is the proof's public instance (a field element), `bits` its fractional bits.
///
/// # Errors
/// [`Error::InvalidParam`] when `logit` is not a field element or `bits` exceeds
/// [`MAX_LOGIT_BITS`].
pub fn probability_up(logit: U256, bits: u8) -> Result<u64> {
    if bits > MAX_LOGIT_BITS {
        return Err(Error::InvalidParam {
            name: "bits",
            reason: format!("{bits} > {MAX_LOGIT_BITS}"),
        });
    }
    let (negative, magnitude) = from_field(logit)?;
    let scale = U256::from(1u64) << PROB_BITS as usize;
    let p = if negative {
        // p = 1 / (1 + E), E rounded down: p rounded up.
        let e = exp_bound(magnitude, bits, false);
        div_round(scale * ONE, ONE + e, true)
    } else {
        // p = 1 − 1 / (1 + E), E rounded up and the quotient down: p rounded up.
        let e = exp_bound(magnitude, bits, true);
        scale - div_round(scale * ONE, ONE + e, false)
    };
    Ok(p.to::<u64>())
}

/// The probabilities of a batch of proven logits ([`probability_up`] of each).
///
/// # Errors
/// As [`probability_up`], naming the logit's index.
pub fn probabilities_up(logits: &[U256], bits: u8) -> Result<Vec<u64>> {
    logits
        .iter()
        .enumerate()
        .map(|(i, z)| {
            probability_up(*z, bits).map_err(|e| Error::InvalidParam {
                name: "logits",
                reason: format!("logit {i}: {e}"),
            })
        })
        .collect()
}

/// Logits per public instance in a packed circuit ([`unpack`]).
pub const PACK_SLOTS: usize = 3;
/// Bits per slot of a packed instance: each logit is a signed integer in `[−2^49, 2^49)`.
pub const PACK_SLOT_BITS: usize = 50;

/// The logits of one packed instance, as field elements: the instance is the signed integer
/// `Σ_j q_j · 2^(50 j)`, `j < 3`, each `q_j ∈ [−2^49, 2^49)` (a logit in fixed point), encoded in
/// the field like any instance. Slots are read from the lowest, each as the signed remainder
/// modulo 2^50, in 256-bit two's complement as `Logistic.sol` does.
///
/// # Errors
/// [`Error::InvalidParam`] for a value that is not a field element, or one that does not
/// decompose into three slots (something is left above them).
pub fn unpack(x: U256) -> Result<[U256; PACK_SLOTS]> {
    let (negative, magnitude) = from_field(x)?;
    let mut v = if negative { U256::ZERO.wrapping_sub(magnitude) } else { magnitude };
    let modulus = U256::from(1) << PACK_SLOT_BITS;
    let half = U256::from(1) << (PACK_SLOT_BITS - 1);
    let mut out = [U256::ZERO; PACK_SLOTS];
    for slot in &mut out {
        let raw = v & (modulus - U256::from(1));
        // The signed remainder: raw, or raw − 2^50 in two's complement.
        let lo = if raw >= half { raw.wrapping_sub(modulus) } else { raw };
        v = v.wrapping_sub(lo).arithmetic_shr(PACK_SLOT_BITS);
        let lo_negative = lo.bit(255);
        *slot = if lo_negative { FIELD_MODULUS - U256::ZERO.wrapping_sub(lo) } else { lo };
    }
    if v != U256::ZERO {
        return Err(Error::InvalidParam {
            name: "packed logits",
            reason: format!("{x} is not three 50-bit slots"),
        });
    }
    Ok(out)
}

/// The logits of a batch of packed instances, in order ([`unpack`] of each).
///
/// # Errors
/// As [`unpack`], naming the instance's index.
pub fn unpack_all(instances: &[U256]) -> Result<Vec<U256>> {
    let mut out = Vec::with_capacity(instances.len() * PACK_SLOTS);
    for (i, x) in instances.iter().enumerate() {
        let slots = unpack(*x).map_err(|e| Error::InvalidParam {
            name: "packed logits",
            reason: format!("instance {i}: {e}"),
        })?;
        out.extend(slots);
    }
    Ok(out)
}

/// A float logit in the proof's fixed point, `round(z · 2^bits)`, as a field element.
pub fn logit_to_field(z: f64, bits: u8) -> U256 {
    to_field((z * (1u128 << bits) as f64).round() as i128)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    use crate::sigmoid as sigma;

    /// Packs field-element logits three to an instance, as a packed circuit's outputs are (the
    /// inverse of [`unpack_all`]).
    ///
    /// # Panics
    /// If the number of logits is not a multiple of three or a logit is outside `[−2^49, 2^49)`.
    fn pack(logits: &[U256]) -> Vec<U256> {
        assert_eq!(logits.len() % PACK_SLOTS, 0, "logits come in threes");
        logits
            .chunks(PACK_SLOTS)
            .map(|c| {
                let mut v = U256::ZERO;
                for (j, z) in c.iter().enumerate() {
                    let (neg, mag) = from_field(*z).expect("a field element");
                    assert!(mag < U256::from(1) << (PACK_SLOT_BITS - 1), "logit out of slot range");
                    let term = mag << (PACK_SLOT_BITS * j);
                    v = if neg { v.wrapping_sub(term) } else { v.wrapping_add(term) };
                }
                if v.bit(255) { FIELD_MODULUS - U256::ZERO.wrapping_sub(v) } else { v }
            })
            .collect()
    }

    #[test]
    fn constants_are_e_to_the_powers_of_two_and_eighths() {
        for (i, c) in EXP_POW2_DOWN.iter().enumerate() {
            let v: f64 = c.to_string().parse().unwrap();
            let want = (2f64.powi(i as i32)).exp() * 2f64.powi(64);
            assert!((v / want - 1.0).abs() < 1e-15, "e^{} constant {v} vs {want}", 1 << i);
        }
        for (j, c) in EXP_EIGHTHS_DOWN.iter().enumerate() {
            let v: f64 = c.to_string().parse().unwrap();
            let want = (j as f64 / 8.0).exp() * 2f64.powi(64);
            assert!((v / want - 1.0).abs() < 1e-15, "e^({j}/8) constant {v} vs {want}");
        }
    }

    #[test]
    fn bounds_bracket_the_exponential() {
        for a in [0.0, 0.25, 0.5, 0.999, 1.0, 1.5, 7.3, 20.0, 39.99, 40.0] {
            let m = U256::from((a * 65536.0_f64).round() as u64);
            let lo: f64 = exp_bound(m, 16, false).to_string().parse().unwrap();
            let hi: f64 = exp_bound(m, 16, true).to_string().parse().unwrap();
            let want = (m.to::<u64>() as f64 / 65536.0).exp() * 2f64.powi(64);
            assert!(lo <= hi);
            assert!((lo / want - 1.0).abs() < 1e-14 && (hi / want - 1.0).abs() < 1e-14, "{a}");
        }
    }

    #[test]
    fn table_of_probabilities() {
        let one = (1u64 << PROB_BITS) as f64;
        // (logit, expected probability)
        for (z, want) in [(0.0, 0.5), (2.0, sigma(2.0)), (-2.0, sigma(-2.0)), (-7.5, sigma(-7.5))] {
            let p = probability_up(logit_to_field(z, 24), 24).unwrap() as f64 / one;
            assert!((p - want).abs() <= 1.0 / one, "σ({z}) = {p}, want {want}");
            assert!(p >= want - 1e-15, "σ({z}) rounded down");
        }
        assert_eq!(probability_up(to_field(i128::MAX), 24).unwrap(), 1 << PROB_BITS);
        assert_eq!(probability_up(to_field(-(41 << 24)), 24).unwrap(), 1);
    }

    #[test]
    fn bad_inputs_are_named() {
        let e = probability_up(FIELD_MODULUS, 16).unwrap_err().to_string();
        assert!(e.contains("not a BN254 field element"), "{e}");
        let e = probability_up(U256::ZERO, 65).unwrap_err().to_string();
        assert!(e.contains("bits"), "{e}");
        let e = probabilities_up(&[U256::ZERO, FIELD_MODULUS], 16).unwrap_err().to_string();
        assert!(e.contains("logit 1"), "{e}");
    }

    #[test]
    fn field_round_trip() {
        for z in [0i128, 1, -1, 1 << 40, -(1 << 40)] {
            let (neg, mag) = from_field(to_field(z)).unwrap();
            assert_eq!(neg, z < 0);
            assert_eq!(mag, U256::from(z.unsigned_abs()));
        }
    }

    #[test]
    fn packing_round_trips_and_refuses_leftovers() {
        let logits: Vec<U256> =
            [-5.25, 0.0, 3.5, -40.0, 1e-6, -1e-6].iter().map(|z| logit_to_field(*z, 28)).collect();
        let packed = pack(&logits);
        assert_eq!(packed.len(), 2);
        assert_eq!(unpack_all(&packed).unwrap(), logits);
        // A value above the three slots is not a packed instance.
        let e = unpack(U256::from(1) << 150).unwrap_err().to_string();
        assert!(e.contains("three 50-bit slots"), "{e}");
        let e = unpack_all(&[packed[0], FIELD_MODULUS]).unwrap_err().to_string();
        assert!(e.contains("instance 1"), "{e}");
    }

    proptest! {
        #[test]
        fn any_three_slot_logits_round_trip(a in -(1i128 << 49)..(1i128 << 49), b in -(1i128 << 49)..(1i128 << 49), c in -(1i128 << 49)..(1i128 << 49)) {
            let logits = [to_field(a), to_field(b), to_field(c)];
            prop_assert_eq!(unpack_all(&pack(&logits)).unwrap(), logits.to_vec());
        }

        #[test]
        fn rounds_up_by_at_most_one_unit(z in -45.0f64..45.0, bits in 8u8..=32) {
            let one = (1u64 << PROB_BITS) as f64;
            let zq = (z * (1u128 << bits) as f64).round();
            let exact = sigma((zq / (1u128 << bits) as f64).clamp(-40.0, 40.0));
            let p = probability_up(to_field(zq as i128), bits).unwrap() as f64;
            // Never below the exact value (up to f64's own error), at most one unit above it.
            prop_assert!(p >= exact * one - 1e-3, "σ = {p} below {}", exact * one);
            prop_assert!(p <= exact * one + 1.0 + 1e-3, "σ = {p} above {}", exact * one);
        }

        #[test]
        fn monotone_in_the_logit(z in -42.0f64..42.0, dz in 0.0f64..3.0) {
            let a = probability_up(logit_to_field(z, 20), 20).unwrap();
            let b = probability_up(logit_to_field(z + dz, 20), 20).unwrap();
            prop_assert!(a <= b, "σ({z}) = {a} > σ({}) = {b}", z + dz);
        }
    }
}
