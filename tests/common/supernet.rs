//! Helpers of the supernet tests: redrawing every tensor of a supernet, and one forward pass's
//! logits with the output poisoned.

use std::sync::Arc;

use nasgpu::autograd::{Graph, Plan, Value};
use nasgpu::device::Gpu;
use nasgpu::nn::Binder;
use nasgpu::nn::supernet::Nb201Supernet;

use super::{download, rng, to_f32, uniform_in, upload};

/// Redraws every tensor of `net` from `seed`, batch-norm statistics included, so that no
/// tensor sits at a value (0, 1) that would hide one read from the wrong place.
pub fn redraw(net: &Nb201Supernet, seed: u64) {
    let mut r = rng(seed);
    for p in net.parameters() {
        p.tensor
            .write_f32(&to_f32(&uniform_in(&mut r, p.tensor.numel(), -0.6, 0.6)));
    }
    for bn in net.norms() {
        for (_, t) in bn.running_state() {
            t.write_f32(&to_f32(&uniform_in(&mut r, t.numel(), 0.5, 1.5)));
        }
    }
}

/// The logits of one forward pass on images `x` of `shape`, the output poisoned with NaN
/// before the run.
pub fn logits(
    gpu: &Arc<Gpu>,
    shape: &[usize],
    x: &[f64],
    forward: impl FnOnce(&mut Graph, &mut Binder, Value) -> Value,
) -> Vec<f32> {
    let mut g = Graph::new(gpu);
    let xt = upload(gpu, shape, x);
    let xv = g.input(&xt, "images");
    let mut b = Binder::new();
    let out = forward(&mut g, &mut b, xv);
    let plan = Plan::compile(&g, &[out]).unwrap();
    let y = plan.tensor(out).unwrap();
    y.write_f32(&vec![f32::NAN; y.numel()]);
    plan.run_all().unwrap();
    download(y)
}
