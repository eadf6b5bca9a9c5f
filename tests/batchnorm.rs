//! Batch norm against f64 references on [N,C] and [N,C,H,W] inputs (N = 1 with H*W > 1, a
//! single channel, several 4096-unit chunks per channel, and data offset by 100 so that a
//! sum-of-squares variance would cancel), the running-statistics update, the backward against
//! finite differences, and bit-identical reruns. Both kernel builds are covered: vec4 units
//! (H*W a multiple of 4) and scalar units (any other H*W, and [N, C]).
//!
//! Tolerances (inputs in [-2, 2], gamma and beta in [-2, 2]):
//! - mean: atol 1e-6, rtol 1e-6 (a few f32 roundings of a value up to ~100).
//! - invstd: rtol 1e-5; the chunked shifted-sum + Chan merge keeps the variance to ~1e-6
//!   relative even at offset 100, where sum-of-squares would be off by ~1e-3.
//! - y: atol 5e-5, rtol 1e-5 (x - mean loses up to ~1e-5 absolute at offset 100, times |gamma|).
//! - running stats: atol 1e-6, rtol 1e-5.
//! - dbeta, dgamma: sums over m = N*H*W values in f32, fixed-order chunks: atol 4e-6 * sqrt(m),
//!   rtol 1e-5
//!   (a random-walk bound with a margin of about 5); dgamma also allows for the f32 rounding of
//!   the saved mean (half an ulp times |sum dy| * invstd, which matters at offset 100).
//! - dx: atol 2e-5, rtol 1e-4 (three O(1) terms that partly cancel, each with f32 error).
//! - finite differences (small shapes, h = 1e-4, smooth function): atol 2e-5, rtol 1e-4.

mod common;

use common::reference::batchnorm as cpu;
use common::*;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::batchnorm::{
    BatchNormSpec, batch_norm_backward, batch_norm_inference, batch_norm_train_forward,
};

const SPEC: BatchNormSpec = BatchNormSpec {
    eps: 1e-5,
    momentum: 0.1,
};

/// (N, C, HW) of an [N,C] or [N,C,H,W] shape.
fn dims(shape: &[usize]) -> (usize, usize, usize) {
    (shape[0], shape[1], shape[2..].iter().product())
}

/// Host values of one case, already rounded to f32.
struct Data {
    shape: Vec<usize>,
    x: Vec<f64>,
    gamma: Vec<f64>,
    beta: Vec<f64>,
    running_mean: Vec<f64>,
    running_var: Vec<f64>,
    dy: Vec<f64>,
}

fn data(seed: u64, shape: &[usize], offset: f64) -> Data {
    let mut r = rng(seed);
    let (n, c, hw) = dims(shape);
    let f = |v: Vec<f64>| to_f64(&to_f32(&v));
    let x = f(uniform(&mut r, n * c * hw)
        .iter()
        .map(|v| v + offset)
        .collect());
    Data {
        shape: shape.to_vec(),
        x,
        gamma: f(uniform(&mut r, c)),
        beta: f(uniform(&mut r, c)),
        running_mean: f(uniform(&mut r, c)),
        running_var: f(uniform_in(&mut r, c, 0.5, 1.5)),
        dy: f(uniform(&mut r, n * c * hw)),
    }
}

/// GPU results of a training forward followed by the backward.
struct Results {
    y: Vec<f32>,
    mean: Vec<f32>,
    invstd: Vec<f32>,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    dx: Vec<f32>,
    dgamma: Vec<f32>,
    dbeta: Vec<f32>,
}

fn run_train(d: &Data) -> Results {
    let gpu = gpu();
    let c = [d.shape[1]];
    let x = upload(&gpu, &d.shape, &d.x);
    let gamma = upload(&gpu, &c, &d.gamma);
    let beta = upload(&gpu, &c, &d.beta);
    let rm = upload(&gpu, &c, &d.running_mean);
    let rv = upload(&gpu, &c, &d.running_var);
    let dy = upload(&gpu, &d.shape, &d.dy);
    let (y, mean, invstd) = (
        poisoned(&gpu, &d.shape),
        poisoned(&gpu, &c),
        poisoned(&gpu, &c),
    );
    let (dx, dgamma, dbeta) = (
        poisoned(&gpu, &d.shape),
        poisoned(&gpu, &c),
        poisoned(&gpu, &c),
    );
    let fwd = batch_norm_train_forward(&gpu, &x, &gamma, &beta, &rm, &rv, &y, &mean, &invstd, SPEC)
        .unwrap();
    let bwd =
        batch_norm_backward(&gpu, &dy, &x, &gamma, &mean, &invstd, &dx, &dgamma, &dbeta).unwrap();
    run(&gpu, &fwd.iter().chain(&bwd).collect::<Vec<_>>());
    Results {
        y: download(&y),
        mean: download(&mean),
        invstd: download(&invstd),
        running_mean: download(&rm),
        running_var: download(&rv),
        dx: download(&dx),
        dgamma: download(&dgamma),
        dbeta: download(&dbeta),
    }
}

