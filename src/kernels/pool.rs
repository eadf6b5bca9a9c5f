//! 2-D max and average pooling (valid or TensorFlow "same" padding) and global average pooling,
//! forward and backward. Backward kernels gather (each input element sums the windows that
//! cover it, in a fixed order), so they need no atomics and allow overlapping windows.

use crate::device::{Access, Gpu, KernelDef, Launch, Specialisation, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, has_rank, has_shape};
use super::error::{KernelError, argument_error, shape_error};

const WG: u32 = 256;
/// Workgroup size of the global pooling kernels (must match `WG` in pool_global*.wgsl).
const GLOBAL_WG: u32 = 64;
/// The global pooling backward writes runs of GLOBAL_ROW invocations x GLOBAL_PER units
/// (`ROW`, `PER` in pool_global_backward.wgsl).
const GLOBAL_ROW: usize = 8;
const GLOBAL_PER: usize = 8;

const MAX_SRC: &str = concat!(
    include_str!("../../shaders/udiv.wgsl"),
    include_str!("../../shaders/pool_common.wgsl"),
    include_str!("../../shaders/pool_max.wgsl")
);
const MAX_BACKWARD_SRC: &str = concat!(
    include_str!("../../shaders/udiv.wgsl"),
    include_str!("../../shaders/pool_common.wgsl"),
    include_str!("../../shaders/pool_max_backward.wgsl")
);
const AVG_SRC: &str = concat!(
    include_str!("../../shaders/udiv.wgsl"),
    include_str!("../../shaders/pool_common.wgsl"),
    include_str!("../../shaders/pool_avg.wgsl")
);
/// A windowed pooling source (template slot SW): the preludes, then `$file`.
macro_rules! window_source {
    ($file:literal) => {
        concat!(
            include_str!("../../shaders/udiv.wgsl"),
            include_str!("../../shaders/pool_common.wgsl"),
            include_str!("../../shaders/pool_window_common.wgsl"),
            include_str!(concat!("../../shaders/", $file))
        )
    };
}
/// A global pooling source built with a unit prelude (scalar or vec4 units).
macro_rules! global_source {
    ($unit:literal, $file:literal) => {
        concat!(
            include_str!("../../shaders/udiv.wgsl"),
            include_str!(concat!("../../shaders/", $unit)),
            include_str!(concat!("../../shaders/", $file))
        )
    };
}
const ONE_IN_ONE_OUT: &[Access] = &[Access::Uniform, Access::Read, Access::ReadWrite];

static MAX_FORWARD: KernelDef = KernelDef {
    name: "max_pool_forward",
    source: MAX_SRC,
    entry: "max_pool_forward",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
};
static MAX_BACKWARD: KernelDef = KernelDef {
    name: "max_pool_backward",
    source: MAX_BACKWARD_SRC,
    entry: "max_pool_backward",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
};
static AVG_FORWARD: KernelDef = KernelDef {
    name: "avg_pool_forward",
    source: AVG_SRC,
    entry: "avg_pool_forward",
    bindings: ONE_IN_ONE_OUT,
};
static AVG_BACKWARD: KernelDef = KernelDef {
    name: "avg_pool_backward",
    source: AVG_SRC,
    entry: "avg_pool_backward",
    bindings: ONE_IN_ONE_OUT,
};
static MAX_WINDOW_FORWARD: KernelDef = KernelDef {
    name: "max_pool_window_forward",
    source: window_source!("pool_window_max.wgsl"),
    entry: "max_pool_window_forward",
    bindings: MAX_FORWARD.bindings,
};
static MAX_WINDOW_BACKWARD: KernelDef = KernelDef {
    name: "max_pool_window_backward",
    source: window_source!("pool_window_max_backward.wgsl"),
    entry: "max_pool_window_backward",
    bindings: MAX_BACKWARD.bindings,
};
static AVG_WINDOW_FORWARD: KernelDef = KernelDef {
    name: "avg_pool_window_forward",
    source: window_source!("pool_window_avg.wgsl"),
    entry: "avg_pool_window_forward",
    bindings: ONE_IN_ONE_OUT,
};
static AVG_WINDOW_BACKWARD: KernelDef = KernelDef {
    name: "avg_pool_window_backward",
    source: window_source!("pool_window_avg.wgsl"),
    entry: "avg_pool_window_backward",
    bindings: ONE_IN_ONE_OUT,
};
/// Columns per invocation of the windowed kernels (`PX` in pool_window_common.wgsl).
const WINDOW_PX: usize = 8;
/// Widest window and column stride the windowed kernels take (`MAX_PK`, and the SW values
/// compiled); wider ones run on the one-element kernels.
const WINDOW_MAX_K: usize = 4;
const WINDOW_MAX_STRIDE: usize = 3;

