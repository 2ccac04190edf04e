//! What one instant-runoff count costs: 100,000 distinct rankings of 10
//! options (1 to 10 places each, counts 1-50), counted 20 times.
//!
//! `cargo run --release -p api --example runoff`
#![allow(clippy::print_stdout, reason = "a benchmark's answer is its output")]
use std::collections::BTreeSet;
use std::time::Instant;

fn main() {
    let options: Vec<i64> = (1..=10).collect();
    // A fixed pseudo-random sequence: the same rankings every run.
    let mut seed: u64 = 42;
    let mut next = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    let mut distinct: BTreeSet<Vec<i64>> = BTreeSet::new();
    while distinct.len() < 100_000 {
        let mut left = options.clone();
        let places = 1 + next() % left.len();
        distinct.insert((0..places).map(|_| left.remove(next() % left.len())).collect());
    }
    let ballots: Vec<(Vec<i64>, i64)> = distinct.into_iter().map(|r| (r, 1 + (next() % 50) as i64)).collect();
    let runs = 20;
    let started = Instant::now();
    let mut rounds = 0;
    for _ in 0..runs {
        let runoff = api::count::instant_runoff(&options, ballots.iter().map(|(r, n)| (r.as_slice(), *n)));
        rounds = runoff.rounds.len();
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    println!("{ms:.1} ms per runoff of {} distinct rankings of 10 options ({rounds} rounds)", ballots.len());
}
