//! Controller kernels: tempered softmax, categorical and Bernoulli draws against the CPU rule
//! with the same uniforms (and a distribution check over many draws), the Bernoulli
//! log-probability and both entropies against f64 references, and every backward against
//! central finite differences of its f64 forward.
//! Tolerances: forward values atol 1e-6, rtol 1e-5 (device exp/log, a few ulp; for +-80 logits
//! the values reach ~80 and rtol covers them); backward vs analytic likewise, vs finite
//! differences atol 1e-5, rtol 1e-4 (the difference quotient's own error is ~1e-9).

mod common;

use common::reference::sample as cpu;
use common::*;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::sample;
use nasgpu::tensor::Tensor;
use rand::RngExt;

/// (N, K) at controller sizes and past one workgroup of rows (64).
const ROWS: &[(usize, usize)] = &[(1, 1), (1, 5), (8, 6), (3, 35), (65, 10), (2, 300)];
/// The largest f32 below 1.
const ALMOST_ONE: f32 = 0.999_999_94;

fn logits(r: &mut TestRng, n: usize, extreme: bool) -> Vec<f64> {
    let mut z = uniform(r, n);
    if extreme {
        let specials = [80.0, -80.0, 20.0, -20.0, 0.0];
        for (v, s) in z.iter_mut().zip(specials.iter().cycle()).step_by(2) {
            *v = *s;
        }
    }
    to_f64(&to_f32(&z))
}

#[test]
fn softmax_with_temperature_matches_reference() {
    let gpu = gpu();
    for &(n, k) in ROWS {
        for (temperature, extreme) in [(1.0, true), (1.0, false), (0.5, false), (5.0, false)] {
            let seed = fresh_seed();
            let mut r = rng(seed);
            let z = logits(&mut r, n * k, extreme);
            let (zt, probs) = (upload(&gpu, &[n, k], &z), poisoned(&gpu, &[n, k]));
            let l = sample::softmax_with_temperature(&gpu, &zt, temperature, &probs).unwrap();
            run(&gpu, &[&l]);
            let want = cpu::softmax_with_temperature(&z, k, temperature as f64);
            let case = format!("softmax T={temperature} n={n} k={k} extreme={extreme}");
            assert_close(&case, seed, &download(&probs), &want, 1e-6, 1e-5);
        }
    }
}

/// Draws with the same uniforms must equal the host replay of the rule exactly, including
/// u = 0 and u just below 1, with a window offset into the uniforms buffer.
#[test]
fn categorical_sample_matches_cpu_rule() {
    let gpu = gpu();
    for &(n, k) in ROWS.iter().chain(&[(200, 7)]) {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let z = logits(&mut r, n * k, false);
        let (zt, probs) = (upload(&gpu, &[n, k], &z), poisoned(&gpu, &[n, k]));
        run(
            &gpu,
            &[&sample::softmax_with_temperature(&gpu, &zt, 1.0, &probs).unwrap()],
        );
        let offset = 3;
        let mut u: Vec<f32> = (0..n + offset + 2).map(|_| r.random::<f32>()).collect();
        u[offset] = 0.0;
        if n > 1 {
            u[offset + 1] = ALMOST_ONE;
        }
        let ut = Tensor::from_f32(&gpu, &[u.len()], &u).unwrap();
        let out = Tensor::from_u32(&gpu, &[n], &vec![u32::MAX; n]).unwrap();
        run(
            &gpu,
            &[&sample::categorical_sample(&gpu, &probs, &ut, offset, &out).unwrap()],
        );
        let want = cpu::categorical_rule(&download(&probs), k, &u[offset..offset + n]);
        assert_eq!(
            out.to_u32().unwrap(),
            want,
            "categorical n={n} k={k} seed {seed}"
        );
    }
}

