//! The kernels of DARTS's second-order (unrolled) architecture gradient: the virtual weight step
//! into its own buffer, a fixed-order sum of squares per tensor, the finite-difference step
//! `eps = r / |v|` on the device, the two perturbed weights, and the combination
//! `galpha - lr * diff / (2 eps)`. Every one writes a buffer distinct from what it reads, so the
//! shared weights are never modified and restored.

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, has_shape, same_shape};
use super::error::{KernelError, argument_error};

const WG: u32 = 256;

/// Slots of the `[3]` statistics tensor `hvp_scale` writes: `[|v|, eps, 1 / (2 eps)]`.
pub const HVP_STATS: usize = 3;

static STEP: KernelDef = KernelDef {
    name: "darts_unrolled_step",
    source: include_str!("../../shaders/darts_unrolled_step.wgsl"),
    entry: "unrolled_step",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
};
static SUM_SQUARES: KernelDef = KernelDef {
    name: "darts_sum_squares",
    source: include_str!("../../shaders/darts_sum_squares.wgsl"),
    entry: "sum_squares",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};
static HVP_SCALE: KernelDef = KernelDef {
    name: "darts_hvp_scale",
    source: include_str!("../../shaders/norm_from_partials.wgsl"),
    entry: "hvp_scale",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};
static PERTURB: KernelDef = KernelDef {
    name: "darts_perturb",
    source: include_str!("../../shaders/darts_perturb.wgsl"),
    entry: "perturb",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
};
static COMBINE: KernelDef = KernelDef {
    name: "darts_combine",
    source: include_str!("../../shaders/darts_combine.wgsl"),
    entry: "combine",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct StepParams {
    n: u32,
    momentum: f32,
    weight_decay: f32,
    _pad: u32,
}

/// `n` (and a slot, or the step `r`) padded to 16 bytes.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CountParams {
    n: u32,
    extra: u32,
    _pad: [u32; 2],
}

fn f32_operands(kernel: &'static str, ts: &[(&str, &Tensor)]) -> Result<(), KernelError> {
    for (name, t) in ts {
        has_dtype(kernel, name, t, DType::F32)?;
        same_shape(kernel, [ts[0].0, name], ts[0].1, t)?;
    }
    Ok(())
}

fn step_scalars(kernel: &'static str, scalars: &Tensor) -> Result<(), KernelError> {
    has_shape(kernel, "scalars", scalars, &[4])?;
    has_dtype(kernel, "scalars", scalars, DType::U32)
}

fn stats_tensor(kernel: &'static str, stats: &Tensor) -> Result<(), KernelError> {
    has_shape(kernel, "stats", stats, &[HVP_STATS])?;
    has_dtype(kernel, "stats", stats, DType::F32)
}

/// `out = w - lr * (momentum * velocity + (grad + weight_decay * w))` with `lr` from the step
/// `scalars` (a `step_scalars_tensor`): DARTS's virtual step w' (quark0/darts
/// `_compute_unrolled_model`: the momentum buffer scaled, plus the gradient and L2 term).
pub fn unrolled_step(
    gpu: &Gpu,
    (w, grad, velocity): (&Tensor, &Tensor, &Tensor),
    scalars: &Tensor,
    (momentum, weight_decay): (f32, f32),
    out: &Tensor,
) -> Result<Launch, KernelError> {
    let name = STEP.name;
    let ins = [("w", w), ("grad", grad), ("velocity", velocity)];
    f32_operands(name, &[ins[0], ins[1], ins[2], ("out", out)])?;
    step_scalars(name, scalars)?;
    distinct(
        name,
        ("out", out),
        &[ins[0], ins[1], ins[2], ("scalars", scalars)],
    )?;
    if !(momentum.is_finite() && weight_decay.is_finite()) {
        return Err(argument_error(
            name,
            format!("momentum {momentum} and weight decay {weight_decay} must be finite"),
        ));
    }
    let p = StepParams {
        n: fits_u32(name, "elements", w.numel())?,
        momentum,
        weight_decay,
        _pad: 0,
    };
    Ok(Launch::new(
        gpu,
        &STEP,
        &vec![],
        bytemuck::bytes_of(&p),
        &[
            w.binding(),
            grad.binding(),
            velocity.binding(),
            scalars.binding(),
            out.binding(),
        ],
        grid_1d(gpu, w.numel(), WG),
    ))
}

