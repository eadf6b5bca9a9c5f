//! The NAS-RL controller (Zoph & Le 2017): a multi-layer LSTM that emits a space's decisions
//! (its `Schema`) block by block: each token through the softmax head of its group (NAS-RL's
//! filter height, width, count and stride; NAS-Bench-201's edge operation), then, for anchored
//! blocks, an anchor point whose attention P(j feeds i) = sigmoid(vᵀ tanh(W_prev·h_j +
//! W_curr·h_i)) picks the skip connections. `m` architectures are sampled as one batch, entirely
//! on the device: the host uploads uniform numbers, the graph draws ids from them, feeds each id
//! back through an embedding, and collects all ids into one buffer read back once. The same tape
//! records log P(architecture) and the entropies, so the REINFORCE update is that plan's backward
//! and Adam phases, run after the children's rewards are known. A second, *forced* plan reads
//! given rollouts instead of drawing them, for PPO's epochs over a batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::autograd::ops::{self, Update};
use crate::autograd::{AutogradError, Graph, Phase, Plan, Value};
use crate::device::{DeviceError, Gpu};
use crate::kernels::optim::{AdamSpec, StepScalars, step_scalars_tensor, write_step_scalars};
use crate::nn::init::Init;
use crate::nn::layers::{Embedding, Linear, Lstm};
use crate::nn::param::{Binder, Parameter};
use crate::nn::weights::NamedTensor;
use crate::search::config::ControllerConfig;
use crate::search::space::{Block, Rollout, Schema, TokenGroup};
use crate::tensor::Tensor;
use crate::util::SeededRng;

/// Gradients of a scalar with respect to every parameter, by parameter name.
pub type NamedGradients = Vec<(String, Vec<f32>)>;

/// The controller's parameters and optimiser state (shared by the plans of every depth).
pub struct Controller {
    gpu: Arc<Gpu>,
    config: ControllerConfig,
    groups: Vec<TokenGroup>,
    lstm: Lstm,
    /// Input of each layer's first step (a learned "go" token).
    start: Embedding,
    /// Per token group: embedding of the chosen value (input of the next step) and softmax head.
    embeddings: Vec<Embedding>,
    heads: Vec<Linear>,
    w_prev: Linear,
    w_curr: Linear,
    v: Linear,
    /// Adam moments by parameter name.
    moments: HashMap<String, (Tensor, Tensor)>,
    scalars: Tensor,
    /// Weight of the entropy bonus in the loss.
    entropy_weight: f64,
    /// Adam steps taken.
    updates: usize,
    compiled: Option<CompiledPolicy>,
    forced: Option<CompiledPolicy>,
}

/// A recorded sampling pass, before the loss is added.
struct Recorded {
    g: Graph,
    binder: Binder,
    uniforms: Tensor,
    actions: Tensor,
    /// Forced mode: one U32 `[m]` input per decision, read instead of drawing.
    forced: Vec<Tensor>,
    advantages: Value,
    advantages_t: Tensor,
    log_prob: Value,
    entropy: Value,
    /// ENAS's skip penalty of each architecture `[m]`, when `skip_weight` > 0 and the blocks
    /// make skip decisions.
    skip_penalty: Option<Value>,
    /// Its constant term (a graph input; kept alive with the plan).
    _penalty_constant: Option<Tensor>,
}

/// The plan for one (blocks, batch) with its host-facing buffers.
struct CompiledPolicy {
    blocks: Vec<Block>,
    batch: usize,
    plan: Plan,
    uniforms: Tensor,
    actions: Tensor,
    forced: Vec<Tensor>,
    advantages: Tensor,
    log_prob: Value,
    entropy: Value,
    skip_penalty: Option<Value>,
    _penalty_constant: Option<Tensor>,
}

/// Number of uniform draws (= sampled ids) for `m` architectures of `schema`.
pub fn draws(schema: &Schema, m: usize) -> usize {
    m * schema.decisions()
}

