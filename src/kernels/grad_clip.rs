//! Global-norm gradient clipping (`torch.nn.utils.clip_grad_norm_`, TensorFlow's
//! `clip_by_global_norm`), as ENAS and DARTS clip their weights' gradients: every gradient's sum
//! of squares into its slot (`darts_unrolled::sum_squares`, one workgroup each), the norm and
//! the factor from those slots in a fixed order, then each gradient scaled in place. No atomics:
//! the same gradients give the same bits, and a norm within the bound leaves them untouched.

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, has_shape};
use super::error::{KernelError, argument_error};

pub use super::darts_unrolled::sum_squares;

/// Slots of the `[2]` statistics tensor `clip_factor` writes: `[|g|, factor]`.
pub const CLIP_STATS: usize = 2;

const WG: u32 = 256;

static FACTOR: KernelDef = KernelDef {
    name: "grad_clip_factor",
    source: include_str!("../../shaders/norm_from_partials.wgsl"),
    entry: "clip_factor",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};
static SCALE: KernelDef = KernelDef {
    name: "grad_clip_scale",
    source: include_str!("../../shaders/grad_clip_scale.wgsl"),
    entry: "clip_scale",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FactorParams {
    k: u32,
    max_norm: f32,
    _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ScaleParams {
    n: u32,
    _pad: [u32; 3],
}

fn stats_tensor(kernel: &'static str, stats: &Tensor) -> Result<(), KernelError> {
    has_shape(kernel, "stats", stats, &[CLIP_STATS])?;
    has_dtype(kernel, "stats", stats, DType::F32)
}

/// `stats = [|g|, factor]`: `|g| = sqrt(sum(partials))` (summed in order), `factor =
/// max_norm / |g|` where `|g| > max_norm`, else exactly 1.
pub fn clip_factor(
    gpu: &Gpu,
    partials: &Tensor,
    max_norm: f32,
    stats: &Tensor,
) -> Result<Launch, KernelError> {
    let name = FACTOR.name;
    has_dtype(name, "partials", partials, DType::F32)?;
    stats_tensor(name, stats)?;
    distinct(name, ("stats", stats), &[("partials", partials)])?;
    if !(max_norm > 0.0 && max_norm.is_finite()) {
        return Err(argument_error(
            name,
            format!("max_norm = {max_norm} must be positive and finite"),
        ));
    }
    let p = FactorParams {
        k: fits_u32(name, "partials", partials.numel())?,
        max_norm,
        _pad: [0; 2],
    };
    Ok(Launch::new(
        gpu,
        &FACTOR,
        &vec![],
        bytemuck::bytes_of(&p),
        &[partials.binding(), stats.binding()],
        [1, 1, 1],
    ))
}

/// `x *= stats[1]` in place (the factor `clip_factor` wrote).
pub fn clip_scale(gpu: &Gpu, stats: &Tensor, x: &Tensor) -> Result<Launch, KernelError> {
    let name = SCALE.name;
    stats_tensor(name, stats)?;
    has_dtype(name, "x", x, DType::F32)?;
    distinct(name, ("x", x), &[("stats", stats)])?;
    let p = ScaleParams {
        n: fits_u32(name, "elements", x.numel())?,
        _pad: [0; 3],
    };
    Ok(Launch::new(
        gpu,
        &SCALE,
        &vec![],
        bytemuck::bytes_of(&p),
        &[stats.binding(), x.binding()],
        grid_1d(gpu, x.numel(), WG),
    ))
}
