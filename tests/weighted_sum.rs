//! Weighted-sum kernels (DARTS mixed op, ENAS masked node, plain sum) against f64 references:
//! forward for softmax / mask / ones coefficients with absent operands, more than four operands
//! (several launches), vec4 and scalar element counts; the operand gradients; the alpha gradient
//! against the analytic f64 formula and central finite differences; reruns bit-identical.
//!
//! Tolerances. Forward and operand gradients: each output is a sum of at most 8 terms c_j x_j
//! with f32 softmax weights (relative error a few ulp): atol 2e-6, rtol 1e-5. Alpha gradient:
//! g_t = sum(dy x_t) is summed in chunks of L elements, then the chunks in order, so its error
//! is at most (L + chunks + 4) u S_t with S_t = sum |dy x_t|; dalpha_i = w_i (g_i - sum w_t g_t)
//! inherits w_i (err_i + sum w_t err_t), plus 1e-5 relative for the f32 weights and 1e-6.

mod common;

use common::reference::weighted_sum as reference;
use common::*;
use nasgpu::device::Launch;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::weighted_sum::{
    Coefficients, dot_chunking, weighted_sum, weighted_sum_backward_alpha,
    weighted_sum_backward_terms,
};
use nasgpu::tensor::{DType, Tensor};

const U: f64 = 1.0 / (1u64 << 24) as f64;

fn exec(launches: &[Launch]) {
    let gpu = gpu();
    let refs: Vec<&Launch> = launches.iter().collect();
    run(&gpu, &refs);
}

fn rand_f32(r: &mut TestRng, n: usize) -> Vec<f64> {
    to_f64(&to_f32(&uniform(r, n)))
}

/// One case: operand shape, coefficient count, and which coefficients have an operand.
struct Case {
    shape: Vec<usize>,
    k: usize,
    present: Vec<usize>,
}

fn cases() -> Vec<Case> {
    let c = |shape: &[usize], k: usize, present: &[usize]| Case {
        shape: shape.to_vec(),
        k,
        present: present.to_vec(),
    };
    vec![
        // One operand; the DARTS 8 ops with `none` (0) absent; all 8 present (two launches);
        // 5 of 7 (scalar units, 1155 elements); many chunks of the dot products (vec4 units).
        c(&[1, 1, 1, 1], 1, &[0]),
        c(&[2, 3, 4, 4], 8, &[1, 2, 3, 4, 5, 6, 7]),
        c(&[2, 4, 3, 5], 8, &[0, 1, 2, 3, 4, 5, 6, 7]),
        c(&[3, 5, 7, 11], 7, &[6, 0, 2, 5, 3]),
        c(&[16, 16, 16, 16], 5, &[4, 1, 2]),
        c(&[2, 3, 5, 7], 3, &[2]),
    ]
}