/// An entry point of a global pooling file, built twice: [scalar units, vec4 units].
macro_rules! global_pair {
    ($id:ident, $name:literal, $file:literal) => {
        static $id: [KernelDef; 2] = [
            KernelDef {
                name: $name,
                source: global_source!("unit_f32.wgsl", $file),
                entry: $name,
                bindings: ONE_IN_ONE_OUT,
            },
            KernelDef {
                name: concat!($name, "_vec4"),
                source: global_source!("unit_vec4.wgsl", $file),
                entry: $name,
                bindings: ONE_IN_ONE_OUT,
            },
        ];
    };
}
global_pair!(GLOBAL_ROWS, "global_avg_pool_rows", "pool_global.wgsl");
global_pair!(
    GLOBAL_FORWARD,
    "global_avg_pool_forward",
    "pool_global.wgsl"
);
global_pair!(
    GLOBAL_BACKWARD,
    "global_avg_pool_backward",
    "pool_global_backward.wgsl"
);

/// Which window statistic a pooling layer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolKind {
    Max,
    Avg,
}

/// A 2-D pooling layer. `same_padding`: out = ceil(in/stride) with TF "same" padding
/// (pad_total = max((out-1)*s + k - in, 0), pad_before = pad_total/2); else "valid":
/// out = (in - k)/s + 1. Avg with padding divides by the number of non-padding elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool2dSpec {
    pub kind: PoolKind,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub same_padding: bool,
}

impl Pool2dSpec {
    /// Output height and width for an input of `in_hw`; an error if the window does not fit.
    pub fn output_hw(&self, in_hw: [usize; 2]) -> Result<[usize; 2], KernelError> {
        let name = self.forward_name();
        if self.kernel.contains(&0) || self.stride.contains(&0) {
            return Err(argument_error(
                name,
                format!(
                    "window {:?} and stride {:?} must be at least 1",
                    self.kernel, self.stride
                ),
            ));
        }
        if in_hw.contains(&0) {
            return Err(shape_error(name, format!("input plane {in_hw:?} is empty")));
        }
        let mut out = [0; 2];
        for d in 0..2 {
            out[d] = if self.same_padding {
                in_hw[d].div_ceil(self.stride[d])
            } else if in_hw[d] >= self.kernel[d] {
                (in_hw[d] - self.kernel[d]) / self.stride[d] + 1
            } else {
                return Err(shape_error(
                    name,
                    format!(
                        "input plane {in_hw:?} is smaller than the window {:?} (valid padding)",
                        self.kernel
                    ),
                ));
            };
        }
        Ok(out)
    }

    /// Padding before the first row and column (TF "same" rule; zero for valid).
    fn pad_before(&self, in_hw: [usize; 2], out_hw: [usize; 2]) -> [usize; 2] {
        if !self.same_padding {
            return [0; 2];
        }
        [0, 1].map(|d| {
            let total =
                ((out_hw[d] - 1) * self.stride[d] + self.kernel[d]).saturating_sub(in_hw[d]);
            total / 2
        })
    }

