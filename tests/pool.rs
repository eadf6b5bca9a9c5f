//! Pooling against f64 references (windows 1x1, 2x2, 3x3, 3x1 and 2x4 on the windowed kernels,
//! 5x5 on the one-element ones; strides 1, 2, 3; same and valid padding; overlapping windows;
//! rows of one and of several column blocks) and backward kernels against central finite
//! differences.
//!
//! Tolerances: max pooling copies values and indices, so forward and backward must match exactly
//! up to the f32 sum of the few windows that picked an element (atol 1e-6, rtol 1e-6); argmax
//! must be identical. Average pooling sums at most 9 values and divides once, so errors are a few
//! f32 roundings (atol 1e-6, rtol 1e-5). Finite differences: the functions are piecewise linear,
//! so the central difference is exact up to f64 rounding / h (atol 1e-6, rtol 1e-5).

mod common;

use common::reference::pool::{Pool, global_avg_pool};
use common::*;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::pool::{
    Pool2dSpec, PoolKind, global_avg_pool_backward, global_avg_pool_forward, pool2d_backward,
    pool2d_forward,
};
use nasgpu::tensor::{DType, Tensor};
use rand::seq::SliceRandom;

const WINDOWS: [[usize; 2]; 6] = [[1, 1], [2, 2], [3, 3], [3, 1], [2, 4], [5, 5]];
const STRIDES: [[usize; 2]; 4] = [[1, 1], [2, 2], [3, 3], [1, 2]];
const SHAPES: [[usize; 4]; 4] = [[2, 3, 7, 9], [1, 1, 5, 5], [1, 2, 12, 11], [1, 2, 6, 29]];

fn spec(kind: PoolKind, kernel: [usize; 2], stride: [usize; 2], same: bool) -> Pool2dSpec {
    Pool2dSpec {
        kind,
        kernel,
        stride,
        same_padding: same,
    }
}

fn reference(s: &Pool2dSpec) -> Pool {
    Pool {
        max: s.kind == PoolKind::Max,
        kernel: s.kernel,
        stride: s.stride,
        same: s.same_padding,
    }
}

/// Distinct values spread over [-2, 2] in random order, at least 4/n apart: no ties in any
/// window, and a finite-difference step cannot change which element is the maximum.
fn tie_free(r: &mut TestRng, n: usize) -> Vec<f64> {
    let mut v: Vec<f64> = (0..n).map(|i| -2.0 + 4.0 * i as f64 / n as f64).collect();
    v.shuffle(r);
    to_f64(&to_f32(&v))
}

/// Every spec of the grid whose window fits the shape (valid padding needs in >= k).
fn specs_for(shape: [usize; 4]) -> Vec<Pool2dSpec> {
    let mut all = Vec::new();
    for kind in [PoolKind::Max, PoolKind::Avg] {
        for kernel in WINDOWS {
            for stride in STRIDES {
                for same in [false, true] {
                    if same || (shape[2] >= kernel[0] && shape[3] >= kernel[1]) {
                        all.push(spec(kind, kernel, stride, same));
                    }
                }
            }
        }
    }
    all
}

/// Runs forward (and backward with a random dy) on the GPU; returns y, argmax, dx.
fn run_pool(
    s: Pool2dSpec,
    shape: [usize; 4],
    x: &[f64],
    dy: &[f64],
) -> (Vec<f32>, Option<Vec<u32>>, Vec<f32>) {
    let gpu = gpu();
    let out = s.output_hw([shape[2], shape[3]]).unwrap();
    let yshape = [shape[0], shape[1], out[0], out[1]];
    let xt = upload(&gpu, &shape, x);
    let y = poisoned(&gpu, &yshape);
    let argmax = (s.kind == PoolKind::Max)
        .then(|| Tensor::from_u32(&gpu, &yshape, &vec![u32::MAX; dy.len()]).unwrap());
    let dyt = upload(&gpu, &yshape, dy);
    let dx = poisoned(&gpu, &shape);
    let fwd = pool2d_forward(&gpu, &xt, &y, argmax.as_ref(), s).unwrap();
    let bwd = pool2d_backward(&gpu, &dyt, argmax.as_ref(), &dx, s).unwrap();
    run(&gpu, &[&fwd, &bwd]);
    (
        download(&y),
        argmax.map(|a| a.to_u32().unwrap()),
        download(&dx),
    )
}

