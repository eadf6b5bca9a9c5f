//! The fused LSTM cell (gate order i, f, g, o) and its gradient.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::lstm;
use crate::tensor::{DType, Tensor};

/// Inputs: gate pre-activations `[B,4H]`, previous cell `[B,H]`.
/// Outputs: activated gates `[B,4H]` (saved for backward), cell `[B,H]`, hidden `[B,H]`.
struct LstmCell;

impl Op for LstmCell {
    fn name(&self) -> &'static str {
        "lstm_cell"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![lstm::lstm_cell_forward(
            gpu, i[0], i[1], o[0], o[1], o[2],
        )?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let (gates, c_prev) = (ctx.inputs[0], ctx.inputs[1]);
        let (act, c) = (ctx.outputs[0], ctx.outputs[1]);
        let hs = ctx.graph.shape(c).to_vec();
        // A cell whose hidden output is unused still passes gradient through its cell state.
        let dh = match ctx.grads[2] {
            Some(dh) => dh,
            None => ctx.graph.constant(&hs, 0.0, "zero dh")?,
        };
        let mut inputs = vec![act, c_prev, c, dh];
        inputs.extend(ctx.grads[1]);
        let gs = ctx.graph.shape(gates).to_vec();
        let out = ctx.graph.push(
            LstmCellBackward,
            &inputs,
            &[(gs, DType::F32), (hs, DType::F32)],
        );
        Ok(vec![Some(out[0]), Some(out[1])])
    }
}

struct LstmCellBackward;

impl Op for LstmCellBackward {
    fn name(&self) -> &'static str {
        "lstm_cell_backward"
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
        Ok(vec![lstm::lstm_cell_backward(
            gpu,
            i[0],
            i[1],
            i[2],
            i[3],
            i.get(4).copied(),
            o[0],
            o[1],
        )?])
    }
}

/// One LSTM cell step from gate pre-activations: returns `(h, c)`.
pub fn lstm_cell(
    g: &mut Graph,
    gates: Value,
    c_prev: Value,
) -> Result<(Value, Value), AutogradError> {
    let gs = g.shape(gates).to_vec();
    let cs = g.shape(c_prev).to_vec();
    if gs.len() != 2 || cs.len() != 2 || gs[0] != cs[0] || gs[1] != 4 * cs[1] {
        return Err(shape_error(
            "lstm_cell",
            format!("gates {gs:?} must be [B, 4H] for cell state {cs:?} [B, H]"),
        ));
    }
    let out = g.push(
        LstmCell,
        &[gates, c_prev],
        &[(gs, DType::F32), (cs.clone(), DType::F32), (cs, DType::F32)],
    );
    Ok((out[2], out[1]))
}
