//! Matmul kernels against an f64 reference, every variant, all four transpose combinations, edge
//! shapes, bias, accumulation and batches; the backward formulas against finite differences.
//!
//! Tolerance: |gpu - ref| <= 1e-6 * K + 1e-5 * |ref|. Each output is a K-term f32 sum of products
//! of inputs in [-2, 2]; its rounding error grows with the number of terms (in practice about
//! sqrt(K) eps |partial sums|, at worst K eps sum |a b|), so the absolute part scales with K.
//! Repeated runs pass at a fifth of this tolerance (not at a tenth), and an indexing bug is off
//! by O(1), far above it.

mod common;

use common::reference::matmul::{self as cpu, Problem};
use common::*;
use nasgpu::device::Gpu;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::matmul::{
    MatmulAlgo, MatmulSpec, Subgroup64Tile, SubgroupTile, TiledTile, default_algo, matmul,
    matmul_with_algo, supports,
};
use nasgpu::tensor::Tensor;

/// Every variant this device can run: default tiles and one other tiling each, so the template
/// slots are exercised.
fn algos(gpu: &Gpu) -> Vec<MatmulAlgo> {
    let mut v = vec![
        MatmulAlgo::TILED,
        MatmulAlgo::Tiled(TiledTile {
            bm: 16,
            bn: 32,
            bk: 8,
            tm: 2,
            tn: 4,
        }),
    ];
    if supports(gpu, MatmulAlgo::SUBGROUP) {
        v.push(MatmulAlgo::SUBGROUP);
        v.push(MatmulAlgo::Subgroup(SubgroupTile { tm: 4, nb: 1 }));
        if supports(gpu, MatmulAlgo::SUBGROUP64) {
            v.push(MatmulAlgo::SUBGROUP64);
            v.push(MatmulAlgo::Subgroup64(Subgroup64Tile { tm: 8 }));
        } else {
            eprintln!(
                "note: {} has no 64-bit shader integers; 64-bit-load kernel not tested",
                gpu.describe()
            );
        }
    } else {
        eprintln!(
            "note: {} has no usable subgroups; subgroup kernels not tested",
            gpu.describe()
        );
    }
    v
}

/// Whether the 64-bit-load kernel takes this problem (rows of 8 floats) rather than passing it
/// to the vec4<f32> one.
fn rows_of_8(p: &Problem) -> bool {
    p.m > 0
        && p.n > 0
        && p.k > 0
        && p.k.is_multiple_of(8)
        && p.n.is_multiple_of(8)
        && (!p.trans_a || p.m.is_multiple_of(8))
}

const TRANSPOSES: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

fn tolerance(k: usize) -> (f64, f64) {
    (1e-6 * k.max(1) as f64, 1e-5)
}

/// Options of one forward case besides the shape.
#[derive(Debug, Clone, Copy, Default)]
struct Extras {
    bias: bool,
    accumulate: bool,
    batched: bool,
}

/// Runs one case on the GPU and checks it against the f64 reference.
fn check(gpu: &std::sync::Arc<Gpu>, algo: MatmulAlgo, p: Problem, x: Extras) {
    let seed = fresh_seed();
    let mut r = rng(seed);
    let batched = x.batched || p.batch > 1;
    let a = to_f64(&to_f32(&uniform(&mut r, p.batch * p.m * p.k)));
    let b = to_f64(&to_f32(&uniform(&mut r, p.batch * p.k * p.n)));
    let bias = x.bias.then(|| to_f64(&to_f32(&uniform(&mut r, p.n))));
    let c0 = x
        .accumulate
        .then(|| to_f64(&to_f32(&uniform(&mut r, p.batch * p.m * p.n))));
    let at = upload(gpu, &p.a_shape(batched), &a);
    let bt = upload(gpu, &p.b_shape(batched), &b);
    let biast = bias.as_ref().map(|v| upload(gpu, &[p.n], v));
    // Accumulation needs a defined C; everything else starts from NaN so unwritten outputs show.
    let ct = match &c0 {
        Some(v) => upload(gpu, &p.c_shape(batched), v),
        None => poisoned(gpu, &p.c_shape(batched)),
    };
    let spec = MatmulSpec {
        trans_a: p.trans_a,
        trans_b: p.trans_b,
        accumulate: x.accumulate,
    };
    let launch = matmul_with_algo(gpu, &at, &bt, biast.as_ref(), &ct, spec, algo)
        .unwrap_or_else(|e| panic!("{algo:?} {p:?}: {e}"));
    if let MatmulAlgo::Subgroup64(_) = algo {
        // Rows of 8 floats take the 64-bit loads; the rest is passed on, never refused.
        let want = if rows_of_8(&p) {
            "matmul_subgroup64"
        } else {
            "matmul_subgroup"
        };
        assert_eq!(launch.name(), want, "{algo:?} {p:?}");
    }
    run(gpu, &[&launch]);
    let want = cpu::matmul(&p, &a, &b, bias.as_deref(), c0.as_deref());
    if want.is_empty() {
        return; // An empty C: the launch only has to be accepted and run.
    }
    let (atol, rtol) = tolerance(p.k);
    assert_close(
        &format!("{algo:?} {p:?} {x:?}"),
        seed,
        &download(&ct),
        &want,
        atol,
        rtol,
    );
}