#[test]
fn forward_and_backward_match_reference() {
    for shape in SHAPES {
        for s in specs_for(shape) {
            let seed = fresh_seed();
            let mut r = rng(seed);
            let n: usize = shape.iter().product();
            let x = tie_free(&mut r, n);
            let cpu = reference(&s);
            let (want_y, want_arg) = cpu.forward(&x, shape);
            let dy = to_f64(&to_f32(&uniform(&mut r, want_y.len())));
            let (y, arg, dx) = run_pool(s, shape, &x, &dy);
            let case = format!("{s:?} x {shape:?}");
            let (atol, rtol) = match s.kind {
                PoolKind::Max => (1e-6, 1e-6),
                PoolKind::Avg => (1e-6, 1e-5),
            };
            assert_close(&format!("{case} forward"), seed, &y, &want_y, atol, rtol);
            if let Some(arg) = arg {
                assert_eq!(arg, want_arg, "{case} argmax (seed {seed})");
            }
            let want_dx = cpu.backward(&x, shape, &dy);
            assert_close(&format!("{case} backward"), seed, &dx, &want_dx, atol, rtol);
        }
    }
}

#[test]
fn backward_matches_finite_differences() {
    let shape = [1, 2, 7, 8];
    for s in specs_for(shape) {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let x = tie_free(&mut r, shape.iter().product());
        let cpu = reference(&s);
        let ny = cpu.forward(&x, shape).0.len();
        let g = to_f64(&to_f32(&uniform(&mut r, ny)));
        let (_, _, dx) = run_pool(s, shape, &x, &g);
        let fd = finite_difference(|xs| dot(&g, &cpu.forward(xs, shape).0), &x, 1e-6);
        assert_close(
            &format!("{s:?} x {shape:?} backward vs finite differences"),
            seed,
            &dx,
            &fd,
            1e-6,
            1e-5,
        );
    }
}

/// On ties the first maximum in row-major order wins, and only it receives the gradient.
#[test]
fn max_ties_pick_the_first_element() {
    let shape = [1, 1, 4, 4];
    let s = spec(PoolKind::Max, [2, 2], [2, 2], false);
    let x = vec![1.0; 16];
    let dy = vec![1.0, 2.0, 3.0, 4.0];
    let (y, arg, dx) = run_pool(s, shape, &x, &dy);
    assert_eq!(y, vec![1.0; 4]);
    assert_eq!(arg.unwrap(), vec![0, 2, 8, 10]);
    let mut want = vec![0.0f32; 16];
    for (k, &i) in [0usize, 2, 8, 10].iter().enumerate() {
        want[i] = dy[k] as f32;
    }
    assert_eq!(dx, want);
}

/// Planes up to 1024 elements take the invocation-per-plane kernel, larger ones the
/// workgroup-per-plane kernel; each in a scalar build (odd plane sizes) and a vec4 build (plane
/// sizes that are multiples of 4). The backward has the same two builds, and its invocations
/// write runs that cross planes (1x1 and 2x2 planes).
#[test]
fn global_avg_pool_matches_reference_and_finite_differences() {
    let gpu = gpu();
    for shape in [
        [2usize, 3, 5, 7],
        [1, 1, 1, 1],
        [3, 5, 1, 1],
        [2, 3, 2, 2],
        [64, 6, 7, 7],
        [1, 4, 4, 3],
        [3, 2, 32, 32],
        [1, 1, 70, 70],
        [2, 2, 36, 36],
        [1, 3, 33, 33],
    ] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let hw = shape[2] * shape[3];
        let planes = shape[0] * shape[1];
        let x = to_f64(&to_f32(&uniform(&mut r, planes * hw)));
        let dy = to_f64(&to_f32(&uniform(&mut r, planes)));
        let xt = upload(&gpu, &shape, &x);
        let y = poisoned(&gpu, &shape[..2]);
        let dyt = upload(&gpu, &shape[..2], &dy);
        let dx = poisoned(&gpu, &shape);
        run(
            &gpu,
            &[
                &global_avg_pool_forward(&gpu, &xt, &y).unwrap(),
                &global_avg_pool_backward(&gpu, &dyt, &dx).unwrap(),
            ],
        );
        // Sums of hw values in [-2, 2] (in order within each of up to 4 lanes, or a tree):
        // random-walk rounding of about 6e-8 * sqrt(hw) times the partial sums' size (about
        // sqrt(hw)), divided by hw for the mean: under 1e-7 here.
        assert_close(
            &format!("global avg pool {shape:?}"),
            seed,
            &download(&y),
            &global_avg_pool(&x, hw),
            1e-6,
            1e-5,
        );
        let want_dx: Vec<f64> = (0..x.len()).map(|i| dy[i / hw] / hw as f64).collect();
        assert_close(
            &format!("global avg pool backward {shape:?}"),
            seed,
            &download(&dx),
            &want_dx,
            1e-7,
            1e-6,
        );
        if hw <= 64 {
            let fd = finite_difference(|xs| dot(&dy, &global_avg_pool(xs, hw)), &x, 1e-6);
            assert_close(
                &format!("global avg pool backward vs finite differences {shape:?}"),
                seed,
                &download(&dx),
                &fd,
                1e-6,
                1e-5,
            );
        }
    }
}

