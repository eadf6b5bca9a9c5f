//! SGD and Adam over several steps against f64 references (PyTorch semantics). The same launch
//! is re-run every step with new step scalars, as a training plan does.
//! Tolerances: atol 1e-6, rtol 1e-5 on params and state after 5-6 steps. Each step rounds the
//! f32 state a few times (~1e-7 relative each; Nesterov velocities grow to ~10); the worst
//! observed error is ~5e-7. Adam's bias corrections are computed without cancellation, so they
//! add nothing visible; a wrong bias correction or momentum term is off by 1e-3 or more.

mod common;

use common::reference::optim as cpu;
use common::*;
use nasgpu::kernels::KernelError;
use nasgpu::kernels::optim::{
    self, AdamSpec, SgdSpec, StepScalars, step_scalars_tensor, write_step_scalars,
};
use nasgpu::tensor::Tensor;

/// One element, odd sizes around the 256-wide workgroup, and a mid-size tensor.
const SIZES: &[usize] = &[1, 255, 257, 10_007];
/// A learning rate per step, varied so that a stale scalars buffer shows up.
const LRS: &[f64] = &[0.1, 0.05, 0.2, 0.01, 0.1];

fn f32_round(v: f64) -> f64 {
    v as f32 as f64
}

#[test]
fn sgd_matches_reference_over_several_steps() {
    let gpu = gpu();
    let specs = [
        (0.0, false, 0.0),
        (0.0, false, 0.1),
        (0.9, false, 0.0),
        (0.9, true, 0.0),
        (0.9, false, 0.05),
        (0.5, true, 0.05),
    ];
    for &(momentum, nesterov, weight_decay) in &specs {
        for &n in SIZES {
            let seed = fresh_seed();
            let mut r = rng(seed);
            let spec = SgdSpec {
                momentum,
                nesterov,
                weight_decay,
            };
            let mut param = to_f64(&to_f32(&uniform(&mut r, n)));
            let mut vel = vec![0.0; n];
            let pt = upload(&gpu, &[n], &param);
            let gt = upload(&gpu, &[n], &vec![0.0; n]);
            // With momentum 0 the velocity is never touched, so NaN there must not leak.
            let vt = if momentum == 0.0 {
                poisoned(&gpu, &[n])
            } else {
                Tensor::zeros(&gpu, &[n]).unwrap()
            };
            let scalars = step_scalars_tensor(&gpu).unwrap();
            let launch = optim::sgd_update(&gpu, &pt, &gt, &vt, &scalars, spec).unwrap();
            let case = format!("sgd {spec:?} n={n}");
            for (step, &lr) in LRS.iter().enumerate() {
                let grad = to_f64(&to_f32(&uniform(&mut r, n)));
                gt.write_f32(&to_f32(&grad));
                write_step_scalars(&scalars, StepScalars::new(lr as f32, step as u32 + 1));
                run(&gpu, &[&launch]);
                cpu::sgd_step(
                    &mut param,
                    &grad,
                    &mut vel,
                    f32_round(lr),
                    f32_round(momentum as f64),
                    nesterov,
                    f32_round(weight_decay as f64),
                );
            }
            assert_close(&case, seed, &download(&pt), &param, 1e-6, 1e-5);
            if momentum != 0.0 {
                assert_close(
                    &format!("{case} velocity"),
                    seed,
                    &download(&vt),
                    &vel,
                    1e-6,
                    1e-5,
                );
            }
        }
    }
}

