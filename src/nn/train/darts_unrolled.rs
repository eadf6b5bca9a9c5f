//! Second-order DARTS (Liu et al. 2019, eq. 7-8, as quark0/darts `cnn/architect.py` computes it):
//! the architecture gradient through one virtual weight step,
//! - w' = w - xi (momentum v_buf + dL_train(w, alpha)/dw + wd w), xi the weight step's rate;
//! - g = dL_val(w', alpha)/dalpha and v = dL_val(w', alpha)/dw';
//! - eps = 0.01 / |v|, w+- = w +- eps v;
//! - grad = g - xi (dL_train(w+, alpha)/dalpha - dL_train(w-, alpha)/dalpha) / (2 eps),
//!
//! then Adam on alpha as in first order. Three plans compiled once (each backward needs its own
//! tape), encoded into one compute pass and submitted once per step. w', w+ and w- live in their
//! own buffers: the shared weights are only read, so they keep their bits. |v| is reduced on the
//! device (a fixed-order sum of squares per tensor, then one invocation sums those), so the step
//! never waits for the host and needs no readback. The two perturbed losses share one backward:
//! the gradient of L(w+) - L(w-) to alpha is the difference of gradients directly.

use std::collections::HashMap;
use std::sync::Arc;

use super::batch::gather;
use super::feed::StepFeed;
use crate::autograd::op::Op;
use crate::autograd::ops::{
    Update, accumulate_metrics, add, apply_update, cross_entropy_mean, scale,
};
use crate::autograd::{AutogradError, Graph, Phase, Plan, Value};
use crate::device::{DeviceError, Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::darts_unrolled::{self as k, HVP_STATS};
use crate::kernels::optim::AdamSpec;
use crate::nn::param::{Binder, Parameter};
use crate::nn::supernet::{ArchWeights, MixedSupernet};
use crate::tensor::{DType, Tensor};

/// DARTS's finite-difference radius: the perturbation w +- eps v has norm `HVP_RADIUS`.
pub const HVP_RADIUS: f32 = 0.01;

const ALL: [Phase; 3] = [Phase::Forward, Phase::Backward, Phase::Update];

/// The compiled second-order architecture step and the buffers it owns.
pub struct UnrolledArch {
    gpu: Arc<Gpu>,
    /// Training batch at w: the virtual step into `unrolled`.
    virtual_plan: Plan,
    /// Validation batch at w': g, v, |v|, and w+- into `plus` / `minus`.
    valid_plan: Plan,
    /// Training batch at w+ and w-: the implicit term, the combined gradient and Adam.
    hvp_plan: Plan,
    unrolled: Vec<Tensor>,
    plus: Vec<Tensor>,
    minus: Vec<Tensor>,
    stats: Tensor,
    /// The validation loss at w' and its gradient to alpha (in `valid_plan`).
    valid_probe: [Value; 2],
    /// The combined architecture gradient (in `hvp_plan`).
    grad: Value,
}

/// Everything the unrolled step reads from its trainer.
pub(super) struct UnrolledInputs<'a, S: MixedSupernet> {
    pub supernet: &'a S,
    pub alpha: &'a ArchWeights,
    pub train_feed: &'a StepFeed,
    pub valid_feed: &'a StepFeed,
    /// The weight step's momentum buffers, by parameter name.
    pub velocities: &'a [(String, Tensor)],
    /// Adam's moments of alpha and its hyper-parameters.
    pub adam: (Tensor, Tensor, AdamSpec),
}

