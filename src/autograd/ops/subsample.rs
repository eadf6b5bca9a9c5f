//! Strided subsampling on a shifted grid (`kernels::subsample`) and its adjoint; each is the
//! other's gradient, so gradients of any order flow.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::subsample::{self as kernel, SubsampleSpec};
use crate::tensor::{DType, Tensor};

/// The subsampling (`adjoint` false: the large plane to the grid) or its adjoint (the grid's
/// values placed back on a large plane, zeros elsewhere); the gradient of each is the other.
struct Subsample {
    spec: SubsampleSpec,
    adjoint: bool,
}

impl Op for Subsample {
    fn name(&self) -> &'static str {
        if self.adjoint {
            "subsample_backward"
        } else {
            "subsample"
        }
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![if self.adjoint {
            kernel::subsample_backward(gpu, i[0], o[0], self.spec)?
        } else {
            kernel::subsample(gpu, i[0], o[0], self.spec)?
        }])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let d = ctx.grads[0].expect("gradient present");
        let shape = ctx.graph.shape(ctx.inputs[0]).to_vec();
        let other = Subsample {
            spec: self.spec,
            adjoint: !self.adjoint,
        };
        Ok(vec![Some(
            ctx.graph.push(other, &[d], &[(shape, DType::F32)])[0],
        )])
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
    let op = Subsample {
        spec,
        adjoint: false,
    };
    Ok(g.push(op, &[x], &[(vec![n, c, oh, ow], DType::F32)])[0])
}
