//! Controller ops: sampling from categorical and Bernoulli distributions given uniform numbers
//! (not differentiable), log-probabilities and entropies (differentiable), and collecting the
//! sampled ids into one buffer.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::{copy, sample};
use crate::tensor::{DType, Tensor};

/// probs = softmax(logits / T); ids = inverse-CDF draw with `uniforms[offset..]`.
struct CategoricalSample {
    temperature: f32,
    offset: usize,
}

impl Op for CategoricalSample {
    fn name(&self) -> &'static str {
        "categorical_sample"
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
        Ok(vec![
            sample::softmax_with_temperature(gpu, i[0], self.temperature, o[1])?,
            sample::categorical_sample(gpu, o[1], i[1], self.offset, o[0])?,
        ])
    }
}

/// ids = uniforms[offset + n] < sigmoid(logits[n]).
struct BernoulliSample {
    offset: usize,
}

impl Op for BernoulliSample {
    fn name(&self) -> &'static str {
        "bernoulli_sample"
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
        Ok(vec![sample::bernoulli_sample(
            gpu,
            i[0],
            i[1],
            self.offset,
            o[0],
        )?])
    }
}

/// log P(action) under Bernoulli(sigmoid(logits)).
struct BernoulliLogProb;

impl Op for BernoulliLogProb {
    fn name(&self) -> &'static str {
        "bernoulli_log_prob"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![sample::bernoulli_log_prob_forward(
            gpu, i[0], i[1], o[0],
        )?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dlogp = ctx.grads[0].expect("gradient present");
        let (logits, actions) = (ctx.inputs[0], ctx.inputs[1]);
        let shape = ctx.graph.shape(logits).to_vec();
        let d = ctx.graph.push(
            Derivative::BernoulliLogProb,
            &[logits, actions, dlogp],
            &[(shape, DType::F32)],
        );
        Ok(vec![Some(d[0]), None])
    }
}

/// Entropy of softmax rows or of Bernoulli(sigmoid) per element.
#[derive(Clone, Copy)]
enum Entropy {
    Categorical,
    Bernoulli,
}

impl Op for Entropy {
    fn name(&self) -> &'static str {
        match self {
            Entropy::Categorical => "categorical_entropy",
            Entropy::Bernoulli => "bernoulli_entropy",
        }
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![match self {
            Entropy::Categorical => sample::categorical_entropy_forward(gpu, i[0], o[0])?,
            Entropy::Bernoulli => sample::bernoulli_entropy_forward(gpu, i[0], o[0])?,
        }])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dh = ctx.grads[0].expect("gradient present");
        let logits = ctx.inputs[0];
        let shape = ctx.graph.shape(logits).to_vec();
        let which = match self {
            Entropy::Categorical => Derivative::CategoricalEntropy,
            Entropy::Bernoulli => Derivative::BernoulliEntropy,
        };
        Ok(vec![Some(
            ctx.graph.push(which, &[logits, dh], &[(shape, DType::F32)])[0],
        )])
    }
}

/// The backward kernels of the ops above.
enum Derivative {
    BernoulliLogProb,
    CategoricalEntropy,
    BernoulliEntropy,
}

impl Op for Derivative {
    fn name(&self) -> &'static str {
        match self {
            Derivative::BernoulliLogProb => "bernoulli_log_prob_backward",
            Derivative::CategoricalEntropy => "categorical_entropy_backward",
            Derivative::BernoulliEntropy => "bernoulli_entropy_backward",
        }
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
        Ok(vec![match self {
            Derivative::BernoulliLogProb => {
                sample::bernoulli_log_prob_backward(gpu, i[0], i[1], i[2], o[0])?
            }
            Derivative::CategoricalEntropy => {
                sample::categorical_entropy_backward(gpu, i[0], i[1], o[0])?
            }
            Derivative::BernoulliEntropy => {
                sample::bernoulli_entropy_backward(gpu, i[0], i[1], o[0])?
            }
        }])
    }
}

/// Copies sampled ids into a slice of a persistent U32 buffer.
struct CollectIds {
    dst: Tensor,
    offset: usize,
}

