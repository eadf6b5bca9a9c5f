//! Kernels of the search controller: tempered softmax, categorical and Bernoulli draws from
//! host-generated (seeded) uniforms, the Bernoulli log-probability and the categorical and
//! Bernoulli entropies, each with its backward. (The categorical log-probability is the negated
//! softmax cross-entropy with the actions as labels: see `kernels::loss`.)
//! Controller rows are short, so row kernels run one invocation per row.

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, has_rank, has_shape};
use super::error::{KernelError, argument_error, shape_error};

/// Invocations per workgroup of every kernel in this family.
const WG: u32 = 64;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    k: u32,
    /// inv_temperature (f32 bits) for the softmax, the uniforms offset for the draws.
    extra: u32,
    _pad: u32,
}

fn params(n: u32, k: u32, extra: u32) -> Params {
    Params {
        n,
        k,
        extra,
        _pad: 0,
    }
}

const ROWS_SRC: &str = include_str!("../../shaders/sample_rows.wgsl");
const ROWS_BINDINGS: &[Access] = &[Access::Uniform, Access::Read, Access::ReadWrite];
const BACKWARD_SRC: &str = include_str!("../../shaders/sample_rows_backward.wgsl");
const BACKWARD_BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
];
const DRAW_SRC: &str = include_str!("../../shaders/sample_draw.wgsl");
const DRAW_BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
];

macro_rules! kernel {
    ($id:ident, $name:literal, $src:expr, $bind:expr) => {
        static $id: KernelDef = KernelDef {
            name: $name,
            source: $src,
            entry: $name,
            bindings: $bind,
        };
    };
}

kernel!(SOFTMAX_T, "softmax_temperature", ROWS_SRC, ROWS_BINDINGS);
kernel!(CAT_H, "categorical_entropy", ROWS_SRC, ROWS_BINDINGS);
kernel!(BERN_H, "bernoulli_entropy", ROWS_SRC, ROWS_BINDINGS);
kernel!(
    CAT_H_BACKWARD,
    "categorical_entropy_backward",
    BACKWARD_SRC,
    BACKWARD_BINDINGS
);
kernel!(
    BERN_H_BACKWARD,
    "bernoulli_entropy_backward",
    BACKWARD_SRC,
    BACKWARD_BINDINGS
);
kernel!(CAT_SAMPLE, "categorical_sample", DRAW_SRC, DRAW_BINDINGS);
kernel!(BERN_SAMPLE, "bernoulli_sample", DRAW_SRC, DRAW_BINDINGS);
kernel!(
    BERN_LOGP,
    "bernoulli_log_prob",
    include_str!("../../shaders/sample_logprob.wgsl"),
    DRAW_BINDINGS
);
kernel!(
    BERN_LOGP_BACKWARD,
    "bernoulli_log_prob_backward",
    include_str!("../../shaders/sample_logprob_backward.wgsl"),
    &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ]
);

/// Checks an F32 `[N, K]` matrix with K >= 1; returns (N, K).
fn matrix(kernel: &'static str, name: &str, t: &Tensor) -> Result<(u32, u32), KernelError> {
    has_rank(kernel, name, t, 2)?;
    has_dtype(kernel, name, t, DType::F32)?;
    if t.shape()[1] == 0 {
        return Err(argument_error(
            kernel,
            format!("{name} is {:?}: rows need at least one category", t.shape()),
        ));
    }
    fits_u32(kernel, "elements", t.numel())?;
    Ok((t.shape()[0] as u32, t.shape()[1] as u32))
}

/// Checks an F32 `[N]` vector; returns N.
fn vector(kernel: &'static str, name: &str, t: &Tensor) -> Result<u32, KernelError> {
    has_rank(kernel, name, t, 1)?;
    has_dtype(kernel, name, t, DType::F32)?;
    fits_u32(kernel, "elements", t.numel())
}

/// Checks `t` has shape `want` and element type `dtype`.
fn exactly(
    kernel: &'static str,
    name: &str,
    t: &Tensor,
    want: &[usize],
    dtype: DType,
) -> Result<(), KernelError> {
    has_shape(kernel, name, t, want)?;
    has_dtype(kernel, name, t, dtype)
}

/// Checks that `uniforms` (F32 `[U]`) holds `n` values from `offset`; returns the offset as u32.
fn uniform_window(
    kernel: &'static str,
    uniforms: &Tensor,
    offset: usize,
    n: usize,
) -> Result<u32, KernelError> {
    has_rank(kernel, "uniforms", uniforms, 1)?;
    has_dtype(kernel, "uniforms", uniforms, DType::F32)?;
    if offset + n > uniforms.numel() {
        return Err(shape_error(
            kernel,
            format!(
                "uniforms is {:?} but {n} draws from offset {offset} need {} values",
                uniforms.shape(),
                offset + n
            ),
        ));
    }
    fits_u32(kernel, "uniforms offset", offset)
}

