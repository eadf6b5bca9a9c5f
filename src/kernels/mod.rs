//! Launchers for the WGSL kernels in `shaders/`: one file per kernel family. Each launcher checks
//! shapes on the host and returns a `Launch` that can be encoded once (eager) or every step (plans).

pub mod batchnorm;
pub mod broadcast;
pub mod checks;
pub mod concat;
pub mod conv2d;
pub mod conv2d_grouped;
pub mod copy;
pub mod darts_unrolled;
pub mod elementwise;
pub mod embedding;
mod error;
pub mod grad_clip;
pub mod loss;
pub mod lstm;
pub mod matmul;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod sample;
pub mod subsample;
pub mod weighted_sum;

pub use error::{KernelError, argument_error, shape_error};
