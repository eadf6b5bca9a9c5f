//! 2-D convolution with "same" padding (TensorFlow rule): forward, and backward to the input, the
//! weights and the bias. Activations NCHW, weights `[Cout, Cin, KH, KW]`.
//!
//! Every pass packs its operands into scratch buffers owned by its launches (activations as NHWC
//! with channels in vec4 groups, weights as vec4 tiles), then runs the algorithm `select` picks
//! for the shape and device (and remembers per shape): on lavapipe the subgroup kernels, which
//! share each storage load across 8 lanes, else register-blocked direct convs; on GPUs direct
//! convs for narrow layers and a workgroup-tiled implicit GEMM for wide ones; where the device
//! autotunes (the CLI's default), the spatial passes' variant is measured instead. The weight
//! gradient is a split reduction summed in a fixed order. The `*_with` functions force a variant
//! (tests, benchmarks).

mod autotune;
mod geometry;
mod pack;
mod reduce;
mod select;
mod spatial;
mod wgrad;

pub use autotune::cached_shapes as autotune_cached_shapes;
pub use geometry::{Conv2dShape, Conv2dSpec, conv2d_flops};
pub use select::{Pass, backward_weights_algo, spatial_algo};
pub use spatial::{SpatialAlgo, has_subgroups_of_8};
pub use wgrad::WgradAlgo;

use crate::device::{Gpu, Launch};
use crate::tensor::Tensor;

use super::error::KernelError;
use geometry::{check_bias_grad, check_data_grad, check_forward, check_weight_grad};
use spatial::{Packing, SpatialPass};

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
    let algo = spatial_algo(x.gpu(), Pass::Forward, &shape);
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
    let pass = SpatialPass::forward(&shape);
    spatial::launches(gpu, &pass, x, Packing::Scratch, w, bias, y, algo)
}

/// Shape of an NCHW activation or gradient packed the way every conv pass reads it: NHWC with
/// the channels padded to a multiple of 4 (`[N, H, W, 4 * ceil(C / 4)]`). Passes that share
/// one packed copy (`*_packing`, `*_packed`) skip packing it again.
pub fn packed_shape(nchw: &[usize]) -> [usize; 4] {
    pack::shared_shape(nchw)
}

/// Packs NCHW `t` into `packed` (`packed_shape(t)`), for the `*_packed` passes.
pub fn pack_nhwc4(t: &Tensor, packed: &Tensor) -> Result<Launch, KernelError> {
    const K: &str = "conv2d_pack_nhwc4";
    crate::kernels::checks::has_dtype(K, "t", t, crate::tensor::DType::F32)?;
    crate::kernels::checks::has_dtype(K, "packed", packed, crate::tensor::DType::F32)?;
    if t.shape().len() != 4 || packed.shape() != packed_shape(t.shape()) {
        return Err(crate::kernels::error::shape_error(
            K,
            format!(
                "t {:?} must be NCHW and packed {:?} its packed shape",
                t.shape(),
                packed.shape()
            ),
        ));
    }
    Ok(pack::nhwc4_into(t, packed))
}

/// `conv2d_forward` that also leaves `x` packed in `x4` (`packed_shape(x)`), for the weight
/// gradient to read instead of packing `x` again.
pub fn conv2d_forward_packing(
    gpu: &Gpu,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    y: &Tensor,
    x4: &Tensor,
    spec: Conv2dSpec,
) -> Result<Vec<Launch>, KernelError> {
    let shape = check_forward(x, w, bias, y, spec)?;
    let algo = spatial_algo(x.gpu(), Pass::Forward, &shape);
    let pass = SpatialPass::forward(&shape);
    spatial::launches(gpu, &pass, x, Packing::Into(x4), w, bias, y, algo)
}

