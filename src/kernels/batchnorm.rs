//! Batch normalisation over [N,C,H,W] or [N,C] (statistics per channel over N, H, W): training
//! forward with running-statistics update, inference, and backward. Every pass reads x in units
//! of four elements (vec4) when the element count is a multiple of 4 and H*W >= 4 (planes that
//! are not a multiple of 4 are masked where a unit straddles two), else one element: on lavapipe
//! each load instruction is a loop over the SIMD lanes, so the vec4 kernels move four values for
//! the cost of one. Per-channel sums combine each chunk in a fixed order, then merge the chunks
//! in order, so statistics and gradients are bit-identical across reruns.

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype};
use super::error::{KernelError, argument_error, shape_error};

/// Workgroup size of the elementwise and per-channel entry points (`WG` in the shaders).
const WG: u32 = 256;
/// Lanes per row of the per-chunk partial workgroups (`ROW` in the shaders); the chunks below
/// are multiples of the workgroup size, 8 rows of ROW.
const ROW: usize = 8;
/// Units per invocation of the elementwise entry points (`PER` in the shaders).
const PER: usize = 8;
/// Units of one channel that one partial workgroup reduces (64 per invocation): on lavapipe
/// each workgroup's barriers cost more than its loads until chunks are this long.
const CHUNK: usize = 4096;

macro_rules! source {
    ($unit:literal, $($file:literal),+) => {
        concat!(
            include_str!("../../shaders/udiv.wgsl"),
            include_str!("../../shaders/batchnorm_common.wgsl"),
            include_str!(concat!("../../shaders/", $unit)),
            $(include_str!(concat!("../../shaders/", $file))),+
        )
    };
}

/// An entry point built twice: [scalar units, vec4 units].
macro_rules! kernel_pair {
    ($id:ident, $name:literal, [$($file:literal),+], $bindings:expr) => {
        static $id: [KernelDef; 2] = [
            KernelDef {
                name: $name,
                source: source!("unit_f32.wgsl", $($file),+),
                entry: $name,
                bindings: $bindings,
            },
            KernelDef {
                name: concat!($name, "_vec4"),
                source: source!("unit_vec4.wgsl", $($file),+),
                entry: $name,
                bindings: $bindings,
            },
        ];
    };
}

use Access::{Read as R, ReadWrite as W, Uniform as U};

kernel_pair!(
    STATS_PARTIAL,
    "bn_stats_partial",
    ["batchnorm_stats.wgsl"],
    &[U, R, W]
);
kernel_pair!(
    APPLY,
    "bn_apply",
    ["batchnorm_walk.wgsl", "batchnorm_apply.wgsl"],
    &[U, R, R, W]
);
kernel_pair!(
    INFERENCE,
    "bn_inference",
    ["batchnorm_walk.wgsl", "batchnorm_inference.wgsl"],
    &[U, R, R, R, R, R, W]
);
kernel_pair!(
    BACKWARD_PARTIAL,
    "bn_backward_partial",
    ["batchnorm_backward_partial.wgsl"],
    &[U, R, R, R, W]
);
kernel_pair!(
    BACKWARD_DX,
    "bn_backward_dx",
    ["batchnorm_walk.wgsl", "batchnorm_backward_dx.wgsl"],
    &[U, R, R, R, W]
);
// The per-channel passes do not touch x, so the scalar build serves both unit widths.
static STATS_FINALIZE: KernelDef = KernelDef {
    name: "bn_stats_finalize",
    source: source!("unit_f32.wgsl", "batchnorm_stats_finalize.wgsl"),
    entry: "bn_stats_finalize",
    bindings: &[U, R, R, R, W, W, W, W, W],
};
static BACKWARD_FINALIZE: KernelDef = KernelDef {
    name: "bn_backward_finalize",
    source: source!("unit_f32.wgsl", "batchnorm_backward_finalize.wgsl"),
    entry: "bn_backward_finalize",
    bindings: &[U, R, R, R, R, W, W, W],
};

