//! Weighted sums of same-shaped tensors, `y = sum_j c[pos_j] * x_j`, and their gradients: the
//! DARTS mixed operation (`c = softmax(alpha)`, gradient to alpha too), the ENAS node (`c` a u32
//! 0/1 mask of the chosen inputs on the device) and plain sums (`c = 1`). Operands go four per
//! launch (the first launch writes y, the next add onto it); each operand names the coefficient
//! it takes, so absent operands (DARTS `none`) still count in the softmax.

use std::sync::Arc;

use crate::device::{Access, Binding, Gpu, KernelDef, Launch, Specialisation, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, has_shape, same_shape};
use super::elementwise;
use super::error::{KernelError, argument_error, shape_error};

/// Operands per launch.
pub const PER_LAUNCH: usize = 4;
/// Most coefficients (the present-operand mask is a u32).
pub const MAX_COEFFICIENTS: usize = 32;

const WG: u32 = 64;
const ROW: usize = 8;
const PER: usize = 8;
/// Fewest units per chunk of the dot products, and the number of chunks aimed at beyond that.
const MIN_CHUNK: usize = 256;
const TARGET_CHUNKS: usize = 512;

macro_rules! common {
    ($file:literal) => {
        concat!(
            include_str!("../../shaders/weighted_sum_common.wgsl"),
            include_str!(concat!("../../shaders/", $file))
        )
    };
}

/// Scatter bindings: uniform, coefficients, dy, then `m` written gradients.
const fn scatter_bindings(m: usize) -> &'static [Access] {
    const S: [&[Access]; 4] = [
        &[
            Access::Uniform,
            Access::Read,
            Access::Read,
            Access::ReadWrite,
        ],
        &[
            Access::Uniform,
            Access::Read,
            Access::Read,
            Access::ReadWrite,
            Access::ReadWrite,
        ],
        &[
            Access::Uniform,
            Access::Read,
            Access::Read,
            Access::ReadWrite,
            Access::ReadWrite,
            Access::ReadWrite,
        ],
        &[
            Access::Uniform,
            Access::Read,
            Access::Read,
            Access::ReadWrite,
            Access::ReadWrite,
            Access::ReadWrite,
            Access::ReadWrite,
        ],
    ];
    S[m - 1]
}

/// Binding lists: uniform, coefficients, `reads` read-only buffers, one read-write buffer.
const fn reads_then_write(reads: usize) -> &'static [Access] {
    const R: [&[Access]; 6] = [
        &[Access::Uniform, Access::Read, Access::ReadWrite],
        &[
            Access::Uniform,
            Access::Read,
            Access::Read,
            Access::ReadWrite,
        ],
        &[
            Access::Uniform,
            Access::Read,
            Access::Read,
            Access::Read,
            Access::ReadWrite,
        ],
        &[
            Access::Uniform,
            Access::Read,
            Access::Read,
            Access::Read,
            Access::Read,
            Access::ReadWrite,
        ],
        &[
            Access::Uniform,
            Access::Read,
            Access::Read,
            Access::Read,
            Access::Read,
            Access::Read,
            Access::ReadWrite,
        ],
        &[
            Access::Uniform,
            Access::Read,
            Access::Read,
            Access::Read,
            Access::Read,
            Access::Read,
            Access::Read,
            Access::ReadWrite,
        ],
    ];
    R[reads]
}

macro_rules! defs {
    ($name:literal, $file:literal, $entry:literal, $bind:expr) => {
        [
            KernelDef {
                name: $name,
                source: common!($file),
                entry: $entry,
                bindings: $bind(1),
            },
            KernelDef {
                name: $name,
                source: common!($file),
                entry: $entry,
                bindings: $bind(2),
            },
            KernelDef {
                name: $name,
                source: common!($file),
                entry: $entry,
                bindings: $bind(3),
            },
            KernelDef {
                name: $name,
                source: common!($file),
                entry: $entry,
                bindings: $bind(4),
            },
        ]
    };
}

const fn forward_bindings(m: usize) -> &'static [Access] {
    reads_then_write(m)
}
const fn dots_bindings(m: usize) -> &'static [Access] {
    reads_then_write(m + 1)
}

