//! Dense dilated conv2d (grouped conv with groups = 1, and 2 groups), and the shifted 1x1
//! stride-2 conv of the factorized reduction: every pass against the f64 reference, against
//! central finite differences, and (dilation 1) against the regular conv2d reference.
//! Tolerances in `common/grouped_check.rs` and `TOLERANCES.md`.

mod common;

use common::grouped_check::*;
use common::reference::conv2d::Conv;
use common::reference::grouped_conv::GConv;
use common::*;

/// Dense case: batch, channels in -> out, groups, input, filter, strides, dilations, shift.
#[allow(clippy::too_many_arguments)]
const fn dense(
    n: usize,
    (cin, cout, groups): (usize, usize, usize),
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    (dh, dwl): (usize, usize),
    shift: usize,
) -> GConv {
    GConv {
        n,
        cin,
        cout,
        groups,
        h,
        w,
        kh,
        kw,
        sh,
        sw,
        dh,
        dw: dwl,
        shift,
    }
}

/// DARTS dil_conv filters (3x3 and 5x5 at dilation 2) at strides 1, 2, 3, a 1x7 and a 7x7
/// filter, one channel in or out, batch 1, widths off the 8-column block, two groups, and the
/// shifted stride-2 1x1 conv on even and odd sizes.
const CASES: &[GConv] = &[
    dense(2, (3, 5, 1), (9, 9), (3, 3), (1, 1), (2, 2), 0),
    dense(1, (4, 7, 1), (12, 10), (5, 5), (2, 2), (2, 2), 0),
    dense(1, (2, 2, 1), (8, 11), (1, 7), (3, 3), (2, 2), 0),
    dense(1, (1, 3, 1), (9, 9), (7, 7), (1, 2), (2, 1), 0),
    dense(3, (5, 1, 1), (5, 13), (3, 3), (2, 3), (2, 2), 0),
    dense(2, (4, 6, 2), (7, 9), (3, 3), (1, 1), (1, 2), 0),
    dense(3, (6, 4, 1), (8, 8), (1, 1), (2, 2), (1, 1), 1),
    dense(1, (3, 3, 1), (7, 7), (1, 1), (2, 2), (1, 1), 1),
    dense(2, (3, 2, 1), (5, 6), (3, 3), (2, 2), (1, 1), 1),
    // 8-channel blocks (with a remainder) in both directions, and two groups of 8.
    dense(2, (9, 17, 1), (6, 11), (3, 3), (1, 1), (2, 2), 0),
    dense(1, (16, 8, 2), (5, 9), (3, 1), (1, 1), (1, 1), 0),
];

#[test]
fn every_pass_matches_reference_on_edge_shapes() {
    for c in CASES {
        check_all_passes(c);
    }
}

#[test]
fn backward_passes_match_finite_differences() {
    for c in [
        dense(2, (2, 3, 1), (6, 5), (3, 3), (1, 1), (2, 2), 0),
        dense(1, (3, 2, 1), (7, 8), (5, 3), (2, 2), (2, 1), 0),
        dense(2, (3, 2, 1), (5, 6), (1, 1), (2, 2), (1, 1), 1),
    ] {
        check_finite_differences(&c);
    }
}

#[test]
fn weight_gradient_reruns_bit_identical() {
    check_rerun_bit_identical(&dense(4, (6, 5, 1), (9, 9), (3, 3), (1, 1), (2, 2), 0));
}

/// At dilation 1 the grouped kernel is the regular "same" conv: the independent conv2d
/// reference (not written for dilation) must agree.
#[test]
fn dilation_one_agrees_with_the_regular_conv_reference() {
    let c = dense(2, (5, 4, 1), (9, 7), (5, 3), (2, 1), (1, 1), 0);
    let r = Conv {
        n: 2,
        cin: 5,
        cout: 4,
        h: 9,
        w: 7,
        kh: 5,
        kw: 3,
        sh: 2,
        sw: 1,
    };
    let seed = fresh_seed();
    let d = data(&c, seed);
    let got = run_forward(&c, &d, true);
    let want = r.forward(&d.x, &d.w, Some(&d.b));
    let sums = r.forward(&abs(&d.x), &abs(&d.w), Some(&abs(&d.b)));
    assert_within(
        "dilation 1 vs conv2d reference",
        seed,
        &got,
        &want,
        &sums,
        r.terms().0,
    );
}

/// The shifted grid reads x[2i + 1, 2j + 1]: checked directly, without the reference's padding
/// arithmetic.
#[test]
fn shifted_one_by_one_reads_the_odd_grid() {
    let c = dense(1, (1, 1, 1), (5, 6), (1, 1), (2, 2), (1, 1), 1);
    let seed = fresh_seed();
    let mut d = data(&c, seed);
    d.w = vec![1.0];
    let got = run_forward(&c, &d, false);
    let (oh, ow) = c.out_hw();
    let want: Vec<f64> = (0..oh * ow)
        .map(|k| {
            let (i, j) = (2 * (k / ow) + 1, 2 * (k % ow) + 1);
            if i < 5 && j < 6 { d.x[i * 6 + j] } else { 0.0 }
        })
        .collect();
    assert_close("shifted 1x1 stride 2", seed, &got, &want, 0.0, 0.0);
}
