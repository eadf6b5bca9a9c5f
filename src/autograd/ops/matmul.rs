//! Matrix products: `C = op(A)·op(B) (+ bias)`, unbatched or batched, and their gradients.

use crate::autograd::error::shape_error;
use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::matmul::{MatmulSpec, matmul as matmul_kernel};
use crate::tensor::{DType, Tensor};

use super::reduce::sum_axis;

struct Matmul {
    trans_a: bool,
    trans_b: bool,
}

impl Op for Matmul {
    fn name(&self) -> &'static str {
        "matmul"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        let spec = MatmulSpec {
            trans_a: self.trans_a,
            trans_b: self.trans_b,
            accumulate: false,
        };
        Ok(vec![matmul_kernel(
            gpu,
            i[0],
            i[1],
            i.get(2).copied(),
            o[0],
            spec,
        )?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dc = ctx.grads[0].expect("gradient present");
        let (a, b) = (ctx.inputs[0], ctx.inputs[1]);
        let (ta, tb) = (self.trans_a, self.trans_b);
        // With Â = op(A), B̂ = op(B): dÂ = dC·B̂ᵀ and dB̂ = Âᵀ·dC, transposed back where A or B is.
        let da = if ctx.needs(0) {
            Some(if ta {
                product(ctx.graph, b, dc, tb, true, None)?
            } else {
                product(ctx.graph, dc, b, false, !tb, None)?
            })
        } else {
            None
        };
        let db = if ctx.needs(1) {
            Some(if tb {
                product(ctx.graph, dc, a, true, ta, None)?
            } else {
                product(ctx.graph, a, dc, !ta, false, None)?
            })
        } else {
            None
        };
        let mut grads = vec![da, db];
        if ctx.inputs.len() == 3 {
            grads.push(if ctx.needs(2) {
                Some(column_sums(ctx.graph, dc)?)
            } else {
                None
            });
        }
        Ok(grads)
    }
}

/// Sums a [M,N] or [batch,M,N] gradient over everything but the last axis (the bias gradient).
fn column_sums(g: &mut Graph, dc: Value) -> Result<Value, AutogradError> {
    let shape = g.shape(dc).to_vec();
    let n = *shape.last().expect("rank >= 2");
    let rows: usize = shape[..shape.len() - 1].iter().product();
    let flat = g.reshape(dc, &[rows, n])?;
    sum_axis(g, flat, 0)
}

/// Shape of op(X) for a rank-2 or rank-3 value: (batch, rows, cols).
fn dims(g: &Graph, x: Value, trans: bool) -> Result<(Option<usize>, usize, usize), AutogradError> {
    let s = g.shape(x);
    let (batch, r, c) = match s.len() {
        2 => (None, s[0], s[1]),
        3 => (Some(s[0]), s[1], s[2]),
        _ => {
            return Err(shape_error(
                "matmul",
                format!("operands must be rank 2 or 3, got {s:?}"),
            ));
        }
    };
    Ok(if trans { (batch, c, r) } else { (batch, r, c) })
}

fn product(
    g: &mut Graph,
    a: Value,
    b: Value,
    trans_a: bool,
    trans_b: bool,
    bias: Option<Value>,
) -> Result<Value, AutogradError> {
    let (ba, m, k) = dims(g, a, trans_a)?;
    let (bb, k2, n) = dims(g, b, trans_b)?;
    if ba != bb || k != k2 {
        return Err(shape_error(
            "matmul",
            format!(
                "op(A) of A {:?} (transposed: {trans_a}) does not multiply op(B) of B {:?} (transposed: {trans_b})",
                g.shape(a),
                g.shape(b)
            ),
        ));
    }
    if let Some(bias) = bias
        && g.shape(bias) != [n]
    {
        return Err(shape_error(
            "matmul",
            format!("bias is {:?}, expected [{n}]", g.shape(bias)),
        ));
    }
    let shape = match ba {
        Some(batch) => vec![batch, m, n],
        None => vec![m, n],
    };
    let inputs: Vec<Value> = [a, b].into_iter().chain(bias).collect();
    Ok(g.push(Matmul { trans_a, trans_b }, &inputs, &[(shape, DType::F32)])[0])
}

/// `op(A)·op(B)`: rank 2 (`[M,K]·[K,N]`) or batched rank 3 with equal batch.
pub fn matmul(
    g: &mut Graph,
    a: Value,
    b: Value,
    trans_a: bool,
    trans_b: bool,
) -> Result<Value, AutogradError> {
    product(g, a, b, trans_a, trans_b, None)
}

/// A linear layer's product `x·W + b` (x `[N,in]`, W `[in,out]`, b `[out]`).
pub fn linear(g: &mut Graph, x: Value, w: Value, b: Option<Value>) -> Result<Value, AutogradError> {
    product(g, x, w, false, false, b)
}
