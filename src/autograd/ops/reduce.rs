//! Axis reductions (sum, mean) and their gradient (a broadcast back along the axis).

use crate::autograd::error::shape_error;
use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::broadcast::broadcast_axis;
use crate::kernels::reduce::{Reduction, reduce_axis};
use crate::tensor::{DType, Tensor};

struct Reduce {
    axis: usize,
    reduction: Reduction,
}

impl Op for Reduce {
    fn name(&self) -> &'static str {
        match self.reduction {
            Reduction::Sum => "reduce_sum",
            Reduction::Mean => "reduce_mean",
        }
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        reduce_axis(gpu, i[0], self.axis, self.reduction, o[0])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let shape = ctx.graph.shape(ctx.inputs[0]).to_vec();
        let alpha = match self.reduction {
            Reduction::Sum => 1.0,
            Reduction::Mean => 1.0 / shape[self.axis] as f32,
        };
        let dx = ctx.graph.push(
            Broadcast {
                axis: self.axis,
                alpha,
            },
            &[dy],
            &[(shape, DType::F32)],
        );
        Ok(vec![Some(dx[0])])
    }
}

/// `y = alpha * x` repeated along `axis`.
struct Broadcast {
    axis: usize,
    alpha: f32,
}

impl Op for Broadcast {
    fn name(&self) -> &'static str {
        "broadcast_axis"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![broadcast_axis(
            gpu, i[0], self.axis, self.alpha, o[0],
        )?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let summed = sum_axis(ctx.graph, dy, self.axis)?;
        Ok(vec![Some(super::scale(ctx.graph, summed, self.alpha))])
    }
}

fn reduce(
    g: &mut Graph,
    x: Value,
    axis: usize,
    reduction: Reduction,
) -> Result<Value, AutogradError> {
    let shape = g.shape(x).to_vec();
    if axis >= shape.len() {
        return Err(shape_error(
            "reduce",
            format!("axis {axis} out of range for {shape:?}"),
        ));
    }
    let out = crate::kernels::reduce::reduced_shape(&shape, axis);
    Ok(g.push(Reduce { axis, reduction }, &[x], &[(out, DType::F32)])[0])
}

/// Sum over `axis` (the axis is removed; a rank-1 input gives `[1]`).
pub fn sum_axis(g: &mut Graph, x: Value, axis: usize) -> Result<Value, AutogradError> {
    reduce(g, x, axis, Reduction::Sum)
}

/// Mean over `axis`.
pub fn mean_axis(g: &mut Graph, x: Value, axis: usize) -> Result<Value, AutogradError> {
    reduce(g, x, axis, Reduction::Mean)
}

/// Sum of every element, as `[1]`.
pub fn sum_all(g: &mut Graph, x: Value) -> Result<Value, AutogradError> {
    let n: usize = g.shape(x).iter().product();
    let flat = g.reshape(x, &[n])?;
    sum_axis(g, flat, 0)
}

/// Mean of every element, as `[1]`.
pub fn mean_all(g: &mut Graph, x: Value) -> Result<Value, AutogradError> {
    let n: usize = g.shape(x).iter().product();
    let flat = g.reshape(x, &[n])?;
    mean_axis(g, flat, 0)
}
