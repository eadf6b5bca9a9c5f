//! Reverse-mode differentiation: walk the forward tape backwards, let each op record its
//! gradient computation, and sum gradients of values used more than once.

use std::collections::HashMap;

use super::graph::Phase;
use super::op::BackwardCtx;
use super::{AutogradError, Graph, Value, ops};
use crate::tensor::DType;

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
        let mut grads: HashMap<Value, Value> = HashMap::from([(loss, seed)]);
        let forward_nodes = self.nodes.len();
        for index in (0..forward_nodes).rev() {
            let node = &self.nodes[index];
            if node.phase != Phase::Forward || !node.op.differentiable() {
                continue;
            }
            let out_grads: Vec<Option<Value>> =
                node.outputs.iter().map(|o| grads.get(o).copied()).collect();
            if out_grads.iter().all(Option::is_none)
                || !node.inputs.iter().any(|&v| self.requires_grad(v))
            {
                continue;
            }
            let (op, inputs, outputs) =
                (node.op.clone(), node.inputs.clone(), node.outputs.clone());
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
                let total = match grads.get(&input) {
                    Some(&previous) => ops::add(self, previous, grad)?,
                    None => grad,
                };
                grads.insert(input, total);
            }
        }
        self.grads = grads;
        self.set_phase(Phase::Update);
        Ok(())
    }
}
