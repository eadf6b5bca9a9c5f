//! Optimiser updates, in place: SGD (momentum, Nesterov, weight decay) and Adam, both with
//! PyTorch semantics. The per-step scalars (learning rate, step count) live in a small device
//! tensor the host rewrites once per step, so a plan re-encodes the same launches every step.

use std::sync::Arc;

use crate::device::{Access, DeviceError, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, has_shape, same_shape};
use super::error::{KernelError, argument_error};

const WG: u32 = 256;

/// Per-step optimiser scalars, mirrored by `StepScalars` in the WGSL sources.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepScalars {
    /// Learning rate of this step.
    pub lr: f32,
    /// 1-based step count (Adam's bias correction); 0 is treated as 1.
    pub step: u32,
    pub _pad: [u32; 2],
}

impl StepScalars {
    /// Scalars for step `step` (1-based) at learning rate `lr`.
    pub fn new(lr: f32, step: u32) -> StepScalars {
        StepScalars {
            lr,
            step,
            _pad: [0; 2],
        }
    }
}

/// Shape of the step-scalars tensor: four 32-bit words.
const SCALARS_SHAPE: [usize; 1] = [4];

/// A device tensor holding `StepScalars`, initialised to lr 0 at step 1 (a harmless no-op update).
pub fn step_scalars_tensor(gpu: &Arc<Gpu>) -> Result<Tensor, DeviceError> {
    let t = Tensor::empty(gpu, &SCALARS_SHAPE, DType::U32)?;
    write_step_scalars(&t, StepScalars::new(0.0, 1));
    Ok(t)
}

/// Writes this step's scalars: one small queued write that lands before the next submit, so
/// call it between submits.
pub fn write_step_scalars(t: &Tensor, s: StepScalars) {
    assert_eq!(
        t.shape(),
        SCALARS_SHAPE,
        "write_step_scalars needs a tensor from step_scalars_tensor"
    );
    t.gpu().write_bytes(t.raw(), bytemuck::bytes_of(&s));
}

/// SGD hyper-parameters that stay fixed over a run (the learning rate is per step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdSpec {
    pub momentum: f32,
    pub nesterov: bool,
    pub weight_decay: f32,
}

/// Adam hyper-parameters that stay fixed over a run (the learning rate is per step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamSpec {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SgdParams {
    n: u32,
    momentum: f32,
    weight_decay: f32,
    nesterov: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AdamParams {
    n: u32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    _pad: [u32; 3],
}

static SGD: KernelDef = KernelDef {
    name: "sgd_update",
    source: include_str!("../../shaders/optim_sgd.wgsl"),
    entry: "sgd_update",
    bindings: &[
        Access::Uniform,
        Access::ReadWrite,
        Access::Read,
        Access::ReadWrite,
        Access::Read,
    ],
};
static ADAM: KernelDef = KernelDef {
    name: "adam_update",
    source: include_str!("../../shaders/optim_adam.wgsl"),
    entry: "adam_update",
    bindings: &[
        Access::Uniform,
        Access::ReadWrite,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
        Access::Read,
    ],
};

/// Checks shapes, dtypes and aliasing shared by both optimisers; returns the element count.
fn check_operands(
    kernel: &'static str,
    param: &Tensor,
    grad: &Tensor,
    state: &[(&str, &Tensor)],
    scalars: &Tensor,
) -> Result<u32, KernelError> {
    has_dtype(kernel, "param", param, DType::F32)?;
    same_shape(kernel, ["param", "grad"], param, grad)?;
    has_dtype(kernel, "grad", grad, DType::F32)?;
    for (name, t) in state {
        same_shape(kernel, ["param", name], param, t)?;
        has_dtype(kernel, name, t, DType::F32)?;
    }
    has_shape(kernel, "scalars", scalars, &SCALARS_SHAPE)?;
    has_dtype(kernel, "scalars", scalars, DType::U32)?;
    let mut all = vec![("param", param), ("grad", grad), ("scalars", scalars)];
    all.extend_from_slice(state);
    for (i, out) in all.iter().enumerate() {
        distinct(kernel, *out, &all[i + 1..])?;
    }
    fits_u32(kernel, "elements", param.numel())
}

fn finite(kernel: &'static str, name: &str, value: f32) -> Result<(), KernelError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(argument_error(
            kernel,
            format!("{name} = {value} is not finite"),
        ))
    }
}

/// SGD with PyTorch semantics: `g = grad + wd*param; v = momentum*v + g;
/// step = nesterov ? g + momentum*v : v; param -= lr*step`. `velocity` must start at zero; with
/// momentum 0 it is left untouched.
pub fn sgd_update(
    gpu: &Gpu,
    param: &Tensor,
    grad: &Tensor,
    velocity: &Tensor,
    scalars: &Tensor,
    spec: SgdSpec,
) -> Result<Launch, KernelError> {
    let n = check_operands(SGD.name, param, grad, &[("velocity", velocity)], scalars)?;
    finite(SGD.name, "momentum", spec.momentum)?;
    finite(SGD.name, "weight_decay", spec.weight_decay)?;
    if spec.nesterov && spec.momentum == 0.0 {
        return Err(argument_error(
            SGD.name,
            "Nesterov needs a non-zero momentum",
        ));
    }
    let p = SgdParams {
        n,
        momentum: spec.momentum,
        weight_decay: spec.weight_decay,
        nesterov: spec.nesterov as u32,
    };
    Ok(Launch::new(
        gpu,
        &SGD,
        &vec![],
        bytemuck::bytes_of(&p),
        &[
            param.binding(),
            grad.binding(),
            velocity.binding(),
            scalars.binding(),
        ],
        grid_1d(gpu, param.numel(), WG),
    ))
}

/// Adam as torch.optim.Adam (weight decay added to the gradient), bias-corrected with the step
/// count from `scalars`. `m` and `v` must start at zero.
pub fn adam_update(
    gpu: &Gpu,
    param: &Tensor,
    grad: &Tensor,
    m: &Tensor,
    v: &Tensor,
    scalars: &Tensor,
    spec: AdamSpec,
) -> Result<Launch, KernelError> {
    let n = check_operands(ADAM.name, param, grad, &[("m", m), ("v", v)], scalars)?;
    for (name, beta) in [("beta1", spec.beta1), ("beta2", spec.beta2)] {
        if !(0.0..1.0).contains(&beta) {
            return Err(argument_error(
                ADAM.name,
                format!("{name} = {beta} must be in [0, 1)"),
            ));
        }
    }
    if !(spec.eps > 0.0 && spec.eps.is_finite()) {
        return Err(argument_error(
            ADAM.name,
            format!("eps = {} must be positive and finite", spec.eps),
        ));
    }
    finite(ADAM.name, "weight_decay", spec.weight_decay)?;
    let p = AdamParams {
        n,
        beta1: spec.beta1,
        beta2: spec.beta2,
        eps: spec.eps,
        weight_decay: spec.weight_decay,
        _pad: [0; 3],
    };
    Ok(Launch::new(
        gpu,
        &ADAM,
        &vec![],
        bytemuck::bytes_of(&p),
        &[
            param.binding(),
            grad.binding(),
            m.binding(),
            v.binding(),
            scalars.binding(),
        ],
        grid_1d(gpu, param.numel(), WG),
    ))
}