/// Global average pooling is a fixed-order reduction: reruns must give identical bits (both
/// kernels, both builds).
#[test]
fn global_avg_pool_reruns_are_bit_identical() {
    let gpu = gpu();
    for shape in [
        [4usize, 8, 33, 31],
        [4, 8, 8, 8],
        [2, 3, 45, 45],
        [2, 3, 36, 36],
    ] {
        let seed = fresh_seed();
        let x = upload(
            &gpu,
            &shape,
            &uniform(&mut rng(seed), shape.iter().product()),
        );
        let bits = || {
            let y = poisoned(&gpu, &shape[..2]);
            run(&gpu, &[&global_avg_pool_forward(&gpu, &x, &y).unwrap()]);
            download(&y).iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(bits(), bits(), "{shape:?} (seed {seed})");
    }
}

#[test]
fn bad_shapes_and_arguments_are_errors() {
    let gpu = gpu();
    let x = poisoned(&gpu, &[2, 3, 4, 5]);
    let max3 = spec(PoolKind::Max, [3, 3], [2, 2], false);
    let y = poisoned(&gpu, &[2, 3, 1, 2]);
    let arg = Tensor::empty(&gpu, &[2, 3, 1, 2], DType::U32).unwrap();
    assert!(pool2d_forward(&gpu, &x, &y, Some(&arg), max3).is_ok());

    let wrong = poisoned(&gpu, &[2, 3, 2, 2]);
    match pool2d_forward(&gpu, &x, &wrong, Some(&arg), max3) {
        Err(KernelError::Shape { message, .. }) => {
            assert!(
                message.contains("[2, 3, 4, 5]") && message.contains("[2, 3, 2, 2]"),
                "{message}"
            )
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    let big = spec(PoolKind::Avg, [5, 5], [1, 1], false);
    match pool2d_forward(&gpu, &x, &y, None, big) {
        Err(KernelError::Shape { message, .. }) => assert!(message.contains("[4, 5]"), "{message}"),
        other => panic!("expected a shape error, got {other:?}"),
    }
    assert!(matches!(
        pool2d_forward(&gpu, &x, &y, None, max3),
        Err(KernelError::Argument { .. })
    ));
    let f32_arg = poisoned(&gpu, &[2, 3, 1, 2]);
    assert!(matches!(
        pool2d_forward(&gpu, &x, &y, Some(&f32_arg), max3),
        Err(KernelError::Argument { .. })
    ));
    let zero_stride = spec(PoolKind::Max, [2, 2], [0, 1], true);
    assert!(matches!(
        zero_stride.output_hw([4, 4]),
        Err(KernelError::Argument { .. })
    ));
    match global_avg_pool_forward(&gpu, &x, &poisoned(&gpu, &[3, 2])) {
        Err(KernelError::Shape { message, .. }) => {
            assert!(
                message.contains("[2, 3, 4, 5]") && message.contains("[3, 2]"),
                "{message}"
            )
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
}
