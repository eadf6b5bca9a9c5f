//! Max and average pooling, global average pooling, and their gradients.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::pool::{self, Pool2dSpec, PoolKind};
use crate::tensor::{DType, Tensor};

/// Windowed pooling; max pooling also outputs the argmax its backward needs.
struct Pool2d(Pool2dSpec);

impl Op for Pool2d {
    fn name(&self) -> &'static str {
        match self.0.kind {
            PoolKind::Max => "max_pool2d",
            PoolKind::Avg => "avg_pool2d",
        }
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![pool::pool2d_forward(
            gpu,
            i[0],
            o[0],
            o.get(1).copied(),
            self.0,
        )?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let shape = ctx.graph.shape(ctx.inputs[0]).to_vec();
        let inputs: Vec<Value> = std::iter::once(dy)
            .chain(ctx.outputs.get(1).copied())
            .collect();
        Ok(vec![Some(
            ctx.graph
                .push(Pool2dBackward(self.0), &inputs, &[(shape, DType::F32)])[0],
        )])
    }
}

struct Pool2dBackward(Pool2dSpec);

impl Op for Pool2dBackward {
    fn name(&self) -> &'static str {
        "pool2d_backward"
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
        Ok(vec![pool::pool2d_backward(
            gpu,
            i[0],
            i.get(1).copied(),
            o[0],
            self.0,
        )?])
    }
}

/// Mean over H and W: `[N,C,H,W] -> [N,C]`.
struct GlobalAvgPool;

impl Op for GlobalAvgPool {
    fn name(&self) -> &'static str {
        "global_avg_pool"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![pool::global_avg_pool_forward(gpu, i[0], o[0])?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let shape = ctx.graph.shape(ctx.inputs[0]).to_vec();
        Ok(vec![Some(
            ctx.graph
                .push(GlobalAvgPoolBackward, &[dy], &[(shape, DType::F32)])[0],
        )])
    }
}

struct GlobalAvgPoolBackward;

impl Op for GlobalAvgPoolBackward {
    fn name(&self) -> &'static str {
        "global_avg_pool_backward"
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
        Ok(vec![pool::global_avg_pool_backward(gpu, i[0], o[0])?])
    }
}

fn check_nchw(g: &Graph, op: &'static str, x: Value) -> Result<Vec<usize>, AutogradError> {
    let s = g.shape(x).to_vec();
    if s.len() != 4 {
        return Err(shape_error(
            op,
            format!("input must be [N, C, H, W], got {s:?}"),
        ));
    }
    Ok(s)
}

/// Max or average pooling of `x` `[N,C,H,W]`.
pub fn pool2d(g: &mut Graph, x: Value, spec: Pool2dSpec) -> Result<Value, AutogradError> {
    let s = check_nchw(g, "pool2d", x)?;
    let [oh, ow] = spec.output_hw([s[2], s[3]])?;
    let out = vec![s[0], s[1], oh, ow];
    let mut outputs = vec![(out.clone(), DType::F32)];
    if spec.kind == PoolKind::Max {
        outputs.push((out, DType::U32));
    }
    Ok(g.push(Pool2d(spec), &[x], &outputs)[0])
}

/// Global average pooling `[N,C,H,W] -> [N,C]`.
pub fn global_avg_pool(g: &mut Graph, x: Value) -> Result<Value, AutogradError> {
    let s = check_nchw(g, "global_avg_pool", x)?;
    Ok(g.push(GlobalAvgPool, &[x], &[(vec![s[0], s[1]], DType::F32)])[0])
}
