//! The tape: values (shapes, where their storage comes from) and the nodes that compute them, in
//! recording order. Recording runs nothing; a `Plan` compiles the tape into launches.

use std::collections::HashMap;
use std::sync::Arc;

use super::AutogradError;
use super::op::Op;
use crate::device::Gpu;
use crate::tensor::{DType, Tensor};

/// Handle to a value of a graph (cheap to copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub(crate) usize);

/// Where a value's buffer comes from.
#[derive(Clone)]
pub enum Storage {
    /// Computed by a node; the planner assigns a buffer, reused once the value is dead.
    Planned,
    /// Owned outside the graph: parameters, constants, host-written inputs. Never reused.
    External(Tensor),
    /// The buffer of another value under another shape (reshape): no copy, no kernel.
    Alias(Value),
}

/// What the graph knows of a value.
#[derive(Clone)]
pub struct ValueInfo {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub storage: Storage,
    /// A gradient with respect to this value is wanted (a parameter, or computed from one).
    pub requires_grad: bool,
    /// Short description for errors and reports.
    pub label: String,
}

/// Which part of a training step a node belongs to, so a plan can run parts separately
/// (the controller samples, waits for rewards, then runs backward and update). Nodes are recorded
/// in phase order (`Plan::compile` checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Forward,
    Backward,
    Update,
}

/// One recorded op application.
pub struct Node {
    pub op: Arc<dyn Op>,
    pub inputs: Vec<Value>,
    pub outputs: Vec<Value>,
    pub phase: Phase,
}

/// A reverse-mode tape over device tensors.
pub struct Graph {
    gpu: Arc<Gpu>,
    pub(crate) values: Vec<ValueInfo>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) grads: HashMap<Value, Value>,
    no_grad: bool,
    phase: Phase,
}

impl Graph {
    /// An empty tape on `gpu`.
    pub fn new(gpu: &Arc<Gpu>) -> Graph {
        Graph {
            gpu: gpu.clone(),
            values: Vec::new(),
            nodes: Vec::new(),
            grads: HashMap::new(),
            no_grad: false,
            phase: Phase::Forward,
        }
    }

    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    /// A trainable parameter: its gradient is computed by `backward`.
    pub fn param(&mut self, t: &Tensor, label: &str) -> Value {
        self.add_value(
            t.shape(),
            t.dtype(),
            Storage::External(t.clone()),
            !self.no_grad,
            label,
        )
    }

    /// An input or constant owned by the caller (no gradient).
    pub fn input(&mut self, t: &Tensor, label: &str) -> Value {
        self.add_value(
            t.shape(),
            t.dtype(),
            Storage::External(t.clone()),
            false,
            label,
        )
    }

    /// A new constant tensor filled with `value`.
    pub fn constant(
        &mut self,
        shape: &[usize],
        value: f32,
        label: &str,
    ) -> Result<Value, AutogradError> {
        let t = Tensor::full(&self.gpu, shape, value)?;
        Ok(self.input(&t, label))
    }

    /// In no-grad mode nothing recorded requires a gradient (evaluation, sampling).
    pub fn set_no_grad(&mut self, no_grad: bool) {
        self.no_grad = no_grad;
    }

    /// Records subsequent nodes under `phase` (`backward` and optimisers set this themselves).
    pub fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
    }

    pub fn info(&self, v: Value) -> &ValueInfo {
        &self.values[v.0]
    }

    pub fn shape(&self, v: Value) -> &[usize] {
        &self.values[v.0].shape
    }

    pub fn dtype(&self, v: Value) -> DType {
        self.values[v.0].dtype
    }

    pub fn requires_grad(&self, v: Value) -> bool {
        self.values[v.0].requires_grad
    }

    /// Number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The gradient of the last `backward` loss with respect to `v`, if one flows to it.
    pub fn grad(&self, v: Value) -> Option<Value> {
        self.grads.get(&v).copied()
    }

    fn add_value(
        &mut self,
        shape: &[usize],
        dtype: DType,
        storage: Storage,
        requires_grad: bool,
        label: &str,
    ) -> Value {
        self.values.push(ValueInfo {
            shape: shape.to_vec(),
            dtype,
            storage,
            requires_grad,
            label: label.to_string(),
        });
        Value(self.values.len() - 1)
    }

    /// Records `op` applied to `inputs`, producing outputs of the given shapes and dtypes.
    /// Outputs require a gradient when the op is differentiable and some input does.
    pub fn push(
        &mut self,
        op: impl Op + 'static,
        inputs: &[Value],
        outputs: &[(Vec<usize>, DType)],
    ) -> Vec<Value> {
        let op: Arc<dyn Op> = Arc::new(op);
        let wants_grad =
            !self.no_grad && op.differentiable() && inputs.iter().any(|&v| self.requires_grad(v));
        let outs: Vec<Value> = outputs
            .iter()
            .map(|(shape, dtype)| {
                let label = op.name().to_string();
                self.add_value(
                    shape,
                    *dtype,
                    Storage::Planned,
                    wants_grad && *dtype == DType::F32,
                    &label,
                )
            })
            .collect();
        self.nodes.push(Node {
            op,
            inputs: inputs.to_vec(),
            outputs: outs.clone(),
            phase: self.phase,
        });
        outs
    }

    /// Records a node with no outputs, run for its side effect (optimiser updates, metrics).
    pub fn push_effect(&mut self, op: impl Op + 'static, inputs: &[Value]) {
        self.nodes.push(Node {
            op: Arc::new(op),
            inputs: inputs.to_vec(),
            outputs: Vec::new(),
            phase: self.phase,
        });
    }

    /// The same data under another shape (element counts must match); no kernel, no copy.
    pub fn reshape(&mut self, v: Value, shape: &[usize]) -> Result<Value, AutogradError> {
        let from = self.shape(v).to_vec();
        if from.iter().product::<usize>() != shape.iter().product::<usize>() {
            return Err(super::error::shape_error(
                "reshape",
                format!("cannot view {from:?} as {shape:?}"),
            ));
        }
        let out = self.push(
            super::ops::shape::Reshape { from: from.clone() },
            &[v],
            &[(shape.to_vec(), self.dtype(v))],
        );
        let out = out[0];
        self.values[out.0].storage = Storage::Alias(v);
        Ok(out)
    }
}