/// A zero-probability category is never drawn: not for u = 0, and not when rounding leaves
/// the row's total at or below u.
#[test]
fn categorical_sample_never_draws_zero_probability() {
    let gpu = gpu();
    let probs: Vec<f32> = vec![
        0.0, 0.5, 0.5, 0.0, // u = 0 -> 1 (first non-zero)
        0.0, 0.5, 0.5, 0.0, // u just below 1 -> 2
        0.3, 0.3, 0.3, 0.0, // total 0.9 <= u -> 2 (last non-zero, not 3)
        0.0, 0.0, 0.0, 0.0, // degenerate row -> 0
    ];
    let pt = Tensor::from_f32(&gpu, &[4, 4], &probs).unwrap();
    let ut = Tensor::from_f32(&gpu, &[4], &[0.0, ALMOST_ONE, 0.95, 0.5]).unwrap();
    let out = Tensor::from_u32(&gpu, &[4], &[u32::MAX; 4]).unwrap();
    run(
        &gpu,
        &[&sample::categorical_sample(&gpu, &pt, &ut, 0, &out).unwrap()],
    );
    assert_eq!(out.to_u32().unwrap(), vec![1, 2, 2, 0]);
}

/// Over many draws the frequencies match the probabilities (within 5 standard errors).
#[test]
fn draws_follow_their_distributions() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let (n, k) = (20_000, 5);
    let row = [1.0, 0.0, -1.0, 2.0, 0.5];
    let z: Vec<f64> = row.iter().cycle().take(n * k).cloned().collect();
    let (zt, probs) = (upload(&gpu, &[n, k], &z), poisoned(&gpu, &[n, k]));
    run(
        &gpu,
        &[&sample::softmax_with_temperature(&gpu, &zt, 1.0, &probs).unwrap()],
    );
    let u: Vec<f32> = (0..n).map(|_| r.random::<f32>()).collect();
    let ut = Tensor::from_f32(&gpu, &[n], &u).unwrap();
    let out = Tensor::from_u32(&gpu, &[n], &vec![u32::MAX; n]).unwrap();
    run(
        &gpu,
        &[&sample::categorical_sample(&gpu, &probs, &ut, 0, &out).unwrap()],
    );
    let draws = out.to_u32().unwrap();
    let p = cpu::softmax_with_temperature(&row, k, 1.0);
    for (j, &pj) in p.iter().enumerate() {
        let freq = draws.iter().filter(|&&d| d as usize == j).count() as f64 / n as f64;
        let se = (pj * (1.0 - pj) / n as f64).sqrt();
        assert!(
            (freq - pj).abs() < 5.0 * se,
            "category {j}: {freq} vs {pj} (seed {seed})"
        );
    }

    let z = 0.3;
    let zt = upload(&gpu, &[n], &vec![z; n]);
    let out = Tensor::from_u32(&gpu, &[n], &vec![u32::MAX; n]).unwrap();
    run(
        &gpu,
        &[&sample::bernoulli_sample(&gpu, &zt, &ut, 0, &out).unwrap()],
    );
    let ones = out.to_u32().unwrap().iter().filter(|&&d| d == 1).count() as f64 / n as f64;
    let pz = cpu::sigmoid(z);
    let se = (pz * (1.0 - pz) / n as f64).sqrt();
    assert!(
        (ones - pz).abs() < 5.0 * se,
        "bernoulli {ones} vs {pz} (seed {seed})"
    );
}

/// Bernoulli draws against u < sigmoid(z) on the host; a draw may differ only where u lies
/// within 1e-6 of sigmoid(z) (the device sigmoid is a few ulp off the f64 one).
#[test]
fn bernoulli_sample_matches_cpu_rule() {
    let gpu = gpu();
    for n in [1usize, 7, 65, 1000] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let mut z = logits(&mut r, n, true);
        let offset = 5;
        let mut u: Vec<f32> = (0..n + offset).map(|_| r.random::<f32>()).collect();
        // u = 0 with a very negative logit still draws 1 (sigmoid(-80) > 0); u just below 1
        // draws 1 only where sigmoid rounds to 1.
        u[offset] = 0.0;
        z[0] = -80.0;
        if n > 2 {
            (u[offset + 1], z[1]) = (ALMOST_ONE, 80.0);
            (u[offset + 2], z[2]) = (ALMOST_ONE, 10.0);
        }
        let zt = upload(&gpu, &[n], &z);
        let ut = Tensor::from_f32(&gpu, &[u.len()], &u).unwrap();
        let out = Tensor::from_u32(&gpu, &[n], &vec![u32::MAX; n]).unwrap();
        run(
            &gpu,
            &[&sample::bernoulli_sample(&gpu, &zt, &ut, offset, &out).unwrap()],
        );
        let got = out.to_u32().unwrap();
        for i in 0..n {
            let (ui, p) = (u[offset + i] as f64, cpu::sigmoid(z[i]));
            let want = (ui < p) as u32;
            assert!(
                got[i] == want || (ui - p).abs() < 1e-6,
                "bernoulli [{i}] z={} u={ui}: got {} want {want} (seed {seed})",
                z[i],
                got[i]
            );
        }
        if n > 2 {
            assert_eq!(&got[..3], &[1, 1, 0], "edge uniforms (seed {seed})");
        }
    }
}

