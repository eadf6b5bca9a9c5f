//! Launchers for the WGSL kernels in `shaders/`: one file per kernel family. Each launcher checks
//! shapes on the host and returns a `Launch` that can be encoded once (eager) or every step (plans).

pub mod checks;
pub mod elementwise;
mod error;

pub use error::{KernelError, argument_error, shape_error};