/// Shapes, by kernel build (`builds_follow_the_shape` checks the classification).
/// Scalar units (element count not a multiple of 4, or H*W < 4): [N,C] ([70000, 2]: 140000
/// units); N = 1; [5,3,41,41]: 8405 per channel, 3 chunks.
/// Vec4 units, planes a multiple of 4: N = 1; a single channel; one unit per plane ([3,5,2,2]:
/// every unit of an invocation's run in another channel); planes of 3 and 5 units (a row of 8
/// lanes spans planes); [128,2,32,32]: 32768 units per channel, 8 chunks.
/// Vec4 units straddling planes (H*W not a multiple of 4): planes of 5, 6, 35, 49 elements,
/// a single channel, N = 1, and [16,4,33,31]: 2 chunks.
const SHAPES: &[&[usize]] = &[
    &[7, 5],
    &[9000, 3],
    &[70_000, 2],
    &[1, 2, 3, 3],
    &[4, 2, 1, 3],
    &[5, 3, 41, 41],
    &[1, 3, 4, 4],
    &[2, 1, 6, 6],
    &[3, 5, 2, 2],
    &[2, 3, 6, 2],
    &[5, 3, 4, 5],
    &[4, 6, 28, 28],
    &[128, 2, 32, 32],
    &[4, 1, 5, 1],
    &[2, 2, 2, 3],
    &[4, 3, 5, 7],
    &[1, 4, 7, 7],
    &[64, 6, 7, 7],
    &[16, 4, 33, 31],
];

/// Spacing of f32 values near `v`.
fn f32_ulp(v: f64) -> f64 {
    let v = (v as f32).abs();
    (f32::from_bits(v.to_bits() + 1) - v) as f64
}

fn check_train(shape: &[usize], offset: f64) {
    let seed = fresh_seed();
    let d = data(seed, shape, offset);
    let got = run_train(&d);
    let (n, c, hw) = dims(shape);
    let m = (n * hw) as f64;
    let eps = SPEC.eps as f64;
    let mom = SPEC.momentum as f64;
    let case = format!("{shape:?} offset {offset}");
    let (mean, var) = cpu::stats(&d.x, n, c, hw);
    let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    assert_close(&format!("{case} mean"), seed, &got.mean, &mean, 1e-6, 1e-6);
    assert_close(
        &format!("{case} invstd"),
        seed,
        &got.invstd,
        &invstd,
        0.0,
        1e-5,
    );
    let y = cpu::normalize(&d.x, c, hw, &mean, &var, &d.gamma, &d.beta, eps);
    assert_close(&format!("{case} y"), seed, &got.y, &y, 5e-5, 1e-5);

    let rm: Vec<f64> = (0..c)
        .map(|i| (1.0 - mom) * d.running_mean[i] + mom * mean[i])
        .collect();
    let rv: Vec<f64> = (0..c)
        .map(|i| (1.0 - mom) * d.running_var[i] + mom * var[i] * m / (m - 1.0))
        .collect();
    assert_close(
        &format!("{case} running_mean"),
        seed,
        &got.running_mean,
        &rm,
        1e-6,
        1e-5,
    );
    assert_close(
        &format!("{case} running_var"),
        seed,
        &got.running_var,
        &rv,
        1e-6,
        1e-5,
    );

    let (dx, dgamma, dbeta) = cpu::backward(&d.dy, &d.x, n, c, hw, &d.gamma, eps);
    let sum_atol = 4e-6 * m.sqrt();
    assert_close(
        &format!("{case} dbeta"),
        seed,
        &got.dbeta,
        &dbeta,
        sum_atol,
        1e-5,
    );
    // dgamma = invstd * sum dy (x - mean) is computed with the f32 mean, which is off from the
    // true mean by up to half an ulp: that shifts dgamma by |sum dy| * invstd * ulp / 2.
    let mean_rounding = (0..c)
        .map(|ch| {
            let sum_dy: f64 = (0..n * hw)
                .map(|j| d.dy[(j / hw * c + ch) * hw + j % hw])
                .sum();
            0.6 * f32_ulp(mean[ch]) * sum_dy.abs() * invstd[ch]
        })
        .fold(0.0, f64::max);
    assert_close(
        &format!("{case} dgamma"),
        seed,
        &got.dgamma,
        &dgamma,
        sum_atol + mean_rounding,
        1e-5,
    );
    assert_close(&format!("{case} dx"), seed, &got.dx, &dx, 2e-5, 1e-4);
}

