//! What every recorded op knows: how to launch its kernels and how to record its backward.

use super::{AutogradError, Graph, Value};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::tensor::Tensor;

/// The values a backward rule may use, and the gradients flowing into the node's outputs.
pub struct BackwardCtx<'a> {
    /// The tape; backward rules record their gradient computations into it.
    pub graph: &'a mut Graph,
    pub inputs: &'a [Value],
    pub outputs: &'a [Value],
    /// Gradient of the loss with respect to each output (None: no gradient flows there).
    pub grads: &'a [Option<Value>],
}

impl BackwardCtx<'_> {
    /// Whether input `i` needs a gradient (lets rules skip work, e.g. conv backward-data on the image).
    pub fn needs(&self, i: usize) -> bool {
        self.graph.requires_grad(self.inputs[i])
    }
}

/// A differentiable (or not) operation on device tensors.
pub trait Op: Send + Sync {
    /// Kernel-level name, used in reports and dispatch counts.
    fn name(&self) -> &'static str;

    /// False for ops no gradient flows through (sampling, argmax, metrics).
    fn differentiable(&self) -> bool {
        true
    }

    /// The dispatches computing `outputs` from `inputs` (tensors already placed by the planner).
    fn launches(
        &self,
        gpu: &Gpu,
        inputs: &[&Tensor],
        outputs: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError>;

    /// Records the gradient with respect to each input (None where none is needed).
    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        Ok(vec![None; ctx.inputs.len()])
    }
}