    fn forward_name(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => MAX_FORWARD.name,
            PoolKind::Avg => AVG_FORWARD.name,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    total: u32,
    /// Reciprocals of h, w, oh, ow, sh, sw for the shaders' division-free `udiv`.
    reciprocals: [f32; 6],
    /// Windowed kernels: PX-column blocks per row, and its reciprocal.
    blocks: u32,
    rblocks: f32,
    _pad: u32,
}

/// 1/d rounded to f32, the form `udiv` (shaders/udiv.wgsl) takes divisors in.
fn reciprocal(d: usize) -> f32 {
    (1.0 / d as f64) as f32
}

/// Checks x [N,C,H,W] against y [N,C,OH,OW] for `spec` and builds the parameter block;
/// `total` is the element count of whichever side the kernel iterates over.
fn pool_params(
    kernel: &'static str,
    spec: &Pool2dSpec,
    x: (&str, &Tensor),
    y: (&str, &Tensor),
    over_input: bool,
) -> Result<Params, KernelError> {
    has_rank(kernel, x.0, x.1, 4)?;
    let s = x.1.shape();
    let in_hw = [s[2], s[3]];
    let out_hw = spec.output_hw(in_hw).map_err(|e| match e {
        KernelError::Shape { message, .. } => {
            shape_error(kernel, format!("{} is {s:?}: {message}", x.0))
        }
        other => other,
    })?;
    let want = [s[0], s[1], out_hw[0], out_hw[1]];
    if y.1.shape() != want {
        return Err(shape_error(
            kernel,
            format!(
                "{} is {s:?}, so {} must be {want:?} for {spec:?}, but it is {:?}",
                x.0,
                y.0,
                y.1.shape()
            ),
        ));
    }
    has_dtype(kernel, x.0, x.1, DType::F32)?;
    has_dtype(kernel, y.0, y.1, DType::F32)?;
    fits_u32(kernel, "elements", x.1.numel().max(y.1.numel()))?;
    let pad = spec.pad_before(in_hw, out_hw);
    let total = if over_input { x.1.numel() } else { y.1.numel() };
    Ok(Params {
        h: in_hw[0] as u32,
        w: in_hw[1] as u32,
        oh: out_hw[0] as u32,
        ow: out_hw[1] as u32,
        kh: spec.kernel[0] as u32,
        kw: spec.kernel[1] as u32,
        sh: spec.stride[0] as u32,
        sw: spec.stride[1] as u32,
        ph: pad[0] as u32,
        pw: pad[1] as u32,
        total: total as u32,
        reciprocals: [
            in_hw[0],
            in_hw[1],
            out_hw[0],
            out_hw[1],
            spec.stride[0],
            spec.stride[1],
        ]
        .map(reciprocal),
        blocks: 0,
        rblocks: 0.0,
        _pad: 0,
    })
}

/// Whether `spec` runs on the windowed kernels (pool_window*.wgsl).
fn windowed(spec: &Pool2dSpec) -> bool {
    spec.kernel[1] <= WINDOW_MAX_K && spec.stride[1] <= WINDOW_MAX_STRIDE
}

/// `window` where `spec` runs windowed, else the one-element `plain`.
fn kernel_for(
    spec: &Pool2dSpec,
    window: &'static KernelDef,
    plain: &'static KernelDef,
) -> &'static KernelDef {
    if windowed(spec) { window } else { plain }
}

/// Sets `p` up for a windowed kernel over `rows` rows of `cols` columns (each PX columns a
/// block): the block count and the invocation count; returns the template values.
fn window_launch(
    kernel: &'static str,
    p: &mut Params,
    rows: usize,
    cols: usize,
    stride: usize,
) -> Result<(Specialisation, usize), KernelError> {
    let blocks = cols.div_ceil(WINDOW_PX);
    let lanes = rows * blocks;
    p.blocks = blocks as u32;
    p.rblocks = reciprocal(blocks);
    p.total = fits_u32(kernel, "invocations", lanes)?;
    Ok((vec![("SW", stride.to_string())], lanes))
}

