//! 2-D convolution with "same" padding (TensorFlow rule): forward, and backward to the input, the
//! weights and the bias. Activations NCHW, weights `[Cout, Cin, KH, KW]`.
//!
//! Every pass packs its operands into scratch buffers owned by its launches (activations as NHWC
//! with channels in vec4 groups, weights as vec4 tiles), then runs the algorithm `select` picks
//! for the shape and device (and remembers per shape): on lavapipe the subgroup kernels, which
//! share each storage load across 8 lanes, else register-blocked direct convs; on GPUs direct
//! convs for narrow layers and a workgroup-tiled implicit GEMM for wide ones. The weight
//! gradient is a split reduction summed in a fixed order. The `*_with` functions force a variant
//! (tests, benchmarks).

mod geometry;
mod pack;
mod reduce;
mod select;
mod spatial;
mod wgrad;

pub use geometry::{Conv2dShape, Conv2dSpec, conv2d_flops};
pub use select::{Pass, backward_weights_algo, spatial_algo};
pub use spatial::{SpatialAlgo, has_subgroups_of_8};
pub use wgrad::WgradAlgo;

use crate::device::{Gpu, Launch};
use crate::tensor::Tensor;

use super::error::KernelError;
use geometry::{check_bias_grad, check_data_grad, check_forward, check_weight_grad};
use spatial::SpatialPass;

/// `y = conv(x, w) + bias`: x `[N, Cin, H, W]`, w `[Cout, Cin, KH, KW]`, bias `[Cout]`,
/// y `[N, Cout, OH, OW]` with `[OH, OW] = spec.output_hw([H, W])`. Algorithm chosen by shape.
pub fn conv2d_forward(
    gpu: &Gpu,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    y: &Tensor,
    spec: Conv2dSpec,
) -> Result<Vec<Launch>, KernelError> {
    let shape = check_forward(x, w, bias, y, spec)?;
    let algo = spatial_algo(gpu, Pass::Forward, &shape);
    conv2d_forward_with(gpu, x, w, bias, y, spec, algo)
}

/// `conv2d_forward` with a forced algorithm.
pub fn conv2d_forward_with(
    gpu: &Gpu,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    y: &Tensor,
    spec: Conv2dSpec,
    algo: SpatialAlgo,
) -> Result<Vec<Launch>, KernelError> {
    let shape = check_forward(x, w, bias, y, spec)?;
    spatial::launches(gpu, &SpatialPass::forward(&shape), x, w, bias, y, algo)
}

/// Gradient to the input: `dx` (overwritten) from `dy` `[N, Cout, OH, OW]` and `w`.
pub fn conv2d_backward_data(
    gpu: &Gpu,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
    spec: Conv2dSpec,
) -> Result<Vec<Launch>, KernelError> {
    let shape = check_data_grad(dy, w, dx, spec)?;
    let algo = spatial_algo(gpu, Pass::BackwardData, &shape);
    conv2d_backward_data_with(gpu, dy, w, dx, spec, algo)
}

/// `conv2d_backward_data` with a forced algorithm.
pub fn conv2d_backward_data_with(
    gpu: &Gpu,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
    spec: Conv2dSpec,
    algo: SpatialAlgo,
) -> Result<Vec<Launch>, KernelError> {
    let shape = check_data_grad(dy, w, dx, spec)?;
    spatial::launches(
        gpu,
        &SpatialPass::backward_data(&shape),
        dy,
        w,
        None,
        dx,
        algo,
    )
}

/// Gradient to the weights: `dw` `[Cout, Cin, KH, KW]` (overwritten) from `dy` and `x`.
pub fn conv2d_backward_weights(
    gpu: &Gpu,
    dy: &Tensor,
    x: &Tensor,
    dw: &Tensor,
    spec: Conv2dSpec,
) -> Result<Vec<Launch>, KernelError> {
    let shape = check_weight_grad(dy, x, dw, spec)?;
    let algo = backward_weights_algo(gpu, &shape);
    conv2d_backward_weights_with(gpu, dy, x, dw, spec, algo)
}

/// `conv2d_backward_weights` with a forced algorithm.
pub fn conv2d_backward_weights_with(
    gpu: &Gpu,
    dy: &Tensor,
    x: &Tensor,
    dw: &Tensor,
    spec: Conv2dSpec,
    algo: WgradAlgo,
) -> Result<Vec<Launch>, KernelError> {
    let shape = check_weight_grad(dy, x, dw, spec)?;
    wgrad::launches(gpu, &shape, dy, x, dw, algo)
}

/// Gradient to the bias: `db[co]` (overwritten) is the sum of `dy[.., co, .., ..]`.
pub fn conv2d_backward_bias(
    gpu: &Gpu,
    dy: &Tensor,
    db: &Tensor,
) -> Result<Vec<Launch>, KernelError> {
    check_bias_grad(dy, db)?;
    reduce::bias_launches(gpu, dy, db)
}
