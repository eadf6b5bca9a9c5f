//! Global-norm gradient clipping as one effect node of the update phase: the gradients it is
//! given are scaled in place by min(1, max_norm / |g|), before the optimiser's effects (recorded
//! after it) read them.

use crate::autograd::op::Op;
use crate::autograd::{AutogradError, Graph, Phase, Value};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::grad_clip::{self, CLIP_STATS};
use crate::tensor::Tensor;

struct ClipGradients {
    max_norm: f32,
    partials: Tensor,
    stats: Tensor,
}

impl Op for ClipGradients {
    fn name(&self) -> &'static str {
        "clip_gradients"
    }

    fn differentiable(&self) -> bool {
        false
    }

    fn launches(
        &self,
        gpu: &Gpu,
        grads: &[&Tensor],
        _: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        let mut launches = Vec::with_capacity(2 * grads.len() + 1);
        for (slot, g) in grads.iter().enumerate() {
            launches.push(grad_clip::sum_squares(gpu, g, &self.partials, slot)?);
        }
        launches.push(grad_clip::clip_factor(
            gpu,
            &self.partials,
            self.max_norm,
            &self.stats,
        )?);
        for g in grads {
            launches.push(grad_clip::clip_scale(gpu, &self.stats, g)?);
        }
        Ok(launches)
    }
}

/// Records the clipping of `grads` to a global norm of at most `max_norm` in the update phase,
/// in place. Returns the `[|g|, factor]` statistics tensor each run writes (the norm before
/// clipping), for logs and tests.
pub fn clip_gradients(
    g: &mut Graph,
    grads: &[Value],
    max_norm: f32,
) -> Result<Tensor, AutogradError> {
    let gpu = g.gpu().clone();
    let partials = Tensor::zeros(&gpu, &[grads.len().max(1)])?;
    let stats = Tensor::zeros(&gpu, &[CLIP_STATS])?;
    g.set_phase(Phase::Update);
    g.push_effect(
        ClipGradients {
            max_norm,
            partials,
            stats: stats.clone(),
        },
        grads,
    );
    Ok(stats)
}
