//! Elementwise kernels against f64 references; backward kernels also against finite differences.
//! Every kernel runs on sizes that take the vec4 build (multiples of 4) and the scalar build.
//! Tolerances: exact-rounding ops (relu, add, mul, scale, accumulate) atol 1e-7, rtol 1e-6 (one
//! f32 rounding is 6e-8 relative); sigmoid/tanh use the device exp, atol 1e-6, rtol 1e-5.

mod common;

use common::reference::elementwise as cpu;
use common::*;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::elementwise::{self, Binary, Unary};

/// Scalar builds: 1, 3, 7, 255, 257, 1001, 100_003. Vec4 builds: 4, 256 (one run of 8
/// invocations x 8 units), 260 (a run and one unit), 1000, 100_004, and 16.8M elements
/// (16384 workgroups of 256 invocations).
const SIZES: &[usize] = &[
    1,
    3,
    4,
    7,
    255,
    256,
    257,
    260,
    1000,
    1001,
    100_003,
    100_004,
    256 * 65_535 + 1000,
];

fn unary_reference(op: Unary, x: &[f64]) -> Vec<f64> {
    match op {
        Unary::Relu => cpu::relu(x),
        Unary::Sigmoid => cpu::sigmoid(x),
        Unary::Tanh => cpu::tanh(x),
        Unary::Scale(a) => cpu::scale(x, a as f64),
    }
}

fn tolerance(op: Unary) -> (f64, f64) {
    match op {
        Unary::Sigmoid | Unary::Tanh => (1e-6, 1e-5),
        _ => (1e-7, 1e-6),
    }
}

const UNARY_OPS: [Unary; 4] = [
    Unary::Relu,
    Unary::Sigmoid,
    Unary::Tanh,
    Unary::Scale(-1.75),
];

#[test]
fn unary_forward_matches_reference() {
    let gpu = gpu();
    for &op in &UNARY_OPS {
        for &n in SIZES {
            let seed = fresh_seed();
            let mut r = rng(seed);
            // Include saturating inputs for sigmoid/tanh.
            let mut x = uniform(&mut r, n);
            if n > 2 {
                x[0] = 40.0;
                x[1] = -40.0;
            }
            let xt = upload(&gpu, &[n], &x);
            let y = poisoned(&gpu, &[n]);
            run(&gpu, &[&elementwise::unary(&gpu, op, &xt, &y).unwrap()]);
            let x32 = to_f64(&to_f32(&x));
            let (atol, rtol) = tolerance(op);
            assert_close(
                &format!("{op:?} n={n}"),
                seed,
                &download(&y),
                &unary_reference(op, &x32),
                atol,
                rtol,
            );
        }
    }
}

#[test]
fn binary_forward_matches_reference() {
    let gpu = gpu();
    for op in [Binary::Add, Binary::Mul] {
        for &n in SIZES {
            let seed = fresh_seed();
            let mut r = rng(seed);
            let a = to_f64(&to_f32(&uniform(&mut r, n)));
            let b = to_f64(&to_f32(&uniform(&mut r, n)));
            let (at, bt, c) = (
                upload(&gpu, &[n], &a),
                upload(&gpu, &[n], &b),
                poisoned(&gpu, &[n]),
            );
            run(
                &gpu,
                &[&elementwise::binary(&gpu, op, &at, &bt, &c).unwrap()],
            );
            let want = match op {
                Binary::Add => cpu::add(&a, &b),
                Binary::Mul => cpu::mul(&a, &b),
            };
            assert_close(
                &format!("{op:?} n={n}"),
                seed,
                &download(&c),
                &want,
                1e-7,
                1e-6,
            );
        }
    }
}