impl Controller {
    /// Fresh controller: every weight U(-init_range, init_range).
    pub fn new(
        gpu: &Arc<Gpu>,
        groups: &[TokenGroup],
        config: &ControllerConfig,
        entropy_weight: f64,
        rng: &mut SeededRng,
    ) -> Result<Controller, DeviceError> {
        let h = config.hidden;
        let init = Init::Uniform(config.init_range);
        let lstm = Lstm::new(gpu, "controller.lstm", h, h, config.layers, init, rng)?;
        let start = Embedding::new(gpu, "controller.start", 1, h, init, rng)?;
        let mut embeddings = Vec::new();
        let mut heads = Vec::new();
        for group in groups {
            let k = group.options;
            let name = &group.name;
            embeddings.push(Embedding::new(
                gpu,
                &format!("controller.{name}.embedding"),
                k,
                h,
                init,
                rng,
            )?);
            heads.push(Linear::new(
                gpu,
                &format!("controller.{name}.head"),
                h,
                k,
                init,
                init,
                rng,
            )?);
        }
        let a = config.attention;
        let w_prev = Linear::new(gpu, "controller.anchor.w_prev", h, a, init, init, rng)?;
        let w_curr = Linear::new(gpu, "controller.anchor.w_curr", h, a, init, init, rng)?;
        let v = Linear::new(gpu, "controller.anchor.v", a, 1, init, init, rng)?;
        let mut controller = Controller {
            gpu: gpu.clone(),
            config: config.clone(),
            groups: groups.to_vec(),
            lstm,
            start,
            embeddings,
            heads,
            w_prev,
            w_curr,
            v,
            moments: HashMap::new(),
            scalars: step_scalars_tensor(gpu)?,
            entropy_weight,
            updates: 0,
            compiled: None,
            forced: None,
        };
        for p in controller.parameters() {
            let shape = p.tensor.shape().to_vec();
            let (name, m, v) = (
                p.name.clone(),
                Tensor::zeros(gpu, &shape)?,
                Tensor::zeros(gpu, &shape)?,
            );
            controller.moments.insert(name, (m, v));
        }
        Ok(controller)
    }

    /// Every trainable parameter, in a fixed order.
    pub fn parameters(&self) -> Vec<Parameter> {
        let mut all: Vec<Parameter> = self.lstm.parameters().into_iter().cloned().collect();
        all.extend(self.start.parameters().into_iter().cloned());
        for (e, h) in self.embeddings.iter().zip(&self.heads) {
            all.extend(e.parameters().into_iter().cloned());
            all.extend(h.parameters().into_iter().cloned());
        }
        for l in [&self.w_prev, &self.w_curr, &self.v] {
            all.extend(l.parameters().into_iter().cloned());
        }
        all
    }

    /// Number of trainable values.
    pub fn parameter_count(&self) -> usize {
        self.parameters().iter().map(|p| p.tensor.numel()).sum()
    }

    /// Adam updates taken so far.
    pub fn updates(&self) -> usize {
        self.updates
    }

    /// Waits for the device (so an update's time can be measured).
    pub fn sync(&self) -> Result<(), DeviceError> {
        self.gpu.sync()
    }