impl Op for CollectIds {
    fn name(&self) -> &'static str {
        "copy_u32"
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
        Ok(vec![copy::copy_u32_into(
            gpu,
            i[0],
            &self.dst,
            self.offset,
        )?])
    }
}

fn check_uniforms(
    g: &Graph,
    op: &'static str,
    uniforms: Value,
    offset: usize,
    n: usize,
) -> Result<(), AutogradError> {
    let len: usize = g.shape(uniforms).iter().product();
    if g.dtype(uniforms) != DType::F32 || offset + n > len {
        return Err(shape_error(
            op,
            format!("needs {n} uniforms at offset {offset}, buffer holds {len}"),
        ));
    }
    Ok(())
}

/// Draws one id per row of `logits` `[N,K]` from softmax(logits / T): U32 `[N]`.
pub fn categorical_sample(
    g: &mut Graph,
    logits: Value,
    temperature: f32,
    uniforms: Value,
    offset: usize,
) -> Result<Value, AutogradError> {
    let s = g.shape(logits).to_vec();
    if s.len() != 2 {
        return Err(shape_error(
            "categorical_sample",
            format!("logits must be [N, K], got {s:?}"),
        ));
    }
    check_uniforms(g, "categorical_sample", uniforms, offset, s[0])?;
    let op = CategoricalSample {
        temperature,
        offset,
    };
    Ok(g.push(
        op,
        &[logits, uniforms],
        &[(vec![s[0]], DType::U32), (s, DType::F32)],
    )[0])
}

/// Draws one Bernoulli(sigmoid(z)) per element of `logits` `[N]`: U32 `[N]` of 0/1.
pub fn bernoulli_sample(
    g: &mut Graph,
    logits: Value,
    uniforms: Value,
    offset: usize,
) -> Result<Value, AutogradError> {
    let s = g.shape(logits).to_vec();
    if s.len() != 1 {
        return Err(shape_error(
            "bernoulli_sample",
            format!("logits must be [N], got {s:?}"),
        ));
    }
    check_uniforms(g, "bernoulli_sample", uniforms, offset, s[0])?;
    Ok(g.push(
        BernoulliSample { offset },
        &[logits, uniforms],
        &[(s, DType::U32)],
    )[0])
}

/// log P(actions) under Bernoulli(sigmoid(logits)), elementwise `[N]`.
pub fn bernoulli_log_prob(
    g: &mut Graph,
    logits: Value,
    actions: Value,
) -> Result<Value, AutogradError> {
    let s = g.shape(logits).to_vec();
    if s.len() != 1 || g.shape(actions) != s.as_slice() || g.dtype(actions) != DType::U32 {
        return Err(shape_error(
            "bernoulli_log_prob",
            format!("logits {s:?} need U32 actions of the same shape"),
        ));
    }
    Ok(g.push(BernoulliLogProb, &[logits, actions], &[(s, DType::F32)])[0])
}

/// Entropy of each row of softmax(logits) `[N,K]`: `[N]`.
pub fn categorical_entropy(g: &mut Graph, logits: Value) -> Result<Value, AutogradError> {
    let s = g.shape(logits).to_vec();
    if s.len() != 2 {
        return Err(shape_error(
            "categorical_entropy",
            format!("logits must be [N, K], got {s:?}"),
        ));
    }
    Ok(g.push(Entropy::Categorical, &[logits], &[(vec![s[0]], DType::F32)])[0])
}

/// Entropy of Bernoulli(sigmoid(z)) per element `[N]`.
pub fn bernoulli_entropy(g: &mut Graph, logits: Value) -> Result<Value, AutogradError> {
    let s = g.shape(logits).to_vec();
    if s.len() != 1 {
        return Err(shape_error(
            "bernoulli_entropy",
            format!("logits must be [N], got {s:?}"),
        ));
    }
    Ok(g.push(Entropy::Bernoulli, &[logits], &[(s, DType::F32)])[0])
}

/// Copies U32 `ids` into `dst[offset..]` when the plan runs.
pub fn collect_ids(g: &mut Graph, ids: Value, dst: &Tensor, offset: usize) {
    g.push_effect(
        CollectIds {
            dst: dst.clone(),
            offset,
        },
        &[ids],
    );
}
