//! Sum or mean over one axis, in a fixed order so reruns are bit-identical. Long axes take several
//! passes: each pass reduces chunks of the axis to partials in a scratch tensor the launch owns,
//! and the next pass reduces the partials, until one chunk covers the axis.

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype};
use super::error::{KernelError, shape_error};

const SRC: &str = include_str!("../../shaders/reduce.wgsl");
const BINDINGS: &[Access] = &[Access::Uniform, Access::Read, Access::ReadWrite];

static REDUCE_ROWS: KernelDef = KernelDef {
    name: "reduce_rows",
    source: SRC,
    entry: "reduce_rows",
    bindings: BINDINGS,
};
static REDUCE_COLS: KernelDef = KernelDef {
    name: "reduce_cols",
    source: SRC,
    entry: "reduce_cols",
    bindings: BINDINGS,
};

/// Workgroup size of `reduce_cols` (must match `WG` in the shader; `reduce_rows` runs one
/// workgroup per row chunk).
const WG: u32 = 256;
/// Axis positions one `reduce_rows` workgroup sums: 32 per invocation of its 64.
const ROWS_CHUNK: usize = 2048;
/// Axis positions one `reduce_cols` invocation sums sequentially.
const COLS_CHUNK: usize = 256;
/// A contiguous axis up to this long is summed by one invocation per row (a workgroup tree
/// would leave most of its invocations idle).
const ROWS_SEQUENTIAL_MAX: usize = 64;

/// How an axis is combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    Sum,
    Mean,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    outer: u32,
    len: u32,
    inner: u32,
    chunk: u32,
    nchunks: u32,
    divisor: f32,
    _pad: [u32; 2],
}

/// The shape of `x` reduced over `axis`: that axis removed, or `[1]` for a rank-1 `x`.
pub fn reduced_shape(shape: &[usize], axis: usize) -> Vec<usize> {
    let mut out: Vec<usize> = shape
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != axis)
        .map(|(_, &d)| d)
        .collect();
    if out.is_empty() {
        out.push(1);
    }
    out
}

/// `y = x` reduced over `axis` (y's shape is x's with that axis removed; a rank-1 x gives `[1]`).
pub fn reduce_axis(
    gpu: &Gpu,
    x: &Tensor,
    axis: usize,
    reduction: Reduction,
    y: &Tensor,
) -> Result<Vec<Launch>, KernelError> {
    const NAME: &str = "reduce_axis";
    let shape = x.shape();
    if axis >= shape.len() {
        return Err(shape_error(
            NAME,
            format!(
                "x is {shape:?} (rank {}), cannot reduce axis {axis}; y is {:?}",
                shape.len(),
                y.shape()
            ),
        ));
    }
    if shape.contains(&0) {
        return Err(shape_error(
            NAME,
            format!("x is {shape:?}: empty dimensions cannot be reduced"),
        ));
    }
    let want = reduced_shape(shape, axis);
    if y.shape() != want.as_slice() {
        return Err(shape_error(
            NAME,
            format!(
                "x is {shape:?}, reducing axis {axis} gives {want:?}, but y is {:?}",
                y.shape()
            ),
        ));
    }
    has_dtype(NAME, "x", x, DType::F32)?;
    has_dtype(NAME, "y", y, DType::F32)?;
    distinct(NAME, ("y", y), &[("x", x)])?;
    fits_u32(NAME, "elements of x", x.numel())?;

    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let divisor = match reduction {
        Reduction::Sum => 1.0,
        Reduction::Mean => shape[axis] as f32,
    };
    let mut launches = Vec::new();
    let mut source = x.clone();
    let mut len = shape[axis];
    loop {
        let rows = inner == 1 && len > ROWS_SEQUENTIAL_MAX;
        let chunk = if rows { ROWS_CHUNK } else { COLS_CHUNK };
        let nchunks = len.div_ceil(chunk);
        let last = nchunks == 1;
        let target = if last {
            y.clone()
        } else {
            Tensor::empty(x.gpu(), &[outer, nchunks, inner], DType::F32)?
        };
        let p = Params {
            outer: outer as u32,
            len: len as u32,
            inner: inner as u32,
            chunk: chunk as u32,
            nchunks: nchunks as u32,
            divisor: if last { divisor } else { 1.0 },
            _pad: [0; 2],
        };
        let (kernel, grid) = if rows {
            (&REDUCE_ROWS, grid_1d(gpu, outer * nchunks, 1))
        } else {
            (&REDUCE_COLS, grid_1d(gpu, outer * nchunks * inner, WG))
        };
        // Scratch partials live as long as every launch that binds them.
        launches.push(Launch::new(
            gpu,
            kernel,
            &vec![],
            bytemuck::bytes_of(&p),
            &[source.binding(), target.binding()],
            grid,
        ));
        if last {
            return Ok(launches);
        }
        source = target;
        len = nchunks;
    }
}