    /// Records the sampling pass: draws, log-probabilities and entropies of `m` architectures.
    /// `forced`: the decisions are read from inputs (one per decision) instead of drawn.
    fn record(&self, blocks: &[Block], m: usize, forced: bool) -> Result<Recorded, AutogradError> {
        let gpu = &self.gpu;
        let schema = Schema {
            groups: self.groups.clone(),
            blocks: blocks.to_vec(),
        };
        let n_draws = draws(&schema, m);
        let uniforms_t = Tensor::zeros(gpu, &[n_draws.max(1)])?;
        let actions = Tensor::from_u32(gpu, &[n_draws.max(1)], &vec![0; n_draws.max(1)])?;
        let advantages_t = Tensor::zeros(gpu, &[m])?;
        let zero_ids = Tensor::from_u32(gpu, &[m], &vec![0; m])?;
        let t = self.config.temperature;
        // ENAS's logit squashing: c · tanh(logits / T), c = tanh_constant / op_tanh_reduce for
        // operations; the temperature is then spent.
        let squash = self.config.tanh_constant;
        let op_squash = squash / self.config.op_tanh_reduce;
        let t_after = if squash > 0.0 { 1.0 } else { t };

        let mut g = Graph::new(gpu);
        let mut b = Binder::new();
        let uniforms = g.input(&uniforms_t, "uniforms");
        let advantages = g.input(&advantages_t, "advantages");
        let go_ids = g.input(&zero_ids, "go token");
        let mut state = self.lstm.zero_state(&mut g, m)?;
        let mut offset = 0;
        // -log P and entropy of each decision, in decision order, summed once at the end: a few
        // `sum_n` launches instead of a chain of adds, and one negation instead of one per
        // categorical decision. The sums are taken in the same order as a chain would take
        // them, and -(a + b) = (-a) + (-b) exactly, so the values keep their bits.
        let mut neg_log_probs: Vec<Value> = Vec::new();
        let mut entropies: Vec<Value> = Vec::new();
        let mut forced_inputs: Vec<Tensor> = Vec::new();
        // The ids of the next decision: drawn from the uniforms, or a forced input.
        let mut decide = |g: &mut Graph,
                          offset: usize,
                          draw: &dyn Fn(&mut Graph) -> Result<Value, AutogradError>|
         -> Result<Value, AutogradError> {
            if forced {
                let t = Tensor::from_u32(gpu, &[m], &vec![0; m])?;
                let ids = g.input(&t, "forced ids");
                forced_inputs.push(t);
                Ok(ids)
            } else {
                let ids = draw(g)?;
                ops::collect_ids(g, ids, &actions, offset);
                Ok(ids)
            }
        };
        // Per skip decision, P(skip) and the entropy of its Bernoulli, for the skip penalty.
        let penalised = self.config.skip_weight > 0.0;
        let mut skip_probs: Vec<Value> = Vec::new();
        let mut skip_entropies: Vec<Value> = Vec::new();
        let mut skipping_blocks = 0usize;
        let mut anchors: Vec<Value> = Vec::new();
        for block in blocks {
            let mut x = self.start.forward(&mut g, &mut b, go_ids)?;
            for &k in &block.tokens {
                let (h, next) = self.lstm.step(&mut g, &mut b, x, &state)?;
                state = next;
                let mut logits = self.heads[k].forward(&mut g, &mut b, h)?;
                if squash > 0.0 {
                    let tempered = at_temperature(&mut g, logits, t);
                    let bounded = ops::tanh(&mut g, tempered);
                    logits = ops::scale(&mut g, bounded, op_squash);
                }
                let ids = decide(&mut g, offset, &|g| {
                    ops::categorical_sample(g, logits, t_after, uniforms, offset)
                })?;
                offset += m;
                let tempered = at_temperature(&mut g, logits, t_after);
                let (neg_logp, _) = ops::softmax_cross_entropy(&mut g, tempered, ids)?;
                neg_log_probs.push(neg_logp);
                entropies.push(ops::categorical_entropy(&mut g, tempered)?);
                x = self.embeddings[k].forward(&mut g, &mut b, ids)?;
            }
            if !block.anchor {
                continue;
            }
            // Anchor point: its hidden state attends to every earlier anchor.
            let (h, next) = self.lstm.step(&mut g, &mut b, x, &state)?;
            state = next;
            let curr = self.w_curr.forward(&mut g, &mut b, h)?;
            if !anchors.is_empty() {
                skipping_blocks += 1;
            }
            for &prev in &anchors {
                let joint = ops::add(&mut g, prev, curr)?;
                let joint = ops::tanh(&mut g, joint);
                let z = self.v.forward(&mut g, &mut b, joint)?;
                let mut z = g.reshape(z, &[m])?;
                if squash > 0.0 {
                    // The released code draws a skip from softmax([-q, q]) = sigmoid(2q) with q
                    // squashed to c · tanh(q): in our z = 2q, z' = 2c · tanh(z / 2).
                    let half = ops::scale(&mut g, z, 0.5);
                    let bounded = ops::tanh(&mut g, half);
                    z = ops::scale(&mut g, bounded, 2.0 * squash);
                }
                let skip = decide(&mut g, offset, &|g| {
                    ops::bernoulli_sample(g, z, uniforms, offset)
                })?;
                offset += m;
                let logp = ops::bernoulli_log_prob(&mut g, z, skip)?;
                neg_log_probs.push(ops::scale(&mut g, logp, -1.0));
                let h_skip = ops::bernoulli_entropy(&mut g, z)?;
                entropies.push(h_skip);
                if penalised {
                    skip_probs.push(ops::sigmoid(&mut g, z));
                    skip_entropies.push(h_skip);
                }
            }
            anchors.push(self.w_prev.forward(&mut g, &mut b, h)?);
        }
        debug_assert_eq!(offset, n_draws);
        assert!(!entropies.is_empty(), "at least one token");
        let neg_log_prob = ops::sum_n(&mut g, &neg_log_probs)?;
        let log_prob = ops::scale(&mut g, neg_log_prob, -1.0);
        let entropy = ops::sum_n(&mut g, &entropies)?;
        let (skip_penalty, penalty_constant) = if skip_probs.is_empty() {
            (None, None)
        } else {
            let (penalty, constant) = skip_penalty(
                gpu,
                &mut g,
                &skip_probs,
                &skip_entropies,
                skipping_blocks,
                self.config.skip_target as f64,
                m,
            )?;
            (Some(penalty), Some(constant))
        };
        Ok(Recorded {
            g,
            binder: b,
            uniforms: uniforms_t,
            actions,
            forced: forced_inputs,
            advantages,
            advantages_t,
            log_prob,
            entropy,
            skip_penalty,
            _penalty_constant: penalty_constant,
        })
    }

