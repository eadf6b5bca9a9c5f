//! Sums of same-shaped tensors with coefficients: the DARTS mixed operation (softmax(alpha)
//! weights, gradients to the operands and to alpha), the ENAS node (a device-side 0/1 mask of
//! the chosen inputs) and the plain sum of several tensors.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::weighted_sum::{
    self as ws, Coefficients, MAX_COEFFICIENTS, weighted_sum_backward_alpha,
    weighted_sum_backward_terms,
};
use crate::tensor::{DType, Tensor};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Softmax,
    Mask,
    Ones,
}

/// Inputs: the coefficient tensor first (except for `Ones`), then the operands; `positions[j]`
/// is the coefficient of operand j.
struct WeightedSum {
    mode: Mode,
    positions: Vec<usize>,
}

impl WeightedSum {
    fn split<'a>(&self, i: &[&'a Tensor]) -> (Coefficients<'a>, Vec<(usize, &'a Tensor)>) {
        let (coef, xs) = match self.mode {
            Mode::Softmax => (Coefficients::Softmax(i[0]), &i[1..]),
            Mode::Mask => (Coefficients::Mask(i[0]), &i[1..]),
            Mode::Ones => (Coefficients::Ones, i),
        };
        let terms = self.positions.iter().copied().zip(xs.iter().copied());
        (coef, terms.collect())
    }
}

impl Op for WeightedSum {
    fn name(&self) -> &'static str {
        match self.mode {
            Mode::Softmax => "softmax_weighted_sum",
            Mode::Mask => "masked_sum",
            Mode::Ones => "sum_n",
        }
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        let (coef, terms) = self.split(i);
        ws::weighted_sum(gpu, coef, &terms, o[0])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let first = (self.mode != Mode::Ones) as usize;
        let mut grads: Vec<Option<Value>> = vec![None; ctx.inputs.len()];
        if self.mode == Mode::Ones {
            // The gradient passes through unchanged: share the value, no kernel.
            for (j, g) in grads.iter_mut().enumerate() {
                *g = ctx.needs(j).then_some(dy);
            }
            return Ok(grads);
        }
        let wanted: Vec<usize> = (0..self.positions.len())
            .filter(|&j| ctx.needs(first + j))
            .collect();
        if !wanted.is_empty() {
            let shape = ctx.graph.shape(dy).to_vec();
            let op = TermGrads {
                mode: self.mode,
                positions: wanted.iter().map(|&j| self.positions[j]).collect(),
            };
            let outs = ctx.graph.push(
                op,
                &[ctx.inputs[0], dy],
                &vec![(shape, DType::F32); wanted.len()],
            );
            for (&j, v) in wanted.iter().zip(outs) {
                grads[first + j] = Some(v);
            }
        }
        if self.mode == Mode::Softmax && ctx.needs(0) {
            let alpha = ctx.inputs[0];
            let k = ctx.graph.shape(alpha).to_vec();
            let mut inputs = vec![alpha, dy];
            inputs.extend_from_slice(&ctx.inputs[1..]);
            let op = AlphaGrad {
                positions: self.positions.clone(),
            };
            grads[0] = Some(ctx.graph.push(op, &inputs, &[(k, DType::F32)])[0]);
        }
        Ok(grads)
    }
}

/// `dx_j = c[pos_j] * dy` for the operands that need a gradient. Inputs: coefficients, dy.
struct TermGrads {
    mode: Mode,
    positions: Vec<usize>,
}

impl Op for TermGrads {
    fn name(&self) -> &'static str {
        "weighted_sum_backward_terms"
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
        let coef = match self.mode {
            Mode::Softmax => Coefficients::Softmax(i[0]),
            _ => Coefficients::Mask(i[0]),
        };
        let grads: Vec<(usize, &Tensor)> = self
            .positions
            .iter()
            .copied()
            .zip(o.iter().copied())
            .collect();
        weighted_sum_backward_terms(gpu, coef, i[1], &grads)
    }
}

/// dL/dalpha of a softmax-weighted sum. Inputs: alpha, dy, the operands.
struct AlphaGrad {
    positions: Vec<usize>,
}

