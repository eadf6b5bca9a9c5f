//! Errors of the kernel layer: shapes that do not fit, and device failures underneath.

use std::fmt;

use crate::device::DeviceError;

/// A kernel could not be launched.
#[derive(Debug, Clone, PartialEq)]
pub enum KernelError {
    /// Operand shapes do not fit the kernel; the message names every shape involved.
    Shape {
        kernel: &'static str,
        message: String,
    },
    /// An argument other than a shape is out of range (stride 0, filter 9x9, ...).
    Argument {
        kernel: &'static str,
        message: String,
    },
    /// The device failed underneath (out of memory, lost device).
    Device(DeviceError),
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::Shape { kernel, message } => {
                write!(f, "{kernel}: shape mismatch: {message}")
            }
            KernelError::Argument { kernel, message } => write!(f, "{kernel}: {message}"),
            KernelError::Device(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for KernelError {}

impl From<DeviceError> for KernelError {
    fn from(e: DeviceError) -> Self {
        KernelError::Device(e)
    }
}

/// Shorthand for a shape error.
pub fn shape_error(kernel: &'static str, message: impl Into<String>) -> KernelError {
    KernelError::Shape {
        kernel,
        message: message.into(),
    }
}

/// Shorthand for an argument error.
pub fn argument_error(kernel: &'static str, message: impl Into<String>) -> KernelError {
    KernelError::Argument {
        kernel,
        message: message.into(),
    }
}
