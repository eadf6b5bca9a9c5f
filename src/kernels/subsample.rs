//! Strided subsampling of NCHW planes on a shifted grid (`y[n, c, i, j] = x[n, c, off_h + i *
//! s_h, off_w + j * s_w]`, zeros past the image) and its adjoint. The second path of a
//! factorized reduction reads `x[2i+1, 2j+1]`: subsampled first, its 1x1 conv runs on the
//! fast dense conv kernels instead of a shifted grouped conv.

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, has_shape};
use super::error::{KernelError, argument_error, shape_error};

static FORWARD: KernelDef = KernelDef {
    name: "subsample",
    source: include_str!("../../shaders/subsample.wgsl"),
    entry: "subsample_forward",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};
static BACKWARD: KernelDef = KernelDef {
    name: "subsample_backward",
    source: include_str!("../../shaders/subsample.wgsl"),
    entry: "subsample_backward",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};

/// Grid offset and stride per spatial axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubsampleSpec {
    pub offset: [usize; 2],
    pub stride: [usize; 2],
}

impl SubsampleSpec {
    /// Output height and width for an input of `in_hw`: `ceil(H / s)` per axis, the size of a
    /// same-padded strided 1x1 conv (positions past the image read 0).
    pub fn output_hw(&self, in_hw: [usize; 2]) -> [usize; 2] {
        [0, 1].map(|d| in_hw[d].div_ceil(self.stride[d].max(1)))
    }

    /// Refuses strides of 0 and offsets not below the stride.
    pub fn check(&self, kernel: &'static str) -> Result<(), KernelError> {
        if (0..2).any(|d| self.stride[d] == 0 || self.offset[d] >= self.stride[d]) {
            return Err(argument_error(
                kernel,
                format!(
                    "offset {:?} and stride {:?}: strides must be at least 1 and offsets below them",
                    self.offset, self.stride
                ),
            ));
        }
        Ok(())
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    planes: u32,
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    off_h: u32,
    off_w: u32,
    s_h: u32,
    s_w: u32,
    _pad: [u32; 3],
}

/// Checks `x` `[N, C, H, W]` against `y` `[N, C, OH, OW]` and returns the parameters.
fn params(
    kernel: &'static str,
    x: &Tensor,
    y: &Tensor,
    spec: SubsampleSpec,
) -> Result<Params, KernelError> {
    spec.check(kernel)?;
    has_dtype(kernel, "x", x, DType::F32)?;
    has_dtype(kernel, "y", y, DType::F32)?;
    let &[n, c, h, w] = x.shape() else {
        return Err(shape_error(
            kernel,
            format!("x must be [N, C, H, W], got {:?}", x.shape()),
        ));
    };
    let [oh, ow] = spec.output_hw([h, w]);
    has_shape(kernel, "y", y, &[n, c, oh, ow])?;
    Ok(Params {
        planes: fits_u32(kernel, "planes", n * c)?,
        h: h as u32,
        w: w as u32,
        oh: oh as u32,
        ow: ow as u32,
        off_h: spec.offset[0] as u32,
        off_w: spec.offset[1] as u32,
        s_h: spec.stride[0] as u32,
        s_w: spec.stride[1] as u32,
        _pad: [0; 3],
    })
}

/// `y = x` subsampled on the grid of `spec` (`y` `[N, C, ceil(H / s_h), ceil(W / s_w)]`).
pub fn subsample(
    gpu: &Gpu,
    x: &Tensor,
    y: &Tensor,
    spec: SubsampleSpec,
) -> Result<Launch, KernelError> {
    let p = params(FORWARD.name, x, y, spec)?;
    distinct(FORWARD.name, ("y", y), &[("x", x)])?;
    fits_u32(FORWARD.name, "y", y.numel())?;
    let rows = (p.planes * p.oh) as usize;
    Ok(Launch::new(
        gpu,
        &FORWARD,
        &vec![],
        bytemuck::bytes_of(&p),
        &[x.binding(), y.binding()],
        grid_1d(gpu, rows, 64),
    ))
}

/// `dx` (overwritten) = the adjoint of `subsample` applied to `dy`: `dy`'s values at their grid
/// positions, zeros elsewhere.
pub fn subsample_backward(
    gpu: &Gpu,
    dy: &Tensor,
    dx: &Tensor,
    spec: SubsampleSpec,
) -> Result<Launch, KernelError> {
    let p = params(BACKWARD.name, dx, dy, spec)?;
    distinct(BACKWARD.name, ("dx", dx), &[("dy", dy)])?;
    fits_u32(BACKWARD.name, "dx", dx.numel())?;
    let rows = (p.planes * p.h) as usize;
    Ok(Launch::new(
        gpu,
        &BACKWARD,
        &vec![],
        bytemuck::bytes_of(&p),
        &[dy.binding(), dx.binding()],
        grid_1d(gpu, rows, 64),
    ))
}
