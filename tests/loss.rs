//! Softmax cross-entropy, argmax and metrics against f64 references; the backward also against
//! central finite differences of the f64 forward.
//! Tolerances: probs atol 1e-6 rtol 1e-5 (device exp/division, a few ulp of values <= 1);
//! losses atol 4e-6 rtol 1e-5 (log of a sum of up to 1000 terms, a few ulp of values up to ~10;
//! losses of ~160 from extreme logits are covered by rtol); dlogits as probs, since they are
//! probs minus a one-hot times an exact input.

mod common;

use common::reference::loss as cpu;
use common::*;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::loss::{self, IGNORE_LABEL};
use nasgpu::tensor::{DType, Tensor};
use rand::RngExt;

/// (N, K): a single sample and a single class, sizes either side of the 64-wide row threshold,
/// CIFAR-like batches, and rows much longer than a workgroup.
const SHAPES: &[(usize, usize)] = &[
    (1, 1),
    (1, 10),
    (7, 1),
    (7, 10),
    (65, 10),
    (128, 10),
    (5, 63),
    (5, 64),
    (5, 65),
    (3, 257),
    (33, 1000),
];

/// Random labels with every fifth sample (and sample 2) padding.
fn random_labels(r: &mut TestRng, n: usize, k: usize) -> Vec<Option<usize>> {
    (0..n)
        .map(|i| (i % 5 != 4 && i != 2).then(|| r.random_range(0..k)))
        .collect()
}

fn label_tensor(gpu: &std::sync::Arc<nasgpu::device::Gpu>, labels: &[Option<usize>]) -> Tensor {
    let raw: Vec<u32> = labels
        .iter()
        .map(|l| l.map_or(IGNORE_LABEL, |l| l as u32))
        .collect();
    Tensor::from_u32(gpu, &[labels.len()], &raw).unwrap()
}

/// Logits as the GPU sees them (rounded to f32), optionally with extreme values mixed in.
fn random_logits(r: &mut TestRng, n: usize, k: usize, extreme: bool) -> Vec<f64> {
    let mut z = uniform(r, n * k);
    if extreme {
        for v in z.iter_mut() {
            *v = match r.random_range(0..4) {
                0 => 80.0,
                1 => -80.0,
                _ => *v * 20.0,
            };
        }
    }
    to_f64(&to_f32(&z))
}

fn run_forward(
    gpu: &std::sync::Arc<nasgpu::device::Gpu>,
    z: &[f64],
    n: usize,
    k: usize,
    labels: &Tensor,
) -> (Tensor, Tensor, Tensor) {
    let zt = upload(gpu, &[n, k], z);
    let probs = poisoned(gpu, &[n, k]);
    let losses = poisoned(gpu, &[n]);
    let l = loss::softmax_cross_entropy_forward(gpu, &zt, labels, &probs, &losses).unwrap();
    run(gpu, &[&l]);
    (zt, probs, losses)
}

#[test]
fn cross_entropy_forward_matches_reference() {
    let gpu = gpu();
    for extreme in [false, true] {
        for &(n, k) in SHAPES {
            let seed = fresh_seed();
            let mut r = rng(seed);
            let z = random_logits(&mut r, n, k, extreme);
            let labels = random_labels(&mut r, n, k);
            let (_, probs, losses) = run_forward(&gpu, &z, n, k, &label_tensor(&gpu, &labels));
            let case = format!("ce forward n={n} k={k} extreme={extreme}");
            let got_losses = download(&losses);
            assert!(
                got_losses.iter().all(|v| v.is_finite()),
                "{case}: {got_losses:?}"
            );
            assert_close(
                &case,
                seed,
                &download(&probs),
                &cpu::softmax(&z, k),
                1e-6,
                1e-5,
            );
            let want = cpu::cross_entropy(&z, k, &labels);
            assert_close(&case, seed, &got_losses, &want, 4e-6, 1e-5);
            // Padding samples give exactly 0.
            for (i, l) in labels.iter().enumerate() {
                assert!(
                    l.is_some() || got_losses[i] == 0.0,
                    "{case}: padding loss {i}"
                );
            }
        }
    }
}

/// More rows than one grid dimension holds (65535 workgroups), so the wide kernel's grid splits.
#[test]
fn cross_entropy_forward_splits_large_grids() {
    let gpu = gpu();
    let (n, k) = (65_537, 65);
    let seed = fresh_seed();
    let mut r = rng(seed);
    let z = random_logits(&mut r, n, k, false);
    let labels = random_labels(&mut r, n, k);
    let (zt, probs, losses) = run_forward(&gpu, &z, n, k, &label_tensor(&gpu, &labels));
    let case = format!("ce forward n={n} k={k}");
    assert_close(
        &case,
        seed,
        &download(&losses),
        &cpu::cross_entropy(&z, k, &labels),
        4e-6,
        1e-5,
    );
    assert_close(
        &case,
        seed,
        &download(&probs),
        &cpu::softmax(&z, k),
        1e-6,
        1e-5,
    );
    let out = Tensor::from_u32(&gpu, &[n], &vec![u32::MAX - 1; n]).unwrap();
    run(&gpu, &[&loss::argmax(&gpu, &zt, &out).unwrap()]);
    assert_eq!(
        out.to_u32().unwrap(),
        cpu::argmax(&z, k),
        "argmax {case} seed {seed}"
    );
}