/// `partials[slot] = sum(x * x)`, one workgroup in a fixed order.
pub fn sum_squares(
    gpu: &Gpu,
    x: &Tensor,
    partials: &Tensor,
    slot: usize,
) -> Result<Launch, KernelError> {
    let name = SUM_SQUARES.name;
    has_dtype(name, "x", x, DType::F32)?;
    has_dtype(name, "partials", partials, DType::F32)?;
    if slot >= partials.numel() {
        return Err(argument_error(
            name,
            format!("slot {slot} is outside partials {:?}", partials.shape()),
        ));
    }
    distinct(name, ("partials", partials), &[("x", x)])?;
    let p = CountParams {
        n: fits_u32(name, "elements", x.numel())?,
        extra: slot as u32,
        _pad: [0; 2],
    };
    Ok(Launch::new(
        gpu,
        &SUM_SQUARES,
        &vec![],
        bytemuck::bytes_of(&p),
        &[x.binding(), partials.binding()],
        [1, 1, 1],
    ))
}

/// `stats = [|v|, eps, 1 / (2 eps)]` with `|v| = sqrt(sum(partials))` (summed in order) and
/// `eps = r / |v|`; a zero norm gives zeros for both (DARTS's `R = r / |v|`, r = 0.01).
pub fn hvp_scale(
    gpu: &Gpu,
    partials: &Tensor,
    r: f32,
    stats: &Tensor,
) -> Result<Launch, KernelError> {
    let name = HVP_SCALE.name;
    has_dtype(name, "partials", partials, DType::F32)?;
    stats_tensor(name, stats)?;
    distinct(name, ("stats", stats), &[("partials", partials)])?;
    if !(r > 0.0 && r.is_finite()) {
        return Err(argument_error(
            name,
            format!("r = {r} must be positive and finite"),
        ));
    }
    let p = CountParams {
        n: fits_u32(name, "partials", partials.numel())?,
        extra: r.to_bits(),
        _pad: [0; 2],
    };
    Ok(Launch::new(
        gpu,
        &HVP_SCALE,
        &vec![],
        bytemuck::bytes_of(&p),
        &[partials.binding(), stats.binding()],
        [1, 1, 1],
    ))
}

/// `plus = w + eps * v`, `minus = w - eps * v` with `eps = stats[1]`.
pub fn perturb(
    gpu: &Gpu,
    (w, v): (&Tensor, &Tensor),
    stats: &Tensor,
    (plus, minus): (&Tensor, &Tensor),
) -> Result<Launch, KernelError> {
    let name = PERTURB.name;
    f32_operands(
        name,
        &[("w", w), ("v", v), ("plus", plus), ("minus", minus)],
    )?;
    stats_tensor(name, stats)?;
    let ins = [("w", w), ("v", v), ("stats", stats)];
    distinct(name, ("plus", plus), &ins)?;
    distinct(
        name,
        ("minus", minus),
        &[ins[0], ins[1], ins[2], ("plus", plus)],
    )?;
    let p = CountParams {
        n: fits_u32(name, "elements", w.numel())?,
        extra: 0,
        _pad: [0; 2],
    };
    Ok(Launch::new(
        gpu,
        &PERTURB,
        &vec![],
        bytemuck::bytes_of(&p),
        &[
            w.binding(),
            v.binding(),
            stats.binding(),
            plus.binding(),
            minus.binding(),
        ],
        grid_1d(gpu, w.numel(), WG),
    ))
}

/// `out = galpha - lr * (diff * stats[2])` with `lr` from the step `scalars`: the unrolled
/// gradient `dL_val(w')/dalpha - xi * (dL_train(w+)/dalpha - dL_train(w-)/dalpha) / (2 eps)`.
pub fn combine(
    gpu: &Gpu,
    (galpha, diff): (&Tensor, &Tensor),
    stats: &Tensor,
    scalars: &Tensor,
    out: &Tensor,
) -> Result<Launch, KernelError> {
    let name = COMBINE.name;
    f32_operands(name, &[("galpha", galpha), ("diff", diff), ("out", out)])?;
    stats_tensor(name, stats)?;
    step_scalars(name, scalars)?;
    let ins = [
        ("galpha", galpha),
        ("diff", diff),
        ("stats", stats),
        ("scalars", scalars),
    ];
    distinct(name, ("out", out), &ins)?;
    let p = CountParams {
        n: fits_u32(name, "elements", galpha.numel())?,
        extra: 0,
        _pad: [0; 2],
    };
    Ok(Launch::new(
        gpu,
        &COMBINE,
        &vec![],
        bytemuck::bytes_of(&p),
        &[
            galpha.binding(),
            diff.binding(),
            stats.binding(),
            scalars.binding(),
            out.binding(),
        ],
        grid_1d(gpu, galpha.numel(), WG),
    ))
}