fn launch(
    gpu: &Gpu,
    kernel: &'static KernelDef,
    p: Params,
    tensors: &[&Tensor],
    items: usize,
) -> Launch {
    let bindings: Vec<_> = tensors.iter().map(|t| t.binding()).collect();
    Launch::new(
        gpu,
        kernel,
        &vec![],
        bytemuck::bytes_of(&p),
        &bindings,
        grid_1d(gpu, items, WG),
    )
}

/// `probs = softmax(logits / temperature)` per row of `[N, K]`; temperature must be positive.
pub fn softmax_with_temperature(
    gpu: &Gpu,
    logits: &Tensor,
    temperature: f32,
    probs: &Tensor,
) -> Result<Launch, KernelError> {
    let name = SOFTMAX_T.name;
    let (n, k) = matrix(name, "logits", logits)?;
    exactly(name, "probs", probs, logits.shape(), DType::F32)?;
    distinct(name, ("probs", probs), &[("logits", logits)])?;
    if !(temperature > 0.0 && temperature.is_finite()) {
        return Err(argument_error(
            name,
            format!("temperature = {temperature} must be positive and finite"),
        ));
    }
    let p = params(n, k, (1.0 / temperature).to_bits());
    Ok(launch(gpu, &SOFTMAX_T, p, &[logits, probs], n as usize))
}

/// `out[n]` = smallest k with `cumsum(probs[n, ..=k]) > uniforms[offset + n]` (f32 sums in index
/// order); when rounding leaves the total <= u, the last category with non-zero probability.
pub fn categorical_sample(
    gpu: &Gpu,
    probs: &Tensor,
    uniforms: &Tensor,
    offset: usize,
    out: &Tensor,
) -> Result<Launch, KernelError> {
    let name = CAT_SAMPLE.name;
    let (n, k) = matrix(name, "probs", probs)?;
    exactly(name, "out", out, &[n as usize], DType::U32)?;
    let offset = uniform_window(name, uniforms, offset, n as usize)?;
    distinct(
        name,
        ("out", out),
        &[("probs", probs), ("uniforms", uniforms)],
    )?;
    let p = params(n, k, offset);
    Ok(launch(
        gpu,
        &CAT_SAMPLE,
        p,
        &[probs, uniforms, out],
        n as usize,
    ))
}

/// `out[n] = uniforms[offset + n] < sigmoid(logits[n])` (1 or 0).
pub fn bernoulli_sample(
    gpu: &Gpu,
    logits: &Tensor,
    uniforms: &Tensor,
    offset: usize,
    out: &Tensor,
) -> Result<Launch, KernelError> {
    let name = BERN_SAMPLE.name;
    let n = vector(name, "logits", logits)?;
    exactly(name, "out", out, logits.shape(), DType::U32)?;
    let offset = uniform_window(name, uniforms, offset, n as usize)?;
    distinct(
        name,
        ("out", out),
        &[("logits", logits), ("uniforms", uniforms)],
    )?;
    let p = params(n, 1, offset);
    Ok(launch(
        gpu,
        &BERN_SAMPLE,
        p,
        &[logits, uniforms, out],
        n as usize,
    ))
}

/// Checks logits F32 `[N]` and actions U32 `[N]`; returns N.
fn logits_and_actions(
    kernel: &'static str,
    logits: &Tensor,
    actions: &Tensor,
) -> Result<u32, KernelError> {
    let n = vector(kernel, "logits", logits)?;
    if actions.shape() != logits.shape() {
        return Err(shape_error(
            kernel,
            format!(
                "actions is {:?} but logits is {:?}",
                actions.shape(),
                logits.shape()
            ),
        ));
    }
    has_dtype(kernel, "actions", actions, DType::U32)?;
    Ok(n)
}

/// `logp[n] = log P(actions[n])` under Bernoulli(sigmoid(logits[n])) via softplus (stable);
/// a non-zero action counts as 1.
pub fn bernoulli_log_prob_forward(
    gpu: &Gpu,
    logits: &Tensor,
    actions: &Tensor,
    logp: &Tensor,
) -> Result<Launch, KernelError> {
    let name = BERN_LOGP.name;
    let n = logits_and_actions(name, logits, actions)?;
    exactly(name, "logp", logp, logits.shape(), DType::F32)?;
    distinct(
        name,
        ("logp", logp),
        &[("logits", logits), ("actions", actions)],
    )?;
    let p = params(n, 1, 0);
    Ok(launch(
        gpu,
        &BERN_LOGP,
        p,
        &[logits, actions, logp],
        n as usize,
    ))
}