impl UnrolledArch {
    /// Compiles the three plans of the second-order step.
    pub(super) fn new<S: MixedSupernet>(
        gpu: &Arc<Gpu>,
        x: UnrolledInputs<'_, S>,
    ) -> Result<UnrolledArch, AutogradError> {
        let params = x.supernet.shared_parameters();
        let like = |p: &&Parameter| Tensor::empty(gpu, p.tensor.shape(), DType::F32);
        let unrolled = params.iter().map(like).collect::<Result<Vec<_>, _>>()?;
        let plus = params.iter().map(like).collect::<Result<Vec<_>, _>>()?;
        let minus = params.iter().map(like).collect::<Result<Vec<_>, _>>()?;
        let partials = Tensor::zeros(gpu, &[params.len().max(1)])?;
        let stats = Tensor::zeros(gpu, &[HVP_STATS])?;
        let velocities: HashMap<&str, &Tensor> =
            x.velocities.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let config = &x.train_feed.config;

        // 1. w' = w - xi (momentum v_buf + dL_train/dw + wd w).
        let mut g = Graph::new(gpu);
        let mut b = Binder::new();
        let ws: Vec<Value> = params.iter().map(|p| b.bind(&mut g, p)).collect();
        let (images, labels) = gather(&mut g, &x.train_feed.source, config.batch);
        let a = g.input(&x.alpha.tensor, "alpha");
        let logits = x.supernet.forward_mixed(&mut g, &mut b, images, a, true)?;
        let (loss, _) = cross_entropy_mean(&mut g, logits, labels)?;
        g.backward(loss)?;
        for ((p, &w), out) in params.iter().zip(&ws).zip(&unrolled) {
            let grad = grad_or_zero(&mut g, w)?;
            let velocity = match velocities.get(p.name.as_str()) {
                Some(&v) => v.clone(),
                None => Tensor::zeros(gpu, p.tensor.shape())?,
            };
            let weight_decay = if p.decay { config.weight_decay } else { 0.0 };
            g.push_effect(
                VirtualStep {
                    w: p.tensor.clone(),
                    velocity,
                    scalars: x.train_feed.scalars.clone(),
                    momentum: config.momentum,
                    weight_decay,
                    out: out.clone(),
                },
                &[grad],
            );
        }
        let virtual_plan = Plan::compile(&g, &[])?;

        // 2. g and v at w' on the validation batch; |v|, eps and w +- eps v.
        let mut g = Graph::new(gpu);
        let mut b = Binder::new();
        let ws: Vec<Value> = params
            .iter()
            .zip(&unrolled)
            .map(|(p, t)| {
                let v = g.param(t, &p.name);
                b.bind_to(p, v);
                v
            })
            .collect();
        let batch = x.valid_feed.config.batch;
        let (images, labels) = gather(&mut g, &x.valid_feed.source, batch);
        let a = g.param(&x.alpha.tensor, "alpha");
        let logits = x.supernet.forward_mixed(&mut g, &mut b, images, a, true)?;
        let (loss, losses) = cross_entropy_mean(&mut g, logits, labels)?;
        accumulate_metrics(
            &mut g,
            losses,
            logits,
            labels,
            x.valid_feed.metrics.tensor(),
        );
        g.backward(loss)?;
        let galpha = alpha_grad(&g, a)?;
        let vs = ws
            .iter()
            .map(|&w| grad_or_zero(&mut g, w))
            .collect::<Result<Vec<_>, _>>()?;
        for (slot, &v) in vs.iter().enumerate() {
            let partials = partials.clone();
            g.push_effect(SumSquares { partials, slot }, &[v]);
        }
        g.push_effect(
            HvpScale {
                partials: partials.clone(),
                stats: stats.clone(),
            },
            &[],
        );
        for (i, &v) in vs.iter().enumerate() {
            let op = Perturb {
                w: params[i].tensor.clone(),
                stats: stats.clone(),
                plus: plus[i].clone(),
                minus: minus[i].clone(),
            };
            g.push_effect(op, &[v]);
        }
        let valid_probe = [loss, galpha];
        let valid_plan = Plan::compile(&g, &valid_probe)?;

        // 3. d(L_train(w+) - L_train(w-))/dalpha in one backward, the combination, Adam.
        let mut g = Graph::new(gpu);
        let (images, labels) = gather(&mut g, &x.train_feed.source, config.batch);
        let a = g.param(&x.alpha.tensor, "alpha");
        let mut perturbed = Vec::with_capacity(2);
        for bank in [&plus, &minus] {
            let mut b = Binder::new();
            for (p, t) in params.iter().zip(bank) {
                let v = g.input(t, &p.name);
                b.bind_to(p, v);
            }
            let logits = x.supernet.forward_mixed(&mut g, &mut b, images, a, true)?;
            perturbed.push(cross_entropy_mean(&mut g, logits, labels)?.0);
        }
        let minus_loss = scale(&mut g, perturbed[1], -1.0);
        let difference = add(&mut g, perturbed[0], minus_loss)?;
        g.backward(difference)?;
        let diff = alpha_grad(&g, a)?;
        let galpha_tensor = valid_plan.tensor(galpha).expect("kept").clone();
        let galpha_in = g.input(&galpha_tensor, "dL_val(w')/dalpha");
        let grad = g.push(
            Combine {
                stats: stats.clone(),
                scalars: x.train_feed.scalars.clone(),
            },
            &[galpha_in, diff],
            &[(g.shape(diff).to_vec(), DType::F32)],
        )[0];
        let (m, v, spec) = x.adam;
        apply_update(
            &mut g,
            &x.alpha.tensor,
            grad,
            &x.valid_feed.scalars,
            Update::Adam { m, v, spec },
        );
        let hvp_plan = Plan::compile(&g, &[grad])?;
        Ok(UnrolledArch {
            gpu: gpu.clone(),
            virtual_plan,
            valid_plan,
            hvp_plan,
            unrolled,
            plus,
            minus,
            stats,
            valid_probe,
            grad,
        })
    }

