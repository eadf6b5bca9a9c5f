//! Reverse-mode autograd. Recording a forward pass builds a tape (`Graph`) of nodes; `backward`
//! walks it in reverse and records the gradient computations on the same tape; `Plan` compiles
//! the whole tape (forward, backward, optimiser update) into launches over buffers planned once,
//! so every training step re-encodes the same dispatches into one encoder.

mod backward;
mod eager;
mod error;
mod graph;
pub mod op;
pub mod ops;
mod plan;

pub use eager::run_eager;
pub use error::{AutogradError, shape_error};
pub use graph::{Graph, Node, Phase, Storage, Value, ValueInfo};
pub use plan::{Plan, PlanStats};