#[test]
fn bernoulli_log_prob_matches_reference_and_finite_differences() {
    let gpu = gpu();
    for (n, extreme) in [(1usize, false), (9, true), (130, false), (1000, true)] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let z = logits(&mut r, n, extreme);
        let a: Vec<u32> = (0..n).map(|_| r.random_range(0..2)).collect();
        let g = to_f64(&to_f32(&uniform(&mut r, n)));
        let (zt, at) = (
            upload(&gpu, &[n], &z),
            Tensor::from_u32(&gpu, &[n], &a).unwrap(),
        );
        let (logp, dlogp, dz) = (
            poisoned(&gpu, &[n]),
            upload(&gpu, &[n], &g),
            poisoned(&gpu, &[n]),
        );
        let fwd = sample::bernoulli_log_prob_forward(&gpu, &zt, &at, &logp).unwrap();
        let bwd = sample::bernoulli_log_prob_backward(&gpu, &zt, &at, &dlogp, &dz).unwrap();
        run(&gpu, &[&fwd, &bwd]);
        let case = format!("bernoulli logp n={n} extreme={extreme}");
        assert_close(
            &case,
            seed,
            &download(&logp),
            &cpu::bernoulli_log_prob(&z, &a),
            1e-6,
            1e-5,
        );
        let analytic: Vec<f64> = (0..n)
            .map(|i| g[i] * (a[i] as f64 - cpu::sigmoid(z[i])))
            .collect();
        let got = download(&dz);
        assert_close(
            &format!("{case} backward"),
            seed,
            &got,
            &analytic,
            1e-6,
            1e-5,
        );
        let fd = finite_difference(|zs| dot(&g, &cpu::bernoulli_log_prob(zs, &a)), &z, 1e-5);
        assert_close(
            &format!("{case} backward vs fd"),
            seed,
            &got,
            &fd,
            1e-5,
            1e-4,
        );
    }
}

#[test]
fn categorical_entropy_matches_reference_and_finite_differences() {
    let gpu = gpu();
    for &(n, k) in ROWS {
        for extreme in [false, true] {
            let seed = fresh_seed();
            let mut r = rng(seed);
            let z = logits(&mut r, n * k, extreme);
            let g = to_f64(&to_f32(&uniform(&mut r, n)));
            let zt = upload(&gpu, &[n, k], &z);
            let (h, dh, dz) = (
                poisoned(&gpu, &[n]),
                upload(&gpu, &[n], &g),
                poisoned(&gpu, &[n, k]),
            );
            let fwd = sample::categorical_entropy_forward(&gpu, &zt, &h).unwrap();
            let bwd = sample::categorical_entropy_backward(&gpu, &zt, &dh, &dz).unwrap();
            run(&gpu, &[&fwd, &bwd]);
            let case = format!("categorical entropy n={n} k={k} extreme={extreme}");
            assert_close(
                &case,
                seed,
                &download(&h),
                &cpu::categorical_entropy(&z, k),
                1e-6,
                1e-5,
            );
            let got = download(&dz);
            assert!(
                got.iter().all(|v| v.is_finite()),
                "{case}: non-finite gradient"
            );
            let fd = finite_difference(|zs| dot(&g, &cpu::categorical_entropy(zs, k)), &z, 1e-5);
            assert_close(
                &format!("{case} backward vs fd"),
                seed,
                &got,
                &fd,
                1e-5,
                1e-4,
            );
        }
    }
}