/// `conv2d_backward_data` reading `dy` from its packed copy `dy4` (`packed_shape(dy)`, written
/// by `pack_nhwc4` before); `dy` itself is only checked.
pub fn conv2d_backward_data_packed(
    gpu: &Gpu,
    dy: &Tensor,
    dy4: &Tensor,
    w: &Tensor,
    dx: &Tensor,
    spec: Conv2dSpec,
) -> Result<Vec<Launch>, KernelError> {
    let shape = check_data_grad(dy, w, dx, spec)?;
    let algo = spatial_algo(dy.gpu(), Pass::BackwardData, &shape);
    let pass = SpatialPass::backward_data(&shape);
    spatial::launches(gpu, &pass, dy, Packing::Ready(dy4), w, None, dx, algo)
}

/// Whether the weight gradient of `shape` on `gpu` can read the shared packed copies (else
/// `conv2d_backward_weights_packed` refuses, and `conv2d_backward_weights` packs its own).
pub fn backward_weights_takes_packed(gpu: &Gpu, shape: &Conv2dShape) -> bool {
    backward_weights_algo(gpu, shape).takes_shared_packing()
}

/// `conv2d_backward_weights` reading packed copies `dy4` and `x4` (`packed_shape`) instead of
/// packing `dy` and `x` (which are only checked).
pub fn conv2d_backward_weights_packed(
    gpu: &Gpu,
    dy: &Tensor,
    dy4: &Tensor,
    x: &Tensor,
    x4: &Tensor,
    dw: &Tensor,
    spec: Conv2dSpec,
) -> Result<Vec<Launch>, KernelError> {
    let shape = check_weight_grad(dy, x, dw, spec)?;
    let algo = backward_weights_algo(gpu, &shape);
    wgrad::launches(gpu, &shape, dy, x, Some((dy4, x4)), dw, algo)
}

/// `conv2d_backward_weights_packed` with a forced algorithm (one that takes the shared packing).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward_weights_packed_with(
    gpu: &Gpu,
    dy: &Tensor,
    dy4: &Tensor,
    x: &Tensor,
    x4: &Tensor,
    dw: &Tensor,
    spec: Conv2dSpec,
    algo: WgradAlgo,
) -> Result<Vec<Launch>, KernelError> {
    let shape = check_weight_grad(dy, x, dw, spec)?;
    wgrad::launches(gpu, &shape, dy, x, Some((dy4, x4)), dw, algo)
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
    let algo = spatial_algo(dy.gpu(), Pass::BackwardData, &shape);
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
    let pass = SpatialPass::backward_data(&shape);
    spatial::launches(gpu, &pass, dy, Packing::Scratch, w, None, dx, algo)
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
    wgrad::launches(gpu, &shape, dy, x, None, dw, algo)
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

/// Scratch bytes one conv's training step holds (forward, backward-data and weight gradient on
/// `gpu`): its two packed weight copies, the weight-gradient partial sums and, where that
/// algorithm cannot read the shared packed activations, its own packed dy and x. Memory
/// estimates (`nn::footprint`) use it before anything is allocated; it follows the launchers'
/// own choices (`backward_weights_algo`, `wgrad::partial_sums_len`).
pub fn training_scratch_bytes(gpu: &Gpu, shape: &Conv2dShape) -> f64 {
    let [kh, kw] = shape.spec.kernel;
    let taps = (kh * kw) as f64;
    let ceil4 = |c: usize| c.div_ceil(4) as f64 * 4.0;
    // Packed weights: forward reduces over Cin into Cout, backward-data the other way round;
    // the destination side is padded to at most an 8-wide tile.
    let pad8 = |c: usize| c.next_multiple_of(8) as f64;
    let packed_weights =
        4.0 * taps * (ceil4(shape.cin) * pad8(shape.cout) + ceil4(shape.cout) * pad8(shape.cin));
    let algo = backward_weights_algo(gpu, shape);
    let partials = 4.0 * wgrad::partial_sums_len(algo, shape) as f64;
    let own_packing = if algo.takes_shared_packing() {
        0.0
    } else {
        let [oh, ow] = shape.out_hw();
        let [h, w] = shape.in_hw;
        let n = shape.n as f64;
        4.0 * n * (ceil4(shape.cout) * (oh * ow) as f64 + ceil4(shape.cin) * (h * w) as f64)
    };
    packed_weights + partials + own_packing
}
