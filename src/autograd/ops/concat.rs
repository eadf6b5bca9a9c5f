//! Channel concatenation with zero padding to the largest spatial size (NAS-RL skip connections).

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::concat;
use crate::tensor::{DType, Tensor};

struct ConcatPadded;

impl Op for ConcatPadded {
    fn name(&self) -> &'static str {
        "concat_padded"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        concat::concat_padded_forward(gpu, i, o[0])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let shapes: Vec<(Vec<usize>, DType)> = ctx
            .inputs
            .iter()
            .map(|&v| (ctx.graph.shape(v).to_vec(), DType::F32))
            .collect();
        let grads = ctx.graph.push(ConcatPaddedBackward, &[dy], &shapes);
        Ok(grads.into_iter().map(Some).collect())
    }
}

struct ConcatPaddedBackward;

impl Op for ConcatPaddedBackward {
    fn name(&self) -> &'static str {
        "concat_padded_backward"
    }

    fn differentiable(&self) -> bool {
        false
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        concat::concat_padded_backward(gpu, i[0], o)
    }
}

/// Concatenates `[N, Ci, Hi, Wi]` inputs along channels, zero-padding each (centred) to the
/// largest H and W. A single input is returned unchanged.
pub fn concat_padded(g: &mut Graph, inputs: &[Value]) -> Result<Value, AutogradError> {
    match inputs {
        [] => Err(shape_error("concat_padded", "no inputs")),
        [single] => Ok(*single),
        _ => {
            let shapes: Vec<Vec<usize>> = inputs.iter().map(|&v| g.shape(v).to_vec()).collect();
            let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
            let out = concat::concat_output_shape(&refs)?;
            Ok(g.push(ConcatPadded, inputs, &[(out, DType::F32)])[0])
        }
    }
}