    /// Records sampling (or forced decisions), log-probabilities, entropy, the policy-gradient
    /// loss -(1/m) Σ_k w_k log P_k (w: REINFORCE's advantages, or PPO's surrogate weights),
    /// backward and Adam.
    fn compile(
        &self,
        blocks: &[Block],
        m: usize,
        forced_mode: bool,
    ) -> Result<CompiledPolicy, AutogradError> {
        let Recorded {
            mut g,
            binder: b,
            uniforms: uniforms_t,
            actions,
            forced,
            advantages,
            advantages_t,
            log_prob,
            entropy,
            skip_penalty,
            _penalty_constant,
        } = self.record(blocks, m, forced_mode)?;
        let loss = self.loss(&mut g, log_prob, advantages, entropy, skip_penalty, m)?;
        g.backward(loss)?;
        g.set_phase(Phase::Update);
        let spec = AdamSpec {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        };
        for (param, value) in b.bound() {
            let Some(grad) = g.grad(*value) else { continue };
            let (mm, vv) = self.moments[&param.name].clone();
            ops::apply_update(
                &mut g,
                &param.tensor,
                grad,
                &self.scalars,
                Update::Adam { m: mm, v: vv, spec },
            );
        }
        let mut keep = vec![log_prob, entropy];
        keep.extend(skip_penalty);
        let plan = Plan::compile(&g, &keep)?;
        Ok(CompiledPolicy {
            blocks: blocks.to_vec(),
            batch: m,
            plan,
            uniforms: uniforms_t,
            actions,
            forced,
            advantages: advantages_t,
            log_prob,
            entropy,
            skip_penalty,
            _penalty_constant,
        })
    }

    /// The policy-gradient loss -(1/m) Σ_k w_k log P_k - (β/m) Σ_k H_k (+ (λ/m) Σ_k S_k, the
    /// skip penalty at weight λ = `skip_weight`, where the blocks make skip decisions).
    fn loss(
        &self,
        g: &mut Graph,
        log_prob: Value,
        weights: Value,
        entropy: Value,
        skip_penalty: Option<Value>,
        m: usize,
    ) -> Result<Value, AutogradError> {
        let weighted = ops::mul(g, log_prob, weights)?;
        let objective = ops::sum_all(g, weighted)?;
        let mut loss = ops::scale(g, objective, -1.0 / m as f32);
        if self.entropy_weight > 0.0 {
            let total_h = ops::sum_all(g, entropy)?;
            let bonus = ops::scale(g, total_h, -(self.entropy_weight as f32) / m as f32);
            loss = ops::add(g, loss, bonus)?;
        }
        if let Some(penalty) = skip_penalty {
            let total = ops::sum_all(g, penalty)?;
            let term = ops::scale(g, total, self.config.skip_weight / m as f32);
            loss = ops::add(g, loss, term)?;
        }
        Ok(loss)
    }

    /// The sampling plan (or, `forced`, the forced plan) for `blocks` and `m` architectures,
    /// compiled on first use.
    fn policy(
        &mut self,
        blocks: &[Block],
        m: usize,
        forced: bool,
    ) -> Result<&CompiledPolicy, AutogradError> {
        let slot = if forced { &self.forced } else { &self.compiled };
        let stale = slot
            .as_ref()
            .is_none_or(|c| c.blocks != blocks || c.batch != m);
        if stale {
            // Free the old plan's buffers before compiling the next.
            if forced {
                self.forced = None;
                self.forced = Some(self.compile(blocks, m, true)?);
            } else {
                self.compiled = None;
                self.compiled = Some(self.compile(blocks, m, false)?);
            }
        }
        let slot = if forced { &self.forced } else { &self.compiled };
        Ok(slot.as_ref().expect("just compiled"))
    }

