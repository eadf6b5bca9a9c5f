//! Checks shared by the depthwise and dilated conv tests: every pass of the grouped conv kernels
//! against the f64 reference, and the backward passes against central finite differences.
//!
//! Tolerance (per element), as for conv2d: an fp32 sum of T products in any order, with FMAs,
//! is within T u S of the exact sum (u = 2^-24, S = the sum of |terms|, computed by running the
//! reference on |inputs|). We allow (T + 1) u (S + |bias|) + 1e-6. A wrong index, a missed or
//! extra tap moves an output by O(1) * |term|, far outside it.

use super::reference::grouped_conv::GConv;
use super::*;
use nasgpu::device::Launch;
use nasgpu::kernels::conv2d_grouped::{self as grouped, GroupedConvSpec};

const U: f64 = 1.0 / (1u64 << 24) as f64;

/// The kernel spec of a reference case.
pub fn spec(c: &GConv) -> GroupedConvSpec {
    GroupedConvSpec {
        kernel: [c.kh, c.kw],
        stride: [c.sh, c.sw],
        dilation: [c.dh, c.dw],
        groups: c.groups,
        shift: [c.shift; 2],
    }
}

/// Random f32-representable inputs in [-2, 2].
pub fn inputs(seed: u64, len: usize, salt: u64) -> Vec<f64> {
    let mut r = rng(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    to_f64(&to_f32(&uniform(&mut r, len)))
}

pub fn abs(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| x.abs()).collect()
}

fn exec(launches: &[Launch]) {
    let gpu = gpu();
    let refs: Vec<&Launch> = launches.iter().collect();
    run(&gpu, &refs);
}

