//! Batch normalisation: training mode (batch statistics, running-statistics update) with its
//! gradient, and inference mode (running statistics).

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::batchnorm::{self, BatchNormSpec};
use crate::tensor::{DType, Tensor};

/// Running statistics a batch-norm layer owns; updated in place by every training forward.
#[derive(Clone)]
pub struct RunningStats {
    pub mean: Tensor,
    pub var: Tensor,
}

struct BatchNormTrain {
    running: RunningStats,
    spec: BatchNormSpec,
}

impl Op for BatchNormTrain {
    fn name(&self) -> &'static str {
        "batch_norm_train"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        let r = &self.running;
        batchnorm::batch_norm_train_forward(
            gpu, i[0], i[1], i[2], &r.mean, &r.var, o[0], o[1], o[2], self.spec,
        )
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let (x, gamma) = (ctx.inputs[0], ctx.inputs[1]);
        let (mean, invstd) = (ctx.outputs[1], ctx.outputs[2]);
        let xs = ctx.graph.shape(x).to_vec();
        let cs = ctx.graph.shape(gamma).to_vec();
        let out = ctx.graph.push(
            BatchNormBackward,
            &[dy, x, gamma, mean, invstd],
            &[(xs, DType::F32), (cs.clone(), DType::F32), (cs, DType::F32)],
        );
        Ok(vec![Some(out[0]), Some(out[1]), Some(out[2])])
    }
}

struct BatchNormBackward;

impl Op for BatchNormBackward {
    fn name(&self) -> &'static str {
        "batch_norm_backward"
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
        batchnorm::batch_norm_backward(gpu, i[0], i[1], i[2], i[3], i[4], o[0], o[1], o[2])
    }
}

struct BatchNormInference {
    running: RunningStats,
    spec: BatchNormSpec,
}

impl Op for BatchNormInference {
    fn name(&self) -> &'static str {
        "batch_norm_inference"
    }

    /// Evaluation graphs are recorded without gradients; training uses `batch_norm_train`.
    fn differentiable(&self) -> bool {
        false
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        let r = &self.running;
        Ok(vec![batchnorm::batch_norm_inference(
            gpu, i[0], i[1], i[2], &r.mean, &r.var, o[0], self.spec,
        )?])
    }
}

fn check(
    g: &Graph,
    x: Value,
    gamma: Value,
    beta: Value,
    running: &RunningStats,
) -> Result<usize, AutogradError> {
    let xs = g.shape(x);
    if xs.len() != 2 && xs.len() != 4 {
        return Err(shape_error(
            "batch_norm",
            format!("input must be [N, C] or [N, C, H, W], got {xs:?}"),
        ));
    }
    let c = xs[1];
    for (name, shape) in [
        ("gamma", g.shape(gamma)),
        ("beta", g.shape(beta)),
        ("running mean", running.mean.shape()),
        ("running var", running.var.shape()),
    ] {
        if shape != [c] {
            return Err(shape_error(
                "batch_norm",
                format!("{name} is {shape:?}, expected [{c}] for input {xs:?}"),
            ));
        }
    }
    Ok(c)
}

/// Training-mode batch norm: normalises with batch statistics and updates `running`.
pub fn batch_norm_train(
    g: &mut Graph,
    x: Value,
    gamma: Value,
    beta: Value,
    running: &RunningStats,
    spec: BatchNormSpec,
) -> Result<Value, AutogradError> {
    let c = check(g, x, gamma, beta, running)?;
    let xs = g.shape(x).to_vec();
    let op = BatchNormTrain {
        running: running.clone(),
        spec,
    };
    let out = g.push(
        op,
        &[x, gamma, beta],
        &[
            (xs, DType::F32),
            (vec![c], DType::F32),
            (vec![c], DType::F32),
        ],
    );
    Ok(out[0])
}

/// Inference-mode batch norm with the running statistics.
pub fn batch_norm_inference(
    g: &mut Graph,
    x: Value,
    gamma: Value,
    beta: Value,
    running: &RunningStats,
    spec: BatchNormSpec,
) -> Result<Value, AutogradError> {
    check(g, x, gamma, beta, running)?;
    let xs = g.shape(x).to_vec();
    let op = BatchNormInference {
        running: running.clone(),
        spec,
    };
    Ok(g.push(op, &[x, gamma, beta], &[(xs, DType::F32)])[0])
}