#[test]
fn train_forward_and_backward_match_reference() {
    for shape in SHAPES {
        check_train(shape, 0.0);
    }
}

/// Data whose mean is 50x its standard deviation: the variance must not cancel (every build,
/// several chunks each).
#[test]
fn statistics_are_stable_far_from_zero() {
    check_train(&[9000, 3], 100.0);
    check_train(&[5, 3, 41, 41], 100.0);
    check_train(&[32, 3, 36, 20], 100.0);
    check_train(&[16, 4, 33, 31], 100.0);
}

#[test]
fn inference_matches_reference() {
    let gpu = gpu();
    // Inference needs no batch statistics, so N*H*W = 1 is fine here.
    // Scalar units; vec4 units (one unit per plane; batch 1 with runs crossing channels);
    // vec4 units straddling planes.
    let shapes = [
        &[1usize, 3][..],
        &[5, 4],
        &[2, 3, 5, 7],
        &[1, 1, 1, 1],
        &[3, 5, 2, 2],
        &[2, 3, 4, 4],
        &[1, 2, 28, 28],
        &[4, 3, 5, 7],
        &[1, 4, 7, 7],
    ];
    for shape in shapes {
        let seed = fresh_seed();
        let d = data(seed, shape, 0.0);
        let c = [shape[1]];
        let (_, ch, hw) = dims(shape);
        let x = upload(&gpu, shape, &d.x);
        let y = poisoned(&gpu, shape);
        // Every tensor stays bound to a name until the run: a dropped temporary would go back to
        // the pool while the launch still reads it.
        let params: Vec<_> = [&d.gamma, &d.beta, &d.running_mean, &d.running_var]
            .into_iter()
            .map(|v| upload(&gpu, &c, v))
            .collect();
        let [gamma, beta, rm, rv] = [&params[0], &params[1], &params[2], &params[3]];
        let l = batch_norm_inference(&gpu, &x, gamma, beta, rm, rv, &y, SPEC).unwrap();
        run(&gpu, &[&l]);
        let want = cpu::normalize(
            &d.x,
            ch,
            hw,
            &d.running_mean,
            &d.running_var,
            &d.gamma,
            &d.beta,
            SPEC.eps as f64,
        );
        // One normalisation of values within a few units: a handful of f32 roundings.
        assert_close(
            &format!("inference {shape:?}"),
            seed,
            &download(&y),
            &want,
            1e-5,
            1e-5,
        );
    }
}

/// Gradients against central finite differences of the f64 training forward,
/// L = sum(dy * y(x, gamma, beta)).
#[test]
fn backward_matches_finite_differences() {
    // Scalar units, then vec4 units.
    for shape in [
        &[5usize, 3][..],
        &[3, 2, 3, 3],
        &[1, 2, 2, 3],
        &[2, 2, 2, 2],
        &[1, 2, 4, 3],
    ] {
        let seed = fresh_seed();
        let d = data(seed, shape, 0.0);
        let got = run_train(&d);
        let (n, c, hw) = dims(shape);
        let eps = SPEC.eps as f64;
        let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| {
            dot(&d.dy, &cpu::train_forward(x, n, c, hw, gamma, beta, eps))
        };
        let h = 1e-4;
        let fx = finite_difference(|x| loss(x, &d.gamma, &d.beta), &d.x, h);
        let fg = finite_difference(|g| loss(&d.x, g, &d.beta), &d.gamma, h);
        let fb = finite_difference(|b| loss(&d.x, &d.gamma, b), &d.beta, h);
        let case = format!("{shape:?} vs finite differences");
        assert_close(&format!("{case} dx"), seed, &got.dx, &fx, 2e-5, 1e-4);
        assert_close(
            &format!("{case} dgamma"),
            seed,
            &got.dgamma,
            &fg,
            2e-5,
            1e-4,
        );
        assert_close(&format!("{case} dbeta"), seed, &got.dbeta, &fb, 2e-5, 1e-4);
    }
}