#[test]
fn accumulate_and_fill() {
    let gpu = gpu();
    // Scalar builds (1, 4099) and vec4 builds (4, 300, 4100).
    for &n in &[1usize, 4, 300, 4099, 4100] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let x = to_f64(&to_f32(&uniform(&mut r, n)));
        let acc0 = to_f64(&to_f32(&uniform(&mut r, n)));
        let (xt, acc) = (upload(&gpu, &[n], &x), upload(&gpu, &[n], &acc0));
        run(
            &gpu,
            &[&elementwise::accumulate(&gpu, &xt, &acc, 0.5).unwrap()],
        );
        let want: Vec<f64> = acc0.iter().zip(&x).map(|(a, b)| a + 0.5 * b).collect();
        assert_close(
            &format!("accumulate n={n}"),
            seed,
            &download(&acc),
            &want,
            1e-7,
            1e-6,
        );

        let t = poisoned(&gpu, &[n]);
        run(&gpu, &[&elementwise::fill(&gpu, &t, 3.25).unwrap()]);
        assert_close(
            &format!("fill n={n}"),
            seed,
            &download(&t),
            &vec![3.25; n],
            0.0,
            0.0,
        );
    }
}

/// Backward kernels against the analytic f64 derivative and central finite differences of the
/// f64 forward: L(x) = sum(g * f(x)), dL/dx must equal the kernel's dx for upstream gradient g.
#[test]
fn unary_backward_matches_reference_and_finite_differences() {
    let gpu = gpu();
    for &op in &UNARY_OPS {
        // Scalar builds (1, 37, 1031) and vec4 builds (4, 36, 1032).
        for &n in &[1usize, 37, 1031, 4, 36, 1032] {
            let seed = fresh_seed();
            let mut r = rng(seed);
            // Keep relu inputs away from its kink, where finite differences are meaningless.
            let x: Vec<f64> = to_f64(&to_f32(&uniform(&mut r, n)))
                .into_iter()
                .map(|v| if v.abs() < 1e-2 { 0.5 } else { v })
                .collect();
            let g = to_f64(&to_f32(&uniform(&mut r, n)));
            let y = unary_reference(op, &x);
            // relu's backward is fed x; sigmoid/tanh's are fed the forward output y.
            let saved = match op {
                Unary::Relu | Unary::Scale(_) => x.clone(),
                _ => to_f64(&to_f32(&y)),
            };
            let (st, gt, dx) = (
                upload(&gpu, &[n], &saved),
                upload(&gpu, &[n], &g),
                poisoned(&gpu, &[n]),
            );
            run(
                &gpu,
                &[&elementwise::unary_backward(&gpu, op, &st, &gt, &dx).unwrap()],
            );
            let got = download(&dx);

            let analytic: Vec<f64> = (0..n)
                .map(|i| {
                    let d = match op {
                        Unary::Relu => (x[i] > 0.0) as u8 as f64,
                        Unary::Sigmoid => saved[i] * (1.0 - saved[i]),
                        Unary::Tanh => 1.0 - saved[i] * saved[i],
                        Unary::Scale(a) => a as f64,
                    };
                    g[i] * d
                })
                .collect();
            let (atol, rtol) = tolerance(op);
            assert_close(
                &format!("{op:?} backward n={n}"),
                seed,
                &got,
                &analytic,
                atol,
                rtol,
            );

            let fd = finite_difference(|xs| dot(&g, &unary_reference(op, xs)), &x, 1e-6);
            assert_close(
                &format!("{op:?} backward vs finite differences n={n}"),
                seed,
                &got,
                &fd,
                1e-5,
                1e-4,
            );
        }
    }
}

#[test]
fn mismatched_shapes_are_errors_naming_both_shapes() {
    let gpu = gpu();
    let a = poisoned(&gpu, &[2, 3]);
    let b = poisoned(&gpu, &[3, 2]);
    let c = poisoned(&gpu, &[2, 3]);
    match elementwise::binary(&gpu, Binary::Add, &a, &b, &c) {
        Err(KernelError::Shape { message, .. }) => {
            assert!(
                message.contains("[2, 3]") && message.contains("[3, 2]"),
                "{message}"
            );
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    match elementwise::unary(&gpu, Unary::Relu, &a, &b) {
        Err(KernelError::Shape { message, .. }) => assert!(message.contains("[3, 2]"), "{message}"),
        other => panic!("expected a shape error, got {other:?}"),
    }
    // An output aliasing an input is refused before wgpu sees it.
    assert!(matches!(
        elementwise::unary(&gpu, Unary::Relu, &a, &a),
        Err(KernelError::Argument { .. })
    ));
}
