//! Broadcast along an axis: the backward of axis reductions.

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::Tensor;

use super::checks::{distinct, fits_u32};
use super::error::{KernelError, shape_error};

static BROADCAST: KernelDef = KernelDef {
    name: "broadcast_axis",
    source: include_str!("../../shaders/broadcast.wgsl"),
    entry: "broadcast_axis",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    outer: u32,
    axis_len: u32,
    inner: u32,
    alpha: f32,
}

/// `y = alpha * x` repeated along `axis` of `y`; `x` has `y`'s shape without that axis
/// (or `[1]` when `y` is rank 1).
pub fn broadcast_axis(
    gpu: &Gpu,
    x: &Tensor,
    axis: usize,
    alpha: f32,
    y: &Tensor,
) -> Result<Launch, KernelError> {
    let name = BROADCAST.name;
    let ys = y.shape();
    if axis >= ys.len() {
        return Err(shape_error(
            name,
            format!("axis {axis} out of range for y {ys:?}"),
        ));
    }
    let want = super::reduce::reduced_shape(ys, axis);
    if x.shape() != want.as_slice() {
        return Err(shape_error(
            name,
            format!(
                "x is {:?} but y {ys:?} without axis {axis} is {want:?}",
                x.shape()
            ),
        ));
    }
    distinct(name, ("y", y), &[("x", x)])?;
    let p = Params {
        outer: fits_u32(name, "outer", ys[..axis].iter().product())?,
        axis_len: fits_u32(name, "axis", ys[axis])?,
        inner: fits_u32(name, "inner", ys[axis + 1..].iter().product())?,
        alpha,
    };
    Ok(Launch::new(
        gpu,
        &BROADCAST,
        &vec![],
        bytemuck::bytes_of(&p),
        &[x.binding(), y.binding()],
        grid_1d(gpu, y.numel(), 256),
    ))
}
