//! Copying a u32 vector into a slice of a larger one (collecting sampled ids for one readback).

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype};
use super::error::{KernelError, shape_error};

static COPY_U32: KernelDef = KernelDef {
    name: "copy_u32",
    source: include_str!("../../shaders/copy_u32.wgsl"),
    entry: "copy_u32",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    dst_offset: u32,
    _pad: [u32; 2],
}

/// `dst[offset .. offset + src.len()] = src` for U32 tensors.
pub fn copy_u32_into(
    gpu: &Gpu,
    src: &Tensor,
    dst: &Tensor,
    offset: usize,
) -> Result<Launch, KernelError> {
    let name = COPY_U32.name;
    has_dtype(name, "src", src, DType::U32)?;
    has_dtype(name, "dst", dst, DType::U32)?;
    if offset + src.numel() > dst.numel() {
        return Err(shape_error(
            name,
            format!(
                "src {:?} at offset {offset} does not fit in dst {:?}",
                src.shape(),
                dst.shape()
            ),
        ));
    }
    distinct(name, ("dst", dst), &[("src", src)])?;
    let p = Params {
        n: fits_u32(name, "src", src.numel())?,
        dst_offset: fits_u32(name, "offset", offset)?,
        _pad: [0; 2],
    };
    Ok(Launch::new(
        gpu,
        &COPY_U32,
        &vec![],
        bytemuck::bytes_of(&p),
        &[src.binding(), dst.binding()],
        grid_1d(gpu, src.numel(), 64),
    ))
}
