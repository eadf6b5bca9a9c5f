//! Unplanned execution, the baseline the planner is measured against: every node allocates its
//! outputs from the pool, builds fresh bind groups and uniforms, and is submitted on its own.

use std::collections::HashMap;

use super::graph::{Phase, Storage};
use super::{AutogradError, Graph, Value};
use crate::tensor::Tensor;

/// Runs the nodes of `phases` one submit each and returns the tensors of `keep`.
pub fn run_eager(
    graph: &Graph,
    keep: &[Value],
    phases: &[Phase],
) -> Result<HashMap<Value, Tensor>, AutogradError> {
    let gpu = graph.gpu();
    let mut last_use: HashMap<Value, usize> = HashMap::new();
    for (i, node) in graph.nodes().iter().enumerate() {
        for &v in node.inputs.iter().chain(&node.outputs) {
            last_use.insert(v, i);
        }
    }
    let mut live: HashMap<Value, Tensor> = HashMap::new();
    for (i, node) in graph.nodes().iter().enumerate() {
        if !phases.contains(&node.phase) {
            continue;
        }
        for &v in node.inputs.iter().chain(&node.outputs) {
            if live.contains_key(&v) {
                continue;
            }
            let info = graph.info(v);
            let t = match &info.storage {
                Storage::External(t) => t.clone(),
                Storage::Planned => Tensor::empty(gpu, &info.shape, info.dtype)?,
                Storage::Alias(of) => match live.get(of) {
                    Some(base) => base.alias(&info.shape, info.dtype),
                    None => {
                        return Err(AutogradError::Backward {
                            message: format!(
                                "eager run: '{}' reshapes a value that is not live",
                                info.label
                            ),
                        });
                    }
                },
            };
            live.insert(v, t);
        }
        let inputs: Vec<&Tensor> = node.inputs.iter().map(|v| &live[v]).collect();
        let outputs: Vec<&Tensor> = node.outputs.iter().map(|v| &live[v]).collect();
        let launches = node.op.launches(gpu, &inputs, &outputs)?;
        gpu.run(&launches.iter().collect::<Vec<_>>())?;
        live.retain(|v, _| keep.contains(v) || last_use.get(v).is_some_and(|&last| last > i));
    }
    Ok(live.into_iter().filter(|(v, _)| keep.contains(v)).collect())
}