/// Max pooling needs the argmax tensor (U32, shaped like y); average pooling must pass None.
fn check_argmax<'a>(
    kernel: &'static str,
    spec: &Pool2dSpec,
    argmax: Option<&'a Tensor>,
    y: &Tensor,
) -> Result<Option<&'a Tensor>, KernelError> {
    match (spec.kind, argmax) {
        (PoolKind::Max, Some(a)) => {
            has_shape(kernel, "argmax", a, y.shape())?;
            has_dtype(kernel, "argmax", a, DType::U32)?;
            Ok(Some(a))
        }
        (PoolKind::Max, None) => Err(argument_error(
            kernel,
            "max pooling needs an argmax tensor (U32, shaped like the output)",
        )),
        (PoolKind::Avg, None) => Ok(None),
        (PoolKind::Avg, Some(_)) => Err(argument_error(
            kernel,
            "average pooling takes no argmax tensor",
        )),
    }
}

/// y = pool(x) over NCHW planes. Max also writes `argmax` (U32, shaped like y: flat index
/// h*W + w into the input plane, first maximum on ties) for the backward pass; Avg passes None.
pub fn pool2d_forward(
    gpu: &Gpu,
    x: &Tensor,
    y: &Tensor,
    argmax: Option<&Tensor>,
    spec: Pool2dSpec,
) -> Result<Launch, KernelError> {
    let name = spec.forward_name();
    let mut p = pool_params(name, &spec, ("x", x), ("y", y), false)?;
    distinct(name, ("y", y), &[("x", x)])?;
    let argmax = check_argmax(name, &spec, argmax, y)?;
    let (template, lanes) = if windowed(&spec) {
        let s = y.shape();
        window_launch(name, &mut p, s[0] * s[1] * s[2], s[3], spec.stride[1])?
    } else {
        (vec![], y.numel())
    };
    let grid = grid_1d(gpu, lanes, WG);
    let (kernel, bindings) = match argmax {
        Some(a) => {
            distinct(name, ("argmax", a), &[("x", x), ("y", y)])?;
            let kernel = kernel_for(&spec, &MAX_WINDOW_FORWARD, &MAX_FORWARD);
            (kernel, vec![x.binding(), y.binding(), a.binding()])
        }
        None => {
            let kernel = kernel_for(&spec, &AVG_WINDOW_FORWARD, &AVG_FORWARD);
            (kernel, vec![x.binding(), y.binding()])
        }
    };
    Ok(Launch::new(
        gpu,
        kernel,
        &template,
        bytemuck::bytes_of(&p),
        &bindings,
        grid,
    ))
}

