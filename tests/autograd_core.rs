//! The tape itself: gradients of composed graphs against finite differences, gradient
//! accumulation for reused values, planned vs eager execution, and buffer reuse by the planner.

mod common;

use common::*;
use nasgpu::autograd::{Graph, Phase, Plan, ops, run_eager};
use nasgpu::tensor::Tensor;

/// f(a, b) = tanh(a*b + sigmoid(a)) * relu(b) + 0.5*a*a, evaluated in f64.
fn reference(a: f64, b: f64) -> f64 {
    let s = 1.0 / (1.0 + (-a).exp());
    (a * b + s).tanh() * b.max(0.0) + 0.5 * a * a
}

#[test]
fn composed_scalar_graph_matches_finite_differences_planned_and_eager() {
    let gpu = gpu();
    for _ in 0..4 {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let mut v = to_f64(&to_f32(&uniform(&mut r, 2)));
        if v[1].abs() < 1e-2 {
            v[1] = 0.7; // keep relu away from its kink
        }
        let (a0, b0) = (v[0], v[1]);
        let a_t = Tensor::from_f32(&gpu, &[1], &[a0 as f32]).unwrap();
        let b_t = Tensor::from_f32(&gpu, &[1], &[b0 as f32]).unwrap();
        let mut g = Graph::new(&gpu);
        let a = g.param(&a_t, "a");
        let b = g.param(&b_t, "b");
        let ab = ops::mul(&mut g, a, b).unwrap();
        let sa = ops::sigmoid(&mut g, a);
        let inner = ops::add(&mut g, ab, sa).unwrap();
        let t = ops::tanh(&mut g, inner);
        let rb = ops::relu(&mut g, b);
        let prod = ops::mul(&mut g, t, rb).unwrap();
        let aa = ops::mul(&mut g, a, a).unwrap(); // a used three times: gradients must add up
        let half = ops::scale(&mut g, aa, 0.5);
        let loss = ops::add(&mut g, prod, half).unwrap();
        g.backward(loss).unwrap();
        let (da, db) = (g.grad(a).unwrap(), g.grad(b).unwrap());

        let plan = Plan::compile(&g, &[loss, da, db]).unwrap();
        plan.run_all().unwrap();
        let read = |v| download(plan.tensor(v).unwrap())[0];
        let want_loss = reference(a0, b0);
        let fd = finite_difference(|x| reference(x[0], x[1]), &[a0, b0], 1e-6);
        assert_close("loss", seed, &[read(loss)], &[want_loss], 1e-6, 1e-5);
        assert_close(
            "d loss / d(a, b)",
            seed,
            &[read(da), read(db)],
            &fd,
            1e-5,
            1e-4,
        );

        let eager = run_eager(&g, &[loss, da, db], &[Phase::Forward, Phase::Backward]).unwrap();
        assert_eq!(
            download(&eager[&loss]),
            vec![read(loss)],
            "eager and planned runs differ (seed {seed})"
        );
        assert_eq!(
            download(&eager[&da]),
            vec![read(da)],
            "eager and planned gradients differ (seed {seed})"
        );
    }
}

#[test]
fn planner_reuses_buffers_of_dead_values() {
    let gpu = gpu();
    let x_t = Tensor::full(&gpu, &[1], 0.3).unwrap();
    let mut g = Graph::new(&gpu);
    let x = g.param(&x_t, "x");
    let mut h = x;
    for _ in 0..20 {
        h = ops::tanh(&mut g, h);
    }
    let plan = Plan::compile(&g, &[h]).unwrap();
    let stats = plan.stats();
    assert_eq!(stats.dispatches, 20);
    assert!(
        stats.buffers <= 2,
        "a chain needs two alternating buffers, planner made {}",
        stats.buffers
    );
    plan.run_all().unwrap();
    let mut want = 0.3f32 as f64;
    for _ in 0..20 {
        want = want.tanh();
    }
    assert_close(
        "tanh chain",
        0,
        &download(plan.tensor(h).unwrap()),
        &[want],
        1e-6,
        1e-5,
    );
}

#[test]
fn reshape_is_a_view_and_passes_gradients_back() {
    let gpu = gpu();
    let x_t = Tensor::from_f32(&gpu, &[1, 1], &[0.25]).unwrap();
    let mut g = Graph::new(&gpu);
    let x = g.param(&x_t, "x");
    let s = ops::sigmoid(&mut g, x);
    let flat = g.reshape(s, &[1]).unwrap();
    let loss = ops::mul(&mut g, flat, flat).unwrap();
    g.backward(loss).unwrap();
    let dx = g.grad(x).unwrap();
    assert_eq!(g.shape(dx), &[1, 1]);
    let plan = Plan::compile(&g, &[dx]).unwrap();
    plan.run_all().unwrap();
    let sig = 1.0 / (1.0 + (-0.25f64).exp());
    assert_close(
        "d sigmoid(x)^2",
        0,
        &download(plan.tensor(dx).unwrap()),
        &[2.0 * sig * sig * (1.0 - sig)],
        1e-6,
        1e-5,
    );
    assert!(
        g.reshape(s, &[2]).is_err(),
        "reshape to a different element count must be refused"
    );
}

