//! Reverse-mode differentiation: walk the forward tape backwards, let each op record its
//! gradient computation, and sum gradients of values used more than once.
//!
//! A value used k times gets k gradient terms. They are kept pending and summed by `sum_n`
//! only when needed (when the walk reaches the value's producer, at the end for leaves), or
//! when `PER_LAUNCH` of them are waiting: one launch per few terms instead of k - 1 adds, for
//! at most `PER_LAUNCH` live terms per value. The terms are added in the order they arrive,
//! one after another, exactly as a chain of adds would, so the gradients keep their bits.

use std::collections::HashMap;

use super::graph::Phase;
use super::op::BackwardCtx;
use super::{AutogradError, Graph, Value, ops};
use crate::kernels::weighted_sum::PER_LAUNCH;
use crate::tensor::DType;

/// Gradient terms of each value, in arrival order, not yet summed.
#[derive(Default)]
struct Pending(HashMap<Value, Vec<Value>>);

impl Pending {
    fn push(&mut self, g: &mut Graph, value: Value, term: Value) -> Result<(), AutogradError> {
        let terms = self.0.entry(value).or_default();
        terms.push(term);
        if terms.len() == PER_LAUNCH {
            let sum = ops::sum_n(g, terms)?;
            *terms = vec![sum];
        }
        Ok(())
    }

    /// The summed gradient of `value` (None when nothing reached it).
    fn total(&mut self, g: &mut Graph, value: Value) -> Result<Option<Value>, AutogradError> {
        let Some(terms) = self.0.get_mut(&value) else {
            return Ok(None);
        };
        if terms.len() > 1 {
            let sum = ops::sum_n(g, terms)?;
            *terms = vec![sum];
        }
        Ok(Some(terms[0]))
    }
}

impl Graph {
    /// Records the gradient of the scalar `loss` with respect to every value that requires one
    /// (read them with `grad`). Nodes recorded afterwards belong to the update phase.
    pub fn backward(&mut self, loss: Value) -> Result<(), AutogradError> {
        let info = self.info(loss);
        if info.shape.iter().product::<usize>() != 1 || info.dtype != DType::F32 {
            return Err(AutogradError::Backward {
                message: format!(
                    "loss must be a single f32 value, got {:?} {:?}",
                    info.dtype, info.shape
                ),
            });
        }
        if !info.requires_grad {
            return Err(AutogradError::Backward {
                message: format!("loss '{}' does not depend on any parameter", info.label),
            });
        }
        let shape = info.shape.clone();
        self.set_phase(Phase::Backward);
        let seed = self.constant(&shape, 1.0, "d loss / d loss")?;
        let mut pending = Pending::default();
        pending.push(self, loss, seed)?;
        let forward_nodes = self.nodes.len();
        for index in (0..forward_nodes).rev() {
            let node = &self.nodes[index];
            if node.phase != Phase::Forward || !node.op.differentiable() {
                continue;
            }
            if !node.outputs.iter().any(|o| pending.0.contains_key(o))
                || !node.inputs.iter().any(|&v| self.requires_grad(v))
            {
                continue;
            }
            let (op, inputs, outputs) =
                (node.op.clone(), node.inputs.clone(), node.outputs.clone());
            let out_grads = outputs
                .iter()
                .map(|&o| pending.total(self, o))
                .collect::<Result<Vec<_>, _>>()?;
            let mut ctx = BackwardCtx {
                graph: self,
                inputs: &inputs,
                outputs: &outputs,
                grads: &out_grads,
            };
            let input_grads = op.backward(&mut ctx)?;
            for (&input, grad) in inputs.iter().zip(input_grads) {
                let Some(grad) = grad else { continue };
                if !self.requires_grad(input) {
                    continue;
                }
                if self.shape(grad) != self.shape(input) {
                    return Err(AutogradError::Backward {
                        message: format!(
                            "{} produced a gradient of shape {:?} for an input of shape {:?}",
                            op.name(),
                            self.shape(grad),
                            self.shape(input)
                        ),
                    });
                }
                pending.push(self, input, grad)?;
            }
        }
        // In value order, so the graph (and its plan) is the same from run to run.
        let mut values: Vec<Value> = pending.0.keys().copied().collect();
        values.sort();
        let mut grads = HashMap::with_capacity(values.len());
        for value in values {
            if let Some(total) = pending.total(self, value)? {
                grads.insert(value, total);
            }
        }
        self.grads = grads;
        self.set_phase(Phase::Update);
        Ok(())
    }
}
