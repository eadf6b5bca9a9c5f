//! Depthwise conv2d (grouped conv with groups = channels): every pass against the f64 reference
//! on edge shapes, against central finite differences, reruns bit-identical, bad arguments
//! refused. Tolerances in `common/grouped_check.rs` and `TOLERANCES.md`.

mod common;

use common::grouped_check::*;
use common::reference::grouped_conv::GConv;
use common::*;
use nasgpu::device::Launch;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::conv2d_grouped::{self as grouped, GroupedConvSpec};
use nasgpu::tensor::Tensor;

/// Depthwise case: batch, channels, input h x w, filter kh x kw, strides, dilations.
#[allow(clippy::too_many_arguments)]
const fn dw(
    n: usize,
    c: usize,
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    (dh, dwl): (usize, usize),
) -> GConv {
    GConv {
        n,
        cin: c,
        cout: c,
        groups: c,
        h,
        w,
        kh,
        kw,
        sh,
        sw,
        dh,
        dw: dwl,
        shift: 0,
    }
}

/// Filters 1, 3, 5, 7 and 1x7 / 7x1, strides 1, 2, 3 and mixed, dilation 1 and 2 (also a dilated
/// filter wider than the image), a single channel, batch 1, a 1x1 image, widths off the 8-column
/// block (5, 7, 9, 13, 33), and a DARTS-sized reduction.
const CASES: &[GConv] = &[
    dw(1, 1, (1, 1), (1, 1), (1, 1), (1, 1)),
    dw(3, 5, (7, 9), (3, 3), (1, 1), (1, 1)),
    dw(1, 13, (11, 5), (5, 5), (2, 2), (1, 1)),
    dw(3, 1, (9, 7), (7, 7), (1, 1), (1, 1)),
    dw(2, 6, (8, 8), (1, 7), (1, 1), (1, 1)),
    dw(1, 4, (7, 9), (7, 1), (3, 3), (1, 1)),
    dw(3, 5, (11, 5), (3, 3), (2, 1), (2, 2)),
    dw(1, 3, (1, 1), (3, 3), (2, 2), (2, 2)),
    dw(2, 9, (6, 13), (5, 3), (3, 2), (2, 1)),
    dw(1, 8, (17, 33), (3, 3), (1, 1), (2, 2)),
    dw(2, 16, (16, 16), (5, 5), (2, 2), (2, 2)),
    dw(1, 2, (9, 9), (7, 7), (1, 1), (2, 2)),
    dw(2, 3, (10, 12), (3, 5), (1, 3), (1, 2)),
];

#[test]
fn every_pass_matches_reference_on_edge_shapes() {
    for c in CASES {
        check_all_passes(c);
    }
}

#[test]
fn nas_sized_layers_match_reference() {
    // DARTS sep_conv_3x3 and dil_conv_5x5 at batch 4 (the kernels do not depend on the batch
    // beyond the split of the weight gradient, which this exercises with 64 rows).
    check_all_passes(&dw(4, 16, (16, 16), (3, 3), (1, 1), (1, 1)));
    check_all_passes(&dw(4, 24, (16, 16), (5, 5), (1, 1), (2, 2)));
}

#[test]
fn backward_passes_match_finite_differences() {
    for c in [
        dw(2, 3, (5, 6), (3, 3), (2, 1), (1, 1)),
        dw(1, 2, (7, 4), (1, 7), (1, 3), (1, 1)),
        dw(2, 2, (6, 7), (5, 3), (2, 2), (2, 2)),
        dw(1, 1, (8, 8), (7, 7), (1, 1), (2, 1)),
    ] {
        check_finite_differences(&c);
    }
}

#[test]
fn weight_gradient_reruns_bit_identical() {
    check_rerun_bit_identical(&dw(3, 13, (11, 5), (5, 5), (2, 2), (2, 2)));
    check_rerun_bit_identical(&dw(64, 4, (8, 8), (3, 3), (1, 1), (1, 1)));
}

fn expect_err(r: Result<Vec<Launch>, KernelError>, shape: bool, needles: &[&str]) {
    let e = match r {
        Err(e) => e,
        Ok(_) => panic!("expected an error mentioning {needles:?}"),
    };
    let (is_shape, message) = match &e {
        KernelError::Shape { message, .. } => (true, message.clone()),
        KernelError::Argument { message, .. } => (false, message.clone()),
        other => panic!("unexpected error {other:?}"),
    };
    assert_eq!(is_shape, shape, "wrong error kind: {e}");
    for n in needles {
        assert!(message.contains(n), "{message:?} should mention {n:?}");
    }
}

#[test]
fn bad_shapes_and_arguments_are_errors_naming_them() {
    let gpu = gpu();
    let t = |shape: &[usize]| Tensor::zeros(&gpu, shape).unwrap();
    let s = GroupedConvSpec::depthwise(4, [3, 3], [1, 1], [2, 2]);
    let (x, w, y) = (t(&[2, 4, 8, 8]), t(&[4, 1, 3, 3]), t(&[2, 4, 8, 8]));
    assert!(grouped::grouped_conv2d_forward(&gpu, &x, &w, None, &y, s).is_ok());
    // Dense-shaped weights for a depthwise spec.
    expect_err(
        grouped::grouped_conv2d_forward(&gpu, &x, &t(&[4, 4, 3, 3]), None, &y, s),
        true,
        &["w should be [4, 1, 3, 3]", "[4, 4, 3, 3]"],
    );
    // Output of the wrong size for the stride.
    let s2 = GroupedConvSpec::depthwise(4, [3, 3], [2, 2], [1, 1]);
    expect_err(
        grouped::grouped_conv2d_forward(&gpu, &x, &w, None, &y, s2),
        true,
        &["y should be [2, 4, 4, 4]"],
    );
    // Groups that do not divide the channels.
    let s3 = GroupedConvSpec::depthwise(3, [3, 3], [1, 1], [1, 1]);
    expect_err(
        grouped::grouped_conv2d_forward(&gpu, &x, &w, None, &y, s3),
        true,
        &["3 groups", "[2, 4, 8, 8]"],
    );
    // Filter, stride, dilation out of range.
    for (kernel, stride, dilation) in [
        ([9, 3], [1, 1], [1, 1]),
        ([3, 3], [4, 1], [1, 1]),
        ([3, 3], [1, 1], [0, 1]),
        ([3, 3], [1, 1], [5, 1]),
    ] {
        let bad = GroupedConvSpec::depthwise(4, kernel, stride, dilation);
        expect_err(
            grouped::grouped_conv2d_forward(&gpu, &x, &w, None, &y, bad),
            false,
            &[&format!("{kernel:?}"), &format!("{dilation:?}")],
        );
    }
    // Bias of the wrong length, aliasing, and the backward passes name their tensors.
    expect_err(
        grouped::grouped_conv2d_forward(&gpu, &x, &w, Some(&t(&[3])), &y, s),
        true,
        &["bias should be [4]"],
    );
    expect_err(
        grouped::grouped_conv2d_forward(&gpu, &x, &w, None, &x, s),
        false,
        &["shares its buffer"],
    );
    expect_err(
        grouped::grouped_conv2d_backward_data(&gpu, &t(&[2, 4, 7, 8]), &w, &x, s),
        true,
        &["dy should be [2, 4, 8, 8]"],
    );
    expect_err(
        grouped::grouped_conv2d_backward_weights(&gpu, &y, &x, &t(&[4, 1, 3, 1]), s),
        true,
        &["dw should be [4, 1, 3, 3]"],
    );
}