fn problem(batch: usize, m: usize, n: usize, k: usize, t: (bool, bool)) -> Problem {
    Problem {
        batch,
        m,
        n,
        k,
        trans_a: t.0,
        trans_b: t.1,
    }
}

/// (m, n, k): sizes that are not tile multiples, single rows/columns, k = 1, k below, at and
/// above the subgroup kernel's 32-wide k blocks, shapes whose rows are (not) multiples of 4
/// (the subgroup kernel's aligned and unaligned paths), and empty products. The last five have
/// rows of 8 floats (the 64-bit-load kernel): a partial row tile, a partial 64-column block, a
/// single 8-column group (lanes past the edge), a single row and the smallest problem.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (7, 13, 5),
    (33, 65, 17),
    (129, 1, 257),
    (1, 37, 64),
    (70, 1, 45),
    (19, 23, 1),
    (33, 65, 70),
    (40, 68, 96),
    (36, 40, 76),
    (5, 6, 0),
    (0, 5, 3),
    (33, 72, 136),
    (40, 72, 136),
    (48, 8, 200),
    (1, 16, 8),
    (8, 8, 8),
];

#[test]
fn forward_matches_reference_for_every_variant_and_transpose() {
    let gpu = gpu();
    for algo in algos(&gpu) {
        for t in TRANSPOSES {
            for &(m, n, k) in SHAPES {
                check(&gpu, algo, problem(1, m, n, k, t), Extras::default());
            }
        }
    }
}

#[test]
fn mid_size_square() {
    let gpu = gpu();
    for algo in [MatmulAlgo::TILED, default_algo(&gpu)] {
        check(
            &gpu,
            algo,
            problem(1, 256, 256, 256, (false, false)),
            Extras::default(),
        );
    }
    // The default variant also with both operands transposed.
    let algo = default_algo(&gpu);
    check(
        &gpu,
        algo,
        problem(1, 256, 256, 256, (true, true)),
        Extras::default(),
    );
}

#[test]
fn bias_accumulate_and_batches() {
    let gpu = gpu();
    let extras = [
        Extras {
            bias: true,
            ..Default::default()
        },
        Extras {
            accumulate: true,
            ..Default::default()
        },
        Extras {
            bias: true,
            accumulate: true,
            batched: true,
        },
    ];
    for algo in algos(&gpu) {
        for t in TRANSPOSES {
            for x in extras {
                for &(batch, m, n, k) in &[
                    (1, 33, 65, 70),
                    (3, 7, 13, 5),
                    (3, 36, 40, 76),
                    (2, 3, 4, 0),
                    (3, 40, 72, 16),
                    (2, 16, 8, 24),
                ] {
                    check(&gpu, algo, problem(batch, m, n, k, t), x);
                }
            }
        }
    }
}