    /// Compiles the sampling plan for (`schema`, `m`) if needed and runs it once so every
    /// shader is built; returns the seconds this took (0 when it was ready).
    pub fn prepare(&mut self, schema: &Schema, m: usize) -> Result<f64, AutogradError> {
        if self
            .compiled
            .as_ref()
            .is_some_and(|c| c.blocks == schema.blocks && c.batch == m)
        {
            return Ok(0.0);
        }
        let t = std::time::Instant::now();
        let policy = self.policy(&schema.blocks, m, false)?;
        policy.plan.run(&[Phase::Forward])?;
        self.gpu.sync()?;
        Ok(t.elapsed().as_secs_f64())
    }

    /// Samples `m` architectures of `schema` from `uniforms` (`draws(..)` numbers in [0, 1)).
    /// Runs the forward phase only; `update` then runs backward and Adam on the same
    /// activations, so nothing else may use this controller in between.
    pub fn sample(
        &mut self,
        schema: &Schema,
        m: usize,
        uniforms: &[f32],
    ) -> Result<Sample, AutogradError> {
        let want = draws(schema, m);
        if uniforms.len() != want {
            return Err(AutogradError::Shape {
                op: "controller",
                message: format!("{} uniforms given, {want} needed", uniforms.len()),
            });
        }
        let policy = self.policy(&schema.blocks, m, false)?;
        if want > 0 {
            policy.uniforms.write_f32(uniforms);
        }
        policy.plan.run(&[Phase::Forward])?;
        let actions = policy.actions.to_u32()?;
        let rollouts = decode(&actions, schema.decisions(), m);
        policy.read(rollouts)
    }

    /// log P, entropy and skip penalty of given rollouts under the current weights (the forced
    /// plan's forward phase); `update_forced` then steps on the same activations.
    pub fn evaluate(
        &mut self,
        schema: &Schema,
        rollouts: &[Rollout],
    ) -> Result<Sample, AutogradError> {
        let m = rollouts.len();
        let n = schema.decisions();
        if let Some(bad) = rollouts.iter().position(|r| r.0.len() != n) {
            return Err(AutogradError::Shape {
                op: "controller",
                message: format!(
                    "rollout {bad} has {} decisions, {n} needed",
                    rollouts[bad].0.len()
                ),
            });
        }
        let policy = self.policy(&schema.blocks, m, true)?;
        for (d, input) in policy.forced.iter().enumerate() {
            let ids: Vec<u32> = rollouts.iter().map(|r| r.0[d] as u32).collect();
            input.write_u32(&ids);
        }
        policy.plan.run(&[Phase::Forward])?;
        policy.read(rollouts.to_vec())
    }

    /// Policy-gradient step for the last `sample`: `weights[k]` multiplies log P_k in the loss
    /// (REINFORCE: R_k - baseline), Adam at `lr`.
    pub fn update(&mut self, weights: &[f32], lr: f32) -> Result<(), AutogradError> {
        self.step(false, weights, lr)
    }

    /// The same step for the rollouts of the last `evaluate` (PPO's epochs).
    pub fn update_forced(&mut self, weights: &[f32], lr: f32) -> Result<(), AutogradError> {
        self.step(true, weights, lr)
    }

    fn step(&mut self, forced: bool, weights: &[f32], lr: f32) -> Result<(), AutogradError> {
        let step = self.updates as u32 + 1;
        let scalars = self.scalars.clone();
        let slot = if forced { &self.forced } else { &self.compiled };
        let Some(policy) = slot.as_ref() else {
            return Err(AutogradError::Backward {
                message: "controller update before any sample".into(),
            });
        };
        if weights.len() != policy.batch {
            return Err(AutogradError::Shape {
                op: "controller",
                message: format!(
                    "{} advantages for a batch of {}",
                    weights.len(),
                    policy.batch
                ),
            });
        }
        policy.advantages.write_f32(weights);
        write_step_scalars(
            &scalars,
            StepScalars {
                lr,
                step,
                _pad: [0; 2],
            },
        );
        policy.plan.run(&[Phase::Backward, Phase::Update])?;
        self.updates += 1;
        Ok(())
    }