#[test]
fn bernoulli_entropy_matches_reference_and_finite_differences() {
    let gpu = gpu();
    for (n, extreme) in [(1usize, false), (9, true), (130, false), (1000, true)] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let z = logits(&mut r, n, extreme);
        let g = to_f64(&to_f32(&uniform(&mut r, n)));
        let zt = upload(&gpu, &[n], &z);
        let (h, dh, dz) = (
            poisoned(&gpu, &[n]),
            upload(&gpu, &[n], &g),
            poisoned(&gpu, &[n]),
        );
        let fwd = sample::bernoulli_entropy_forward(&gpu, &zt, &h).unwrap();
        let bwd = sample::bernoulli_entropy_backward(&gpu, &zt, &dh, &dz).unwrap();
        run(&gpu, &[&fwd, &bwd]);
        let case = format!("bernoulli entropy n={n} extreme={extreme}");
        assert_close(
            &case,
            seed,
            &download(&h),
            &cpu::bernoulli_entropy(&z),
            1e-6,
            1e-5,
        );
        let analytic: Vec<f64> = z
            .iter()
            .zip(&g)
            .map(|(&z, &g)| -g * z * cpu::sigmoid(z) * cpu::sigmoid(-z))
            .collect();
        let got = download(&dz);
        assert_close(
            &format!("{case} backward"),
            seed,
            &got,
            &analytic,
            1e-6,
            1e-5,
        );
        let fd = finite_difference(|zs| dot(&g, &cpu::bernoulli_entropy(zs)), &z, 1e-5);
        assert_close(
            &format!("{case} backward vs fd"),
            seed,
            &got,
            &fd,
            1e-5,
            1e-4,
        );
    }
}

/// Confident logits give log-probabilities and entropies of order e^-z; they keep their relative
/// precision (rtol 1e-5, no atol), where log(1 + e) in f32 would round them to 0 or lose digits.
#[test]
fn tiny_log_probs_and_entropies_keep_relative_precision() {
    let gpu = gpu();
    let z = vec![3.5, 8.0, 15.0, 20.0, 30.0, -15.0, -30.0];
    let n = z.len();
    let a: Vec<u32> = z.iter().map(|&v| (v > 0.0) as u32).collect();
    let (zt, at) = (
        upload(&gpu, &[n], &z),
        Tensor::from_u32(&gpu, &[n], &a).unwrap(),
    );
    let (logp, h) = (poisoned(&gpu, &[n]), poisoned(&gpu, &[n]));
    let fwd = sample::bernoulli_log_prob_forward(&gpu, &zt, &at, &logp).unwrap();
    let ent = sample::bernoulli_entropy_forward(&gpu, &zt, &h).unwrap();
    run(&gpu, &[&fwd, &ent]);
    let case = "tiny values";
    assert_close(
        case,
        0,
        &download(&logp),
        &cpu::bernoulli_log_prob(&z, &a),
        0.0,
        1e-5,
    );
    assert_close(
        case,
        0,
        &download(&h),
        &cpu::bernoulli_entropy(&z),
        0.0,
        1e-5,
    );
}

