//! Fused LSTM cell forward and backward against f64 references and central finite differences,
//! one step (with and without an incoming dc) and chained over 3 steps as the controller runs it.
//! Tolerances: forward and backward vs f64 atol 1e-6 rtol 1e-5 (a handful of device exp and
//! divisions per value, all bounded by 1 except c, which grows by at most 1 per step);
//! vs finite differences atol 1e-5 rtol 1e-4 (the difference quotient's own error is ~1e-9, the
//! GPU's saved activations are f32).

mod common;

use std::sync::Arc;

use common::reference::lstm as cpu;
use common::*;
use nasgpu::device::Gpu;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::lstm;
use nasgpu::tensor::Tensor;

/// (B, H): single unit, controller sizes (H = 35, batch 1..8), wider and more rows than a
/// 64-wide workgroup.
const SHAPES: &[(usize, usize)] = &[(1, 1), (1, 35), (8, 35), (3, 100), (70, 5)];

struct Step {
    act: Tensor,
    c: Tensor,
    h: Tensor,
}

fn forward(gpu: &Arc<Gpu>, gates: &Tensor, c_prev: &Tensor, b: usize, h: usize) -> Step {
    let s = Step {
        act: poisoned(gpu, &[b, 4 * h]),
        c: poisoned(gpu, &[b, h]),
        h: poisoned(gpu, &[b, h]),
    };
    let l = lstm::lstm_cell_forward(gpu, gates, c_prev, &s.act, &s.c, &s.h).unwrap();
    run(gpu, &[&l]);
    s
}

fn backward(
    gpu: &Arc<Gpu>,
    s: &Step,
    c_prev: &Tensor,
    dh: &Tensor,
    dc: Option<&Tensor>,
) -> (Tensor, Tensor) {
    let (b, h) = (dh.shape()[0], dh.shape()[1]);
    let (dgates, dc_prev) = (poisoned(gpu, &[b, 4 * h]), poisoned(gpu, &[b, h]));
    let l = lstm::lstm_cell_backward(gpu, &s.act, c_prev, &s.c, dh, dc, &dgates, &dc_prev);
    run(gpu, &[&l.unwrap()]);
    (dgates, dc_prev)
}

fn inputs(r: &mut TestRng, n: usize, extreme: bool) -> Vec<f64> {
    let mut x = uniform(r, n);
    if extreme {
        x.iter_mut()
            .step_by(3)
            .zip([80.0, -80.0].iter().cycle())
            .for_each(|(v, e)| *v = *e);
    }
    to_f64(&to_f32(&x))
}

#[test]
fn forward_matches_reference() {
    let gpu = gpu();
    for &(b, h) in SHAPES {
        for extreme in [false, true] {
            let seed = fresh_seed();
            let mut r = rng(seed);
            let gates = inputs(&mut r, b * 4 * h, extreme);
            let c_prev = inputs(&mut r, b * h, false);
            let (gt, ct) = (
                upload(&gpu, &[b, 4 * h], &gates),
                upload(&gpu, &[b, h], &c_prev),
            );
            let s = forward(&gpu, &gt, &ct, b, h);
            let (act, c, hs) = cpu::cell(&gates, &c_prev, h);
            let case = format!("lstm forward b={b} h={h} extreme={extreme}");
            assert_close(
                &format!("{case} act"),
                seed,
                &download(&s.act),
                &act,
                1e-6,
                1e-5,
            );
            assert_close(&format!("{case} c"), seed, &download(&s.c), &c, 1e-6, 1e-5);
            assert_close(&format!("{case} h"), seed, &download(&s.h), &hs, 1e-6, 1e-5);
        }
    }
}