/// Adam from step 1 (bias correction largest) over 6 steps, and resumed at step 1000 with
/// non-zero moments (bias correction nearly gone).
#[test]
fn adam_matches_reference_at_step_one_and_later() {
    let gpu = gpu();
    let specs = [
        AdamSpec {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
        AdamSpec {
            beta1: 0.5,
            beta2: 0.9,
            eps: 1e-3,
            weight_decay: 0.1,
        },
    ];
    for spec in specs {
        for &n in SIZES {
            for first_step in [1u32, 1000] {
                let seed = fresh_seed();
                let mut r = rng(seed);
                let mut param = to_f64(&to_f32(&uniform(&mut r, n)));
                let (mut m, mut v) = if first_step == 1 {
                    (vec![0.0; n], vec![0.0; n])
                } else {
                    // Consistent moments (v >= m^2, as Adam's own state is), so the update
                    // m / sqrt(v) stays well conditioned.
                    let m = to_f64(&to_f32(&uniform(&mut r, n)));
                    let extra = uniform_in(&mut r, n, 0.01, 1.0);
                    let v: Vec<f64> = m.iter().zip(&extra).map(|(a, e)| a * a + e).collect();
                    (m, to_f64(&to_f32(&v)))
                };
                let pt = upload(&gpu, &[n], &param);
                let gt = upload(&gpu, &[n], &vec![0.0; n]);
                let (mt, vt) = (upload(&gpu, &[n], &m), upload(&gpu, &[n], &v));
                let scalars = step_scalars_tensor(&gpu).unwrap();
                let launch = optim::adam_update(&gpu, &pt, &gt, &mt, &vt, &scalars, spec).unwrap();
                let betas = (f32_round(spec.beta1 as f64), f32_round(spec.beta2 as f64));
                let case = format!("adam {spec:?} n={n} from step {first_step}");
                for (i, &lr) in LRS.iter().chain(&[0.03]).enumerate() {
                    let t = first_step + i as u32;
                    let grad = to_f64(&to_f32(&uniform(&mut r, n)));
                    gt.write_f32(&to_f32(&grad));
                    write_step_scalars(&scalars, StepScalars::new(lr as f32, t));
                    run(&gpu, &[&launch]);
                    cpu::adam_step(
                        &mut param,
                        &grad,
                        &mut m,
                        &mut v,
                        f32_round(lr),
                        t,
                        betas,
                        f32_round(spec.eps as f64),
                        f32_round(spec.weight_decay as f64),
                    );
                    // Check after the first step too: that is where bias correction matters most.
                    if i == 0 {
                        assert_close(
                            &format!("{case} step {t}"),
                            seed,
                            &download(&pt),
                            &param,
                            1e-6,
                            1e-5,
                        );
                    }
                }
                assert_close(&case, seed, &download(&pt), &param, 1e-6, 1e-5);
                assert_close(&format!("{case} m"), seed, &download(&mt), &m, 1e-6, 1e-5);
                assert_close(&format!("{case} v"), seed, &download(&vt), &v, 1e-6, 1e-5);
            }
        }
    }
}

/// More elements than one grid dimension holds (65535 workgroups of 256), so the grid splits.
#[test]
fn updates_split_large_grids() {
    let gpu = gpu();
    let n = 256 * 65_535 + 1001;
    let seed = fresh_seed();
    let mut r = rng(seed);
    let param0 = to_f64(&to_f32(&uniform(&mut r, n)));
    let grad = to_f64(&to_f32(&uniform(&mut r, n)));
    let (pt, gt) = (upload(&gpu, &[n], &param0), upload(&gpu, &[n], &grad));
    let scalars = step_scalars_tensor(&gpu).unwrap();
    write_step_scalars(&scalars, StepScalars::new(0.5, 1));
    let (m, v) = (
        Tensor::zeros(&gpu, &[n]).unwrap(),
        Tensor::zeros(&gpu, &[n]).unwrap(),
    );
    let spec = AdamSpec {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    run(
        &gpu,
        &[&optim::adam_update(&gpu, &pt, &gt, &m, &v, &scalars, spec).unwrap()],
    );
    let mut param = param0.clone();
    let (mut m64, mut v64) = (vec![0.0; n], vec![0.0; n]);
    let betas = (f32_round(0.9), f32_round(0.999));
    cpu::adam_step(
        &mut param,
        &grad,
        &mut m64,
        &mut v64,
        0.5,
        1,
        betas,
        f32_round(1e-8),
        0.0,
    );
    assert_close(
        &format!("adam n={n}"),
        seed,
        &download(&pt),
        &param,
        1e-6,
        1e-5,
    );

    let spec = SgdSpec {
        momentum: 0.9,
        nesterov: true,
        weight_decay: 0.0,
    };
    let vel = Tensor::zeros(&gpu, &[n]).unwrap();
    run(
        &gpu,
        &[&optim::sgd_update(&gpu, &pt, &gt, &vel, &scalars, spec).unwrap()],
    );
    let mut v = vec![0.0; n];
    cpu::sgd_step(&mut param, &grad, &mut v, 0.5, f32_round(0.9), true, 0.0);
    assert_close(
        &format!("sgd n={n}"),
        seed,
        &download(&pt),
        &param,
        1e-6,
        1e-5,
    );
}

#[test]
fn bad_arguments_are_errors() {
    let gpu = gpu();
    let p = poisoned(&gpu, &[10]);
    let g = poisoned(&gpu, &[11]);
    let v = poisoned(&gpu, &[10]);
    let s = step_scalars_tensor(&gpu).unwrap();
    let sgd = SgdSpec {
        momentum: 0.9,
        nesterov: false,
        weight_decay: 0.0,
    };
    match optim::sgd_update(&gpu, &p, &g, &v, &s, sgd) {
        Err(KernelError::Shape { message, .. }) => {
            assert!(
                message.contains("[10]") && message.contains("[11]"),
                "{message}"
            )
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    let g = poisoned(&gpu, &[10]);
    // State aliasing the parameter, or a scalars tensor of the wrong shape, are refused.
    assert!(optim::sgd_update(&gpu, &p, &g, &p, &s, sgd).is_err());
    assert!(optim::sgd_update(&gpu, &p, &g, &v, &poisoned(&gpu, &[4]), sgd).is_err());
    let nesterov0 = SgdSpec {
        momentum: 0.0,
        nesterov: true,
        weight_decay: 0.0,
    };
    assert!(matches!(
        optim::sgd_update(&gpu, &p, &g, &v, &s, nesterov0),
        Err(KernelError::Argument { .. })
    ));
    let m = poisoned(&gpu, &[10]);
    let bad = AdamSpec {
        beta1: 1.0,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    assert!(matches!(
        optim::adam_update(&gpu, &p, &g, &m, &v, &s, bad),
        Err(KernelError::Argument { .. })
    ));
}