/// Batch-norm hyper-parameters: `eps` inside the square root, `momentum` of the running
/// statistics (running = (1 - momentum) * running + momentum * batch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormSpec {
    pub eps: f32,
    pub momentum: f32,
}

impl Default for BatchNormSpec {
    /// PyTorch's defaults: eps 1e-5, momentum 0.1.
    fn default() -> Self {
        BatchNormSpec {
            eps: 1e-5,
            momentum: 0.1,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    c: u32,
    /// Elements per plane (H*W; 1 for [N, C]).
    plane: u32,
    /// Unit slots per plane: enough units to cover a plane at any alignment.
    slots: u32,
    /// Slots per channel (N * slots).
    m: u32,
    chunk: u32,
    nchunks: u32,
    /// Units in x (elements / width).
    units: u32,
    n: u32,
    eps: f32,
    momentum: f32,
    /// 1/slots, 1/plane and 1/c for the shaders' division-free `udiv`.
    rslots: f32,
    rplane: f32,
    rc: f32,
    /// ROW = step_b * slots + step_s (walking a channel ROW slots at a time).
    step_b: u32,
    step_s: u32,
    _pad: u32,
}

impl Params {
    fn nchunks(&self) -> usize {
        self.nchunks as usize
    }

    fn channels(&self) -> usize {
        self.c as usize
    }

    /// Index into the `[scalar, vec4]` kernel pairs (vec4 units are fewer than the elements).
    fn variant(&self) -> usize {
        (self.units < self.n * self.c * self.plane) as usize
    }

    /// Grid of the elementwise kernels: PER units per invocation, in runs of ROW invocations.
    fn unit_grid(&self, gpu: &Gpu) -> [u32; 3] {
        let runs = (self.units as usize).div_ceil(ROW * PER);
        grid_1d(gpu, runs * ROW, WG)
    }
}

/// Checks x ([N,C] or [N,C,H,W], F32, non-empty) and `spec`; returns the parameter block.
fn geometry(kernel: &'static str, x: &Tensor, spec: BatchNormSpec) -> Result<Params, KernelError> {
    let s = x.shape();
    if !(s.len() == 2 || s.len() == 4) || s.contains(&0) {
        return Err(shape_error(
            kernel,
            format!("x is {s:?}, expected a non-empty [N, C] or [N, C, H, W]"),
        ));
    }
    has_dtype(kernel, "x", x, DType::F32)?;
    if !(spec.eps >= 0.0 && spec.eps.is_finite() && (0.0..=1.0).contains(&spec.momentum)) {
        return Err(argument_error(
            kernel,
            format!("{spec:?}: eps must be finite and >= 0, momentum in [0, 1]"),
        ));
    }
    fits_u32(kernel, "elements of x", x.numel())?;
    let (n, c) = (s[0], s[1]);
    let plane = x.numel() / (n * c);
    // A vec4 unit meets at most two planes when planes hold at least 4 elements.
    let width = if x.numel().is_multiple_of(4) && plane >= 4 {
        4
    } else {
        1
    };
    // A plane starting at element offset o (mod 4) covers ceil((o + plane) / 4) units.
    let slots = match width {
        4 if plane.is_multiple_of(4) => plane / 4,
        4 => (plane + 3).div_ceil(4),
        _ => plane,
    };
    let m = n * slots;
    let reciprocal = |d: usize| (1.0 / d as f64) as f32;
    Ok(Params {
        c: c as u32,
        plane: plane as u32,
        slots: slots as u32,
        m: m as u32,
        chunk: CHUNK as u32,
        nchunks: m.div_ceil(CHUNK) as u32,
        units: (x.numel() / width) as u32,
        n: n as u32,
        eps: spec.eps,
        momentum: spec.momentum,
        rslots: reciprocal(slots),
        rplane: reciprocal(plane),
        rc: reciprocal(c),
        step_b: (ROW / slots) as u32,
        step_s: (ROW % slots) as u32,
        _pad: 0,
    })
}

/// Each named tensor is shaped like x (`full`) or is per-channel [C], and F32.
fn check_shapes(
    kernel: &'static str,
    x: &Tensor,
    full: &[(&str, &Tensor)],
    per_channel: &[(&str, &Tensor)],
) -> Result<(), KernelError> {
    let c = [x.shape()[1]];
    for (name, t, want) in full
        .iter()
        .map(|&(n, t)| (n, t, x.shape()))
        .chain(per_channel.iter().map(|&(n, t)| (n, t, &c[..])))
    {
        if t.shape() != want {
            return Err(shape_error(
                kernel,
                format!(
                    "x is {:?}, so {name} must be {want:?}, but it is {:?}",
                    x.shape(),
                    t.shape()
                ),
            ));
        }
        has_dtype(kernel, name, t, DType::F32)?;
    }
    Ok(())
}

/// No output shares a buffer with an input or with another output.
fn outputs_distinct(
    kernel: &'static str,
    outputs: &[(&str, &Tensor)],
    inputs: &[(&str, &Tensor)],
) -> Result<(), KernelError> {
    for (i, &out) in outputs.iter().enumerate() {
        let others: Vec<(&str, &Tensor)> =
            inputs.iter().chain(&outputs[i + 1..]).copied().collect();
        distinct(kernel, out, &others)?;
    }
    Ok(())
}

fn launch(
    gpu: &Gpu,
    kernel: &'static KernelDef,
    p: &Params,
    tensors: &[&Tensor],
    grid: [u32; 3],
) -> Launch {
    let bindings: Vec<_> = tensors.iter().map(|t| t.binding()).collect();
    Launch::new(gpu, kernel, &vec![], bytemuck::bytes_of(p), &bindings, grid)
}

/// Launch of an elementwise pass (batchnorm_walk.wgsl): the build for x's units, specialised on
/// whether its units can straddle two planes.
fn launch_units(
    gpu: &Gpu,
    kernels: &'static [KernelDef; 2],
    p: &Params,
    tensors: &[&Tensor],
) -> Launch {
    let v = p.variant();
    let straddles = v == 1 && !p.plane.is_multiple_of(4);
    let spec = vec![("STRADDLES", straddles.to_string())];
    let bindings: Vec<_> = tensors.iter().map(|t| t.binding()).collect();
    let grid = p.unit_grid(gpu);
    Launch::new(
        gpu,
        &kernels[v],
        &spec,
        bytemuck::bytes_of(p),
        &bindings,
        grid,
    )
}

/// Training forward: y = gamma*(x-mean)*invstd + beta with batch statistics (biased variance);
/// saves mean and invstd [C] for the backward and updates running_mean / running_var in place
/// (running_var takes the unbiased variance, PyTorch's convention). Needs N*H*W >= 2.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_forward(
    gpu: &Gpu,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    y: &Tensor,
    saved_mean: &Tensor,
    saved_invstd: &Tensor,
    spec: BatchNormSpec,
) -> Result<Vec<Launch>, KernelError> {
    const NAME: &str = "batch_norm_train_forward";
    let p = geometry(NAME, x, spec)?;
    let per_channel = [
        ("gamma", gamma),
        ("beta", beta),
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("saved_mean", saved_mean),
        ("saved_invstd", saved_invstd),
    ];
    check_shapes(NAME, x, &[("y", y)], &per_channel)?;
    if p.n * p.plane < 2 {
        return Err(shape_error(
            NAME,
            format!(
                "x is {:?}: training needs more than one value per channel",
                x.shape()
            ),
        ));
    }
    outputs_distinct(
        NAME,
        &[
            ("y", y),
            ("saved_mean", saved_mean),
            ("saved_invstd", saved_invstd),
            ("running_mean", running_mean),
            ("running_var", running_var),
        ],
        &[("x", x), ("gamma", gamma), ("beta", beta)],
    )?;
    let (c, nchunks) = (p.channels(), p.nchunks());
    // Per-chunk (count, mean - shift, M2), then the C shifts.
    let partials = Tensor::empty(x.gpu(), &[c * (3 * nchunks + 1)], DType::F32)?;
    let coef = Tensor::empty(x.gpu(), &[c, 4], DType::F32)?;
    let v = p.variant();
    Ok(vec![
        launch(
            gpu,
            &STATS_PARTIAL[v],
            &p,
            &[x, &partials],
            grid_1d(gpu, c * nchunks, 1),
        ),
        launch(
            gpu,
            &STATS_FINALIZE,
            &p,
            &[
                &partials,
                gamma,
                beta,
                saved_mean,
                saved_invstd,
                running_mean,
                running_var,
                &coef,
            ],
            grid_1d(gpu, c, WG),
        ),
        launch_units(gpu, &APPLY, &p, &[x, &coef, y]),
    ])
}

/// Inference: y = gamma*(x-running_mean)/sqrt(running_var+eps) + beta.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_inference(
    gpu: &Gpu,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    y: &Tensor,
    spec: BatchNormSpec,
) -> Result<Launch, KernelError> {
    const NAME: &str = "batch_norm_inference";
    let p = geometry(NAME, x, spec)?;
    let per_channel = [
        ("gamma", gamma),
        ("beta", beta),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ];
    check_shapes(NAME, x, &[("y", y)], &per_channel)?;
    let mut inputs = vec![("x", x)];
    inputs.extend(per_channel);
    outputs_distinct(NAME, &[("y", y)], &inputs)?;
    Ok(launch_units(
        gpu,
        &INFERENCE,
        &p,
        &[x, running_mean, running_var, gamma, beta, y],
    ))
}

