//! Embedding lookup by U32 ids, with its deterministic gradient into the table.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::embedding;
use crate::tensor::{DType, Tensor};

struct Embedding;

impl Op for Embedding {
    fn name(&self) -> &'static str {
        "embedding"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![embedding::embedding_forward(gpu, i[0], i[1], o[0])?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dout = ctx.grads[0].expect("gradient present");
        let (table, ids) = (ctx.inputs[0], ctx.inputs[1]);
        let shape = ctx.graph.shape(table).to_vec();
        Ok(vec![
            Some(
                ctx.graph
                    .push(EmbeddingBackward, &[dout, ids], &[(shape, DType::F32)])[0],
            ),
            None,
        ])
    }
}

struct EmbeddingBackward;

impl Op for EmbeddingBackward {
    fn name(&self) -> &'static str {
        "embedding_backward"
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
        Ok(vec![embedding::embedding_backward(gpu, i[0], i[1], o[0])?])
    }
}

/// Rows of `table` `[V,D]` selected by U32 `ids` `[N]`: `[N,D]`.
pub fn embedding(g: &mut Graph, table: Value, ids: Value) -> Result<Value, AutogradError> {
    let ts = g.shape(table).to_vec();
    let is = g.shape(ids).to_vec();
    if ts.len() != 2 || is.len() != 1 || g.dtype(ids) != DType::U32 {
        return Err(shape_error(
            "embedding",
            format!(
                "table {ts:?} needs U32 ids [N], got {:?} {is:?}",
                g.dtype(ids)
            ),
        ));
    }
    Ok(g.push(
        Embedding,
        &[table, ids],
        &[(vec![is[0], ts[1]], DType::F32)],
    )[0])
}