/// Operands as tensors with their positions.
fn upload_terms(
    gpu: &std::sync::Arc<nasgpu::device::Gpu>,
    c: &Case,
    xs: &[Vec<f64>],
) -> Vec<Tensor> {
    xs.iter().map(|x| upload(gpu, &c.shape, x)).collect()
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

#[test]
fn forward_matches_reference_for_softmax_mask_and_ones() {
    let gpu = gpu();
    for c in cases() {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let n = numel(&c.shape);
        let xs: Vec<Vec<f64>> = c.present.iter().map(|_| rand_f32(&mut r, n)).collect();
        // Large logits check the max subtraction of the softmax.
        let mut alpha = rand_f32(&mut r, c.k);
        if c.k > 2 {
            alpha[0] = 40.0;
            alpha[1] = -40.0;
        }
        let mask: Vec<u32> = (0..c.k).map(|i| ((seed >> i) & 1) as u32).collect();
        let ts = upload_terms(&gpu, &c, &xs);
        let terms: Vec<(usize, &Tensor)> = c.present.iter().copied().zip(&ts).collect();
        let alpha_t = upload(&gpu, &[c.k], &alpha);
        let mask_t = Tensor::from_u32(&gpu, &[c.k], &mask).unwrap();
        let ones = vec![1.0; c.k.max(c.present.len())];
        let ones_pos: Vec<usize> = (0..c.present.len()).collect();
        let checks: [(&str, Coefficients, Vec<f64>, &[usize]); 3] = [
            (
                "softmax",
                Coefficients::Softmax(&alpha_t),
                reference::softmax(&alpha),
                &c.present,
            ),
            (
                "mask",
                Coefficients::Mask(&mask_t),
                mask.iter().map(|&m| m as f64).collect(),
                &c.present,
            ),
            ("ones", Coefficients::Ones, ones, &ones_pos),
        ];
        for (name, coef, cw, pos) in checks {
            let y = poisoned(&gpu, &c.shape);
            exec(&weighted_sum(&gpu, coef, &terms, &y).unwrap());
            let want = reference::weighted_sum(&cw, pos, &xs, n);
            let case = format!("{name} {:?} k {} present {:?}", c.shape, c.k, c.present);
            assert_close(&case, seed, &download(&y), &want, 2e-6, 1e-5);
        }
    }
}

#[test]
fn operand_gradients_are_coefficient_times_upstream() {
    let gpu = gpu();
    for c in cases() {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let n = numel(&c.shape);
        let dy = rand_f32(&mut r, n);
        let alpha = rand_f32(&mut r, c.k);
        let mask: Vec<u32> = (0..c.k).map(|i| ((seed >> i) & 1) as u32).collect();
        let dy_t = upload(&gpu, &c.shape, &dy);
        let alpha_t = upload(&gpu, &[c.k], &alpha);
        let mask_t = Tensor::from_u32(&gpu, &[c.k], &mask).unwrap();
        let w = reference::softmax(&alpha);
        let m: Vec<f64> = mask.iter().map(|&v| v as f64).collect();
        for (name, coef, cw) in [
            ("softmax", Coefficients::Softmax(&alpha_t), &w),
            ("mask", Coefficients::Mask(&mask_t), &m),
        ] {
            let dxs: Vec<Tensor> = c.present.iter().map(|_| poisoned(&gpu, &c.shape)).collect();
            let grads: Vec<(usize, &Tensor)> = c.present.iter().copied().zip(&dxs).collect();
            exec(&weighted_sum_backward_terms(&gpu, coef, &dy_t, &grads).unwrap());
            for (&pos, dx) in c.present.iter().zip(&dxs) {
                let want: Vec<f64> = dy.iter().map(|g| cw[pos] * g).collect();
                let case = format!("{name} d x[{pos}] {:?} k {}", c.shape, c.k);
                assert_close(&case, seed, &download(dx), &want, 2e-6, 1e-5);
            }
        }
    }
}

fn run_alpha_grad(c: &Case, alpha: &[f64], xs: &[Vec<f64>], dy: &[f64]) -> Vec<f32> {
    let gpu = gpu();
    let ts = upload_terms(&gpu, c, xs);
    let terms: Vec<(usize, &Tensor)> = c.present.iter().copied().zip(&ts).collect();
    let alpha_t = upload(&gpu, &[c.k], alpha);
    let dy_t = upload(&gpu, &c.shape, dy);
    let dalpha = poisoned(&gpu, &[c.k]);
    exec(&weighted_sum_backward_alpha(&gpu, &alpha_t, &dy_t, &terms, &dalpha).unwrap());
    download(&dalpha)
}

/// The bound of the file comment for each coefficient.
fn alpha_tolerance(c: &Case, alpha: &[f64], xs: &[Vec<f64>], dy: &[f64], want: &[f64]) -> Vec<f64> {
    let (chunk, chunks) = dot_chunking(numel(&c.shape));
    let t = (chunk + chunks + 4) as f64;
    let w = reference::softmax(alpha);
    let s = reference::abs_dots(c.k, &c.present, xs, dy);
    let ws: f64 = w.iter().zip(&s).map(|(a, b)| a * b).sum();
    (0..c.k)
        .map(|i| 1e-6 + 1e-5 * want[i].abs() + t * U * w[i] * (s[i] + ws))
        .collect()
}

fn assert_with(case: &str, seed: u64, got: &[f32], want: &[f64], tol: &[f64]) {
    for (i, ((&g, &w), &t)) in got.iter().zip(want).zip(tol).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(
            err <= t,
            "{case} [{i}]: gpu {g:e} ref {w:e} err {err:e} tol {t:e} (seed {seed}; replay with NASGPU_TEST_SEED={seed})"
        );
    }
}