/// Backward of the training forward: dx, dgamma, dbeta (overwritten) from dy, x and the saved
/// batch mean and invstd.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    gpu: &Gpu,
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    saved_mean: &Tensor,
    saved_invstd: &Tensor,
    dx: &Tensor,
    dgamma: &Tensor,
    dbeta: &Tensor,
) -> Result<Vec<Launch>, KernelError> {
    const NAME: &str = "batch_norm_backward";
    let p = geometry(NAME, x, BatchNormSpec::default())?;
    let inputs = [
        ("dy", dy),
        ("x", x),
        ("gamma", gamma),
        ("saved_mean", saved_mean),
        ("saved_invstd", saved_invstd),
    ];
    let outputs = [("dx", dx), ("dgamma", dgamma), ("dbeta", dbeta)];
    check_shapes(
        NAME,
        x,
        &[("dy", dy), ("dx", dx)],
        &[inputs[2], inputs[3], inputs[4], outputs[1], outputs[2]],
    )?;
    outputs_distinct(NAME, &outputs, &inputs)?;
    let (c, nchunks) = (p.channels(), p.nchunks());
    let partials = Tensor::empty(x.gpu(), &[c, nchunks, 2], DType::F32)?;
    let coef = Tensor::empty(x.gpu(), &[c, 4], DType::F32)?;
    let v = p.variant();
    Ok(vec![
        launch(
            gpu,
            &BACKWARD_PARTIAL[v],
            &p,
            &[dy, x, saved_mean, &partials],
            grid_1d(gpu, c * nchunks, 1),
        ),
        launch(
            gpu,
            &BACKWARD_FINALIZE,
            &p,
            &[
                &partials,
                gamma,
                saved_mean,
                saved_invstd,
                dgamma,
                dbeta,
                &coef,
            ],
            grid_1d(gpu, c, WG),
        ),
        launch_units(gpu, &BACKWARD_DX, &p, &[dy, x, &coef, dx]),
    ])
}
