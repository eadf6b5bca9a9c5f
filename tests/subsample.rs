//! Strided subsampling on a shifted grid (the second path of a factorized reduction) and its
//! adjoint against an f64 reference on odd sizes, batch 1, 1x1 planes and strides 1, 2 and 3,
//! with poisoned outputs; the backward also against central finite differences. Both kernels
//! copy values, so they must match exactly; the function is linear, so the central difference
//! is exact up to f64 rounding / h.

mod common;

use common::*;
use nasgpu::kernels::subsample::{SubsampleSpec, subsample, subsample_backward};

const SHAPES: [[usize; 4]; 4] = [[2, 3, 7, 9], [1, 1, 5, 5], [1, 2, 12, 11], [1, 1, 1, 1]];
const SPECS: [([usize; 2], [usize; 2]); 6] = [
    ([0, 0], [1, 1]),
    ([1, 1], [2, 2]),
    ([0, 1], [2, 2]),
    ([0, 0], [2, 2]),
    ([2, 1], [3, 3]),
    ([1, 0], [3, 2]),
];

fn spec((offset, stride): ([usize; 2], [usize; 2])) -> SubsampleSpec {
    SubsampleSpec { offset, stride }
}

/// y[q, i, j] = x[q, off_h + i s_h, off_w + j s_w], 0 past the image.
fn reference(x: &[f64], [n, c, h, w]: [usize; 4], s: SubsampleSpec) -> Vec<f64> {
    let [oh, ow] = s.output_hw([h, w]);
    let mut y = vec![0.0; n * c * oh * ow];
    for q in 0..n * c {
        for i in 0..oh {
            for j in 0..ow {
                let (r, col) = (s.offset[0] + i * s.stride[0], s.offset[1] + j * s.stride[1]);
                if r < h && col < w {
                    y[(q * oh + i) * ow + j] = x[(q * h + r) * w + col];
                }
            }
        }
    }
    y
}

/// The adjoint by definition: dx = sum over y positions of dy times d y / d x.
fn reference_backward(dy: &[f64], shape: [usize; 4], s: SubsampleSpec) -> Vec<f64> {
    let n: usize = shape.iter().product();
    (0..n)
        .map(|k| {
            let mut e = vec![0.0; n];
            e[k] = 1.0;
            dot(dy, &reference(&e, shape, s))
        })
        .collect()
}

fn run_both(shape: [usize; 4], s: SubsampleSpec, x: &[f64], dy: &[f64]) -> (Vec<f32>, Vec<f32>) {
    let gpu = gpu();
    let [oh, ow] = s.output_hw([shape[2], shape[3]]);
    let yshape = [shape[0], shape[1], oh, ow];
    let xt = upload(&gpu, &shape, x);
    let y = poisoned(&gpu, &yshape);
    let dyt = upload(&gpu, &yshape, dy);
    let dx = poisoned(&gpu, &shape);
    let fwd = subsample(&gpu, &xt, &y, s).unwrap();
    let bwd = subsample_backward(&gpu, &dyt, &dx, s).unwrap();
    run(&gpu, &[&fwd, &bwd]);
    (download(&y), download(&dx))
}

#[test]
fn forward_and_backward_match_the_reference_exactly() {
    for shape in SHAPES {
        for s in SPECS.map(spec) {
            let seed = fresh_seed();
            let mut r = rng(seed);
            let x = to_f64(&to_f32(&uniform(&mut r, shape.iter().product())));
            let want_y = reference(&x, shape, s);
            let dy = to_f64(&to_f32(&uniform(&mut r, want_y.len())));
            let (y, dx) = run_both(shape, s, &x, &dy);
            let case = format!("{s:?} x {shape:?}");
            assert_close(&format!("{case} forward"), seed, &y, &want_y, 0.0, 0.0);
            let want_dx = reference_backward(&dy, shape, s);
            assert_close(&format!("{case} backward"), seed, &dx, &want_dx, 0.0, 0.0);
        }
    }
}

#[test]
fn backward_matches_finite_differences() {
    let shape = [1, 2, 7, 8];
    for s in SPECS.map(spec) {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let x = to_f64(&to_f32(&uniform(&mut r, shape.iter().product())));
        let ny = reference(&x, shape, s).len();
        let g = to_f64(&to_f32(&uniform(&mut r, ny)));
        let (_, dx) = run_both(shape, s, &x, &g);
        let fd = finite_difference(|xs| dot(&g, &reference(xs, shape, s)), &x, 1e-6);
        assert_close(
            &format!("{s:?} x {shape:?} backward vs finite differences"),
            seed,
            &dx,
            &fd,
            1e-6,
            1e-6,
        );
    }
}

#[test]
fn grids_and_shapes_that_do_not_fit_are_refused_naming_them() {
    let gpu = gpu();
    let x = upload(&gpu, &[1, 1, 4, 4], &[0.0; 16]);
    let y = poisoned(&gpu, &[1, 1, 2, 2]);
    for (bad, names) in [
        (([2, 0], [2, 2]), "offset [2, 0]"),
        (([0, 0], [0, 1]), "stride [0, 1]"),
    ] {
        let e = subsample(&gpu, &x, &y, spec(bad)).unwrap_err().to_string();
        assert!(e.contains(names), "{e}");
    }
    let wrong = poisoned(&gpu, &[1, 1, 3, 2]);
    let e = subsample(&gpu, &x, &wrong, spec(([1, 1], [2, 2])))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("[1, 1, 3, 2]") && e.contains("[1, 1, 2, 2]"),
        "{e}"
    );
}
