//! Layers with parameters. Stateless layers (pooling, relu, concat) are the autograd ops.

pub mod batchnorm;
pub mod conv;
pub mod embedding;
pub mod linear;
pub mod lstm;

pub use batchnorm::{BatchNorm2d, DEFAULT_BATCH_NORM};
pub use conv::Conv2d;
pub use embedding::Embedding;
pub use linear::Linear;
pub use lstm::{Lstm, LstmLayer, LstmState};