impl Op for AlphaGrad {
    fn name(&self) -> &'static str {
        "weighted_sum_backward_alpha"
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
        let terms: Vec<(usize, &Tensor)> = self
            .positions
            .iter()
            .copied()
            .zip(i[2..].iter().copied())
            .collect();
        weighted_sum_backward_alpha(gpu, i[0], i[1], &terms, o[0])
    }
}

/// The common shape of the operands (all equal, at least one present).
fn operand_shape(g: &Graph, op: &'static str, xs: &[Value]) -> Result<Vec<usize>, AutogradError> {
    let Some(&first) = xs.first() else {
        return Err(shape_error(op, "no operands"));
    };
    let shape = g.shape(first).to_vec();
    for &x in xs {
        if g.shape(x) != shape.as_slice() || g.dtype(x) != DType::F32 {
            let all: Vec<Vec<usize>> = xs.iter().map(|&v| g.shape(v).to_vec()).collect();
            return Err(shape_error(
                op,
                format!("operands must be f32 of one shape, got {all:?}"),
            ));
        }
    }
    Ok(shape)
}

fn coefficient_count(
    g: &Graph,
    op: &'static str,
    coef: Value,
    dtype: DType,
    k: usize,
) -> Result<(), AutogradError> {
    if g.shape(coef) != [k] || g.dtype(coef) != dtype || k > MAX_COEFFICIENTS {
        return Err(shape_error(
            op,
            format!(
                "coefficients are {:?} {:?}, expected {dtype:?} [{k}] for {k} operands \
                 (at most {MAX_COEFFICIENTS})",
                g.dtype(coef),
                g.shape(coef)
            ),
        ));
    }
    Ok(())
}

/// DARTS mixed operation: `y = sum_k softmax(alpha)_k * x_k`, alpha `[K]` with `K = xs.len()`;
/// `None` operands are zero ops (they count in the softmax but cost nothing). Gradients flow to
/// the operands and to alpha. At least one operand must be present (it gives the shape).
pub fn softmax_weighted_sum(
    g: &mut Graph,
    xs: &[Option<Value>],
    alpha: Value,
) -> Result<Value, AutogradError> {
    const OP: &str = "softmax_weighted_sum";
    coefficient_count(g, OP, alpha, DType::F32, xs.len())?;
    let (positions, present): (Vec<usize>, Vec<Value>) = xs
        .iter()
        .enumerate()
        .filter_map(|(k, x)| x.map(|x| (k, x)))
        .unzip();
    let shape = operand_shape(g, OP, &present)?;
    let mut inputs = vec![alpha];
    inputs.extend(present);
    let op = WeightedSum {
        mode: Mode::Softmax,
        positions,
    };
    Ok(g.push(op, &inputs, &[(shape, DType::F32)])[0])
}

/// ENAS node: `y = sum_k mask[k] * x_k` with mask a u32 `[K]` tensor (0/1: which inputs the
/// sampled architecture chose) read on the device, so one plan serves every architecture.
/// Gradients flow to the operands (`mask[k] * dy`).
pub fn masked_sum(g: &mut Graph, xs: &[Value], mask: Value) -> Result<Value, AutogradError> {
    const OP: &str = "masked_sum";
    coefficient_count(g, OP, mask, DType::U32, xs.len())?;
    let shape = operand_shape(g, OP, xs)?;
    let mut inputs = vec![mask];
    inputs.extend_from_slice(xs);
    let op = WeightedSum {
        mode: Mode::Mask,
        positions: (0..xs.len()).collect(),
    };
    Ok(g.push(op, &inputs, &[(shape, DType::F32)])[0])
}

/// `y = sum of xs` in one pass (a chosen subset known when recording); one operand is returned
/// unchanged.
pub fn sum_n(g: &mut Graph, xs: &[Value]) -> Result<Value, AutogradError> {
    let shape = operand_shape(g, "sum_n", xs)?;
    if xs.len() == 1 {
        return Ok(xs[0]);
    }
    let op = WeightedSum {
        mode: Mode::Ones,
        positions: (0..xs.len()).collect(),
    };
    Ok(g.push(op, xs, &[(shape, DType::F32)])[0])
}
