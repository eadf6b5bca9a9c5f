//! The candidate operations of the one-shot (ENAS / DARTS) spaces built from the kernels: zero,
//! identity, the ReLU-sepconv-BN unit (separable and dilated convs) and the factorized reduction.

use crate::autograd::op::Op;
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::batchnorm::BatchNormSpec;
use crate::kernels::conv2d::Conv2dSpec;
use crate::kernels::conv2d_grouped::GroupedConvSpec;
use crate::kernels::elementwise;
use crate::kernels::subsample::SubsampleSpec;
use crate::tensor::{DType, Tensor};

use super::{
    RunningStats, batch_norm_train, concat_padded, conv2d, grouped_conv2d, relu, subsample,
};

/// Writes zeros; no gradient flows through it (its output does not depend on its input).
struct Zero;

impl Op for Zero {
    fn name(&self) -> &'static str {
        "zero"
    }

    fn differentiable(&self) -> bool {
        false
    }

    fn launches(
        &self,
        gpu: &Gpu,
        _i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![elementwise::fill(gpu, o[0], 0.0)?])
    }
}

/// The `none` operation: zeros shaped like `x` `[N, C, H, W]` subsampled by `stride`
/// (`[N, C, ceil(H / sh), ceil(W / sw)]`). Inside a DARTS mixed op prefer a `None` operand of
/// `softmax_weighted_sum`, which costs nothing.
pub fn zero(g: &mut Graph, x: Value, stride: [usize; 2]) -> Result<Value, AutogradError> {
    let xs = g.shape(x).to_vec();
    if xs.len() != 4 || stride.contains(&0) {
        return Err(shape_error(
            "zero",
            format!(
                "input must be [N, C, H, W] and strides positive, got {xs:?} stride {stride:?}"
            ),
        ));
    }
    let shape = vec![
        xs[0],
        xs[1],
        xs[2].div_ceil(stride[0]),
        xs[3].div_ceil(stride[1]),
    ];
    Ok(g.push(Zero, &[x], &[(shape, DType::F32)])[0])
}

/// The `skip_connect` / identity operation: `x` itself (no node, no kernel; its gradient is the
/// upstream gradient).
pub fn identity(_g: &mut Graph, x: Value) -> Value {
    x
}

/// Parameters of one ReLU -> depthwise conv -> 1x1 conv -> batch norm unit.
#[derive(Clone)]
pub struct SepConvUnit {
    /// Depthwise filters `[Cin, 1, K, K]` (or `[Cin, 1, KH, KW]`).
    pub depthwise: Value,
    /// Pointwise filters `[Cout, Cin, 1, 1]`.
    pub pointwise: Value,
    /// Batch-norm scale and shift `[Cout]`, and its running statistics.
    pub gamma: Value,
    pub beta: Value,
    pub running: RunningStats,
    pub bn: BatchNormSpec,
}

/// `BN(conv1x1(depthwise(relu(x))))`, the unit of DARTS `sep_conv` (two of them) and `dil_conv`
/// (one, with dilation): x `[N, Cin, H, W]` -> `[N, Cout, ceil(H / s), ceil(W / s)]`.
pub fn relu_sep_conv_bn(
    g: &mut Graph,
    x: Value,
    unit: &SepConvUnit,
    stride: [usize; 2],
    dilation: [usize; 2],
) -> Result<Value, AutogradError> {
    let (xs, ds, ps) = (
        g.shape(x).to_vec(),
        g.shape(unit.depthwise).to_vec(),
        g.shape(unit.pointwise).to_vec(),
    );
    if xs.len() != 4 || ds.len() != 4 || ps.len() != 4 || ps[2..] != [1, 1] {
        return Err(shape_error(
            "sep_conv",
            format!(
                "input {xs:?}, depthwise {ds:?} ([C, 1, KH, KW]) and pointwise {ps:?} \
                 ([Cout, C, 1, 1]) do not fit"
            ),
        ));
    }
    let spec = GroupedConvSpec::depthwise(xs[1], [ds[2], ds[3]], stride, dilation);
    let y = relu(g, x);
    let y = grouped_conv2d(g, y, unit.depthwise, None, spec)?;
    let pointwise = Conv2dSpec {
        kernel: [1, 1],
        stride: [1, 1],
    };
    let y = conv2d(g, y, unit.pointwise, None, pointwise)?;
    batch_norm_train(g, y, unit.gamma, unit.beta, &unit.running, unit.bn)
}

