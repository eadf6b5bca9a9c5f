//! The CLI's error: a message a user can act on, printed by `main` before a non-zero exit.

use std::fmt;

/// A failed command, with the context that names the file, field or value involved.
#[derive(Debug)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

impl From<crate::device::DeviceError> for CliError {
    fn from(e: crate::device::DeviceError) -> Self {
        CliError(e.to_string())
    }
}

impl From<crate::kernels::KernelError> for CliError {
    fn from(e: crate::kernels::KernelError) -> Self {
        CliError(e.to_string())
    }
}

impl From<crate::bench::BenchError> for CliError {
    fn from(e: crate::bench::BenchError) -> Self {
        CliError(e.to_string())
    }
}