/// Past 65535 workgroups of 64: every kernel's grid splits over x and y.
#[test]
fn large_grids_split() {
    let gpu = gpu();
    let n = 65_535 * 64 + 3;
    let seed = fresh_seed();
    let mut r = rng(seed);
    let z = logits(&mut r, n, false);
    let a: Vec<u32> = (0..n).map(|_| r.random_range(0..2)).collect();
    let g = vec![1.0; n];
    let u: Vec<f32> = (0..n).map(|_| r.random::<f32>()).collect();
    let (zt, at, gt) = (
        upload(&gpu, &[n], &z),
        Tensor::from_u32(&gpu, &[n], &a).unwrap(),
        upload(&gpu, &[n], &g),
    );
    let ut = Tensor::from_f32(&gpu, &[n], &u).unwrap();
    let z2 = zt.reshape(&[n, 1]);
    let (logp, dz, h, dh) = (
        poisoned(&gpu, &[n]),
        poisoned(&gpu, &[n]),
        poisoned(&gpu, &[n]),
        poisoned(&gpu, &[n]),
    );
    let (probs, hc, dzc) = (
        poisoned(&gpu, &[n, 1]),
        poisoned(&gpu, &[n]),
        poisoned(&gpu, &[n, 1]),
    );
    let draws = Tensor::from_u32(&gpu, &[n], &vec![u32::MAX; n]).unwrap();
    let bdraws = Tensor::from_u32(&gpu, &[n], &vec![u32::MAX; n]).unwrap();
    let launches = [
        sample::bernoulli_log_prob_forward(&gpu, &zt, &at, &logp).unwrap(),
        sample::bernoulli_log_prob_backward(&gpu, &zt, &at, &gt, &dz).unwrap(),
        sample::bernoulli_entropy_forward(&gpu, &zt, &h).unwrap(),
        sample::bernoulli_entropy_backward(&gpu, &zt, &gt, &dh).unwrap(),
        sample::bernoulli_sample(&gpu, &zt, &ut, 0, &bdraws).unwrap(),
        sample::softmax_with_temperature(&gpu, &z2, 2.0, &probs).unwrap(),
        sample::categorical_entropy_forward(&gpu, &z2, &hc).unwrap(),
        sample::categorical_entropy_backward(&gpu, &z2, &gt, &dzc).unwrap(),
        sample::categorical_sample(&gpu, &probs, &ut, 0, &draws).unwrap(),
    ];
    run(&gpu, &launches.iter().collect::<Vec<_>>());
    let case = format!("n={n}");
    assert_close(
        &case,
        seed,
        &download(&logp),
        &cpu::bernoulli_log_prob(&z, &a),
        1e-6,
        1e-5,
    );
    let dlogp: Vec<f64> = (0..n).map(|i| a[i] as f64 - cpu::sigmoid(z[i])).collect();
    assert_close(&case, seed, &download(&dz), &dlogp, 1e-6, 1e-5);
    assert_close(
        &case,
        seed,
        &download(&h),
        &cpu::bernoulli_entropy(&z),
        1e-6,
        1e-5,
    );
    let dhw: Vec<f64> = z
        .iter()
        .map(|&z| -z * cpu::sigmoid(z) * cpu::sigmoid(-z))
        .collect();
    assert_close(&case, seed, &download(&dh), &dhw, 1e-6, 1e-5);
    // One category per row: probability 1, entropy 0 and gradient 0, always category 0.
    assert_close(&case, seed, &download(&probs), &vec![1.0; n], 0.0, 0.0);
    assert_close(&case, seed, &download(&hc), &vec![0.0; n], 1e-7, 0.0);
    assert_close(&case, seed, &download(&dzc), &vec![0.0; n], 1e-7, 0.0);
    assert!(
        draws.to_u32().unwrap().iter().all(|&d| d == 0),
        "{case}: categorical draws"
    );
    let b = bdraws.to_u32().unwrap();
    let mismatches = (0..n)
        .filter(|&i| b[i] != (((u[i] as f64) < cpu::sigmoid(z[i])) as u32))
        .filter(|&i| (u[i] as f64 - cpu::sigmoid(z[i])).abs() >= 1e-6)
        .count();
    assert_eq!(mismatches, 0, "{case}: bernoulli draws (seed {seed})");
}

#[test]
fn bad_arguments_are_errors() {
    let gpu = gpu();
    let probs = poisoned(&gpu, &[4, 3]);
    let u = poisoned(&gpu, &[5]);
    let out = Tensor::from_u32(&gpu, &[4], &[0; 4]).unwrap();
    // 4 draws from offset 2 need 6 uniforms.
    match sample::categorical_sample(&gpu, &probs, &u, 2, &out) {
        Err(KernelError::Shape { message, .. }) => {
            assert!(
                message.contains("[5]") && message.contains("offset 2"),
                "{message}"
            )
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    assert!(sample::categorical_sample(&gpu, &probs, &u, 1, &out).is_ok());
    let p2 = poisoned(&gpu, &[4, 3]);
    for t in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        assert!(matches!(
            sample::softmax_with_temperature(&gpu, &probs, t, &p2),
            Err(KernelError::Argument { .. })
        ));
    }
    // Actions must be U32 of the logits' shape; F32 draws output is refused.
    let z = poisoned(&gpu, &[4]);
    let lp = poisoned(&gpu, &[4]);
    assert!(sample::bernoulli_log_prob_forward(&gpu, &z, &lp, &poisoned(&gpu, &[4])).is_err());
    let a3 = Tensor::from_u32(&gpu, &[3], &[0; 3]).unwrap();
    assert!(matches!(
        sample::bernoulli_log_prob_forward(&gpu, &z, &a3, &lp),
        Err(KernelError::Shape { .. })
    ));
    assert!(sample::bernoulli_sample(&gpu, &z, &u, 0, &lp).is_err());
}
