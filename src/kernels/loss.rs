//! Softmax cross-entropy (forward and backward), row argmax, and the epoch metrics accumulator.
//! Labels are U32; `IGNORE_LABEL` marks a padding sample (loss 0, gradient 0, not counted).
//! Short rows run one invocation per row; rows longer than `WIDE_ROW` run one workgroup per row
//! with a fixed-order tree reduction. Both are deterministic.

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, has_rank, has_shape};
use super::error::{KernelError, argument_error};

/// A label with this value marks a padding sample: loss 0, gradient 0, not counted in metrics.
pub const IGNORE_LABEL: u32 = u32::MAX;

/// Rows longer than this use a workgroup per row; shorter ones an invocation per row.
pub const WIDE_ROW: usize = 64;

/// Rows handled per workgroup by the row-per-invocation kernels (their workgroup size).
const ROWS_WG: u32 = 64;
/// Elements per workgroup of the elementwise backward kernel.
const ELEM_WG: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    k: u32,
    _pad: [u32; 2],
}

const FORWARD_SRC: &str = include_str!("../../shaders/loss_ce_forward.wgsl");
const FORWARD_BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
    Access::ReadWrite,
];
static CE_FORWARD_ROWS: KernelDef = KernelDef {
    name: "softmax_ce_forward_rows",
    source: FORWARD_SRC,
    entry: "ce_forward_rows",
    bindings: FORWARD_BINDINGS,
};
static CE_FORWARD_WIDE: KernelDef = KernelDef {
    name: "softmax_ce_forward_wide",
    source: FORWARD_SRC,
    entry: "ce_forward_wide",
    bindings: FORWARD_BINDINGS,
};
static CE_BACKWARD: KernelDef = KernelDef {
    name: "softmax_ce_backward",
    source: include_str!("../../shaders/loss_ce_backward.wgsl"),
    entry: "ce_backward",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
};
const ARGMAX_SRC: &str = include_str!("../../shaders/loss_argmax.wgsl");
static ARGMAX_ROWS: KernelDef = KernelDef {
    name: "argmax_rows",
    source: ARGMAX_SRC,
    entry: "argmax_rows",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};
static ARGMAX_WIDE: KernelDef = KernelDef {
    name: "argmax_wide",
    source: ARGMAX_SRC,
    entry: "argmax_wide",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};
static METRICS: KernelDef = KernelDef {
    name: "accumulate_metrics",
    source: include_str!("../../shaders/loss_metrics.wgsl"),
    entry: "accumulate_metrics",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
};

/// Checks `logits` is F32 `[N, K]` with K >= 1 and returns (N, K) as u32.
fn rows(kernel: &'static str, name: &str, logits: &Tensor) -> Result<(u32, u32), KernelError> {
    has_rank(kernel, name, logits, 2)?;
    has_dtype(kernel, name, logits, DType::F32)?;
    let (n, k) = (logits.shape()[0], logits.shape()[1]);
    if k == 0 {
        return Err(argument_error(
            kernel,
            format!(
                "{name} is {:?}: rows need at least one class",
                logits.shape()
            ),
        ));
    }
    fits_u32(kernel, "elements", logits.numel())?;
    Ok((n as u32, k as u32))
}

/// Checks `labels` is U32 `[N]`.
fn labels_of(
    kernel: &'static str,
    labels: &Tensor,
    logits_name: &str,
    logits: &Tensor,
) -> Result<(), KernelError> {
    let n = logits.shape()[0];
    if labels.shape() != [n] {
        return Err(super::error::shape_error(
            kernel,
            format!(
                "labels is {:?} but {logits_name} is {:?}: expected labels [{n}]",
                labels.shape(),
                logits.shape()
            ),
        ));
    }
    has_dtype(kernel, "labels", labels, DType::U32)
}

fn params(n: u32, k: u32) -> Params {
    Params { n, k, _pad: [0; 2] }
}

/// Grid and kernel choice for a per-row kernel: a workgroup per row, or an invocation per row.
fn row_grid(
    gpu: &Gpu,
    n: u32,
    k: u32,
    narrow: &'static KernelDef,
    wide: &'static KernelDef,
) -> (&'static KernelDef, [u32; 3]) {
    if k as usize > WIDE_ROW {
        (wide, grid_1d(gpu, n as usize, 1))
    } else {
        (narrow, grid_1d(gpu, n as usize, ROWS_WG))
    }
}

