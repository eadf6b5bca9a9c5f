//! conv2d kernels against f64 references, every algorithm variant forced explicitly; backward
//! passes also against central finite differences of the f64 forward.
//!
//! Tolerance (per element): an fp32 sum of K products, in any order and with FMAs, is within
//! K * u * S of the exact sum, u = 2^-24, S = sum of |terms| (the f64 reference computes S by
//! running on |inputs|). We allow (K + 1) u (S + |bias|) + 1e-6: the bound of the worst summation
//! order plus the bias add. A wrong index or a missed tap moves outputs by O(1) * |term|, far
//! outside it; the bound never fails on correct code, whatever the order the kernel sums in.

mod common;

use common::reference::conv2d::Conv;
use common::*;
use nasgpu::device::Launch;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::conv2d::{self, Conv2dSpec, SpatialAlgo, WgradAlgo};
use nasgpu::tensor::Tensor;

const U: f64 = 1.0 / (1u64 << 24) as f64;

fn spec(c: &Conv) -> Conv2dSpec {
    Conv2dSpec {
        kernel: [c.kh, c.kw],
        stride: [c.sh, c.sw],
    }
}

#[allow(clippy::too_many_arguments)]
const fn conv(
    n: usize,
    cin: usize,
    cout: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
) -> Conv {
    Conv {
        n,
        cin,
        cout,
        h,
        w,
        kh,
        kw,
        sh,
        sw,
    }
}

/// Edge shapes: every filter size of the brief, strides 1/2/3 and mixed, odd sizes, 1x1 inputs,
/// batch 1 and 3, one input or output channel, channel counts off every tile size, rows wider
/// than the 16-pixel tile and more pixels than one 64-pixel GEMM tile.
const CASES: &[Conv] = &[
    conv(1, 1, 1, 1, 1, 1, 1, 1, 1),
    conv(3, 5, 7, 7, 9, 3, 3, 1, 1),
    conv(1, 13, 24, 11, 5, 5, 5, 2, 2),
    conv(3, 1, 6, 9, 7, 7, 7, 1, 1),
    conv(2, 6, 1, 8, 8, 1, 7, 1, 1),
    conv(1, 4, 5, 7, 9, 7, 1, 3, 3),
    conv(3, 5, 7, 11, 5, 3, 3, 2, 1),
    conv(1, 3, 4, 1, 1, 3, 3, 2, 2),
    conv(2, 9, 17, 6, 13, 5, 3, 3, 2),
    conv(1, 8, 16, 17, 33, 3, 3, 1, 1),
    conv(2, 3, 33, 5, 6, 1, 1, 2, 2),
    // Channels in an even number of vec4 groups both ways (the 64-bit subgroup variant).
    conv(1, 16, 8, 9, 11, 7, 7, 3, 2),
    conv(2, 8, 33, 5, 6, 1, 1, 2, 2),
];

/// Random f32-representable inputs in [-2, 2].
fn inputs(seed: u64, len: usize, salt: u64) -> Vec<f64> {
    let mut r = rng(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    to_f64(&to_f32(&uniform(&mut r, len)))
}

fn abs(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| x.abs()).collect()
}

fn exec(launches: &[Launch]) {
    let gpu = gpu();
    let refs: Vec<&Launch> = launches.iter().collect();
    run(&gpu, &refs);
}