    /// Encodes the three plans into one compute pass and submits it once (no wait). The
    /// training feed's cursor and rate and the validation feed's must be written first.
    pub fn run(&self) -> Result<(), DeviceError> {
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for plan in [&self.virtual_plan, &self.valid_plan, &self.hvp_plan] {
                plan.encode(&mut pass, &ALL);
            }
        }
        self.gpu.submit(encoder.finish());
        self.gpu.check_errors()
    }

    /// The sizes of its three plans.
    pub fn plan_stats(&self) -> [crate::autograd::PlanStats; 3] {
        [
            self.virtual_plan.stats(),
            self.valid_plan.stats(),
            self.hvp_plan.stats(),
        ]
    }

    /// The last step's architecture gradient `g - xi * implicit` (before Adam's weight decay).
    pub fn grad(&self) -> &Tensor {
        self.hvp_plan.tensor(self.grad).expect("kept")
    }

    /// The last step's validation loss at w'.
    pub fn valid_loss(&self) -> &Tensor {
        self.valid_plan.tensor(self.valid_probe[0]).expect("kept")
    }

    /// The last step's dL_val(w', alpha)/dalpha, the gradient without the implicit term.
    pub fn valid_alpha_grad(&self) -> &Tensor {
        self.valid_plan.tensor(self.valid_probe[1]).expect("kept")
    }

    /// `[|v|, eps, 1 / (2 eps)]` of the last step.
    pub fn hvp_stats(&self) -> &Tensor {
        &self.stats
    }

    /// The virtual weights w' of the last step, one per shared parameter in network order.
    pub fn unrolled_weights(&self) -> &[Tensor] {
        &self.unrolled
    }

    /// The perturbed weights w + eps v and w - eps v of the last step.
    pub fn perturbed_weights(&self) -> (&[Tensor], &[Tensor]) {
        (&self.plus, &self.minus)
    }

    /// Dispatches per step, over the three plans.
    pub fn dispatches(&self) -> usize {
        [&self.virtual_plan, &self.valid_plan, &self.hvp_plan]
            .iter()
            .map(|p| p.dispatches(&ALL))
            .sum()
    }
}

fn alpha_grad(g: &Graph, a: Value) -> Result<Value, AutogradError> {
    g.grad(a).ok_or_else(|| AutogradError::Backward {
        message: "no gradient reached the architecture weights".into(),
    })
}

/// The gradient of `w`, or zeros of its shape where none flows (a weight the loss ignores).
fn grad_or_zero(g: &mut Graph, w: Value) -> Result<Value, AutogradError> {
    if let Some(grad) = g.grad(w) {
        return Ok(grad);
    }
    let zeros = Tensor::zeros(g.gpu(), g.shape(w))?;
    Ok(g.input(&zeros, "zero gradient"))
}

/// The virtual step of one tensor into its own buffer (effect; input: the gradient).
struct VirtualStep {
    w: Tensor,
    velocity: Tensor,
    scalars: Tensor,
    momentum: f32,
    weight_decay: f32,
    out: Tensor,
}

impl Op for VirtualStep {
    fn name(&self) -> &'static str {
        "darts_unrolled_step"
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
        let ws = (&self.w, i[0], &self.velocity);
        let hyper = (self.momentum, self.weight_decay);
        Ok(vec![k::unrolled_step(
            gpu,
            ws,
            &self.scalars,
            hyper,
            &self.out,
        )?])
    }
}

/// One tensor's sum of squares into its slot (effect; input: the tensor).
struct SumSquares {
    partials: Tensor,
    slot: usize,
}

impl Op for SumSquares {
    fn name(&self) -> &'static str {
        "darts_sum_squares"
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
        Ok(vec![k::sum_squares(gpu, i[0], &self.partials, self.slot)?])
    }
}

/// |v|, eps and 1 / (2 eps) from the partial sums (effect; no inputs).
struct HvpScale {
    partials: Tensor,
    stats: Tensor,
}

impl Op for HvpScale {
    fn name(&self) -> &'static str {
        "darts_hvp_scale"
    }
    fn differentiable(&self) -> bool {
        false
    }
    fn launches(
        &self,
        gpu: &Gpu,
        _: &[&Tensor],
        _: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![k::hvp_scale(
            gpu,
            &self.partials,
            HVP_RADIUS,
            &self.stats,
        )?])
    }
}

/// w +- eps v of one tensor (effect; input: v).
struct Perturb {
    w: Tensor,
    stats: Tensor,
    plus: Tensor,
    minus: Tensor,
}

impl Op for Perturb {
    fn name(&self) -> &'static str {
        "darts_perturb"
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
        let out = (&self.plus, &self.minus);
        Ok(vec![k::perturb(gpu, (&self.w, i[0]), &self.stats, out)?])
    }
}

/// g - xi * diff / (2 eps) (inputs: g, diff; output: the architecture gradient).
struct Combine {
    stats: Tensor,
    scalars: Tensor,
}

impl Op for Combine {
    fn name(&self) -> &'static str {
        "darts_combine"
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
        Ok(vec![k::combine(
            gpu,
            (i[0], i[1]),
            &self.stats,
            &self.scalars,
            o[0],
        )?])
    }
}