/// `probs = softmax(logits)` per row (max subtracted); `losses[n] = -log probs[n, label[n]]`,
/// computed as log-sum-exp minus the label's logit, so it stays finite for extreme logits.
/// Labels >= K other than `IGNORE_LABEL` give a NaN loss (they cannot be checked on the host).
pub fn softmax_cross_entropy_forward(
    gpu: &Gpu,
    logits: &Tensor,
    labels: &Tensor,
    probs: &Tensor,
    losses: &Tensor,
) -> Result<Launch, KernelError> {
    let name = CE_FORWARD_ROWS.name;
    let (n, k) = rows(name, "logits", logits)?;
    labels_of(name, labels, "logits", logits)?;
    has_shape(name, "probs", probs, logits.shape())?;
    has_dtype(name, "probs", probs, DType::F32)?;
    has_shape(name, "losses", losses, &[n as usize])?;
    has_dtype(name, "losses", losses, DType::F32)?;
    let inputs = [("logits", logits), ("labels", labels)];
    distinct(name, ("probs", probs), &inputs)?;
    distinct(name, ("losses", losses), &inputs)?;
    distinct(name, ("losses", losses), &[("probs", probs)])?;
    let (kernel, grid) = row_grid(gpu, n, k, &CE_FORWARD_ROWS, &CE_FORWARD_WIDE);
    Ok(Launch::new(
        gpu,
        kernel,
        &vec![],
        bytemuck::bytes_of(&params(n, k)),
        &[
            logits.binding(),
            labels.binding(),
            probs.binding(),
            losses.binding(),
        ],
        grid,
    ))
}

/// `dlogits[n,k] = dlosses[n] * (probs[n,k] - [k == label[n]])`; 0 for ignored samples.
pub fn softmax_cross_entropy_backward(
    gpu: &Gpu,
    probs: &Tensor,
    labels: &Tensor,
    dlosses: &Tensor,
    dlogits: &Tensor,
) -> Result<Launch, KernelError> {
    let name = CE_BACKWARD.name;
    let (n, k) = rows(name, "probs", probs)?;
    labels_of(name, labels, "probs", probs)?;
    has_shape(name, "dlosses", dlosses, &[n as usize])?;
    has_dtype(name, "dlosses", dlosses, DType::F32)?;
    has_shape(name, "dlogits", dlogits, probs.shape())?;
    has_dtype(name, "dlogits", dlogits, DType::F32)?;
    distinct(
        name,
        ("dlogits", dlogits),
        &[("probs", probs), ("labels", labels), ("dlosses", dlosses)],
    )?;
    Ok(Launch::new(
        gpu,
        &CE_BACKWARD,
        &vec![],
        bytemuck::bytes_of(&params(n, k)),
        &[
            probs.binding(),
            labels.binding(),
            dlosses.binding(),
            dlogits.binding(),
        ],
        grid_1d(gpu, probs.numel(), ELEM_WG),
    ))
}

/// `out[n]` = index of the maximum of row n (the first one on ties; NaN never wins).
pub fn argmax(gpu: &Gpu, logits: &Tensor, out: &Tensor) -> Result<Launch, KernelError> {
    let name = ARGMAX_ROWS.name;
    let (n, k) = rows(name, "logits", logits)?;
    has_shape(name, "out", out, &[n as usize])?;
    has_dtype(name, "out", out, DType::U32)?;
    distinct(name, ("out", out), &[("logits", logits)])?;
    let (kernel, grid) = row_grid(gpu, n, k, &ARGMAX_ROWS, &ARGMAX_WIDE);
    Ok(Launch::new(
        gpu,
        kernel,
        &vec![],
        bytemuck::bytes_of(&params(n, k)),
        &[logits.binding(), out.binding()],
        grid,
    ))
}

/// Adds one batch into `metrics` (F32 `[3]`, in place): `[0]` += sum of losses over valid
/// samples, `[1]` += correct argmax predictions, `[2]` += valid samples. One workgroup in a fixed
/// order, so reruns are bit-identical and the trainer reads metrics back only at epoch end.
pub fn accumulate_metrics(
    gpu: &Gpu,
    losses: &Tensor,
    logits: &Tensor,
    labels: &Tensor,
    metrics: &Tensor,
) -> Result<Launch, KernelError> {
    let name = METRICS.name;
    let (n, k) = rows(name, "logits", logits)?;
    labels_of(name, labels, "logits", logits)?;
    has_shape(name, "losses", losses, &[n as usize])?;
    has_dtype(name, "losses", losses, DType::F32)?;
    has_shape(name, "metrics", metrics, &[3])?;
    has_dtype(name, "metrics", metrics, DType::F32)?;
    distinct(
        name,
        ("metrics", metrics),
        &[("losses", losses), ("logits", logits), ("labels", labels)],
    )?;
    Ok(Launch::new(
        gpu,
        &METRICS,
        &vec![],
        bytemuck::bytes_of(&params(n, k)),
        &[
            losses.binding(),
            logits.binding(),
            labels.binding(),
            metrics.binding(),
        ],
        [1, 1, 1],
    ))
}