    /// log P of one architecture sampled from `uniforms`, and its gradient with respect to every
    /// parameter (by name). For checking the controller's differentiation.
    pub fn log_prob_gradient(
        &self,
        schema: &Schema,
        uniforms: &[f32],
    ) -> Result<(Rollout, f64, NamedGradients), AutogradError> {
        let Recorded {
            mut g,
            binder,
            uniforms: u,
            actions,
            log_prob,
            ..
        } = self.record(&schema.blocks, 1, false)?;
        u.write_f32(uniforms);
        let total = ops::sum_all(&mut g, log_prob)?;
        g.backward(total)?;
        let grads: Vec<(String, Value)> = binder
            .bound()
            .iter()
            .filter_map(|(p, v)| g.grad(*v).map(|gv| (p.name.clone(), gv)))
            .collect();
        let mut keep: Vec<Value> = grads.iter().map(|(_, v)| *v).collect();
        keep.push(log_prob);
        let plan = Plan::compile(&g, &keep)?;
        plan.run_all()?;
        let rollout = decode(&actions.to_u32()?, schema.decisions(), 1).remove(0);
        let lp = plan.tensor(log_prob).expect("kept").to_f32()?[0] as f64;
        let mut out = Vec::new();
        for (name, v) in grads {
            out.push((name, plan.tensor(v).expect("kept").to_f32()?));
        }
        Ok((rollout, lp, out))
    }

    /// The loss `update_forced` steps on, -(1/m) Σ_k w_k log P_k - (β/m) Σ_k H_k, for given
    /// `rollouts` and `weights`, and its gradient with respect to every parameter (by name),
    /// through the forced plan's graph. For checking PPO's differentiation.
    pub fn weighted_log_prob_gradient(
        &self,
        schema: &Schema,
        rollouts: &[Rollout],
        weights: &[f32],
    ) -> Result<(f64, NamedGradients), AutogradError> {
        let m = rollouts.len();
        if weights.len() != m || rollouts.iter().any(|r| r.0.len() != schema.decisions()) {
            return Err(AutogradError::Shape {
                op: "controller",
                message: format!(
                    "{} weights for {m} rollouts of {} decisions",
                    weights.len(),
                    schema.decisions()
                ),
            });
        }
        let Recorded {
            mut g,
            binder,
            forced,
            advantages,
            advantages_t,
            log_prob,
            entropy,
            skip_penalty,
            ..
        } = self.record(&schema.blocks, m, true)?;
        for (d, input) in forced.iter().enumerate() {
            let ids: Vec<u32> = rollouts.iter().map(|r| r.0[d] as u32).collect();
            input.write_u32(&ids);
        }
        advantages_t.write_f32(weights);
        let loss = self.loss(&mut g, log_prob, advantages, entropy, skip_penalty, m)?;
        g.backward(loss)?;
        let grads: Vec<(String, Value)> = binder
            .bound()
            .iter()
            .filter_map(|(p, v)| g.grad(*v).map(|gv| (p.name.clone(), gv)))
            .collect();
        let mut keep: Vec<Value> = grads.iter().map(|(_, v)| *v).collect();
        keep.push(loss);
        let plan = Plan::compile(&g, &keep)?;
        plan.run_all()?;
        let value = plan.tensor(loss).expect("kept").to_f32()?[0] as f64;
        let mut out = Vec::new();
        for (name, v) in grads {
            out.push((name, plan.tensor(v).expect("kept").to_f32()?));
        }
        Ok((value, out))
    }

    /// Dispatches of sampling and of an update for the compiled (blocks, batch), if any.
    pub fn dispatches(&self) -> Option<(usize, usize)> {
        self.compiled.as_ref().map(|c| {
            (
                c.plan.dispatches(&[Phase::Forward]),
                c.plan.dispatches(&[Phase::Backward, Phase::Update]),
            )
        })
    }

    /// Weights and Adam state (safetensors tensors) with the update count.
    pub fn checkpoint(&self) -> Result<(Vec<NamedTensor>, BTreeMap<String, String>), DeviceError> {
        let mut out = Vec::new();
        for p in self.parameters() {
            let (m, v) = &self.moments[&p.name];
            for (suffix, t) in [("", &p.tensor), (".adam_m", m), (".adam_v", v)] {
                out.push(NamedTensor {
                    name: format!("{}{suffix}", p.name),
                    shape: t.shape().to_vec(),
                    data: t.to_f32()?,
                });
            }
        }
        let meta = BTreeMap::from([("updates".to_string(), self.updates.to_string())]);
        Ok((out, meta))
    }