/// L = sum(G ∘ (op(A)·op(B) + bias)). The gradients are matmuls with transpose flags:
/// d op(A) = G·op(B)ᵀ and d op(B) = op(A)ᵀ·G, laid out as A and B are stored. Each is checked
/// against central finite differences of the f64 forward, and accumulated onto an existing
/// gradient (as autograd does when a tensor feeds several ops).
#[test]
fn backward_formulas_match_finite_differences() {
    let gpu = gpu();
    for algo in algos(&gpu) {
        for t in TRANSPOSES {
            for &(batch, m, n, k) in &[(1, 5, 7, 6), (2, 9, 4, 35), (2, 8, 16, 24)] {
                let p = problem(batch, m, n, k, t);
                let seed = fresh_seed();
                let mut r = rng(seed);
                let batched = batch > 1;
                let a = to_f64(&to_f32(&uniform(&mut r, batch * m * k)));
                let b = to_f64(&to_f32(&uniform(&mut r, batch * k * n)));
                let g = to_f64(&to_f32(&uniform(&mut r, batch * m * n)));
                let prev_da = to_f64(&to_f32(&uniform(&mut r, a.len())));
                let (at, bt) = (
                    upload(&gpu, &p.a_shape(batched), &a),
                    upload(&gpu, &p.b_shape(batched), &b),
                );
                let gt = upload(&gpu, &p.c_shape(batched), &g);
                let da = poisoned(&gpu, &p.a_shape(batched));
                let da_acc = upload(&gpu, &p.a_shape(batched), &prev_da);
                let db = poisoned(&gpu, &p.b_shape(batched));
                let (da_launch, da_acc_launch, db_launch) = (
                    grad_a(&gpu, algo, t, &gt, &bt, &da, false),
                    grad_a(&gpu, algo, t, &gt, &bt, &da_acc, true),
                    grad_b(&gpu, algo, t, &at, &gt, &db),
                );
                run(&gpu, &[&da_launch, &da_acc_launch, &db_launch]);

                let loss_a = |x: &[f64]| dot(&g, &cpu::matmul(&p, x, &b, None, None));
                let loss_b = |x: &[f64]| dot(&g, &cpu::matmul(&p, &a, x, None, None));
                // L is linear in each operand, so a large step has no truncation error.
                let fd_a = finite_difference(loss_a, &a, 0.5);
                let fd_b = finite_difference(loss_b, &b, 0.5);
                let fd_a_acc: Vec<f64> = fd_a.iter().zip(&prev_da).map(|(x, y)| x + y).collect();
                let (atol, rtol) = tolerance(p.n.max(p.m));
                let case = format!("{algo:?} {p:?}");
                assert_close(
                    &format!("dA {case}"),
                    seed,
                    &download(&da),
                    &fd_a,
                    atol,
                    rtol,
                );
                assert_close(
                    &format!("dA accumulated {case}"),
                    seed,
                    &download(&da_acc),
                    &fd_a_acc,
                    atol,
                    rtol,
                );
                assert_close(
                    &format!("dB {case}"),
                    seed,
                    &download(&db),
                    &fd_b,
                    atol,
                    rtol,
                );
            }
        }
    }
}

/// dA stored like A: G·op(B)ᵀ ([M, K]) or, for a transposed A, op(B)·Gᵀ ([K, M]).
fn grad_a(
    gpu: &Gpu,
    algo: MatmulAlgo,
    (trans_a, trans_b): (bool, bool),
    g: &Tensor,
    b: &Tensor,
    da: &Tensor,
    accumulate: bool,
) -> nasgpu::device::Launch {
    let launch = if trans_a {
        let spec = MatmulSpec {
            trans_a: trans_b,
            trans_b: true,
            accumulate,
        };
        matmul_with_algo(gpu, b, g, None, da, spec, algo)
    } else {
        let spec = MatmulSpec {
            trans_a: false,
            trans_b: !trans_b,
            accumulate,
        };
        matmul_with_algo(gpu, g, b, None, da, spec, algo)
    };
    launch.expect("dA launch")
}

/// dB stored like B: op(A)ᵀ·G ([K, N]) or, for a transposed B, Gᵀ·op(A) ([N, K]).
fn grad_b(
    gpu: &Gpu,
    algo: MatmulAlgo,
    (trans_a, trans_b): (bool, bool),
    a: &Tensor,
    g: &Tensor,
    db: &Tensor,
) -> nasgpu::device::Launch {
    let launch = if trans_b {
        let spec = MatmulSpec {
            trans_a: true,
            trans_b: trans_a,
            accumulate: false,
        };
        matmul_with_algo(gpu, g, a, None, db, spec, algo)
    } else {
        let spec = MatmulSpec {
            trans_a: !trans_a,
            trans_b: false,
            accumulate: false,
        };
        matmul_with_algo(gpu, a, g, None, db, spec, algo)
    };
    launch.expect("dB launch")
}