#[test]
fn statistics_and_gradients_are_bit_identical_across_reruns() {
    for shape in [&[128usize, 2, 32, 32][..], &[9000, 3], &[16, 4, 33, 31]] {
        let seed = fresh_seed();
        let d = data(seed, shape, 0.0);
        let bits = |r: Results| -> Vec<Vec<u32>> {
            [
                r.y,
                r.mean,
                r.invstd,
                r.running_mean,
                r.running_var,
                r.dx,
                r.dgamma,
                r.dbeta,
            ]
            .iter()
            .map(|v| v.iter().map(|f| f.to_bits()).collect())
            .collect()
        };
        assert!(
            bits(run_train(&d)) == bits(run_train(&d)),
            "{shape:?} (seed {seed}): reruns differ"
        );
    }
}

/// The kernel build each shape gets: vec4 units when the element count is a multiple of 4 and
/// H*W >= 4, else scalar units (the tests above rely on this to cover every build).
#[test]
fn builds_follow_the_shape() {
    let gpu = gpu();
    for (shape, vec4) in [
        (&[8usize, 3][..], false),
        (&[4, 2, 1, 3], false),
        (&[5, 3, 41, 41], false),
        (&[3, 5, 2, 2], true),
        (&[4, 3, 5, 7], true),
        (&[64, 6, 7, 7], true),
    ] {
        let c = [shape[1]];
        let x = poisoned(&gpu, shape);
        let y = poisoned(&gpu, shape);
        let per_channel: Vec<_> = (0..6).map(|_| poisoned(&gpu, &c)).collect();
        let [g, b, rm, rv, m, s] = &per_channel[..] else {
            unreachable!()
        };
        let launches = batch_norm_train_forward(&gpu, &x, g, b, rm, rv, &y, m, s, SPEC).unwrap();
        let names: Vec<&str> = launches.iter().map(|l| l.name()).collect();
        let want = |k: &str| {
            if vec4 {
                format!("{k}_vec4")
            } else {
                k.to_string()
            }
        };
        assert_eq!(
            names,
            [
                want("bn_stats_partial"),
                "bn_stats_finalize".into(),
                want("bn_apply")
            ],
            "{shape:?}"
        );
    }
}

#[test]
fn bad_shapes_are_errors_naming_the_shapes() {
    let gpu = gpu();
    let x = poisoned(&gpu, &[4, 3, 2, 2]);
    let c3 = || poisoned(&gpu, &[3]);
    let (g, b, rm, rv, m, s) = (c3(), c3(), c3(), c3(), c3(), c3());
    let y = poisoned(&gpu, &[4, 3, 2, 2]);
    assert!(batch_norm_train_forward(&gpu, &x, &g, &b, &rm, &rv, &y, &m, &s, SPEC).is_ok());

    let g4 = poisoned(&gpu, &[4]);
    match batch_norm_train_forward(&gpu, &x, &g4, &b, &rm, &rv, &y, &m, &s, SPEC) {
        Err(KernelError::Shape { message, .. }) => {
            assert!(
                message.contains("[4, 3, 2, 2]") && message.contains("[4]"),
                "{message}"
            )
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    let x3 = poisoned(&gpu, &[4, 3, 2]);
    match batch_norm_inference(&gpu, &x3, &g, &b, &rm, &rv, &y, SPEC) {
        Err(KernelError::Shape { message, .. }) => {
            assert!(message.contains("[4, 3, 2]"), "{message}")
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    // One value per channel: training statistics are undefined.
    let single = poisoned(&gpu, &[1, 3]);
    let ys = poisoned(&gpu, &[1, 3]);
    assert!(matches!(
        batch_norm_train_forward(&gpu, &single, &g, &b, &rm, &rv, &ys, &m, &s, SPEC),
        Err(KernelError::Shape { .. })
    ));
    // An output aliasing an input or another output is refused.
    assert!(matches!(
        batch_norm_train_forward(&gpu, &x, &g, &b, &rm, &rv, &y, &m, &m, SPEC),
        Err(KernelError::Argument { .. })
    ));
    let dx = poisoned(&gpu, &[4, 3, 2, 2]);
    assert!(matches!(
        batch_norm_backward(&gpu, &y, &x, &g, &m, &s, &dx, &rm, &rm),
        Err(KernelError::Argument { .. })
    ));
    let bad_spec = BatchNormSpec {
        eps: 1e-5,
        momentum: 1.5,
    };
    assert!(matches!(
        batch_norm_inference(&gpu, &x, &g, &b, &rm, &rv, &y, bad_spec),
        Err(KernelError::Argument { .. })
    ));
}