/// Asserts |got - want| <= (terms + 1) u sums + 1e-6 elementwise (see the file comment).
fn assert_within(case: &str, seed: u64, got: &[f32], want: &[f64], sums: &[f64], terms: usize) {
    assert_eq!(got.len(), want.len(), "{case}: length");
    let mut bad = Vec::new();
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(sums).enumerate() {
        let tol = (terms + 1) as f64 * U * s + 1e-6;
        let err = (g as f64 - w).abs();
        // A NaN (an unwritten, poisoned output) fails too.
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

/// Data of one case: x, w, bias, dy.
struct Data {
    x: Vec<f64>,
    w: Vec<f64>,
    b: Vec<f64>,
    dy: Vec<f64>,
}

fn data(c: &Conv, seed: u64) -> Data {
    Data {
        x: inputs(seed, c.x_len(), 1),
        w: inputs(seed, c.w_len(), 2),
        b: inputs(seed, c.cout, 3),
        dy: inputs(seed, c.y_len(), 4),
    }
}

fn x_shape(c: &Conv) -> [usize; 4] {
    [c.n, c.cin, c.h, c.w]
}
fn w_shape(c: &Conv) -> [usize; 4] {
    [c.cout, c.cin, c.kh, c.kw]
}
fn y_shape(c: &Conv) -> [usize; 4] {
    let (oh, ow) = c.out_hw();
    [c.n, c.cout, oh, ow]
}

fn run_forward(c: &Conv, d: &Data, with_bias: bool, algo: Option<SpatialAlgo>) -> Vec<f32> {
    let gpu = gpu();
    let x = upload(&gpu, &x_shape(c), &d.x);
    let w = upload(&gpu, &w_shape(c), &d.w);
    let b = upload(&gpu, &[c.cout], &d.b);
    let y = poisoned(&gpu, &y_shape(c));
    let bias = with_bias.then_some(&b);
    let launches = match algo {
        Some(a) => conv2d::conv2d_forward_with(&gpu, &x, &w, bias, &y, spec(c), a),
        None => conv2d::conv2d_forward(&gpu, &x, &w, bias, &y, spec(c)),
    }
    .unwrap();
    exec(&launches);
    download(&y)
}

fn check_forward(c: &Conv, d: &Data, seed: u64, with_bias: bool, algo: Option<SpatialAlgo>) {
    let got = run_forward(c, d, with_bias, algo);
    let bias = with_bias.then_some(&d.b[..]);
    let want = c.forward(&d.x, &d.w, bias);
    let sums = c.forward(&abs(&d.x), &abs(&d.w), with_bias.then_some(&abs(&d.b)[..]));
    let case = format!("forward {c:?} bias {with_bias} algo {algo:?}");
    assert_within(&case, seed, &got, &want, &sums, c.terms().0);
}

fn run_backward_data(c: &Conv, d: &Data, algo: Option<SpatialAlgo>) -> Vec<f32> {
    let gpu = gpu();
    let dy = upload(&gpu, &y_shape(c), &d.dy);
    let w = upload(&gpu, &w_shape(c), &d.w);
    let dx = poisoned(&gpu, &x_shape(c));
    let launches = match algo {
        Some(a) => conv2d::conv2d_backward_data_with(&gpu, &dy, &w, &dx, spec(c), a),
        None => conv2d::conv2d_backward_data(&gpu, &dy, &w, &dx, spec(c)),
    }
    .unwrap();
    exec(&launches);
    download(&dx)
}

fn check_backward_data(c: &Conv, d: &Data, seed: u64, algo: Option<SpatialAlgo>) {
    let got = run_backward_data(c, d, algo);
    let want = c.backward_data(&d.dy, &d.w);
    let sums = c.backward_data(&abs(&d.dy), &abs(&d.w));
    let case = format!("backward data {c:?} algo {algo:?}");
    assert_within(&case, seed, &got, &want, &sums, c.terms().1);
}

fn run_backward_weights(c: &Conv, d: &Data, algo: Option<WgradAlgo>) -> Vec<f32> {
    let gpu = gpu();
    let dy = upload(&gpu, &y_shape(c), &d.dy);
    let x = upload(&gpu, &x_shape(c), &d.x);
    let dw = poisoned(&gpu, &w_shape(c));
    let launches = match algo {
        Some(a) => conv2d::conv2d_backward_weights_with(&gpu, &dy, &x, &dw, spec(c), a),
        None => conv2d::conv2d_backward_weights(&gpu, &dy, &x, &dw, spec(c)),
    }
    .unwrap();
    exec(&launches);
    download(&dw)
}

fn check_backward_weights(c: &Conv, d: &Data, seed: u64, algo: Option<WgradAlgo>) {
    let got = run_backward_weights(c, d, algo);
    let want = c.backward_weights(&d.dy, &d.x);
    let sums = c.backward_weights(&abs(&d.dy), &abs(&d.x));
    let case = format!("backward weights {c:?} algo {algo:?}");
    assert_within(&case, seed, &got, &want, &sums, c.terms().2);
}

fn run_backward_bias(c: &Conv, d: &Data) -> Vec<f32> {
    let gpu = gpu();
    let dy = upload(&gpu, &y_shape(c), &d.dy);
    let db = poisoned(&gpu, &[c.cout]);
    exec(&conv2d::conv2d_backward_bias(&gpu, &dy, &db).unwrap());
    download(&db)
}

fn check_backward_bias(c: &Conv, d: &Data, seed: u64) {
    let got = run_backward_bias(c, d);
    let want = c.backward_bias(&d.dy);
    let sums = c.backward_bias(&abs(&d.dy));
    let (oh, ow) = c.out_hw();
    let case = format!("backward bias {c:?}");
    assert_within(&case, seed, &got, &want, &sums, c.n * oh * ow);
}

/// Every spatial variant this device runs (the subgroup ones need 8-wide subgroups).
fn variants() -> Vec<SpatialAlgo> {
    let gpu = gpu();
    let all: Vec<_> = SpatialAlgo::ALL
        .into_iter()
        .filter(|a| a.runs_on(&gpu))
        .collect();
    if conv2d::has_subgroups_of_8(&gpu) {
        assert_eq!(all.len(), SpatialAlgo::ALL.len());
    }
    all
}

/// Weight-gradient variants covering every tile side, run and column count, with one split,
/// a split count that does not divide the rows, and far more splits than rows (clamped).
fn wgrad_variants() -> Vec<WgradAlgo> {
    let gpu = gpu();
    let mut all = Vec::new();
    let tiles = [
        (16, 16, 1),
        (12, 8, 3),
        (8, 12, 1),
        (4, 16, 3),
        (16, 4, 3),
        (4, 4, 1),
    ];
    for (i, (ro, ri, tw)) in tiles.into_iter().enumerate() {
        let splits = [1, 3, 1000][i % 3];
        all.push(WgradAlgo::Blocked { ro, ri, tw, splits });
    }
    if conv2d::has_subgroups_of_8(&gpu) {
        for (i, (ro, cq)) in [(4, 1), (8, 2), (24, 2), (32, 1)].into_iter().enumerate() {
            let splits = [1, 3, 1000, 2][i];
            all.push(WgradAlgo::Subgroup { ro, cq, splits });
        }
    }
    all
}

#[test]
fn forward_matches_reference_for_every_variant() {
    for c in CASES {
        let seed = fresh_seed();
        let d = data(c, seed);
        for (i, &algo) in variants().iter().enumerate() {
            if !algo.accepts(c.cin) {
                continue;
            }
            // Alternate bias on and off so every variant runs both ways over the cases.
            check_forward(c, &d, seed, i % 2 == 0, Some(algo));
            check_forward(c, &d, seed, i % 2 == 1, Some(algo));
        }
        check_forward(c, &d, seed, true, None);
    }
}

#[test]
fn backward_data_matches_reference_for_every_variant() {
    for c in CASES {
        let seed = fresh_seed();
        let d = data(c, seed);
        for algo in variants().into_iter().filter(|a| a.accepts(c.cout)) {
            check_backward_data(c, &d, seed, Some(algo));
        }
        check_backward_data(c, &d, seed, None);
    }
}

#[test]
fn backward_weights_matches_reference_for_every_tile_and_split() {
    for c in CASES {
        let seed = fresh_seed();
        let d = data(c, seed);
        for algo in wgrad_variants() {
            check_backward_weights(c, &d, seed, Some(algo));
        }
        check_backward_weights(c, &d, seed, None);
    }
}

#[test]
fn backward_bias_matches_reference() {
    for c in CASES.iter().chain([&conv(70, 3, 5, 2, 3, 1, 1, 1, 1)]) {
        let seed = fresh_seed();
        check_backward_bias(c, &data(c, seed), seed);
    }
}

/// L = sum(g * conv(x, w) + bias); the GPU gradients must equal central differences of L.
#[test]
fn backward_passes_match_finite_differences() {
    let cases = [
        conv(2, 3, 4, 5, 6, 3, 3, 2, 1),
        conv(1, 2, 3, 4, 7, 1, 7, 1, 3),
        conv(2, 2, 2, 5, 5, 5, 5, 3, 2),
    ];
    for c in &cases {
        let seed = fresh_seed();
        let d = data(c, seed);
        let loss = |x: &[f64], w: &[f64], b: &[f64]| dot(&d.dy, &c.forward(x, w, Some(b)));
        let h = 1e-3;
        let fd_x = finite_difference(|x| loss(x, &d.w, &d.b), &d.x, h);
        let fd_w = finite_difference(|w| loss(&d.x, w, &d.b), &d.w, h);
        let fd_b = finite_difference(|b| loss(&d.x, &d.w, b), &d.b, h);
        let (kx, kw, kb) = c.terms();
        let sx = c.backward_data(&abs(&d.dy), &abs(&d.w));
        let sw = c.backward_weights(&abs(&d.dy), &abs(&d.x));
        let sb = c.backward_bias(&abs(&d.dy));
        let name = format!("{c:?} vs finite differences");
        assert_within(
            &format!("dx {name}"),
            seed,
            &run_backward_data(c, &d, None),
            &fd_x,
            &sx,
            kx,
        );
        assert_within(
            &format!("dw {name}"),
            seed,
            &run_backward_weights(c, &d, None),
            &fd_w,
            &sw,
            kw,
        );
        assert_within(
            &format!("db {name}"),
            seed,
            &run_backward_bias(c, &d),
            &fd_b,
            &sb,
            kb,
        );
    }
}

/// A layer of the size a NAS child has: n4 c24->36 16x16 k5 s2, every pass at its default.
#[test]
fn nas_sized_layer_matches_reference() {
    let c = conv(4, 24, 36, 16, 16, 5, 5, 2, 2);
    let seed = fresh_seed();
    let d = data(&c, seed);
    check_forward(&c, &d, seed, true, None);
    check_backward_data(&c, &d, seed, None);
    check_backward_weights(&c, &d, seed, None);
    check_backward_bias(&c, &d, seed);
}

#[test]
fn backward_reductions_rerun_bit_identical() {
    let c = conv(3, 13, 24, 11, 5, 5, 5, 2, 2);
    let seed = fresh_seed();
    let d = data(&c, seed);
    for algo in [
        None,
        Some(WgradAlgo::Blocked {
            ro: 8,
            ri: 8,
            tw: 3,
            splits: 7,
        }),
    ] {
        let first = run_backward_weights(&c, &d, algo);
        let second = run_backward_weights(&c, &d, algo);
        let (a, b): (Vec<u32>, Vec<u32>) = (
            first.iter().map(|v| v.to_bits()).collect(),
            second.iter().map(|v| v.to_bits()).collect(),
        );
        assert_eq!(
            a, b,
            "backward weights {algo:?} rerun differs (seed {seed})"
        );
    }
    let first = run_backward_bias(&c, &d);
    let second = run_backward_bias(&c, &d);
    assert_eq!(
        first.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        second.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        "backward bias rerun differs (seed {seed})"
    );
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
    let s3 = Conv2dSpec {
        kernel: [3, 3],
        stride: [1, 1],
    };
    let t = |shape: &[usize]| Tensor::zeros(&gpu, shape).unwrap();
    let (x, w, y) = (t(&[2, 3, 8, 8]), t(&[4, 3, 3, 3]), t(&[2, 4, 8, 8]));
    // Cin mismatch: all shapes named.
    let w_bad = t(&[4, 5, 3, 3]);
    expect_err(
        conv2d::conv2d_forward(&gpu, &x, &w_bad, None, &y, s3),
        true,
        &["[2, 3, 8, 8]", "[4, 5, 3, 3]", "[2, 4, 8, 8]"],
    );
    // Output of the wrong size for the stride.
    let s2 = Conv2dSpec {
        kernel: [3, 3],
        stride: [2, 2],
    };
    expect_err(
        conv2d::conv2d_forward(&gpu, &x, &w, None, &y, s2),
        true,
        &["[2, 4, 4, 4]", "[2, 4, 8, 8]"],
    );
    // Bias of the wrong length.
    expect_err(
        conv2d::conv2d_forward(&gpu, &x, &w, Some(&t(&[3])), &y, s3),
        true,
        &["bias [3]"],
    );
    // Filter and stride out of range.
    for (kernel, stride) in [([9, 3], [1, 1]), ([3, 0], [1, 1]), ([3, 3], [4, 1])] {
        let bad = Conv2dSpec { kernel, stride };
        expect_err(
            conv2d::conv2d_forward(&gpu, &x, &w, None, &y, bad),
            false,
            &[&format!("{kernel:?}"), &format!("{stride:?}")],
        );
    }
    // Wrong rank, zero-sized dimension, aliasing, unsupported variants.
    expect_err(
        conv2d::conv2d_forward(&gpu, &t(&[3, 8, 8]), &w, None, &y, s3),
        true,
        &["[3, 8, 8]"],
    );
    expect_err(
        conv2d::conv2d_forward(&gpu, &t(&[0, 3, 8, 8]), &w, None, &t(&[0, 4, 8, 8]), s3),
        true,
        &["[0, 3, 8, 8]"],
    );
    expect_err(
        conv2d::conv2d_forward(&gpu, &x, &w, None, &x, s3),
        true,
        &["y should be", "[2, 3, 8, 8]"],
    );
    let same = t(&[2, 3, 8, 8]);
    let w33 = t(&[3, 3, 3, 3]);
    expect_err(
        conv2d::conv2d_forward(&gpu, &same, &w33, None, &same, s3),
        false,
        &["shares its buffer"],
    );
    expect_err(
        conv2d::conv2d_forward_with(
            &gpu,
            &x,
            &w,
            None,
            &y,
            s3,
            SpatialAlgo::Direct { px: 3, rc: 8 },
        ),
        false,
        &["unsupported"],
    );
    // x has 3 channels: one vec4 group, which the 64-bit variant cannot load in pairs.
    if (SpatialAlgo::Subgroup64 { px: 32, rc: 2 }).runs_on(&gpu) {
        expect_err(
            conv2d::conv2d_forward_with(
                &gpu,
                &x,
                &w,
                None,
                &y,
                s3,
                SpatialAlgo::Subgroup64 { px: 32, rc: 2 },
            ),
            false,
            &["even number of vec4 groups", "3 channels fill 1"],
        );
    }
    expect_err(
        conv2d::conv2d_backward_weights_with(
            &gpu,
            &y,
            &x,
            &w,
            s3,
            WgradAlgo::Blocked {
                ro: 16,
                ri: 16,
                tw: 1,
                splits: 0,
            },
        ),
        false,
        &["unsupported"],
    );
    // Backward passes name their tensors too.
    expect_err(
        conv2d::conv2d_backward_data(&gpu, &t(&[2, 4, 7, 8]), &w, &x, s3),
        true,
        &["dy should be [2, 4, 8, 8]", "[2, 4, 7, 8]"],
    );
    expect_err(
        conv2d::conv2d_backward_weights(&gpu, &y, &x, &t(&[4, 3, 3, 1]), s3),
        true,
        &["dw should be [4, 3, 3, 3]"],
    );
    expect_err(
        conv2d::conv2d_backward_bias(&gpu, &y, &t(&[5])),
        true,
        &["db should be [4]"],
    );
}

/// NCHW `v` packed on the host as NHWC with channels padded to a multiple of 4 (zeros).
fn host_pack(v: &[f64], [n, c, h, w]: [usize; 4]) -> Vec<f32> {
    let c4 = c.div_ceil(4) * 4;
    let mut out = vec![0f32; n * h * w * c4];
    for img in 0..n {
        for ch in 0..c {
            for p in 0..h * w {
                out[(img * h * w + p) * c4 + ch] = v[(img * c + ch) * h * w + p] as f32;
            }
        }
    }
    out
}

/// The shared-packing path the tape uses: the forward pass leaves x packed (checked bit for bit
/// against a host pack, padding zeros included), `pack_nhwc4` packs dy once, backward-data and
/// the weight gradient (every variant taking the shared layout, forced, and the chosen one)
/// read those copies; all outputs poisoned first and checked against the f64 references.
#[test]
fn shared_packing_passes_match_reference() {
    let gpu = gpu();
    let mut cases: Vec<Conv> = CASES.to_vec();
    // Channel counts whose subgroup dy chunks pad past ceil(C / 4) groups (36 -> 2 x 20).
    cases.push(conv(2, 36, 36, 7, 6, 3, 3, 1, 1));
    cases.push(conv(1, 5, 44, 5, 5, 5, 5, 2, 2));
    // Planes of a multiple of 4 pixels take the four-pixel pack (channels off a multiple of 4).
    cases.push(conv(3, 7, 10, 4, 6, 3, 3, 1, 1));
    cases.push(conv(2, 1, 5, 8, 2, 1, 1, 1, 1));
    let shared: Vec<WgradAlgo> = wgrad_variants()
        .into_iter()
        .filter(|a| a.takes_shared_packing())
        .collect();
    assert!(
        !shared.is_empty(),
        "some weight-gradient variant takes the shared packing"
    );
    for c in &cases {
        let seed = fresh_seed();
        let d = data(c, seed);
        let x = upload(&gpu, &x_shape(c), &d.x);
        let w = upload(&gpu, &w_shape(c), &d.w);
        let dy = upload(&gpu, &y_shape(c), &d.dy);
        let y = poisoned(&gpu, &y_shape(c));
        let x4 = poisoned(&gpu, &conv2d::packed_shape(&x_shape(c)));
        let dy4 = poisoned(&gpu, &conv2d::packed_shape(&y_shape(c)));
        exec(&conv2d::conv2d_forward_packing(&gpu, &x, &w, None, &y, &x4, spec(c)).unwrap());
        exec(&[conv2d::pack_nhwc4(&dy, &dy4).unwrap()]);
        assert_eq!(
            download(&x4),
            host_pack(&d.x, x_shape(c)),
            "{c:?}: packed x"
        );
        assert_eq!(
            download(&dy4),
            host_pack(&d.dy, y_shape(c)),
            "{c:?}: packed dy"
        );
        let want = c.forward(&d.x, &d.w, None);
        let sums = c.forward(&abs(&d.x), &abs(&d.w), None);
        let case = format!("forward (packing) {c:?}");
        assert_within(&case, seed, &download(&y), &want, &sums, c.terms().0);

        let dx = poisoned(&gpu, &x_shape(c));
        exec(&conv2d::conv2d_backward_data_packed(&gpu, &dy, &dy4, &w, &dx, spec(c)).unwrap());
        let want = c.backward_data(&d.dy, &d.w);
        let sums = c.backward_data(&abs(&d.dy), &abs(&d.w));
        let case = format!("backward data (packed dy) {c:?}");
        assert_within(&case, seed, &download(&dx), &want, &sums, c.terms().1);

        let want = c.backward_weights(&d.dy, &d.x);
        let sums = c.backward_weights(&abs(&d.dy), &abs(&d.x));
        let algos = shared.iter().map(|&a| Some(a)).chain([None]);
        for algo in algos {
            let shape = nasgpu::kernels::conv2d::Conv2dShape {
                n: c.n,
                cin: c.cin,
                cout: c.cout,
                in_hw: [c.h, c.w],
                spec: spec(c),
            };
            if algo.is_none() && !conv2d::backward_weights_takes_packed(&gpu, &shape) {
                continue;
            }
            let dw = poisoned(&gpu, &w_shape(c));
            let launches = match algo {
                Some(a) => conv2d::conv2d_backward_weights_packed_with(
                    &gpu,
                    &dy,
                    &dy4,
                    &x,
                    &x4,
                    &dw,
                    spec(c),
                    a,
                ),
                None => {
                    conv2d::conv2d_backward_weights_packed(&gpu, &dy, &dy4, &x, &x4, &dw, spec(c))
                }
            }
            .unwrap();
            exec(&launches);
            let case = format!("backward weights (packed) {c:?} algo {algo:?}");
            assert_within(&case, seed, &download(&dw), &want, &sums, c.terms().2);
        }
    }
}

/// Packed operands of the wrong shape, and a variant that cannot read the shared layout, are
/// errors naming the shapes, never a dispatch.
#[test]
fn shared_packing_refuses_wrong_layouts() {
    let gpu = gpu();
    let c = conv(2, 6, 9, 5, 5, 3, 3, 1, 1);
    let x = Tensor::zeros(&gpu, &x_shape(&c)).unwrap();
    let w = Tensor::zeros(&gpu, &w_shape(&c)).unwrap();
    let y = Tensor::zeros(&gpu, &y_shape(&c)).unwrap();
    let dw = Tensor::zeros(&gpu, &w_shape(&c)).unwrap();
    let good_x4 = Tensor::zeros(&gpu, &conv2d::packed_shape(&x_shape(&c))).unwrap();
    let dy4 = Tensor::zeros(&gpu, &conv2d::packed_shape(&y_shape(&c))).unwrap();
    let bad = Tensor::zeros(&gpu, &[2, 5, 5, 6]).unwrap();
    let e = conv2d::conv2d_forward_packing(&gpu, &x, &w, None, &y, &bad, spec(&c)).unwrap_err();
    assert!(e.to_string().contains("[2, 5, 5, 8]"), "{e}");
    let e = conv2d::conv2d_backward_data_packed(&gpu, &y, &bad, &w, &x, spec(&c)).unwrap_err();
    assert!(e.to_string().contains("[2, 5, 5, 12]"), "{e}");
    assert!(conv2d::pack_nhwc4(&x, &bad).is_err());
    let wide = WgradAlgo::Blocked {
        ro: 8,
        ri: 8,
        tw: 1,
        splits: 1,
    };
    let e = conv2d::conv2d_backward_weights_packed_with(
        &gpu,
        &y,
        &dy4,
        &x,
        &good_x4,
        &dw,
        spec(&c),
        wide,
    )
    .unwrap_err();
    assert!(e.to_string().contains("shared packing"), "{e}");
}