/// An infinity in B gives ±inf in its column, not NaN: padding terms past the end of k (and past
/// the matrix edges) must not multiply real data by zero. A is positive so no term is 0·inf.
#[test]
fn infinities_propagate_like_ieee() {
    let gpu = gpu();
    for algo in algos(&gpu) {
        for t in TRANSPOSES {
            for &(m, n, k) in &[(5, 9, 37), (8, 8, 64)] {
                let p = problem(1, m, n, k, t);
                let seed = fresh_seed();
                let mut r = rng(seed);
                let a = to_f64(&to_f32(&uniform_in(&mut r, m * k, 0.5, 2.0)));
                let mut b = to_f64(&to_f32(&uniform(&mut r, k * n)));
                // op(B)[k - 1][n - 1] and op(B)[0][0] are +inf.
                let last = if p.trans_b {
                    (n - 1) * k + k - 1
                } else {
                    (k - 1) * n + n - 1
                };
                b[last] = f64::INFINITY;
                b[0] = f64::INFINITY;
                let (at, bt) = (
                    upload(&gpu, &p.a_shape(false), &a),
                    upload(&gpu, &p.b_shape(false), &b),
                );
                let ct = poisoned(&gpu, &p.c_shape(false));
                let spec = MatmulSpec {
                    trans_a: t.0,
                    trans_b: t.1,
                    accumulate: false,
                };
                run(
                    &gpu,
                    &[&matmul_with_algo(&gpu, &at, &bt, None, &ct, spec, algo).unwrap()],
                );
                let got = download(&ct);
                let want = cpu::matmul(&p, &a, &b, None, None);
                for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    let ok = if w.is_finite() {
                        (g as f64 - w).abs() <= 1e-6 * k as f64 + 1e-5 * w.abs()
                    } else {
                        g as f64 == w
                    };
                    assert!(ok, "{algo:?} {p:?} (seed {seed}): [{i}] gpu {g} ref {w}");
                }
            }
        }
    }
}

/// Two runs of every variant give the same bits (fixed summation order, no atomics).
#[test]
fn reruns_are_bit_identical() {
    let gpu = gpu();
    for (m, n, k) in [(129, 65, 257), (40, 72, 136)] {
        reruns_match(&gpu, problem(2, m, n, k, (false, true)));
    }
}

fn reruns_match(gpu: &std::sync::Arc<Gpu>, p: Problem) {
    let mut r = rng(fresh_seed());
    let a = upload(gpu, &p.a_shape(true), &uniform(&mut r, p.batch * p.m * p.k));
    let b = upload(gpu, &p.b_shape(true), &uniform(&mut r, p.batch * p.k * p.n));
    for algo in algos(gpu) {
        let spec = MatmulSpec {
            trans_b: true,
            ..Default::default()
        };
        let outputs: Vec<Vec<u32>> = (0..2)
            .map(|_| {
                let c = poisoned(gpu, &p.c_shape(true));
                run(
                    gpu,
                    &[&matmul_with_algo(gpu, &a, &b, None, &c, spec, algo).unwrap()],
                );
                download(&c).iter().map(|v| v.to_bits()).collect()
            })
            .collect();
        assert!(outputs[0] == outputs[1], "{algo:?}: two runs differ");
    }
}

#[test]
fn bad_shapes_are_errors_naming_every_shape() {
    let gpu = gpu();
    let t = |s: &[usize]| poisoned(&gpu, s);
    let none = MatmulSpec::default();
    // a, b, bias, c, spec, and the reason the message must give.
    type Case = (
        Tensor,
        Tensor,
        Option<Tensor>,
        Tensor,
        MatmulSpec,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            t(&[2, 3]),
            t(&[4, 5]),
            None,
            t(&[2, 5]),
            none,
            "inner dimensions 3 and 4",
        ),
        (
            t(&[2, 3]),
            t(&[3, 5]),
            None,
            t(&[5, 2]),
            none,
            "c must be 2 x 5",
        ),
        (
            t(&[2, 3]),
            t(&[3, 5]),
            Some(t(&[2])),
            t(&[2, 5]),
            none,
            "bias must be [5]",
        ),
        (
            t(&[2, 3]),
            t(&[2, 3, 5]),
            None,
            t(&[2, 5]),
            none,
            "all be matrices",
        ),
        (
            t(&[2, 2, 3]),
            t(&[3, 3, 5]),
            None,
            t(&[2, 2, 5]),
            none,
            "batch sizes differ",
        ),
        (
            t(&[3, 2]),
            t(&[3, 5]),
            None,
            t(&[2, 5]),
            MatmulSpec {
                trans_b: true,
                ..none
            },
            "inner dimensions 2 and 5",
        ),
    ];
    for (a, b, bias, c, spec, why) in &cases {
        match matmul(&gpu, a, b, bias.as_ref(), c, *spec) {
            Err(KernelError::Shape { message, .. }) => {
                for s in [a.shape(), b.shape(), c.shape()] {
                    assert!(message.contains(&format!("{s:?}")), "{message} lacks {s:?}");
                }
                assert!(message.contains(why), "{message} lacks '{why}'");
            }
            other => panic!("expected a shape error for {why}, got {other:?}"),
        }
    }
    // C may not alias an input: refused before wgpu sees it.
    let a = t(&[4, 4]);
    assert!(matches!(
        matmul(&gpu, &a, &t(&[4, 4]), None, &a, none),
        Err(KernelError::Argument { .. })
    ));
}
