//! Inference latency of a trained child on the device that trained it: the median of
//! `passes` planned forward passes (inference batch norm, no gradients) at batch 1 and at the
//! training batch, timed by GPU timestamps where the adapter has them, else by the wall clock
//! around submit and wait.

use std::sync::Arc;
use std::time::Instant;

use crate::autograd::{AutogradError, Graph, Phase, Plan};
use crate::bench::sample_timestamps_of;
use crate::device::Gpu;
use crate::nn::Network;
use crate::nn::param::Binder;
use crate::search::record::Latency;
use crate::tensor::Tensor;

/// Forward passes timed per median (the issue asks for at least 10).
pub const LATENCY_PASSES: usize = 10;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median milliseconds of a forward pass of `batch` images through `net`.
fn forward_ms(
    gpu: &Arc<Gpu>,
    net: &Network,
    batch: usize,
    passes: usize,
) -> Result<(f64, bool), AutogradError> {
    let [c, h, w] = net.arch.input;
    let images = Tensor::zeros(gpu, &[batch, c, h, w])?;
    let mut g = Graph::new(gpu);
    g.set_no_grad(true);
    let mut binder = Binder::new();
    let x = g.input(&images, "latency images");
    let logits = net.forward(&mut g, &mut binder, x, false)?;
    let plan = Plan::compile(&g, &[logits])?;
    // Warm-up: shader compilation and first-touch allocation stay out of the median.
    plan.run(&[Phase::Forward])?;
    gpu.sync()?;
    if gpu.has_timestamps {
        let encode = |pass: &mut wgpu::ComputePass<'_>| plan.encode(pass, &[Phase::Forward]);
        if let Ok(samples) = sample_timestamps_of(gpu, &encode, passes) {
            return Ok((median(samples.gpu) * 1e3, true));
        }
    }
    let mut wall = Vec::with_capacity(passes);
    for _ in 0..passes {
        let t = Instant::now();
        plan.run(&[Phase::Forward])?;
        gpu.sync()?;
        wall.push(t.elapsed().as_secs_f64());
    }
    Ok((median(wall) * 1e3, false))
}

/// Latency of `net` at batch 1 and at `batch`.
pub fn measure(
    gpu: &Arc<Gpu>,
    net: &Network,
    batch: usize,
    passes: usize,
) -> Result<Latency, AutogradError> {
    let (batch1_ms, ts1) = forward_ms(gpu, net, 1, passes)?;
    let (batch_ms, ts) = forward_ms(gpu, net, batch, passes)?;
    Ok(Latency {
        batch1_ms,
        batch_ms,
        batch,
        passes,
        gpu_timestamps: ts1 && ts,
    })
}
