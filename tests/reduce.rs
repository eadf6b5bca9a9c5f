//! Axis reductions against an f64 reference, over every axis of rank 1..4 tensors, including
//! axes of length 1 and axes longer than 100k that take several passes; reruns are bit-identical.
//!
//! Tolerance: atol = 1e-6 + 1e-7 * len on the sum (divided by len for the mean), rtol 1e-6.
//! The kernel sums chunks of at most 256 (strided) or 2048 (tree) elements in f32, then sums the
//! partials; for inputs in [-2, 2] its rounding error grows roughly like 6e-8 * chunk per chunk
//! and like sqrt(chunks) across them, well inside the bound, while a skipped or doubled element
//! (|x| up to 2) is caught unless it happens to be tiny.

mod common;

use common::reference::reduce as cpu;
use common::*;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::reduce::{Reduction, reduce_axis, reduced_shape};
use nasgpu::tensor::Tensor;

fn check(shape: &[usize], axis: usize, reduction: Reduction) {
    let gpu = gpu();
    let seed = fresh_seed();
    let n: usize = shape.iter().product();
    let x = to_f64(&to_f32(&uniform(&mut rng(seed), n)));
    let xt = upload(&gpu, shape, &x);
    let y = poisoned(&gpu, &reduced_shape(shape, axis));
    let launches = reduce_axis(&gpu, &xt, axis, reduction, &y).unwrap();
    run(&gpu, &launches.iter().collect::<Vec<_>>());
    let mean = reduction == Reduction::Mean;
    let len = shape[axis] as f64;
    let atol = (1e-6 + 1e-7 * len) / if mean { len } else { 1.0 };
    assert_close(
        &format!("{reduction:?} {shape:?} axis {axis}"),
        seed,
        &download(&y),
        &cpu::reduce_axis(&x, shape, axis, mean),
        atol,
        1e-6,
    );
}

#[test]
fn every_axis_of_rank_1_to_4() {
    let shapes: &[&[usize]] = &[
        &[1],
        &[7],
        &[65],
        &[2049],
        &[3, 1],
        &[1, 5],
        &[5, 300],
        &[300, 5],
        &[4, 1, 70],
        &[3, 65, 2],
        &[2, 3, 5, 7],
        &[3, 1, 257, 2],
        &[1, 4, 1, 129],
    ];
    for shape in shapes {
        for axis in 0..shape.len() {
            for reduction in [Reduction::Sum, Reduction::Mean] {
                check(shape, axis, reduction);
            }
        }
    }
}

/// Axes longer than 100k: contiguous (tree passes: 300_000 -> 147 -> 1 partials), strided
/// (100_003 with inner 3: 391 -> 2 -> 1), and in the middle of a rank-3 tensor.
#[test]
fn long_axes_take_several_passes() {
    for (shape, axis) in [
        (vec![300_000usize], 0usize),
        (vec![100_003], 0),
        (vec![3, 100_003], 1),
        (vec![100_003, 3], 0),
        (vec![2, 100_001, 2], 1),
    ] {
        check(&shape, axis, Reduction::Sum);
        check(&shape, axis, Reduction::Mean);
    }
}

/// More than 65535 rows, so the tree kernel's workgroups are split over x and y; and the
/// bias-gradient shape (sum over 65536 rows of 64 channels).
#[test]
fn many_rows_and_bias_gradient_shape() {
    check(&[66_000, 65], 1, Reduction::Sum);
    check(&[65_536, 64], 0, Reduction::Sum);
}

#[test]
fn reruns_are_bit_identical() {
    let gpu = gpu();
    for (shape, axis) in [
        (vec![300_000usize], 0usize),
        (vec![100_003, 3], 0),
        (vec![64, 48, 1024], 2),
    ] {
        let seed = fresh_seed();
        let n: usize = shape.iter().product();
        let xt = upload(&gpu, &shape, &uniform(&mut rng(seed), n));
        let bits = |_: ()| {
            let y = poisoned(&gpu, &reduced_shape(&shape, axis));
            let launches = reduce_axis(&gpu, &xt, axis, Reduction::Sum, &y).unwrap();
            run(&gpu, &launches.iter().collect::<Vec<_>>());
            download(&y).iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(bits(()), bits(()), "{shape:?} axis {axis} (seed {seed})");
    }
}

#[test]
fn bad_shapes_are_errors_naming_the_shapes() {
    let gpu = gpu();
    let x = poisoned(&gpu, &[2, 3, 4]);
    let expect_shape_error = |r: Result<Vec<nasgpu::device::Launch>, KernelError>,
                              needles: &[&str]| match r {
        Err(KernelError::Shape { message, .. }) => {
            for n in needles {
                assert!(message.contains(n), "{message} lacks {n}");
            }
        }
        other => panic!("expected a shape error, got {other:?}"),
    };
    let y = poisoned(&gpu, &[2, 4]);
    expect_shape_error(
        reduce_axis(&gpu, &x, 3, Reduction::Sum, &y),
        &["[2, 3, 4]", "axis 3"],
    );
    let wrong = poisoned(&gpu, &[2, 3]);
    expect_shape_error(
        reduce_axis(&gpu, &x, 1, Reduction::Sum, &wrong),
        &["[2, 3, 4]", "[2, 4]", "[2, 3]"],
    );
    let v = poisoned(&gpu, &[5]);
    let scalar = Tensor::empty(&gpu, &[], nasgpu::tensor::DType::F32).unwrap();
    expect_shape_error(
        reduce_axis(&gpu, &v, 0, Reduction::Mean, &scalar),
        &["[5]", "[1]"],
    );
    assert!(matches!(
        reduce_axis(&gpu, &x, 0, Reduction::Sum, &x),
        Err(KernelError::Shape { .. })
    ));
}
