//! Errors of the device layer: no adapter, a device that cannot be created, out of memory.

use std::fmt;

/// What can go wrong while finding, opening or using a GPU device.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceError {
    /// No adapter at all was found on any enabled backend.
    NoAdapter { backends: String },
    /// `--adapter` / `NASGPU_ADAPTER` matched nothing.
    AdapterNotFound {
        wanted: String,
        available: Vec<String>,
    },
    /// The adapter refused to open a device.
    RequestDevice { adapter: String, reason: String },
    /// A buffer allocation failed because the device is out of memory.
    OutOfMemory { bytes: u64, label: String },
    /// A buffer larger than the device can bind or allocate.
    TooLarge {
        bytes: u64,
        limit: u64,
        label: String,
    },
    /// A memory estimate made before allocating says the request cannot fit (names the field).
    WontFit { message: String },
    /// wgpu reported an error (validation, internal) from earlier work.
    Backend { message: String },
    /// The device was lost (driver reset, removed GPU).
    Lost { reason: String },
    /// Mapping a buffer for readback failed.
    Readback { reason: String },
    /// An environment variable that steers the device holds a value it does not take.
    Setting {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::NoAdapter { backends } => write!(
                f,
                "no GPU adapter found (backends tried: {backends}).\n\
                 Install your GPU's Vulkan driver (or Metal/DX12 on macOS/Windows).\n\
                 On Debian/Ubuntu without a GPU, software Vulkan works: \
                 `sudo apt-get install mesa-vulkan-drivers libvulkan1`."
            ),
            DeviceError::AdapterNotFound { wanted, available } => {
                write!(
                    f,
                    "no adapter matches --adapter/NASGPU_ADAPTER '{wanted}'; available:"
                )?;
                for (i, a) in available.iter().enumerate() {
                    write!(f, "\n  [{i}] {a}")?;
                }
                Ok(())
            }
            DeviceError::RequestDevice { adapter, reason } => {
                write!(f, "adapter '{adapter}' could not open a device: {reason}")
            }
            DeviceError::OutOfMemory { bytes, label } => write!(
                f,
                "out of device memory allocating {} for '{label}'",
                crate::util::human_bytes(*bytes)
            ),
            DeviceError::TooLarge {
                bytes,
                limit,
                label,
            } => write!(
                f,
                "buffer '{label}' needs {} but the device allows at most {}",
                crate::util::human_bytes(*bytes),
                crate::util::human_bytes(*limit)
            ),
            DeviceError::WontFit { message } => write!(f, "does not fit: {message}"),
            DeviceError::Backend { message } => write!(f, "GPU error: {message}"),
            DeviceError::Lost { reason } => write!(f, "GPU device lost: {reason}"),
            DeviceError::Setting {
                name,
                value,
                expected,
            } => write!(f, "{name}={value:?} is not a setting; expected {expected}"),
            DeviceError::Readback { reason } => write!(f, "reading results back failed: {reason}"),
        }
    }
}

impl std::error::Error for DeviceError {}