/// dx (overwritten) = gradient of the pooling for upstream dy. Each input element sums, in
/// row-major window order, the windows that picked it (Max) or cover it (Avg).
pub fn pool2d_backward(
    gpu: &Gpu,
    dy: &Tensor,
    argmax: Option<&Tensor>,
    dx: &Tensor,
    spec: Pool2dSpec,
) -> Result<Launch, KernelError> {
    let name = match spec.kind {
        PoolKind::Max => MAX_BACKWARD.name,
        PoolKind::Avg => AVG_BACKWARD.name,
    };
    let mut p = pool_params(name, &spec, ("dx", dx), ("dy", dy), true)?;
    distinct(name, ("dx", dx), &[("dy", dy)])?;
    let argmax = check_argmax(name, &spec, argmax, dy)?;
    let (template, lanes) = if windowed(&spec) {
        // One lane row per (plane, column phase, input row); a phase holds every stride-th
        // column.
        let s = dx.shape();
        let stride = spec.stride[1];
        let rows = s[0] * s[1] * stride * s[2];
        window_launch(name, &mut p, rows, s[3].div_ceil(stride), stride)?
    } else {
        (vec![], dx.numel())
    };
    let grid = grid_1d(gpu, lanes, WG);
    let (kernel, bindings) = match argmax {
        Some(a) => {
            distinct(name, ("dx", dx), &[("argmax", a)])?;
            let kernel = kernel_for(&spec, &MAX_WINDOW_BACKWARD, &MAX_BACKWARD);
            (kernel, vec![dy.binding(), a.binding(), dx.binding()])
        }
        None => {
            let kernel = kernel_for(&spec, &AVG_WINDOW_BACKWARD, &AVG_BACKWARD);
            (kernel, vec![dy.binding(), dx.binding()])
        }
    };
    Ok(Launch::new(
        gpu,
        kernel,
        &template,
        bytemuck::bytes_of(&p),
        &bindings,
        grid,
    ))
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GlobalParams {
    planes: u32,
    /// Units per plane: H*W/4 when H*W % 4 == 0 (vec4 kernels), else H*W.
    hw: u32,
    elements: u32,
    rhw: f32,
}

impl GlobalParams {
    /// Index into the `[scalar, vec4]` kernel pairs.
    fn variant(&self) -> usize {
        (self.hw != self.elements) as usize
    }
}

/// Largest plane (elements) that global average pooling sums with one invocation per plane
/// (no barriers: on lavapipe 2-18x faster than a workgroup per plane up to 32x32); larger
/// planes get a workgroup each, which keeps GPU loads coalesced.
const GLOBAL_ROWS_MAX: u32 = 1024;

/// Checks image [N,C,H,W] against pooled [N,C] and builds the parameter block.
fn global_params(
    kernel: &'static str,
    image: (&str, &Tensor),
    pooled: (&str, &Tensor),
) -> Result<GlobalParams, KernelError> {
    has_rank(kernel, image.0, image.1, 4)?;
    let s = image.1.shape();
    if pooled.1.shape() != [s[0], s[1]] || s[2] * s[3] == 0 {
        return Err(shape_error(
            kernel,
            format!(
                "{} is {s:?}, so {} must be [{}, {}] (and the plane non-empty), but it is {:?}",
                image.0,
                pooled.0,
                s[0],
                s[1],
                pooled.1.shape()
            ),
        ));
    }
    has_dtype(kernel, image.0, image.1, DType::F32)?;
    has_dtype(kernel, pooled.0, pooled.1, DType::F32)?;
    fits_u32(kernel, "elements", image.1.numel())?;
    let elements = s[2] * s[3];
    let hw = if elements.is_multiple_of(4) {
        elements / 4
    } else {
        elements
    };
    Ok(GlobalParams {
        planes: (s[0] * s[1]) as u32,
        hw: hw as u32,
        elements: elements as u32,
        rhw: reciprocal(hw),
    })
}

/// y [N,C] = mean of x [N,C,H,W] over each plane (fixed-order sums: bit-identical reruns).
pub fn global_avg_pool_forward(gpu: &Gpu, x: &Tensor, y: &Tensor) -> Result<Launch, KernelError> {
    let name = GLOBAL_FORWARD[0].name;
    let p = global_params(name, ("x", x), ("y", y))?;
    distinct(name, ("y", y), &[("x", x)])?;
    let (kernel, grid) = if p.elements <= GLOBAL_ROWS_MAX {
        let rows = &GLOBAL_ROWS[p.variant()];
        (rows, grid_1d(gpu, y.numel(), GLOBAL_WG))
    } else {
        (&GLOBAL_FORWARD[p.variant()], grid_1d(gpu, y.numel(), 1))
    };
    Ok(Launch::new(
        gpu,
        kernel,
        &vec![],
        bytemuck::bytes_of(&p),
        &[x.binding(), y.binding()],
        grid,
    ))
}

/// dx [N,C,H,W] (overwritten) = dy [N,C] / (H*W) broadcast over each plane.
pub fn global_avg_pool_backward(
    gpu: &Gpu,
    dy: &Tensor,
    dx: &Tensor,
) -> Result<Launch, KernelError> {
    let name = GLOBAL_BACKWARD[0].name;
    let p = global_params(name, ("dx", dx), ("dy", dy))?;
    distinct(name, ("dx", dx), &[("dy", dy)])?;
    let runs = (p.planes as usize * p.hw as usize).div_ceil(GLOBAL_ROW * GLOBAL_PER);
    Ok(Launch::new(
        gpu,
        &GLOBAL_BACKWARD[p.variant()],
        &vec![],
        bytemuck::bytes_of(&p),
        &[dy.binding(), dx.binding()],
        grid_1d(gpu, runs * GLOBAL_ROW, GLOBAL_WG),
    ))
}
