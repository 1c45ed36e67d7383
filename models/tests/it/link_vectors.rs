//! The logistic link against the vectors `contracts/src/libraries/Logistic.sol` is tested with.

use zkrisk_models::link::{PROB_BITS, probability_up};

#[test]
fn rust_link_reproduces_every_shared_vector() {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/test/fixtures/logistic_vectors.json");
    let text = std::fs::read_to_string(path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["probBits"].as_u64().unwrap(), u64::from(PROB_BITS));
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 60, "{} vectors", cases.len());
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let logit = c["logit"].as_str().unwrap().parse().unwrap();
        let bits = c["bits"].as_u64().unwrap() as u8;
        let want = c["probability"].as_u64().unwrap();
        assert_eq!(probability_up(logit, bits).unwrap(), want, "{name}");
    }
}

#[test]
fn rust_unpacking_reproduces_every_packed_vector() {
    use zkrisk_models::link::{probabilities_up, unpack};
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/test/fixtures/logistic_vectors.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = v["packed"].as_array().unwrap();
    assert!(cases.len() >= 10, "{} packed vectors", cases.len());
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let instance = c["instance"].as_str().unwrap().parse().unwrap();
        if c["malformed"].as_bool() == Some(true) {
            assert!(unpack(instance).is_err(), "{name}");
            continue;
        }
        let logits = unpack(instance).unwrap();
        let want: Vec<ruint::aliases::U256> = c["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(logits.to_vec(), want, "{name}");
        let bits = c["bits"].as_u64().unwrap() as u8;
        let sum: u64 = probabilities_up(&logits, bits).unwrap().iter().sum();
        assert_eq!(sum.to_string(), c["probabilitySum"].as_str().unwrap(), "{name}");
    }
}
