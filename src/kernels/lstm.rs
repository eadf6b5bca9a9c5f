//! Fused LSTM cell (the controller's recurrent step): gate activations, cell and hidden state in
//! one dispatch forward, all gate gradients and dc_prev in one dispatch backward. The gate
//! pre-activations `[B, 4H]` (order i, f, g, o) come from the caller's matmuls.

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, has_rank, has_shape};
use super::error::{KernelError, shape_error};

const WG: u32 = 64;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    b: u32,
    h: u32,
    has_dc: u32,
    _pad: u32,
}

static FORWARD: KernelDef = KernelDef {
    name: "lstm_cell_forward",
    source: include_str!("../../shaders/lstm_forward.wgsl"),
    entry: "lstm_cell_forward",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
};
static BACKWARD: KernelDef = KernelDef {
    name: "lstm_cell_backward",
    source: include_str!("../../shaders/lstm_backward.wgsl"),
    entry: "lstm_cell_backward",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
};

/// Checks gates-like `[B, 4H]` (H >= 1) and returns (B, H).
fn gate_shape(kernel: &'static str, name: &str, t: &Tensor) -> Result<(usize, usize), KernelError> {
    has_rank(kernel, name, t, 2)?;
    has_dtype(kernel, name, t, DType::F32)?;
    let (b, four_h) = (t.shape()[0], t.shape()[1]);
    if four_h == 0 || four_h % 4 != 0 {
        return Err(shape_error(
            kernel,
            format!(
                "{name} is {:?}: the last axis must be 4H with H >= 1",
                t.shape()
            ),
        ));
    }
    fits_u32(kernel, "elements", t.numel())?;
    Ok((b, four_h / 4))
}

/// Checks each named tensor is F32 `[B, H]`.
fn states(kernel: &'static str, bh: [usize; 2], ts: &[(&str, &Tensor)]) -> Result<(), KernelError> {
    for (name, t) in ts {
        has_shape(kernel, name, t, &bh)?;
        has_dtype(kernel, name, t, DType::F32)?;
    }
    Ok(())
}

/// `c = f*c_prev + i*g; h = o*tanh(c)` from gate pre-activations `[B, 4H]` (i, f, g, o);
/// `act` receives the activated gates `[B, 4H]` for the backward.
pub fn lstm_cell_forward(
    gpu: &Gpu,
    gates: &Tensor,
    c_prev: &Tensor,
    act: &Tensor,
    c: &Tensor,
    h: &Tensor,
) -> Result<Launch, KernelError> {
    let name = FORWARD.name;
    let (b, hd) = gate_shape(name, "gates", gates)?;
    has_shape(name, "act", act, gates.shape())?;
    has_dtype(name, "act", act, DType::F32)?;
    states(name, [b, hd], &[("c_prev", c_prev), ("c", c), ("h", h)])?;
    let inputs = [("gates", gates), ("c_prev", c_prev)];
    let outputs = [("act", act), ("c", c), ("h", h)];
    for (i, out) in outputs.iter().enumerate() {
        distinct(name, *out, &inputs)?;
        distinct(name, *out, &outputs[i + 1..])?;
    }
    let p = Params {
        b: b as u32,
        h: hd as u32,
        has_dc: 0,
        _pad: 0,
    };
    Ok(Launch::new(
        gpu,
        &FORWARD,
        &vec![],
        bytemuck::bytes_of(&p),
        &[
            gates.binding(),
            c_prev.binding(),
            act.binding(),
            c.binding(),
            h.binding(),
        ],
        grid_1d(gpu, b * hd, WG),
    ))
}

/// Gradients of one cell step: `dgates` `[B, 4H]` (w.r.t. the pre-activations) and `dc_prev`
/// `[B, H]`, both overwritten, from `dh` and the gradient `dc` flowing into `c` from later steps
/// (`None` = zero, as at the last step).
#[allow(clippy::too_many_arguments)]
pub fn lstm_cell_backward(
    gpu: &Gpu,
    act: &Tensor,
    c_prev: &Tensor,
    c: &Tensor,
    dh: &Tensor,
    dc: Option<&Tensor>,
    dgates: &Tensor,
    dc_prev: &Tensor,
) -> Result<Launch, KernelError> {
    let name = BACKWARD.name;
    let (b, hd) = gate_shape(name, "act", act)?;
    has_shape(name, "dgates", dgates, act.shape())?;
    has_dtype(name, "dgates", dgates, DType::F32)?;
    states(name, [b, hd], &[("c_prev", c_prev), ("c", c), ("dh", dh)])?;
    states(name, [b, hd], &[("dc_prev", dc_prev)])?;
    let mut inputs = vec![("act", act), ("c_prev", c_prev), ("c", c), ("dh", dh)];
    if let Some(dc) = dc {
        states(name, [b, hd], &[("dc", dc)])?;
        inputs.push(("dc", dc));
    }
    distinct(name, ("dgates", dgates), &inputs)?;
    distinct(name, ("dc_prev", dc_prev), &inputs)?;
    distinct(name, ("dc_prev", dc_prev), &[("dgates", dgates)])?;
    let p = Params {
        b: b as u32,
        h: hd as u32,
        has_dc: dc.is_some() as u32,
        _pad: 0,
    };
    // Without dc the kernel never reads that binding; dh (same shape, read-only) fills it.
    let dc_binding = dc.unwrap_or(dh);
    Ok(Launch::new(
        gpu,
        &BACKWARD,
        &vec![],
        bytemuck::bytes_of(&p),
        &[
            act.binding(),
            c_prev.binding(),
            c.binding(),
            dh.binding(),
            dc_binding.binding(),
            dgates.binding(),
            dc_prev.binding(),
        ],
        grid_1d(gpu, b * hd, WG),
    ))
}
