//! Embedding forward and backward against f64 references, with repeated and out-of-range ids;
//! the backward also against central finite differences of the f64 forward, and rerun bitwise.
//! Tolerances: the forward is a copy (exact); the backward sums the k rows of dout that share an
//! id in index order, whose f32 error is at most k·u·Σ|x| (Higham's bound for recursive
//! summation, u = 2^-24) with Σ|x| <= 2k for values in [-2, 2]: atol max(1e-6, 2k²·u), rtol
//! 1e-5. With k ~ 100 (V = 3, N = 300) that is 1.2e-3, where rounding alone has reached 6.7e-6 (seed
//! 6931239904153058374); a lost or doubled row is off by O(1) and still fails.

mod common;

use common::reference::embedding as cpu;
use common::*;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::embedding;
use nasgpu::tensor::Tensor;
use rand::RngExt;

/// (V, D, N): single entries, controller sizes (V ~ a few tokens, D = 35), many repeats of few
/// ids, and element counts past one 256-wide workgroup.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 3, 5),
    (10, 35, 8),
    (3, 7, 300),
    (50, 3, 97),
    (200, 20, 40),
];

/// Random ids with repeats, plus an out-of-range id and IGNORE-style u32::MAX where room allows.
fn random_ids(r: &mut TestRng, v: usize, n: usize) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..n).map(|_| r.random_range(0..v as u32)).collect();
    if n > 3 {
        ids[1] = ids[0];
        ids[2] = v as u32;
        ids[3] = u32::MAX;
    }
    ids
}

#[test]
fn forward_matches_reference() {
    let gpu = gpu();
    for &(v, d, n) in SHAPES {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let table = to_f64(&to_f32(&uniform(&mut r, v * d)));
        let ids = random_ids(&mut r, v, n);
        let tt = upload(&gpu, &[v, d], &table);
        let it = Tensor::from_u32(&gpu, &[n], &ids).unwrap();
        let out = poisoned(&gpu, &[n, d]);
        run(
            &gpu,
            &[&embedding::embedding_forward(&gpu, &tt, &it, &out).unwrap()],
        );
        let case = format!("embedding forward v={v} d={d} n={n}");
        assert_close(
            &case,
            seed,
            &download(&out),
            &cpu::forward(&table, d, &ids),
            0.0,
            0.0,
        );
    }
}

#[test]
fn backward_matches_reference_finite_differences_and_reruns_bitwise() {
    let gpu = gpu();
    for &(v, d, n) in SHAPES {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let table = to_f64(&to_f32(&uniform(&mut r, v * d)));
        let dout = to_f64(&to_f32(&uniform(&mut r, n * d)));
        let ids = random_ids(&mut r, v, n);
        let gt = upload(&gpu, &[n, d], &dout);
        let it = Tensor::from_u32(&gpu, &[n], &ids).unwrap();
        let case = format!("embedding backward v={v} d={d} n={n}");
        let mut runs = Vec::new();
        for _ in 0..2 {
            let dtable = poisoned(&gpu, &[v, d]);
            run(
                &gpu,
                &[&embedding::embedding_backward(&gpu, &gt, &it, &dtable).unwrap()],
            );
            runs.push(download(&dtable));
        }
        let want = cpu::backward(&dout, d, &ids, v);
        let k = (0..v as u32)
            .map(|id| ids.iter().filter(|&&i| i == id).count())
            .max()
            .unwrap_or(0);
        let atol = f64::max(1e-6, 2.0 * (k * k) as f64 * 2f64.powi(-24));
        assert_close(&case, seed, &runs[0], &want, atol, 1e-5);
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&runs[0]),
            bits(&runs[1]),
            "{case}: rerun differs (seed {seed})"
        );
        if v * d <= 2000 {
            let fd = finite_difference(|t| dot(&dout, &cpu::forward(t, d, &ids)), &table, 1e-3);
            assert_close(&format!("{case} vs fd"), seed, &runs[0], &fd, 1e-5, 1e-4);
        }
    }
}

/// More than 65535 workgroups of 256 elements, so both grids split over x and y.
#[test]
fn large_grids_split() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let (v, d, n) = (262_200, 64, 262_150);
    let table = to_f64(&to_f32(&uniform(&mut r, v * d)));
    let ids: Vec<u32> = (0..n).map(|_| r.random_range(0..v as u32)).collect();
    let tt = upload(&gpu, &[v, d], &table);
    let it = Tensor::from_u32(&gpu, &[n], &ids).unwrap();
    let out = poisoned(&gpu, &[n, d]);
    run(
        &gpu,
        &[&embedding::embedding_forward(&gpu, &tt, &it, &out).unwrap()],
    );
    let case = format!("embedding forward v={v} d={d} n={n}");
    assert_close(
        &case,
        seed,
        &download(&out),
        &cpu::forward(&table, d, &ids),
        0.0,
        0.0,
    );
    // The backward grid covers the whole table; 3 ids keep its per-element loop short.
    let few = [0, v as u32 - 1, 0];
    let ft = Tensor::from_u32(&gpu, &[3], &few).unwrap();
    let dout = upload(&gpu, &[3, d], &table[..3 * d]);
    run(
        &gpu,
        &[&embedding::embedding_backward(&gpu, &dout, &ft, &tt).unwrap()],
    );
    let want = cpu::backward(&table[..3 * d], d, &few, v);
    let case = format!("embedding backward v={v} d={d}");
    assert_close(&case, seed, &download(&tt), &want, 1e-6, 1e-5);
}

#[test]
fn bad_shapes_are_errors_naming_the_shapes() {
    let gpu = gpu();
    let table = poisoned(&gpu, &[10, 4]);
    let ids = Tensor::from_u32(&gpu, &[3], &[0, 1, 2]).unwrap();
    let out = poisoned(&gpu, &[3, 5]);
    match embedding::embedding_forward(&gpu, &table, &ids, &out) {
        Err(KernelError::Shape { message, .. }) => assert!(
            message.contains("[3, 5]") && message.contains("[10, 4]") && message.contains("[3]"),
            "{message}"
        ),
        other => panic!("expected a shape error, got {other:?}"),
    }
    // F32 ids are refused.
    let fids = poisoned(&gpu, &[3]);
    let out = poisoned(&gpu, &[3, 4]);
    assert!(embedding::embedding_forward(&gpu, &table, &fids, &out).is_err());
    assert!(embedding::embedding_backward(&gpu, &out, &ids, &poisoned(&gpu, &[10, 3])).is_err());
}