// One definition per arity (the bindings differ); the arity is also in the specialisation, so
// the cache keys differ too.
static FORWARD: [KernelDef; 4] = defs!(
    "weighted_sum",
    "weighted_sum_forward.wgsl",
    "wsum_forward",
    forward_bindings
);
static SCATTER: [KernelDef; 4] = defs!(
    "weighted_sum_backward_terms",
    "weighted_sum_scatter.wgsl",
    "wsum_scatter",
    scatter_bindings
);
static DOTS: [KernelDef; 4] = defs!(
    "weighted_sum_dots",
    "weighted_sum_dots.wgsl",
    "wsum_dots",
    dots_bindings
);
static SOFTMAX_BACKWARD: KernelDef = KernelDef {
    name: "weighted_sum_softmax_backward",
    source: common!("weighted_sum_softmax_backward.wgsl"),
    entry: "wsum_softmax_backward",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
};

/// Where the coefficients come from.
#[derive(Debug, Clone, Copy)]
pub enum Coefficients<'a> {
    /// `c = softmax(alpha)` over all of alpha `[k]` (f32).
    Softmax(&'a Tensor),
    /// `c = mask` `[k]` (u32, usually 0/1: which inputs an ENAS node sums).
    Mask(&'a Tensor),
    /// `c = 1` for every operand (positions are ignored).
    Ones,
}

impl Coefficients<'_> {
    fn mode(&self) -> u32 {
        match self {
            Coefficients::Softmax(_) => 0,
            Coefficients::Mask(_) => 1,
            Coefficients::Ones => 2,
        }
    }

    fn tensor(&self) -> Option<&Tensor> {
        match self {
            Coefficients::Softmax(t) | Coefficients::Mask(t) => Some(t),
            Coefficients::Ones => None,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    k: u32,
    mode: u32,
    accumulate: u32,
    pos: [u32; 4],
    chunk: u32,
    chunks: u32,
    present: u32,
    _pad: u32,
}

/// Checks the coefficients and operands; returns k (the coefficient count).
fn check(
    kernel: &'static str,
    coef: &Coefficients<'_>,
    shaped: &Tensor,
    terms: &[(usize, &Tensor)],
) -> Result<usize, KernelError> {
    let k = match coef {
        Coefficients::Softmax(a) | Coefficients::Mask(a) => {
            let (name, dtype) = match coef {
                Coefficients::Softmax(_) => ("alpha", DType::F32),
                _ => ("mask", DType::U32),
            };
            has_dtype(kernel, name, a, dtype)?;
            if a.shape().len() != 1 || a.numel() == 0 || a.numel() > MAX_COEFFICIENTS {
                return Err(shape_error(
                    kernel,
                    format!(
                        "{name} is {:?}, expected [k] with 1 <= k <= {MAX_COEFFICIENTS}",
                        a.shape()
                    ),
                ));
            }
            a.numel()
        }
        Coefficients::Ones => terms.len().max(1),
    };
    has_dtype(kernel, "output", shaped, DType::F32)?;
    fits_u32(kernel, "elements", shaped.numel())?;
    let mut seen = 0u64;
    for (j, &(pos, t)) in terms.iter().enumerate() {
        same_shape(kernel, ["operand", "output"], t, shaped)?;
        has_dtype(kernel, "operand", t, DType::F32)?;
        if !matches!(coef, Coefficients::Ones) && (pos >= k || seen & (1 << pos) != 0) {
            return Err(argument_error(
                kernel,
                format!(
                    "operand {j} takes coefficient {pos}: positions must be distinct and below {k}"
                ),
            ));
        }
        seen |= 1 << pos.min(63);
    }
    Ok(k)
}

/// How the dot products of `weighted_sum_backward_alpha` over `elements` values are chunked:
/// (elements per chunk, chunks). Each chunk is summed in order, then the chunks in order.
pub fn dot_chunking(elements: usize) -> (usize, usize) {
    let (units, _, _) = unit(elements);
    let chunk = MIN_CHUNK.max(units.div_ceil(TARGET_CHUNKS));
    (chunk * (elements / units.max(1)), units.div_ceil(chunk))
}

/// Vec4 units when the element count allows, the unit type, and the dot product of two units.
fn unit(elements: usize) -> (usize, &'static str, &'static str) {
    if elements.is_multiple_of(4) {
        (elements / 4, "vec4<f32>", "dot(a, b)")
    } else {
        (elements, "f32", "a * b")
    }
}

fn decl(binding: usize, name: &str, write: bool) -> String {
    let access = if write { "read_write" } else { "read" };
    format!("@group(0) @binding({binding}) var<storage, {access}> {name}: array<Unit>;\n")
}

fn spec(unit: &str, dot: &str, decls: String, body: String, tail: String) -> Specialisation {
    vec![
        ("UNIT", unit.to_string()),
        ("DOT", dot.to_string()),
        ("DECLS", decls),
        ("BODY", body),
        ("TAIL", tail),
    ]
}

fn positions(coef: &Coefficients<'_>, chunk: &[(usize, &Tensor)]) -> [u32; 4] {
    let mut pos = [0u32; 4];
    for (j, &(p, _)) in chunk.iter().enumerate() {
        pos[j] = if matches!(coef, Coefficients::Ones) {
            0
        } else {
            p as u32
        };
    }
    pos
}

/// `y = sum_j c[pos_j] * x_j` over `terms` = (pos_j, x_j), all shaped like y; no terms: y = 0.
pub fn weighted_sum(
    gpu: &Gpu,
    coef: Coefficients<'_>,
    terms: &[(usize, &Tensor)],
    y: &Tensor,
) -> Result<Vec<Launch>, KernelError> {
    const K: &str = "weighted_sum";
    let k = check(K, &coef, y, terms)?;
    let mut inputs: Vec<(&str, &Tensor)> = terms.iter().map(|t| ("operand", t.1)).collect();
    inputs.extend(coef.tensor().map(|c| ("coefficients", c)));
    distinct(K, ("y", y), &inputs)?;
    if terms.is_empty() {
        return Ok(vec![elementwise::fill(gpu, y, 0.0)?]);
    }
    let (units, unit_ty, dot) = unit(y.numel());
    let mut out = Vec::new();
    for (c, chunk) in terms.chunks(PER_LAUNCH).enumerate() {
        let m = chunk.len();
        let mut decls = String::new();
        let mut body = String::new();
        for j in 0..m {
            decls += &decl(2 + j, &format!("x{j}"), false);
            body += &format!("s += cw[{j}] * x{j}[i];\n");
        }
        decls += &decl(2 + m, "y", true);
        let p = Params {
            n: units as u32,
            k: k as u32,
            mode: coef.mode(),
            accumulate: (c > 0) as u32,
            pos: positions(&coef, chunk),
            ..Default::default()
        };
        let cbind = coef.tensor().unwrap_or(chunk[0].1).binding();
        let mut binds = vec![cbind];
        binds.extend(chunk.iter().map(|t| t.1.binding()));
        binds.push(y.binding());
        out.push(Launch::new(
            gpu,
            &FORWARD[m - 1],
            &spec(unit_ty, dot, decls, body, String::new()),
            bytemuck::bytes_of(&p),
            &binds,
            grid_1d(gpu, units.div_ceil(ROW * PER) * ROW, WG),
        ));
    }
    Ok(out)
}

/// Gradients to the operands: `dx_j = c[pos_j] * dy` for `grads` = (pos_j, dx_j).
pub fn weighted_sum_backward_terms(
    gpu: &Gpu,
    coef: Coefficients<'_>,
    dy: &Tensor,
    grads: &[(usize, &Tensor)],
) -> Result<Vec<Launch>, KernelError> {
    const K: &str = "weighted_sum_backward_terms";
    let k = check(K, &coef, dy, grads)?;
    for (j, &(_, dx)) in grads.iter().enumerate() {
        let mut inputs = vec![("dy", dy)];
        inputs.extend(coef.tensor().map(|c| ("coefficients", c)));
        distinct(K, ("dx", dx), &inputs)?;
        if grads[..j].iter().any(|g| g.1.same_buffer(dx)) {
            return Err(argument_error(K, "two gradients share one buffer"));
        }
    }
    let (units, unit_ty, dot) = unit(dy.numel());
    let mut out = Vec::new();
    for chunk in grads.chunks(PER_LAUNCH) {
        let m = chunk.len();
        let mut decls = decl(2, "dy", false);
        let mut body = String::new();
        for j in 0..m {
            decls += &decl(3 + j, &format!("dx{j}"), true);
            body += &format!("dx{j}[i] = cw[{j}] * g;\n");
        }
        let p = Params {
            n: units as u32,
            k: k as u32,
            mode: coef.mode(),
            pos: positions(&coef, chunk),
            ..Default::default()
        };
        let mut binds = vec![coef.tensor().unwrap_or(dy).binding(), dy.binding()];
        binds.extend(chunk.iter().map(|t| t.1.binding()));
        out.push(Launch::new(
            gpu,
            &SCATTER[m - 1],
            &spec(unit_ty, dot, decls, body, String::new()),
            bytemuck::bytes_of(&p),
            &binds,
            grid_1d(gpu, units.div_ceil(ROW * PER) * ROW, WG),
        ));
    }
    Ok(out)
}

/// Gradient to alpha of `y = sum_j softmax(alpha)[pos_j] * x_j`: `dalpha` `[k]` (overwritten)
/// from `dy` and the operands. Coefficients without an operand (zero ops) still get a gradient.
pub fn weighted_sum_backward_alpha(
    gpu: &Gpu,
    alpha: &Tensor,
    dy: &Tensor,
    terms: &[(usize, &Tensor)],
    dalpha: &Tensor,
) -> Result<Vec<Launch>, KernelError> {
    const K: &str = "weighted_sum_backward_alpha";
    let coef = Coefficients::Softmax(alpha);
    let k = check(K, &coef, dy, terms)?;
    has_shape(K, "dalpha", dalpha, &[k])?;
    has_dtype(K, "dalpha", dalpha, DType::F32)?;
    let mut inputs: Vec<(&str, &Tensor)> = terms.iter().map(|t| ("operand", t.1)).collect();
    inputs.push(("alpha", alpha));
    inputs.push(("dy", dy));
    distinct(K, ("dalpha", dalpha), &inputs)?;
    let (units, unit_ty, dot) = unit(dy.numel());
    let chunk = MIN_CHUNK.max(units.div_ceil(TARGET_CHUNKS));
    let chunks = units.div_ceil(chunk);
    let present = terms.iter().fold(0u32, |m, t| m | (1 << t.0));
    let mut p = Params {
        n: units as u32,
        k: k as u32,
        mode: 0,
        chunk: chunk as u32,
        chunks: chunks as u32,
        present,
        ..Default::default()
    };
    let bytes = (k * chunks * 4) as u64;
    let scratch = Arc::new(gpu.storage(bytes, "weighted sum dot partials")?);
    let part = Binding {
        buffer: scratch.raw(),
        bytes,
        owner: Some(&scratch),
    };
    let mut out = Vec::new();
    for group in terms.chunks(PER_LAUNCH) {
        let m = group.len();
        let mut decls = decl(2, "dy", false);
        let mut body = String::new();
        let mut tail = String::new();
        for j in 0..m {
            decls += &decl(3 + j, &format!("x{j}"), false);
            body += &format!("s[{j}] += udot(g, x{j}[i]);\n");
            tail += &format!("part[p.pos[{j}] * p.chunks + c] = s[{j}];\n");
        }
        decls += &format!(
            "@group(0) @binding({}) var<storage, read_write> part: array<f32>;\n",
            3 + m
        );
        p.pos = positions(&coef, group);
        let mut binds = vec![alpha.binding(), dy.binding()];
        binds.extend(group.iter().map(|t| t.1.binding()));
        binds.push(part);
        out.push(Launch::new(
            gpu,
            &DOTS[m - 1],
            &spec(unit_ty, dot, decls, body, tail),
            bytemuck::bytes_of(&p),
            &binds,
            grid_1d(gpu, chunks, WG),
        ));
    }
    let part_or_dummy = if terms.is_empty() { dy.binding() } else { part };
    out.push(Launch::new(
        gpu,
        &SOFTMAX_BACKWARD,
        &spec("f32", "a * b", String::new(), String::new(), String::new()),
        bytemuck::bytes_of(&p),
        &[alpha.binding(), part_or_dummy, dalpha.binding()],
        grid_1d(gpu, k, WG),
    ));
    Ok(out)
}