/// Short rows past 65535 workgroups of 64 rows, and a backward past 65535 workgroups of 256
/// elements: the row-per-invocation and elementwise grids split too.
#[test]
fn short_rows_split_large_grids() {
    let gpu = gpu();
    let (n, k) = (65_535 * 128 + 5, 2);
    let seed = fresh_seed();
    let mut r = rng(seed);
    let z = random_logits(&mut r, n, k, false);
    let labels = random_labels(&mut r, n, k);
    let lt = label_tensor(&gpu, &labels);
    let (zt, probs, losses) = run_forward(&gpu, &z, n, k, &lt);
    let case = format!("ce n={n} k={k}");
    let want = cpu::cross_entropy(&z, k, &labels);
    assert_close(&case, seed, &download(&losses), &want, 4e-6, 1e-5);
    let dloss = vec![1.0; n];
    let (dl, dz) = (upload(&gpu, &[n], &dloss), poisoned(&gpu, &[n, k]));
    let launch = loss::softmax_cross_entropy_backward(&gpu, &probs, &lt, &dl, &dz).unwrap();
    let out = Tensor::from_u32(&gpu, &[n], &vec![u32::MAX - 1; n]).unwrap();
    run(&gpu, &[&launch, &loss::argmax(&gpu, &zt, &out).unwrap()]);
    let analytic = cpu::cross_entropy_backward(&z, k, &labels, &dloss);
    assert_close(
        &format!("{case} backward"),
        seed,
        &download(&dz),
        &analytic,
        1e-6,
        1e-5,
    );
    assert_eq!(
        out.to_u32().unwrap(),
        cpu::argmax(&z, k),
        "argmax {case} seed {seed}"
    );
}

#[test]
fn cross_entropy_backward_matches_reference_and_finite_differences() {
    let gpu = gpu();
    for &(n, k) in SHAPES {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let z = random_logits(&mut r, n, k, false);
        let labels = random_labels(&mut r, n, k);
        let dloss = to_f64(&to_f32(&uniform(&mut r, n)));
        let lt = label_tensor(&gpu, &labels);
        let (_, probs, _) = run_forward(&gpu, &z, n, k, &lt);
        let (dl, dz) = (upload(&gpu, &[n], &dloss), poisoned(&gpu, &[n, k]));
        let launch = loss::softmax_cross_entropy_backward(&gpu, &probs, &lt, &dl, &dz).unwrap();
        run(&gpu, &[&launch]);
        let got = download(&dz);
        let case = format!("ce backward n={n} k={k}");
        let analytic = cpu::cross_entropy_backward(&z, k, &labels, &dloss);
        assert_close(&case, seed, &got, &analytic, 1e-6, 1e-5);
        for (i, l) in labels.iter().enumerate() {
            assert!(
                l.is_some() || got[i * k..(i + 1) * k].iter().all(|&v| v == 0.0),
                "{case}: padding gradient row {i} not exactly 0"
            );
        }
        // Finite differences on the smaller shapes (each costs 2 forwards per logit).
        if n * k <= 2000 {
            let f = |zs: &[f64]| dot(&dloss, &cpu::cross_entropy(zs, k, &labels));
            let fd = finite_difference(f, &z, 1e-5);
            assert_close(
                &format!("{case} vs finite differences"),
                seed,
                &got,
                &fd,
                1e-5,
                1e-4,
            );
        }
    }
}

/// A label >= K that is not IGNORE_LABEL cannot be checked on the host: it must not read out of
/// bounds, and it shows up as NaN (loss and gradient) rather than a plausible number.
#[test]
fn out_of_range_label_gives_nan_not_garbage() {
    let gpu = gpu();
    let z = vec![0.5, -1.0, 2.0, 0.0, 1.0, 1.0];
    let labels = Tensor::from_u32(&gpu, &[2], &[3, 1]).unwrap();
    let (_, probs, losses) = run_forward(&gpu, &z, 2, 3, &labels);
    let l = download(&losses);
    assert!(l[0].is_nan() && l[1].is_finite(), "{l:?}");
    let (dl, dz) = (upload(&gpu, &[2], &[1.0, 1.0]), poisoned(&gpu, &[2, 3]));
    run(
        &gpu,
        &[&loss::softmax_cross_entropy_backward(&gpu, &probs, &labels, &dl, &dz).unwrap()],
    );
    let g = download(&dz);
    assert!(
        g[..3].iter().all(|v| v.is_nan()) && g[3..].iter().all(|v| v.is_finite()),
        "{g:?}"
    );
}

