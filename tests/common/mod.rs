//! Shared test harness: one device per test binary, seeded random inputs, NaN-poisoned outputs,
//! tolerance checks that print the seed, and central finite differences in f64.
#![allow(dead_code)]

pub mod gradcheck;
pub mod grouped_check;
pub mod network_check;
pub mod reference;
pub mod supernet;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use nasgpu::device::{DeviceOptions, Gpu, Launch};
use nasgpu::tensor::Tensor;
use rand::{RngExt, SeedableRng};

/// The device shared by all tests of a binary (opening one per test is slow on lavapipe).
pub fn gpu() -> Arc<Gpu> {
    static GPU: OnceLock<Arc<Gpu>> = OnceLock::new();
    GPU.get_or_init(|| match Gpu::open(&DeviceOptions::default()) {
        Ok(g) => g,
        Err(e) => panic!("tests need a GPU adapter (software Vulkan is fine): {e}"),
    })
    .clone()
}

/// A fresh seed per case; `NASGPU_TEST_SEED` replays one. Printed by every failing check.
pub fn fresh_seed() -> u64 {
    if let Ok(s) = std::env::var("NASGPU_TEST_SEED") {
        return s.parse().expect("NASGPU_TEST_SEED must be an integer");
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

pub type TestRng = rand::rngs::Xoshiro256PlusPlus;

pub fn rng(seed: u64) -> TestRng {
    TestRng::seed_from_u64(seed)
}

/// `n` values uniform in [-2, 2] (the design's standard input range), as f64.
pub fn uniform(rng: &mut TestRng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-2.0..2.0)).collect()
}

/// `n` values uniform in [lo, hi).
pub fn uniform_in(rng: &mut TestRng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// f64 -> f32 for upload.
pub fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// f32 -> f64, so references see exactly what the GPU saw.
pub fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Uploads f64 values as an f32 tensor.
pub fn upload(gpu: &Arc<Gpu>, shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::from_f32(gpu, shape, &to_f32(v)).expect("upload")
}

/// A tensor filled with NaN, so that any element a kernel fails to write shows up.
pub fn poisoned(gpu: &Arc<Gpu>, shape: &[usize]) -> Tensor {
    Tensor::full(gpu, shape, f32::NAN).expect("alloc")
}

/// Runs launches eagerly and waits.
pub fn run(gpu: &Gpu, launches: &[&Launch]) {
    gpu.run(launches).expect("submit");
    gpu.sync().expect("sync");
}

/// Downloads an f32 tensor.
pub fn download(t: &Tensor) -> Vec<f32> {
    t.to_f32().expect("download")
}

/// Asserts |gpu - ref| <= atol + rtol * |ref| elementwise; NaN on either side fails.
/// The message names the case, the seed, the worst element and the first mismatches.
pub fn assert_close(case: &str, seed: u64, got: &[f32], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(
        got.len(),
        want.len(),
        "{case} (seed {seed}): length {} vs reference {}",
        got.len(),
        want.len()
    );
    let mut bad = Vec::new();
    let mut worst = (0usize, 0.0f64);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = g as f64;
        let err = (g - w).abs();
        let tol = atol + rtol * w.abs();
        // Negated so that a NaN on either side fails.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        let outside = !(err <= tol);
        if outside && bad.len() < 8 {
            bad.push(format!(
                "  [{i}] gpu {g:e} ref {w:e} err {err:e} tol {tol:e}"
            ));
        }
        // A NaN error is the worst possible and stays reported.
        if !worst.1.is_nan() && (err.is_nan() || err > worst.1) {
            worst = (i, err);
        }
    }
    if !bad.is_empty() {
        panic!(
            "{case}: GPU differs from f64 reference (seed {seed}; replay with NASGPU_TEST_SEED={seed}); \
             atol {atol:e} rtol {rtol:e}; worst at [{}] err {:e}\n{}",
            worst.0,
            worst.1,
            bad.join("\n")
        );
    }
}

/// Central finite differences of a scalar f64 function: d f / d x_i ~ (f(x+h e_i) - f(x-h e_i)) / 2h.
pub fn finite_difference(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let orig = x[i];
            x[i] = orig + h;
            let plus = f(&x);
            x[i] = orig - h;
            let minus = f(&x);
            x[i] = orig;
            (plus - minus) / (2.0 * h)
        })
        .collect()
}

/// Dot product, the scalar "loss" L = sum(g * y) whose gradient with respect to y is g.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