/// One step, L = <gh, h> + <gc, c>: dgates and dc_prev against the analytic f64 gradient and
/// finite differences over gates and c_prev; with dc = None the term <gc, c> is absent.
#[test]
fn backward_matches_reference_and_finite_differences() {
    let gpu = gpu();
    for &(b, h) in SHAPES {
        for with_dc in [true, false] {
            let seed = fresh_seed();
            let mut r = rng(seed);
            let gates = inputs(&mut r, b * 4 * h, false);
            let c_prev = inputs(&mut r, b * h, false);
            let gh = inputs(&mut r, b * h, false);
            let gc = if with_dc {
                inputs(&mut r, b * h, false)
            } else {
                vec![0.0; b * h]
            };
            let (gt, ct) = (
                upload(&gpu, &[b, 4 * h], &gates),
                upload(&gpu, &[b, h], &c_prev),
            );
            let s = forward(&gpu, &gt, &ct, b, h);
            let (dh, dc) = (upload(&gpu, &[b, h], &gh), upload(&gpu, &[b, h], &gc));
            let (dgates, dc_prev) = backward(&gpu, &s, &ct, &dh, with_dc.then_some(&dc));
            let (dgates, dc_prev) = (download(&dgates), download(&dc_prev));
            let case = format!("lstm backward b={b} h={h} dc={with_dc}");
            let (want_g, want_c) = cpu::cell_backward(&gates, &c_prev, h, &gh, &gc);
            assert_close(
                &format!("{case} dgates"),
                seed,
                &dgates,
                &want_g,
                1e-6,
                1e-5,
            );
            assert_close(
                &format!("{case} dc_prev"),
                seed,
                &dc_prev,
                &want_c,
                1e-6,
                1e-5,
            );
            if b * h <= 400 {
                let loss = |g: &[f64], cp: &[f64]| {
                    let (_, c, hs) = cpu::cell(g, cp, h);
                    dot(&gh, &hs) + dot(&gc, &c)
                };
                let fd_g = finite_difference(|g| loss(g, &c_prev), &gates, 1e-5);
                let fd_c = finite_difference(|cp| loss(&gates, cp), &c_prev, 1e-5);
                assert_close(
                    &format!("{case} dgates vs fd"),
                    seed,
                    &dgates,
                    &fd_g,
                    1e-5,
                    1e-4,
                );
                assert_close(
                    &format!("{case} dc_prev vs fd"),
                    seed,
                    &dc_prev,
                    &fd_c,
                    1e-5,
                    1e-4,
                );
            }
        }
    }
}

/// Three chained steps as the controller runs them: L = sum_t <gh_t, h_t> (+ <gc, c_3>), the
/// backward walks the steps in reverse passing dc_prev on as the next dc. Every step's dgates
/// and the gradient w.r.t. c_0 against finite differences of the f64 chain.
#[test]
fn chained_steps_match_finite_differences() {
    let gpu = gpu();
    const STEPS: usize = 3;
    for &(b, h) in &[(1usize, 1usize), (2, 35), (8, 5)] {
        for last_dc in [true, false] {
            let seed = fresh_seed();
            let mut r = rng(seed);
            let gates: Vec<Vec<f64>> = (0..STEPS)
                .map(|_| inputs(&mut r, b * 4 * h, false))
                .collect();
            let c0 = inputs(&mut r, b * h, false);
            let gh: Vec<Vec<f64>> = (0..STEPS).map(|_| inputs(&mut r, b * h, false)).collect();
            let gc = inputs(&mut r, b * h, false);

            let gts: Vec<Tensor> = gates.iter().map(|g| upload(&gpu, &[b, 4 * h], g)).collect();
            let mut cs = vec![upload(&gpu, &[b, h], &c0)];
            let mut steps = Vec::new();
            for gt in &gts {
                let s = forward(&gpu, gt, cs.last().unwrap(), b, h);
                cs.push(s.c.clone());
                steps.push(s);
            }
            let mut dc = last_dc.then(|| upload(&gpu, &[b, h], &gc));
            let mut dgates = vec![Vec::new(); STEPS];
            for t in (0..STEPS).rev() {
                let dh = upload(&gpu, &[b, h], &gh[t]);
                let (dg, dcp) = backward(&gpu, &steps[t], &cs[t], &dh, dc.as_ref());
                dgates[t] = download(&dg);
                dc = Some(dcp);
            }
            let dc0 = download(&dc.unwrap());

            let loss = |g: &[Vec<f64>], c0: &[f64]| {
                let out = cpu::chain(g, c0, h);
                let hs: f64 = out.iter().zip(&gh).map(|((_, hs), gh)| dot(gh, hs)).sum();
                hs + if last_dc {
                    dot(&gc, &out[STEPS - 1].0)
                } else {
                    0.0
                }
            };
            let case = format!("lstm chain b={b} h={h} last_dc={last_dc}");
            for t in 0..STEPS {
                let fd = finite_difference(
                    |gt| {
                        let mut g = gates.clone();
                        g[t] = gt.to_vec();
                        loss(&g, &c0)
                    },
                    &gates[t],
                    1e-5,
                );
                assert_close(
                    &format!("{case} dgates[{t}] vs fd"),
                    seed,
                    &dgates[t],
                    &fd,
                    1e-5,
                    1e-4,
                );
            }
            let fd = finite_difference(|c| loss(&gates, c), &c0, 1e-5);
            assert_close(&format!("{case} dc0 vs fd"), seed, &dc0, &fd, 1e-5, 1e-4);
        }
    }
}

