//! nasgpu: neural architecture search whose every number is computed by our own WGSL kernels.
//!
//! Layers, each using only those below it: `device` (adapter, buffers, pipelines) ->
//! `kernels` (WGSL launchers) -> autograd -> nn -> search -> export; `cli` on top.

pub mod autograd;
pub mod bench;
pub mod cli;
pub mod data;
pub mod device;
pub mod export;
pub mod kernels;
pub mod nn;
pub mod search;

pub mod tensor;
pub mod util;
