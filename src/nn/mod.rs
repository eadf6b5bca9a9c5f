//! Neural-network layers built on the autograd tape, child networks from architecture files,
//! weight files, and training.

pub mod arch;
pub mod init;
pub mod param;
pub mod weights;

pub use arch::{ArchError, Architecture, LayerSpec};
pub use param::{Binder, Parameter};