/// `dlogits = dlogp * (a - sigmoid(logits))`, overwritten.
pub fn bernoulli_log_prob_backward(
    gpu: &Gpu,
    logits: &Tensor,
    actions: &Tensor,
    dlogp: &Tensor,
    dlogits: &Tensor,
) -> Result<Launch, KernelError> {
    let name = BERN_LOGP_BACKWARD.name;
    let n = logits_and_actions(name, logits, actions)?;
    exactly(name, "dlogp", dlogp, logits.shape(), DType::F32)?;
    exactly(name, "dlogits", dlogits, logits.shape(), DType::F32)?;
    let inputs = [("logits", logits), ("actions", actions), ("dlogp", dlogp)];
    distinct(name, ("dlogits", dlogits), &inputs)?;
    let p = params(n, 1, 0);
    let tensors = [logits, actions, dlogp, dlogits];
    Ok(launch(gpu, &BERN_LOGP_BACKWARD, p, &tensors, n as usize))
}

/// `entropy[n] = -sum_k p log p` of `softmax(logits[n, :])`, for the entropy bonus.
pub fn categorical_entropy_forward(
    gpu: &Gpu,
    logits: &Tensor,
    entropy: &Tensor,
) -> Result<Launch, KernelError> {
    let name = CAT_H.name;
    let (n, k) = matrix(name, "logits", logits)?;
    exactly(name, "entropy", entropy, &[n as usize], DType::F32)?;
    distinct(name, ("entropy", entropy), &[("logits", logits)])?;
    Ok(launch(
        gpu,
        &CAT_H,
        params(n, k, 0),
        &[logits, entropy],
        n as usize,
    ))
}

/// `dlogits[n, j] = -dentropy[n] * p_j (log p_j + H[n])`, overwritten.
pub fn categorical_entropy_backward(
    gpu: &Gpu,
    logits: &Tensor,
    dentropy: &Tensor,
    dlogits: &Tensor,
) -> Result<Launch, KernelError> {
    let name = CAT_H_BACKWARD.name;
    let (n, k) = matrix(name, "logits", logits)?;
    exactly(name, "dentropy", dentropy, &[n as usize], DType::F32)?;
    exactly(name, "dlogits", dlogits, logits.shape(), DType::F32)?;
    let inputs = [("logits", logits), ("dentropy", dentropy)];
    distinct(name, ("dlogits", dlogits), &inputs)?;
    let p = params(n, k, 0);
    let tensors = [logits, dentropy, dlogits];
    Ok(launch(gpu, &CAT_H_BACKWARD, p, &tensors, n as usize))
}

/// `entropy[n]` of Bernoulli(sigmoid(logits[n])), stable for any logit.
pub fn bernoulli_entropy_forward(
    gpu: &Gpu,
    logits: &Tensor,
    entropy: &Tensor,
) -> Result<Launch, KernelError> {
    let name = BERN_H.name;
    let n = vector(name, "logits", logits)?;
    exactly(name, "entropy", entropy, logits.shape(), DType::F32)?;
    distinct(name, ("entropy", entropy), &[("logits", logits)])?;
    Ok(launch(
        gpu,
        &BERN_H,
        params(n, 1, 0),
        &[logits, entropy],
        n as usize,
    ))
}

/// `dlogits = -dentropy * z * sigmoid(z) * sigmoid(-z)`, overwritten.
pub fn bernoulli_entropy_backward(
    gpu: &Gpu,
    logits: &Tensor,
    dentropy: &Tensor,
    dlogits: &Tensor,
) -> Result<Launch, KernelError> {
    let name = BERN_H_BACKWARD.name;
    let n = vector(name, "logits", logits)?;
    exactly(name, "dentropy", dentropy, logits.shape(), DType::F32)?;
    exactly(name, "dlogits", dlogits, logits.shape(), DType::F32)?;
    let inputs = [("logits", logits), ("dentropy", dentropy)];
    distinct(name, ("dlogits", dlogits), &inputs)?;
    let p = params(n, 1, 0);
    let tensors = [logits, dentropy, dlogits];
    Ok(launch(gpu, &BERN_H_BACKWARD, p, &tensors, n as usize))
}
