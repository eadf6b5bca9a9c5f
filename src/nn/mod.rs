//! Neural-network layers built on the autograd tape, child networks from architecture files,
//! weight files, and training.

pub mod arch;
pub mod infer;
pub mod init;
pub mod layers;
pub mod meta;
pub mod network;
pub mod param;
pub mod preset;
pub mod train;
pub mod weights;

pub use arch::{ArchError, Architecture, LayerSpec};
pub use meta::{ModelMeta, Normalization};
pub use network::Network;
pub use param::{Binder, Parameter};