    /// Restores a checkpoint written by `checkpoint` (same space and config).
    pub fn restore(
        &mut self,
        tensors: &[NamedTensor],
        meta: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        let by_name: HashMap<&str, &NamedTensor> =
            tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        for p in self.parameters() {
            let (m, v) = self.moments[&p.name].clone();
            for (suffix, t) in [("", &p.tensor), (".adam_m", &m), (".adam_v", &v)] {
                let name = format!("{}{suffix}", p.name);
                let saved = by_name
                    .get(name.as_str())
                    .ok_or_else(|| format!("checkpoint lacks '{name}'"))?;
                if saved.shape != t.shape() {
                    return Err(format!(
                        "checkpoint '{name}' is {:?}, the controller needs {:?}",
                        saved.shape,
                        t.shape()
                    ));
                }
                if let Some(i) = saved.data.iter().position(|v| !v.is_finite()) {
                    return Err(format!(
                        "checkpoint '{name}'[{i}]: {} is not finite (a controller that diverged \
                         or a damaged file)",
                        saved.data[i]
                    ));
                }
                t.write_f32(&saved.data);
            }
        }
        self.updates = meta
            .get("updates")
            .and_then(|u| u.parse().ok())
            .ok_or("checkpoint lacks 'updates'")?;
        Ok(())
    }
}

/// What one sampling pass returns.
#[derive(Debug, Clone)]
pub struct Sample {
    pub rollouts: Vec<Rollout>,
    /// log P of each architecture under the controller.
    pub log_prob: Vec<f32>,
    /// Summed per-decision entropies of each architecture's distributions.
    pub entropy: Vec<f32>,
    /// ENAS's skip penalty of each architecture (empty when it is off or there are no skips).
    pub skip_penalty: Vec<f32>,
}

impl CompiledPolicy {
    /// The kept outputs of the last forward run, for `rollouts`.
    fn read(&self, rollouts: Vec<Rollout>) -> Result<Sample, AutogradError> {
        let read = |v| self.plan.tensor(v).expect("kept").to_f32();
        Ok(Sample {
            rollouts,
            log_prob: read(self.log_prob)?,
            entropy: read(self.entropy)?,
            skip_penalty: match self.skip_penalty {
                Some(v) => read(v)?,
                None => Vec::new(),
            },
        })
    }
}

/// ENAS's skip penalty per architecture `[m]`: (1/L) Σ KL(Bern(p) ‖ Bern(q)) over its skip
/// decisions, L the blocks that make any (the released code's mean over layers of each
/// layer's sum). KL(Bern(p) ‖ Bern(q)) = p log(p/q) + (1-p) log((1-p)/(1-q))
/// = c0 - c1 p - H(p), with c0 = -log(1-q) and c1 = log(q/(1-q)): sums of the probabilities
/// and entropies the sampling pass has, plus a constant input.
fn skip_penalty(
    gpu: &Arc<Gpu>,
    g: &mut Graph,
    probs: &[Value],
    entropies: &[Value],
    blocks: usize,
    target: f64,
    m: usize,
) -> Result<(Value, Tensor), AutogradError> {
    let per_block = 1.0 / blocks as f64;
    let c0 = -(1.0 - target).ln();
    let c1 = (target / (1.0 - target)).ln();
    let constant = Tensor::from_f32(
        gpu,
        &[m],
        &vec![(probs.len() as f64 * c0 * per_block) as f32; m],
    )?;
    let constant_v = g.input(&constant, "skip penalty constant");
    let p = ops::sum_n(g, probs)?;
    let h = ops::sum_n(g, entropies)?;
    let p = ops::scale(g, p, (-c1 * per_block) as f32);
    let h = ops::scale(g, h, -per_block as f32);
    let sum = ops::add(g, p, h)?;
    Ok((ops::add(g, constant_v, sum)?, constant))
}

/// Splits the collected ids (in sampling order, `m` per decision) into per-architecture
/// rollouts of `n` decisions.
pub fn decode(actions: &[u32], n: usize, m: usize) -> Vec<Rollout> {
    (0..m)
        .map(|k| Rollout((0..n).map(|d| actions[d * m + k] as usize).collect()))
        .collect()
}

/// `logits / t`, recording nothing at temperature 1.
fn at_temperature(g: &mut Graph, logits: Value, t: f32) -> Value {
    if t == 1.0 {
        logits
    } else {
        ops::scale(g, logits, 1.0 / t)
    }
}
