//! Padded channel concatenation, the NAS-RL rule for skip connections: inputs [N, Ci, Hi, Wi]
//! are zero-padded to the largest H and W (each centred, offsets floored) and concatenated along
//! channels in input order. One launch per input, so any number of inputs works.

use crate::device::{Access, Gpu, KernelDef, Launch};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype};
use super::error::{KernelError, argument_error, shape_error};

/// Workgroup width along a plane (must match the shader).
const WG: u32 = 64;
const SRC: &str = concat!(
    include_str!("../../shaders/udiv.wgsl"),
    include_str!("../../shaders/concat.wgsl")
);
const BINDINGS: &[Access] = &[Access::Uniform, Access::Read, Access::ReadWrite];

static FORWARD: KernelDef = KernelDef {
    name: "concat_forward",
    source: SRC,
    entry: "concat_forward",
    bindings: BINDINGS,
};
static BACKWARD: KernelDef = KernelDef {
    name: "concat_backward",
    source: SRC,
    entry: "concat_backward",
    bindings: BINDINGS,
};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    ci: u32,
    hi: u32,
    wi: u32,
    c_total: u32,
    hmax: u32,
    wmax: u32,
    c_off: u32,
    off_h: u32,
    off_w: u32,
    /// Reciprocals of wmax and wi for the shaders' division-free `udiv`.
    rwmax: f32,
    rwi: f32,
    _pad: u32,
}

/// Output shape [N, sum Ci, max Hi, max Wi] of concatenating NCHW inputs of these shapes.
pub fn concat_output_shape(shapes: &[&[usize]]) -> Result<Vec<usize>, KernelError> {
    shape_of("concat_output_shape", shapes)
}

fn shape_of(kernel: &'static str, shapes: &[&[usize]]) -> Result<Vec<usize>, KernelError> {
    let bad = |why: &str| shape_error(kernel, format!("inputs are {shapes:?}: {why}"));
    let Some(first) = shapes.first() else {
        return Err(bad("need at least one input"));
    };
    if shapes.iter().any(|s| s.len() != 4) {
        return Err(bad("every input must be [N, C, H, W]"));
    }
    if shapes.iter().any(|s| s[0] != first[0]) {
        return Err(bad("batch sizes differ"));
    }
    if shapes.iter().any(|s| s.contains(&0)) {
        return Err(bad("an input is empty"));
    }
    let channels = shapes.iter().map(|s| s[1]).sum();
    let h = shapes.iter().map(|s| s[2]).max().unwrap_or(0);
    let w = shapes.iter().map(|s| s[3]).max().unwrap_or(0);
    Ok(vec![first[0], channels, h, w])
}

/// Checks the inputs against y and returns, per input, its parameter block and batch size.
fn plan(
    gpu: &Gpu,
    kernel: &'static str,
    parts: &[&Tensor],
    whole: (&str, &Tensor),
) -> Result<Vec<(Params, usize)>, KernelError> {
    let shapes: Vec<&[usize]> = parts.iter().map(|t| t.shape()).collect();
    let out = shape_of(kernel, &shapes)?;
    if whole.1.shape() != out.as_slice() {
        return Err(shape_error(
            kernel,
            format!(
                "inputs are {shapes:?}, so {} must be {out:?}, but it is {:?}",
                whole.0,
                whole.1.shape()
            ),
        ));
    }
    has_dtype(kernel, whole.0, whole.1, DType::F32)?;
    fits_u32(kernel, "elements", whole.1.numel())?;
    // The grid is (plane / WG, channels, batch): each must fit the device's grid dimension.
    let max = gpu.limits.max_compute_workgroups_per_dimension as usize;
    let widest = shapes.iter().map(|s| s[1]).max().unwrap_or(0);
    if out[0] > max || widest > max || (out[2] * out[3]).div_ceil(WG as usize) > max {
        return Err(argument_error(
            kernel,
            format!(
                "inputs {shapes:?} exceed the device grid limit of {max} workgroups per dimension"
            ),
        ));
    }
    let mut c_off = 0;
    let mut params = Vec::with_capacity(parts.len());
    for t in parts {
        has_dtype(kernel, "input", t, DType::F32)?;
        let s = t.shape();
        let p = Params {
            ci: s[1] as u32,
            hi: s[2] as u32,
            wi: s[3] as u32,
            c_total: out[1] as u32,
            hmax: out[2] as u32,
            wmax: out[3] as u32,
            c_off: c_off as u32,
            off_h: ((out[2] - s[2]) / 2) as u32,
            off_w: ((out[3] - s[3]) / 2) as u32,
            rwmax: (1.0 / out[3] as f64) as f32,
            rwi: (1.0 / s[3] as f64) as f32,
            _pad: 0,
        };
        params.push((p, s[0]));
        c_off += s[1];
    }
    Ok(params)
}

/// Grid for one input: `plane` positions per (channel, sample).
fn grid(plane: usize, p: &Params, n: usize) -> [u32; 3] {
    [plane.div_ceil(WG as usize) as u32, p.ci, n as u32]
}

/// y = the inputs, each zero-padded (centred) to the largest H and W, concatenated along C.
/// Every element of y is written, padding included.
pub fn concat_padded_forward(
    gpu: &Gpu,
    inputs: &[&Tensor],
    y: &Tensor,
) -> Result<Vec<Launch>, KernelError> {
    let params = plan(gpu, FORWARD.name, inputs, ("y", y))?;
    let named: Vec<(&str, &Tensor)> = inputs.iter().map(|&t| ("input", t)).collect();
    distinct(FORWARD.name, ("y", y), &named)?;
    Ok(inputs
        .iter()
        .zip(params)
        .map(|(x, (p, n))| {
            // This input's channel range of y, padding included.
            let bindings = [x.binding(), y.binding()];
            let grid = grid(p.hmax as usize * p.wmax as usize, &p, n);
            Launch::new(
                gpu,
                &FORWARD,
                &vec![],
                bytemuck::bytes_of(&p),
                &bindings,
                grid,
            )
        })
        .collect())
}

/// grads[i] (overwritten) = the slice of dy that input i occupied, padding discarded.
pub fn concat_padded_backward(
    gpu: &Gpu,
    dy: &Tensor,
    grads: &[&Tensor],
) -> Result<Vec<Launch>, KernelError> {
    let params = plan(gpu, BACKWARD.name, grads, ("dy", dy))?;
    for (i, g) in grads.iter().enumerate() {
        distinct(BACKWARD.name, ("a gradient", g), &[("dy", dy)])?;
        let others: Vec<(&str, &Tensor)> = grads[i + 1..]
            .iter()
            .map(|&t| ("another gradient", t))
            .collect();
        distinct(BACKWARD.name, ("a gradient", g), &others)?;
    }
    Ok(grads
        .iter()
        .zip(params)
        .map(|(g, (p, n))| {
            let bindings = [dy.binding(), g.binding()];
            let grid = grid(p.hi as usize * p.wi as usize, &p, n);
            Launch::new(
                gpu,
                &BACKWARD,
                &vec![],
                bytemuck::bytes_of(&p),
                &bindings,
                grid,
            )
        })
        .collect())
}
