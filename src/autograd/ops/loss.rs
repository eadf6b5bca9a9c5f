//! Softmax cross-entropy (per-sample losses, gradient to the logits) and on-device metrics.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::loss;
use crate::tensor::{DType, Tensor};

/// Outputs per-sample losses `[N]` and the softmax `[N,K]` its backward reuses. Gradients flow
/// through the losses only; the probabilities are saved state.
struct SoftmaxCrossEntropy;

impl Op for SoftmaxCrossEntropy {
    fn name(&self) -> &'static str {
        "softmax_cross_entropy"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![loss::softmax_cross_entropy_forward(
            gpu, i[0], i[1], o[1], o[0],
        )?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let Some(dlosses) = ctx.grads[0] else {
            return Ok(vec![None, None]);
        };
        let (logits, labels) = (ctx.inputs[0], ctx.inputs[1]);
        let probs = ctx.outputs[1];
        let shape = ctx.graph.shape(logits).to_vec();
        let dlogits = ctx.graph.push(
            SoftmaxCrossEntropyBackward,
            &[probs, labels, dlosses],
            &[(shape, DType::F32)],
        );
        Ok(vec![Some(dlogits[0]), None])
    }
}

struct SoftmaxCrossEntropyBackward;

impl Op for SoftmaxCrossEntropyBackward {
    fn name(&self) -> &'static str {
        "softmax_cross_entropy_backward"
    }

    fn differentiable(&self) -> bool {
        false
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![loss::softmax_cross_entropy_backward(
            gpu, i[0], i[1], i[2], o[0],
        )?])
    }
}

/// Adds a batch's loss sum, correct count and sample count into a metrics tensor (F32 [3]).
struct AccumulateMetrics {
    metrics: Tensor,
}

impl Op for AccumulateMetrics {
    fn name(&self) -> &'static str {
        "accumulate_metrics"
    }

    fn differentiable(&self) -> bool {
        false
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        _: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![loss::accumulate_metrics(
            gpu,
            i[0],
            i[1],
            i[2],
            &self.metrics,
        )?])
    }
}

/// Per-sample cross-entropy of `logits` `[N,K]` against U32 `labels` `[N]` (IGNORE_LABEL
/// samples contribute 0). Returns `(losses [N], probs [N,K])`.
pub fn softmax_cross_entropy(
    g: &mut Graph,
    logits: Value,
    labels: Value,
) -> Result<(Value, Value), AutogradError> {
    let ls = g.shape(logits).to_vec();
    if ls.len() != 2 || g.shape(labels) != [ls[0]] || g.dtype(labels) != DType::U32 {
        return Err(shape_error(
            "softmax_cross_entropy",
            format!(
                "logits {ls:?} need U32 labels [N]; got {:?} {:?}",
                g.dtype(labels),
                g.shape(labels)
            ),
        ));
    }
    let out = g.push(
        SoftmaxCrossEntropy,
        &[logits, labels],
        &[(vec![ls[0]], DType::F32), (ls, DType::F32)],
    );
    Ok((out[0], out[1]))
}

/// Mean cross-entropy over the batch, as `[1]`.
pub fn cross_entropy_mean(
    g: &mut Graph,
    logits: Value,
    labels: Value,
) -> Result<(Value, Value), AutogradError> {
    let (losses, _) = softmax_cross_entropy(g, logits, labels)?;
    Ok((super::reduce::mean_axis(g, losses, 0)?, losses))
}

/// Records the metrics accumulation (read back at epoch end, not every step).
pub fn accumulate_metrics(
    g: &mut Graph,
    losses: Value,
    logits: Value,
    labels: Value,
    metrics: &Tensor,
) {
    g.push_effect(
        AccumulateMetrics {
            metrics: metrics.clone(),
        },
        &[losses, logits, labels],
    );
}