/// DARTS / ENAS `sep_conv_KxK`: two ReLU-sepconv-BN units, the first with `stride` (and
/// `Cin -> Cin`), the second with stride 1 (`Cin -> Cout`).
pub fn sep_conv(
    g: &mut Graph,
    x: Value,
    units: &[SepConvUnit; 2],
    stride: [usize; 2],
) -> Result<Value, AutogradError> {
    let y = relu_sep_conv_bn(g, x, &units[0], stride, [1, 1])?;
    relu_sep_conv_bn(g, y, &units[1], [1, 1], [1, 1])
}

/// DARTS `dil_conv_KxK`: one ReLU-sepconv-BN unit with dilation 2.
pub fn dil_conv(
    g: &mut Graph,
    x: Value,
    unit: &SepConvUnit,
    stride: [usize; 2],
) -> Result<Value, AutogradError> {
    relu_sep_conv_bn(g, x, unit, stride, [2, 2])
}

/// The second path of a factorized reduction: the 1x1 filters `w` on the grid shifted by one
/// pixel, `x[2i+1, 2j+1]` (zeros past the image for odd sizes). Subsampled first, so the 1x1
/// conv runs on the dense conv kernels (a shifted conv on the grouped kernel cost an ENAS
/// network's step more than its depthwise convs).
pub fn shifted_pointwise(g: &mut Graph, x: Value, w: Value) -> Result<Value, AutogradError> {
    let grid = SubsampleSpec {
        offset: [1, 1],
        stride: [2, 2],
    };
    let y = subsample(g, x, grid)?;
    let pointwise = Conv2dSpec {
        kernel: [1, 1],
        stride: [1, 1],
    };
    conv2d(g, y, w, None, pointwise)
}

/// Parameters of a factorized reduction.
#[derive(Clone)]
pub struct FactorizedReduce {
    /// 1x1 filters of the two paths: `[C1, Cin, 1, 1]` and `[C2, Cin, 1, 1]` (C1 + C2 = Cout).
    pub w1: Value,
    pub w2: Value,
    /// Batch-norm scale and shift `[C1 + C2]`, and its running statistics.
    pub gamma: Value,
    pub beta: Value,
    pub running: RunningStats,
    pub bn: BatchNormSpec,
}

/// Factorized reduction (ENAS, DARTS): `relu(x)` through two stride-2 1x1 convs, the first on
/// the even grid `x[2i, 2j]`, the second on the grid shifted by one pixel `x[2i+1, 2j+1]`
/// (zero past the image for odd sizes), concatenated on channels, then batch norm:
/// x `[N, Cin, H, W]` -> `[N, C1 + C2, ceil(H / 2), ceil(W / 2)]`.
pub fn factorized_reduce(
    g: &mut Graph,
    x: Value,
    p: &FactorizedReduce,
) -> Result<Value, AutogradError> {
    let (w1, w2) = (g.shape(p.w1).to_vec(), g.shape(p.w2).to_vec());
    if w1.len() != 4 || w2.len() != 4 || w1[2..] != [1, 1] || w2[2..] != [1, 1] {
        return Err(shape_error(
            "factorized_reduce",
            format!("path filters must be [C, Cin, 1, 1], got {w1:?} and {w2:?}"),
        ));
    }
    let y = relu(g, x);
    let even = Conv2dSpec {
        kernel: [1, 1],
        stride: [2, 2],
    };
    let a = conv2d(g, y, p.w1, None, even)?;
    let b = shifted_pointwise(g, y, p.w2)?;
    let y = concat_padded(g, &[a, b])?;
    batch_norm_train(g, y, p.gamma, p.beta, &p.running, p.bn)
}