#[test]
fn alpha_gradient_matches_reference_and_finite_differences() {
    for c in cases() {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let n = numel(&c.shape);
        let xs: Vec<Vec<f64>> = c.present.iter().map(|_| rand_f32(&mut r, n)).collect();
        let alpha = rand_f32(&mut r, c.k);
        let dy = rand_f32(&mut r, n);
        let got = run_alpha_grad(&c, &alpha, &xs, &dy);
        let want = reference::alpha_grad(&alpha, &c.present, &xs, &dy);
        let tol = alpha_tolerance(&c, &alpha, &xs, &dy, &want);
        let case = format!("dalpha {:?} k {} present {:?}", c.shape, c.k, c.present);
        assert_with(&case, seed, &got, &want, &tol);
        // L = sum(dy * y(alpha)) is smooth in alpha: h = 1e-5 leaves an O(h^2) error ~ 1e-10 |L|.
        let loss = |a: &[f64]| {
            let y = reference::weighted_sum(&reference::softmax(a), &c.present, &xs, n);
            dot(&dy, &y)
        };
        let fd = finite_difference(loss, &alpha, 1e-5);
        let tol_fd: Vec<f64> = tol
            .iter()
            .zip(&fd)
            .map(|(t, f)| t + 1e-7 * (1.0 + f.abs()))
            .collect();
        assert_with(
            &format!("{case} vs finite differences"),
            seed,
            &got,
            &fd,
            &tol_fd,
        );
    }
}

#[test]
fn alpha_gradient_reruns_bit_identical() {
    let c = Case {
        shape: vec![16, 16, 16, 16],
        k: 8,
        present: vec![1, 2, 3, 4, 5, 6, 7],
    };
    let seed = fresh_seed();
    let mut r = rng(seed);
    let n = numel(&c.shape);
    let xs: Vec<Vec<f64>> = c.present.iter().map(|_| rand_f32(&mut r, n)).collect();
    let alpha = rand_f32(&mut r, c.k);
    let dy = rand_f32(&mut r, n);
    let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(run_alpha_grad(&c, &alpha, &xs, &dy)),
        bits(run_alpha_grad(&c, &alpha, &xs, &dy)),
        "seed {seed}"
    );
}

#[test]
fn no_operands_give_zeros() {
    let gpu = gpu();
    let y = poisoned(&gpu, &[2, 3]);
    let alpha = upload(&gpu, &[3], &[0.5, -1.0, 2.0]);
    exec(&weighted_sum(&gpu, Coefficients::Softmax(&alpha), &[], &y).unwrap());
    assert_eq!(download(&y), vec![0.0; 6]);
    let dy = upload(&gpu, &[2, 3], &[1.0; 6]);
    let dalpha = poisoned(&gpu, &[3]);
    exec(&weighted_sum_backward_alpha(&gpu, &alpha, &dy, &[], &dalpha).unwrap());
    assert_eq!(download(&dalpha), vec![0.0; 3]);
}

fn expect_err(r: Result<Vec<Launch>, KernelError>, needles: &[&str]) {
    let e = match r {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an error mentioning {needles:?}"),
    };
    for n in needles {
        assert!(e.contains(n), "{e:?} should mention {n:?}");
    }
}

#[test]
fn bad_operands_are_errors_naming_them() {
    let gpu = gpu();
    let t = |shape: &[usize]| Tensor::zeros(&gpu, shape).unwrap();
    let (a, b, y) = (t(&[2, 3]), t(&[2, 3]), t(&[2, 3]));
    let alpha = t(&[2]);
    let soft = Coefficients::Softmax(&alpha);
    expect_err(
        weighted_sum(&gpu, soft, &[(0, &a), (0, &b)], &y),
        &["distinct"],
    );
    expect_err(
        weighted_sum(&gpu, soft, &[(0, &a), (2, &b)], &y),
        &["below 2"],
    );
    expect_err(
        weighted_sum(&gpu, soft, &[(0, &a), (1, &t(&[3, 2]))], &y),
        &["[3, 2]", "[2, 3]"],
    );
    expect_err(
        weighted_sum(&gpu, soft, &[(0, &a)], &a),
        &["shares its buffer"],
    );
    expect_err(
        weighted_sum(&gpu, Coefficients::Mask(&alpha), &[(0, &a)], &y),
        &["mask", "U32"],
    );
    let mask = Tensor::empty(&gpu, &[40], DType::U32).unwrap();
    expect_err(
        weighted_sum(&gpu, Coefficients::Mask(&mask), &[(0, &a)], &y),
        &["[40]"],
    );
    expect_err(
        weighted_sum_backward_alpha(&gpu, &alpha, &y, &[(0, &a)], &t(&[3])),
        &["dalpha"],
    );
}
