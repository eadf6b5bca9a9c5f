//! Strided subsampling on a shifted grid (`kernels::subsample`) and its adjoint; each is the
//! other's gradient, so gradients of any order flow.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::subsample::{self as kernel, SubsampleSpec};
use crate::tensor::{DType, Tensor};

struct Subsample(SubsampleSpec);

impl Op for Subsample {
    fn name(&self) -> &'static str {
        "subsample"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![kernel::subsample(gpu, i[0], o[0], self.0)?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let shape = ctx.graph.shape(ctx.inputs[0]).to_vec();
        let spec = self.0;
        Ok(vec![Some(
            ctx.graph
                .push(SubsampleAdjoint(spec), &[dy], &[(shape, DType::F32)])[0],
        )])
    }
}

/// `subsample`'s adjoint: the values at their grid positions of a larger plane, zeros elsewhere.
struct SubsampleAdjoint(SubsampleSpec);

impl Op for SubsampleAdjoint {
    fn name(&self) -> &'static str {
        "subsample_backward"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![kernel::subsample_backward(gpu, i[0], o[0], self.0)?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let d = ctx.grads[0].expect("gradient present");
        Ok(vec![Some(subsample(ctx.graph, d, self.0)?)])
    }
}

/// `x` `[N, C, H, W]` subsampled on the grid `offset + i * stride` per axis:
/// `[N, C, ceil(H / s_h), ceil(W / s_w)]`, zeros where the grid leaves the image.
pub fn subsample(g: &mut Graph, x: Value, spec: SubsampleSpec) -> Result<Value, AutogradError> {
    let shape = g.shape(x).to_vec();
    spec.check("subsample")
        .map_err(|e| shape_error("subsample", e.to_string()))?;
    let &[n, c, h, w] = shape.as_slice() else {
        return Err(shape_error(
            "subsample",
            format!("x must be [N, C, H, W], got {shape:?}"),
        ));
    };
    if g.dtype(x) != DType::F32 {
        return Err(shape_error("subsample", "x must be f32".to_string()));
    }
    let [oh, ow] = spec.output_hw([h, w]);
    Ok(g.push(Subsample(spec), &[x], &[(vec![n, c, oh, ow], DType::F32)])[0])
}
