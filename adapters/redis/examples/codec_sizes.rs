//! Measures the candidate formats for the tier's serde codec on a realistic cached value (a
//! user row as a service would cache it): encoded size, encode and decode time.
//!
//! `cargo run --release -p readthrough-redis --example codec_sizes`

use std::hint::black_box;
use std::time::Instant;

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
struct UserRow {
    id: u64,
    email: String,
    display_name: String,
    created_at_unix_ms: i64,
    last_login_unix_ms: Option<i64>,
    roles: Vec<String>,
    quota_bytes: u64,
    locale: String,
    flags: u32,
    score: f64,
}

fn row() -> UserRow {
    UserRow {
        id: 184_467_231,
        email: "ada.lovelace@example.com".into(),
        display_name: "Ada Lovelace".into(),
        created_at_unix_ms: 1_732_550_400_000,
        last_login_unix_ms: Some(1_764_115_200_000),
        roles: vec!["reader".into(), "editor".into(), "billing-admin".into()],
        quota_bytes: 10 * 1024 * 1024 * 1024,
        locale: "en-GB".into(),
        flags: 0b1011,
        score: 0.875,
    }
}

struct Candidate {
    name: &'static str,
    encode: fn(&UserRow) -> Vec<u8>,
    decode: fn(&[u8]) -> UserRow,
}

const CANDIDATES: [Candidate; 3] = [
    Candidate {
        name: "postcard",
        encode: |row| postcard::to_allocvec(row).unwrap(),
        decode: |bytes| postcard::from_bytes(bytes).unwrap(),
    },
    Candidate {
        name: "bincode 2 (serde, standard)",
        encode: |row| bincode::serde::encode_to_vec(row, bincode::config::standard()).unwrap(),
        decode: |bytes| {
            bincode::serde::decode_from_slice(bytes, bincode::config::standard())
                .unwrap()
                .0
        },
    },
    Candidate {
        name: "serde_json",
        encode: |row| serde_json::to_vec(row).unwrap(),
        decode: |bytes| serde_json::from_slice(bytes).unwrap(),
    },
];

const PER_SAMPLE: u32 = 5_000;
const ROUNDS: usize = 41;

/// Nanoseconds per call of `work` over one sample.
fn sample_ns(mut work: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..PER_SAMPLE {
        work();
    }
    start.elapsed().as_nanos() as f64 / f64::from(PER_SAMPLE)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let row = row();
    let encoded: Vec<Vec<u8>> = CANDIDATES.iter().map(|c| (c.encode)(&row)).collect();
    for (candidate, bytes) in CANDIDATES.iter().zip(&encoded) {
        assert_eq!(
            (candidate.decode)(bytes),
            row,
            "{} does not round-trip",
            candidate.name
        );
    }
    // Rounds interleave the candidates, so that load from other processes hits all alike.
    let mut encode_ns = vec![Vec::new(); CANDIDATES.len()];
    let mut decode_ns = vec![Vec::new(); CANDIDATES.len()];
    for _ in 0..ROUNDS {
        for (index, candidate) in CANDIDATES.iter().enumerate() {
            encode_ns[index].push(sample_ns(|| {
                black_box((candidate.encode)(black_box(&row)));
            }));
            decode_ns[index].push(sample_ns(|| {
                black_box((candidate.decode)(black_box(&encoded[index])));
            }));
        }
    }
    println!("| format | bytes | encode ns | decode ns |");
    println!("|---|---:|---:|---:|");
    for (index, candidate) in CANDIDATES.iter().enumerate() {
        println!(
            "| {} | {} | {:.0} | {:.0} |",
            candidate.name,
            encoded[index].len(),
            median(encode_ns[index].clone()),
            median(decode_ns[index].clone()),
        );
    }
}