#[test]
fn backward_refuses_a_loss_without_parameters() {
    let gpu = gpu();
    let x_t = Tensor::full(&gpu, &[1], 1.0).unwrap();
    let mut g = Graph::new(&gpu);
    let x = g.input(&x_t, "x");
    let y = ops::relu(&mut g, x);
    assert!(g.backward(y).is_err());
}

/// Kernel scratch (packed operands, partial sums of the weight gradient) is counted apart from the
/// planner's buffers, and only once however many launches bind it; elementwise ops need none.
#[test]
fn plan_stats_count_kernel_scratch_apart_from_planned_buffers() {
    use nasgpu::kernels::conv2d::Conv2dSpec;
    let gpu = gpu();
    let mut r = rng(fresh_seed());
    let x_t = upload(&gpu, &[2, 3, 9, 9], &uniform(&mut r, 2 * 3 * 81));
    let w_t = upload(&gpu, &[4, 3, 3, 3], &uniform(&mut r, 4 * 3 * 9));
    let mut g = Graph::new(&gpu);
    let x = g.input(&x_t, "x");
    let w = g.param(&w_t, "w");
    let spec = Conv2dSpec {
        kernel: [3, 3],
        stride: [1, 1],
    };
    let y = ops::conv2d(&mut g, x, w, None, spec).unwrap();
    let loss = ops::sum_all(&mut g, y).unwrap();
    g.backward(loss).unwrap();
    let dw = g.grad(w).unwrap();
    let conv = Plan::compile(&g, &[loss, dw]).unwrap().stats();
    assert!(conv.scratch_bytes > 0, "{conv:?}");
    assert!(conv.planned_bytes > 0, "{conv:?}");

    let mut g = Graph::new(&gpu);
    let x = g.param(&x_t, "x");
    let t = ops::tanh(&mut g, x);
    let loss = ops::sum_all(&mut g, t).unwrap();
    g.backward(loss).unwrap();
    let dx = g.grad(x).unwrap();
    let elementwise = Plan::compile(&g, &[loss, dx]).unwrap().stats();
    assert_eq!(elementwise.scratch_bytes, 0, "{elementwise:?}");
}

/// Buffer reuse follows recording order, so a forward node recorded after the backward pass
/// could be handed a buffer still live when the phases run separately: compile refuses it.
#[test]
fn compile_refuses_phases_recorded_out_of_order() {
    let gpu = gpu();
    let x_t = Tensor::full(&gpu, &[3], 0.5).unwrap();
    let mut g = Graph::new(&gpu);
    let x = g.param(&x_t, "x");
    let t = ops::tanh(&mut g, x);
    let loss = ops::sum_all(&mut g, t).unwrap();
    g.backward(loss).unwrap();
    g.set_phase(Phase::Forward);
    let late = ops::sigmoid(&mut g, x);
    let err = Plan::compile(&g, &[late])
        .err()
        .expect("an error")
        .to_string();
    assert!(err.contains("record the phases in order"), "{err}");
}

/// A value used k times gets k gradient terms, summed a few per launch (`sum_n`) rather than by
/// a chain of adds. They must come out as the chain's sequential f32 sum, bit for bit, for k on
/// both sides of the batching (4 terms per launch): here x used k times as `x * c_j`, so
/// dL/dx = sum_j c_j (dL/dy = 1 per element), and also with the terms reaching x out of order.
#[test]
fn gradients_of_a_value_used_k_times_are_the_sequential_sum_of_its_terms() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let n = 37;
    for k in 1..=10 {
        let x_t = Tensor::from_f32(&gpu, &[n], &to_f32(&uniform(&mut r, n))).unwrap();
        let coefs: Vec<Vec<f32>> = (0..k).map(|_| to_f32(&uniform(&mut r, n))).collect();
        let coef_tensors: Vec<Tensor> = coefs
            .iter()
            .map(|c| Tensor::from_f32(&gpu, &[n], c).unwrap())
            .collect();
        let mut g = Graph::new(&gpu);
        let x = g.param(&x_t, "x");
        let mut products = Vec::new();
        for c_t in &coef_tensors {
            let c = g.input(c_t, "c");
            products.push(ops::mul(&mut g, x, c).unwrap());
        }
        let total = ops::sum_n(&mut g, &products).unwrap();
        let loss = ops::sum_all(&mut g, total).unwrap();
        g.backward(loss).unwrap();
        let dx = g.grad(x).unwrap();
        let plan = Plan::compile(&g, &[dx]).unwrap();
        plan.run_all().unwrap();
        let got = download(plan.tensor(dx).unwrap());
        // The backward walk meets the products last to first.
        for i in 0..n {
            let mut want = coefs[k - 1][i];
            for c in coefs[..k - 1].iter().rev() {
                want += c[i];
            }
            assert_eq!(
                got[i].to_bits(),
                want.to_bits(),
                "seed {seed}, k {k}, element {i}: {} vs {want}",
                got[i]
            );
        }
    }
}