/// Asserts |got - want| <= (terms + 1) u sums + 1e-6 elementwise (see the file comment).
pub fn assert_within(case: &str, seed: u64, got: &[f32], want: &[f64], sums: &[f64], terms: usize) {
    assert_eq!(got.len(), want.len(), "{case}: length");
    let mut bad = Vec::new();
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(sums).enumerate() {
        let tol = (terms + 1) as f64 * U * s + 1e-6;
        let err = (g as f64 - w).abs();
        if (err.is_nan() || err > tol) && bad.len() < 8 {
            bad.push(format!(
                "  [{i}] gpu {g:e} ref {w:e} err {err:e} tol {tol:e}"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{case}: GPU differs from f64 reference (seed {seed}; replay with NASGPU_TEST_SEED={seed})\n{}",
        bad.join("\n")
    );
}

/// x, w, bias, dy of one case.
pub struct Data {
    pub x: Vec<f64>,
    pub w: Vec<f64>,
    pub b: Vec<f64>,
    pub dy: Vec<f64>,
}

pub fn data(c: &GConv, seed: u64) -> Data {
    Data {
        x: inputs(seed, c.x_len(), 1),
        w: inputs(seed, c.w_len(), 2),
        b: inputs(seed, c.cout, 3),
        dy: inputs(seed, c.y_len(), 4),
    }
}

pub fn run_forward(c: &GConv, d: &Data, with_bias: bool) -> Vec<f32> {
    let gpu = gpu();
    let x = upload(&gpu, &c.x_shape(), &d.x);
    let w = upload(&gpu, &c.w_shape(), &d.w);
    let b = upload(&gpu, &[c.cout], &d.b);
    let y = poisoned(&gpu, &c.y_shape());
    let bias = with_bias.then_some(&b);
    exec(&grouped::grouped_conv2d_forward(&gpu, &x, &w, bias, &y, spec(c)).unwrap());
    download(&y)
}

pub fn run_backward_data(c: &GConv, d: &Data) -> Vec<f32> {
    let gpu = gpu();
    let dy = upload(&gpu, &c.y_shape(), &d.dy);
    let w = upload(&gpu, &c.w_shape(), &d.w);
    let dx = poisoned(&gpu, &c.x_shape());
    exec(&grouped::grouped_conv2d_backward_data(&gpu, &dy, &w, &dx, spec(c)).unwrap());
    download(&dx)
}

pub fn run_backward_weights(c: &GConv, d: &Data) -> Vec<f32> {
    let gpu = gpu();
    let dy = upload(&gpu, &c.y_shape(), &d.dy);
    let x = upload(&gpu, &c.x_shape(), &d.x);
    let dw = poisoned(&gpu, &c.w_shape());
    exec(&grouped::grouped_conv2d_backward_weights(&gpu, &dy, &x, &dw, spec(c)).unwrap());
    download(&dw)
}

pub fn run_backward_bias(c: &GConv, d: &Data) -> Vec<f32> {
    let gpu = gpu();
    let dy = upload(&gpu, &c.y_shape(), &d.dy);
    let db = poisoned(&gpu, &[c.cout]);
    exec(&grouped::grouped_conv2d_backward_bias(&gpu, &dy, &db).unwrap());
    download(&db)
}

/// Every pass of case `c` against the f64 reference (forward with and without bias).
pub fn check_all_passes(c: &GConv) {
    let seed = fresh_seed();
    let d = data(c, seed);
    let (tf, td, tw) = c.terms();
    for with_bias in [false, true] {
        let got = run_forward(c, &d, with_bias);
        let want = c.forward(&d.x, &d.w, with_bias.then_some(&d.b[..]));
        let sums = c.forward(&abs(&d.x), &abs(&d.w), with_bias.then_some(&abs(&d.b)[..]));
        assert_within(
            &format!("forward {c:?} bias {with_bias}"),
            seed,
            &got,
            &want,
            &sums,
            tf,
        );
    }
    let want = c.backward_data(&d.dy, &d.w);
    let sums = c.backward_data(&abs(&d.dy), &abs(&d.w));
    assert_within(
        &format!("backward data {c:?}"),
        seed,
        &run_backward_data(c, &d),
        &want,
        &sums,
        td,
    );
    let want = c.backward_weights(&d.dy, &d.x);
    let sums = c.backward_weights(&abs(&d.dy), &abs(&d.x));
    assert_within(
        &format!("backward weights {c:?}"),
        seed,
        &run_backward_weights(c, &d),
        &want,
        &sums,
        tw,
    );
    let want = c.backward_bias(&d.dy);
    let sums = c.backward_bias(&abs(&d.dy));
    assert_within(
        &format!("backward bias {c:?}"),
        seed,
        &run_backward_bias(c, &d),
        &want,
        &sums,
        tw,
    );
}

/// dx, dw, db against central differences of L = sum(dy * (conv(x, w) + b)), h = 1e-3 (L is
/// linear in each argument, so the differences are exact up to f64 rounding).
pub fn check_finite_differences(c: &GConv) {
    let seed = fresh_seed();
    let d = data(c, seed);
    let loss = |x: &[f64], w: &[f64], b: &[f64]| dot(&d.dy, &c.forward(x, w, Some(b)));
    let h = 1e-3;
    let fd_x = finite_difference(|x| loss(x, &d.w, &d.b), &d.x, h);
    let fd_w = finite_difference(|w| loss(&d.x, w, &d.b), &d.w, h);
    let fd_b = finite_difference(|b| loss(&d.x, &d.w, b), &d.b, h);
    let (_, td, tw) = c.terms();
    let name = format!("{c:?} vs finite differences");
    let sx = c.backward_data(&abs(&d.dy), &abs(&d.w));
    assert_within(
        &format!("dx {name}"),
        seed,
        &run_backward_data(c, &d),
        &fd_x,
        &sx,
        td,
    );
    let sw = c.backward_weights(&abs(&d.dy), &abs(&d.x));
    assert_within(
        &format!("dw {name}"),
        seed,
        &run_backward_weights(c, &d),
        &fd_w,
        &sw,
        tw,
    );
    let sb = c.backward_bias(&abs(&d.dy));
    assert_within(
        &format!("db {name}"),
        seed,
        &run_backward_bias(c, &d),
        &fd_b,
        &sb,
        tw,
    );
}

/// Two runs of the weight gradient give the same bits (fixed-order split sum).
pub fn check_rerun_bit_identical(c: &GConv) {
    let seed = fresh_seed();
    let d = data(c, seed);
    let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(run_backward_weights(c, &d)),
        bits(run_backward_weights(c, &d)),
        "backward weights {c:?} rerun differs (seed {seed})"
    );
}