#[test]
fn argmax_matches_reference_with_ties_and_nan() {
    let gpu = gpu();
    for &(n, k) in SHAPES {
        let seed = fresh_seed();
        let mut r = rng(seed);
        // Coarse values make ties common; row 0 is all equal (first index wins).
        let mut z: Vec<f64> = (0..n * k).map(|_| r.random_range(0..4) as f64).collect();
        z[..k].iter_mut().for_each(|v| *v = 1.0);
        if n > 1 && k > 2 {
            z[k] = f64::NAN; // NaN first in row 1 must not win
            z[k + 2] = f64::NAN;
        }
        let zt = upload(&gpu, &[n, k], &z);
        let out = Tensor::from_u32(&gpu, &[n], &vec![u32::MAX - 1; n]).unwrap();
        run(&gpu, &[&loss::argmax(&gpu, &zt, &out).unwrap()]);
        assert_eq!(
            out.to_u32().unwrap(),
            cpu::argmax(&z, k),
            "argmax n={n} k={k} seed {seed}"
        );
    }
}

#[test]
fn metrics_match_reference_and_rerun_bit_identically() {
    let gpu = gpu();
    for &(n, k) in SHAPES.iter().chain(&[(1000, 10), (300, 65)]) {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let z = random_logits(&mut r, n, k, false);
        let labels = random_labels(&mut r, n, k);
        let lt = label_tensor(&gpu, &labels);
        let (zt, _, losses) = run_forward(&gpu, &z, n, k, &lt);
        let losses64 = to_f64(&download(&losses));
        let start = [1.5, 2.0, 3.0];
        let mut bits = Vec::new();
        for _ in 0..2 {
            let m = Tensor::from_f32(&gpu, &[3], &start.map(|v| v as f32)).unwrap();
            let launch = loss::accumulate_metrics(&gpu, &losses, &zt, &lt, &m).unwrap();
            run(&gpu, &[&launch]);
            let got = download(&m);
            let want = cpu::metrics(&losses64, &z, k, &labels);
            let want = [start[0] + want[0], start[1] + want[1], start[2] + want[2]];
            let case = format!("metrics n={n} k={k}");
            // Loss sum: n f32 additions of values up to ~10; counts are exact.
            assert_close(&case, seed, &got[..1], &want[..1], 1e-5, 1e-5);
            assert_eq!(
                &got[1..],
                &[want[1] as f32, want[2] as f32],
                "{case} seed {seed}"
            );
            bits.push(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
            // Accumulates: a second launch on the same tensor adds the batch again.
            run(&gpu, &[&launch]);
            let twice = download(&m);
            assert_eq!(
                twice[2],
                got[2] + (want[2] - start[2]) as f32,
                "{case} seed {seed}"
            );
        }
        assert_eq!(
            bits[0], bits[1],
            "metrics rerun not bit-identical n={n} k={k} seed {seed}"
        );
    }
}

#[test]
fn bad_shapes_are_errors_naming_the_shapes() {
    let gpu = gpu();
    let z = poisoned(&gpu, &[4, 10]);
    let probs = poisoned(&gpu, &[4, 10]);
    let losses = poisoned(&gpu, &[4]);
    let labels = Tensor::from_u32(&gpu, &[5], &[0; 5]).unwrap();
    match loss::softmax_cross_entropy_forward(&gpu, &z, &labels, &probs, &losses) {
        Err(KernelError::Shape { message, .. }) => {
            assert!(
                message.contains("[5]") && message.contains("[4, 10]"),
                "{message}"
            )
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    // F32 labels are refused.
    let f_labels = poisoned(&gpu, &[4]);
    assert!(matches!(
        loss::softmax_cross_entropy_forward(&gpu, &z, &f_labels, &probs, &losses),
        Err(KernelError::Argument { .. })
    ));
    // K = 0 is refused.
    let empty = Tensor::empty(&gpu, &[4, 0], DType::F32).unwrap();
    let labels4 = Tensor::from_u32(&gpu, &[4], &[0; 4]).unwrap();
    assert!(loss::argmax(&gpu, &empty, &labels4).is_err());
    // Metrics must be [3].
    let m = poisoned(&gpu, &[2]);
    match loss::accumulate_metrics(&gpu, &losses, &z, &labels4, &m) {
        Err(KernelError::Shape { message, .. }) => assert!(message.contains("[2]"), "{message}"),
        other => panic!("expected a shape error, got {other:?}"),
    }
    // Output aliasing an input is refused.
    assert!(matches!(
        loss::softmax_cross_entropy_forward(&gpu, &z, &labels4, &z, &losses),
        Err(KernelError::Argument { .. })
    ));
}
