//! Splitting a tensor along channels, the inverse of channel concatenation: each piece is a
//! copy of its channel range. Its kernels are concatenation's own (forward: concatenation's
//! backward slicing; backward: concatenation), so it needs none of its own. DARTS reads one row
//! of its architecture weights per edge this way.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::concat;
use crate::tensor::{DType, Tensor};

struct SplitChannels;

impl Op for SplitChannels {
    fn name(&self) -> &'static str {
        "split_channels"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        concat::concat_padded_backward(gpu, i[0], o)
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        // A piece no gradient reached contributes zeros to the whole's gradient.
        let mut parts = Vec::with_capacity(ctx.outputs.len());
        for (k, &out) in ctx.outputs.iter().enumerate() {
            parts.push(match ctx.grads[k] {
                Some(grad) => grad,
                None => {
                    let shape = ctx.graph.shape(out).to_vec();
                    ctx.graph
                        .constant(&shape, 0.0, "zero gradient of a split piece")?
                }
            });
        }
        Ok(vec![Some(super::concat_padded(ctx.graph, &parts)?)])
    }
}

/// Splits `x` `[N, C, H, W]` into pieces of `channels[k]` channels each (summing to C), in
/// order. A single piece is `x` itself.
pub fn split_channels(
    g: &mut Graph,
    x: Value,
    channels: &[usize],
) -> Result<Vec<Value>, AutogradError> {
    let shape = g.shape(x).to_vec();
    if shape.len() != 4
        || g.dtype(x) != DType::F32
        || channels.contains(&0)
        || channels.iter().sum::<usize>() != shape[1]
    {
        return Err(shape_error(
            "split_channels",
            format!("cannot split f32 [N, C, H, W] {shape:?} into {channels:?} channels"),
        ));
    }
    if channels.len() == 1 {
        return Ok(vec![x]);
    }
    let outs: Vec<(Vec<usize>, DType)> = channels
        .iter()
        .map(|&c| (vec![shape[0], c, shape[2], shape[3]], DType::F32))
        .collect();
    Ok(g.push(SplitChannels, &[x], &outs))
}

/// The rows of a matrix `[R, K]`, each a `[K]` value (a view of a copy; gradients flow back).
pub fn rows(g: &mut Graph, x: Value) -> Result<Vec<Value>, AutogradError> {
    let &[r, k] = g.shape(x) else {
        return Err(shape_error(
            "rows",
            format!("expected a matrix [R, K], got {:?}", g.shape(x)),
        ));
    };
    let planes = g.reshape(x, &[1, r, k, 1])?;
    split_channels(g, planes, &vec![1; r])?
        .into_iter()
        .map(|row| g.reshape(row, &[k]))
        .collect()
}
