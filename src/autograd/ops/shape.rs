//! Shape-only ops: reshape is a view (an alias of its input's buffer), so it launches nothing.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Value};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::tensor::Tensor;

/// A view under another shape; recorded by `Graph::reshape`.
pub struct Reshape {
    pub from: Vec<usize>,
}

impl Op for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }

    fn launches(&self, _: &Gpu, _: &[&Tensor], _: &[&Tensor]) -> Result<Vec<Launch>, KernelError> {
        Ok(Vec::new())
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let grad = ctx.grads[0].expect("reshape backward runs only with a gradient");
        Ok(vec![Some(ctx.graph.reshape(grad, &self.from)?)])
    }
}
