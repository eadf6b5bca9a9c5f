//! Errors of the benchmark harness: the device or a kernel failed, or the options make no sense.

use std::fmt;

use crate::device::DeviceError;
use crate::kernels::KernelError;

/// Why a benchmark run could not finish.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchError {
    /// The device failed (no adapter, out of memory, lost device).
    Device(DeviceError),
    /// A case could not build its launches.
    Kernel(KernelError),
    /// A `--filter` term matched no kernel; lists every kernel name there is.
    NoMatch {
        filter: String,
        kernels: Vec<String>,
    },
    /// An option is out of range (zero samples, too many samples).
    Options(String),
    /// GPU timestamps came back unusable (went backwards, zero period).
    Timestamps(String),
    /// Writing the JSON report failed.
    Io { path: String, reason: String },
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Device(e) => write!(f, "{e}"),
            BenchError::Kernel(e) => write!(f, "{e}"),
            BenchError::NoMatch { filter, kernels } => write!(
                f,
                "filter '{filter}' matches no kernel; kernels are: {}",
                kernels.join(", ")
            ),
            BenchError::Options(message) => write!(f, "bench options: {message}"),
            BenchError::Timestamps(reason) => write!(f, "GPU timestamps unusable: {reason}"),
            BenchError::Io { path, reason } => write!(f, "cannot write '{path}': {reason}"),
        }
    }
}

impl std::error::Error for BenchError {}

impl From<DeviceError> for BenchError {
    fn from(e: DeviceError) -> Self {
        BenchError::Device(e)
    }
}

impl From<KernelError> for BenchError {
    fn from(e: KernelError) -> Self {
        match e {
            KernelError::Device(d) => BenchError::Device(d),
            other => BenchError::Kernel(other),
        }
    }
}