/// More than 65535 workgroups of 64 cells, so the grid splits over x and y.
#[test]
fn large_grids_split() {
    let gpu = gpu();
    let (b, h) = (2, 2_097_200);
    let seed = fresh_seed();
    let mut r = rng(seed);
    let gates = inputs(&mut r, b * 4 * h, false);
    let c_prev = inputs(&mut r, b * h, false);
    let gh = inputs(&mut r, b * h, false);
    let (gt, ct) = (
        upload(&gpu, &[b, 4 * h], &gates),
        upload(&gpu, &[b, h], &c_prev),
    );
    let s = forward(&gpu, &gt, &ct, b, h);
    let (_, c, _) = cpu::cell(&gates, &c_prev, h);
    let case = format!("lstm b={b} h={h}");
    assert_close(&case, seed, &download(&s.c), &c, 1e-6, 1e-5);
    let dh = upload(&gpu, &[b, h], &gh);
    let (dgates, _) = backward(&gpu, &s, &ct, &dh, None);
    let (want, _) = cpu::cell_backward(&gates, &c_prev, h, &gh, &vec![0.0; b * h]);
    assert_close(
        &format!("{case} backward"),
        seed,
        &download(&dgates),
        &want,
        1e-6,
        1e-5,
    );
}

#[test]
fn bad_shapes_are_errors_naming_the_shapes() {
    let gpu = gpu();
    let gates = poisoned(&gpu, &[2, 12]);
    let (act, c, h) = (
        poisoned(&gpu, &[2, 12]),
        poisoned(&gpu, &[2, 3]),
        poisoned(&gpu, &[2, 3]),
    );
    let bad = poisoned(&gpu, &[2, 4]);
    match lstm::lstm_cell_forward(&gpu, &gates, &bad, &act, &c, &h) {
        Err(KernelError::Shape { message, .. }) => {
            assert!(
                message.contains("[2, 4]") && message.contains("[2, 3]"),
                "{message}"
            )
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    // The gate axis must be a multiple of 4.
    let odd = poisoned(&gpu, &[2, 10]);
    assert!(matches!(
        lstm::lstm_cell_forward(&gpu, &odd, &c, &odd, &c, &h),
        Err(KernelError::Shape { .. })
    ));
    // Outputs must not alias each other or an input.
    let cp = poisoned(&gpu, &[2, 3]);
    assert!(lstm::lstm_cell_forward(&gpu, &gates, &cp, &act, &c, &c).is_err());
    let (dg, dcp) = (poisoned(&gpu, &[2, 12]), poisoned(&gpu, &[2, 3]));
    assert!(lstm::lstm_cell_backward(&gpu, &act, &cp, &c, &h, Some(&bad), &dg, &dcp).is_err());
    assert!(lstm::lstm_cell_backward(&gpu, &act, &cp, &c, &h, None, &dg, &h).is_err());
}
