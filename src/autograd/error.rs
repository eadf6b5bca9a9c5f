//! Errors of the autograd layer: shapes that do not fit when a graph is recorded, and kernel or
//! device failures when it is compiled or run.

use std::fmt;

use crate::device::DeviceError;
use crate::kernels::KernelError;

/// Recording, differentiating or running a graph failed.
#[derive(Debug, Clone, PartialEq)]
pub enum AutogradError {
    /// An op was recorded with inputs that do not fit; names the op and the shapes.
    Shape { op: &'static str, message: String },
    /// `backward` was asked for something it cannot do (non-scalar loss, no gradient path).
    Backward { message: String },
    /// A kernel refused its arguments when the graph was compiled.
    Kernel(KernelError),
    /// The device failed (out of memory, lost device).
    Device(DeviceError),
}

impl fmt::Display for AutogradError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AutogradError::Shape { op, message } => write!(f, "{op}: {message}"),
            AutogradError::Backward { message } => write!(f, "backward: {message}"),
            AutogradError::Kernel(e) => write!(f, "{e}"),
            AutogradError::Device(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AutogradError {}

impl From<KernelError> for AutogradError {
    fn from(e: KernelError) -> Self {
        match e {
            KernelError::Device(d) => AutogradError::Device(d),
            other => AutogradError::Kernel(other),
        }
    }
}

impl From<DeviceError> for AutogradError {
    fn from(e: DeviceError) -> Self {
        AutogradError::Device(e)
    }
}

/// Shorthand for a recording-time shape error.
pub fn shape_error(op: &'static str, message: impl Into<String>) -> AutogradError {
    AutogradError::Shape {
        op,
        message: message.into(),
    }
}
