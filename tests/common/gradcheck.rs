//! Gradient checks of recorded graphs: the planned GPU forward and backward against an f64
//! reference of the same computation and its central finite differences.
//!
//! The scalar checked is L = sum(g * y) with a random upstream g, so dL/dy = g exercises every
//! output element. Tolerances: forward atol 1e-5 / rtol 1e-4 (f32 kernels, sums of a few dozen
//! terms); gradients atol 1e-4 / rtol 1e-3 (f32 backward kernels chained through several ops,
//! against f64 differences with h = 1e-6, whose own error is ~1e-9). A wrong gradient is off by
//! O(1), far outside these.

use std::sync::Arc;

use nasgpu::autograd::{AutogradError, Graph, Plan, Value, ops};
use nasgpu::device::Gpu;
use nasgpu::tensor::Tensor;

use super::{assert_close, dot, download, finite_difference, rng, to_f32, to_f64, uniform};

/// An f32 input of the graph; `grad` inputs are parameters whose gradient is checked.
pub struct Input {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    pub grad: bool,
}

impl Input {
    /// Uniform in [-2, 2], rounded to f32 so the reference sees what the GPU sees.
    pub fn random(
        name: &'static str,
        shape: &[usize],
        grad: bool,
        r: &mut super::TestRng,
    ) -> Input {
        let n = shape.iter().product();
        Input {
            name,
            shape: shape.to_vec(),
            data: to_f64(&to_f32(&uniform(r, n))),
            grad,
        }
    }
}

/// Extra U32 inputs (labels, ids) passed to the graph builder and the reference unchanged.
pub struct Ids {
    pub shape: Vec<usize>,
    pub data: Vec<u32>,
}

pub type Builder<'a> = dyn Fn(&mut Graph, &[Value], &[Value]) -> Result<Value, AutogradError> + 'a;

/// Builds the graph, runs it planned, and checks forward and every gradient.
pub fn check(
    case: &str,
    seed: u64,
    gpu: &Arc<Gpu>,
    inputs: &[Input],
    ids: &[Ids],
    build: &Builder<'_>,
    reference: &dyn Fn(&[Vec<f64>]) -> Vec<f64>,
) {
    let mut r = rng(seed ^ 0xABCD);
    let mut g = Graph::new(gpu);
    let values: Vec<Value> = inputs
        .iter()
        .map(|i| {
            let t = Tensor::from_f32(gpu, &i.shape, &to_f32(&i.data)).unwrap();
            if i.grad {
                g.param(&t, i.name)
            } else {
                g.input(&t, i.name)
            }
        })
        .collect();
    let id_values: Vec<Value> = ids
        .iter()
        .map(|i| {
            let t = Tensor::from_u32(gpu, &i.shape, &i.data).unwrap();
            g.input(&t, "ids")
        })
        .collect();
    let y = build(&mut g, &values, &id_values)
        .unwrap_or_else(|e| panic!("{case}: building the graph failed: {e}"));
    let y_shape = g.shape(y).to_vec();
    let n_out: usize = y_shape.iter().product();
    let upstream = to_f64(&to_f32(&uniform(&mut r, n_out)));
    let gt = Tensor::from_f32(gpu, &y_shape, &to_f32(&upstream)).unwrap();
    let gv = g.input(&gt, "upstream");
    let weighted = ops::mul(&mut g, y, gv).unwrap();
    let loss = ops::sum_all(&mut g, weighted).unwrap();
    g.backward(loss).unwrap();
    let grads: Vec<Option<Value>> = values
        .iter()
        .zip(inputs)
        .map(|(&v, i)| if i.grad { g.grad(v) } else { None })
        .collect();
    let mut keep = vec![y];
    keep.extend(grads.iter().flatten());
    let plan = Plan::compile(&g, &keep).unwrap();
    plan.run_all().unwrap();

    let data: Vec<Vec<f64>> = inputs.iter().map(|i| i.data.clone()).collect();
    let want_y = reference(&data);
    assert_close(
        &format!("{case}: forward"),
        seed,
        &download(plan.tensor(y).unwrap()),
        &want_y,
        1e-5,
        1e-4,
    );
    for (k, input) in inputs.iter().enumerate() {
        if !input.grad {
            continue;
        }
        let grad = grads[k].unwrap_or_else(|| panic!("{case}: no gradient reaches {}", input.name));
        let got = download(plan.tensor(grad).unwrap());
        let fd = finite_difference(
            |x| {
                let mut d = data.clone();
                d[k] = x.to_vec();
                dot(&upstream, &reference(&d))
            },
            &input.data,
            1e-6,
        );
        assert_close(
            &format!("{case}: d/d{}", input.name),
            seed,
            &got,
            &fd,
            1e-4,
            1e-3,
        );
    }
}
