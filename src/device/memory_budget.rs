//! What the device and the host can hold, for refusing a request before allocating it.

use super::Gpu;

/// The limits a memory estimate is compared with: the largest buffer a kernel can bind, and the
/// host memory available now (which a software adapter such as lavapipe shares with the device).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryBudget {
    /// Largest storage binding (every tensor is one binding), in bytes.
    pub max_binding_bytes: u64,
    /// Host memory available for new allocations, if the platform says (`/proc/meminfo`).
    pub host_available: Option<u64>,
    /// The device's memory is host memory (a CPU adapter): device bytes count against the host.
    pub device_is_host: bool,
}

impl MemoryBudget {
    /// The budget of `gpu` on this host, read now.
    pub fn of(gpu: &Gpu) -> MemoryBudget {
        MemoryBudget {
            max_binding_bytes: gpu.max_binding_bytes(),
            host_available: crate::util::host_memory::available_bytes(),
            device_is_host: gpu.info.device_type == wgpu::DeviceType::Cpu,
        }
    }

    /// With no device at all (a table search): only the host's memory.
    pub fn host_only() -> MemoryBudget {
        MemoryBudget {
            max_binding_bytes: u64::MAX,
            host_available: crate::util::host_memory::available_bytes(),
            device_is_host: false,
        }
    }

    /// Why `device` bytes on the device plus `host` bytes on the host do not fit, if they do not.
    pub fn refuse_total(&self, device: f64, host: f64) -> Option<String> {
        let available = self.host_available? as f64;
        let needed = if self.device_is_host {
            device + host
        } else {
            host
        };
        (needed > available).then(|| {
            format!(
                "needs an estimated {} of host memory{}, but {} is available",
                bytes(needed),
                if self.device_is_host {
                    format!(
                        " ({} on the device, which is this host's memory, and {} for the host's own copies)",
                        bytes(device),
                        bytes(host)
                    )
                } else {
                    String::new()
                },
                bytes(available)
            )
        })
    }

    /// Why one buffer of `size` bytes cannot be bound, if it cannot.
    pub fn refuse_buffer(&self, size: f64) -> Option<String> {
        (size > self.max_binding_bytes as f64).then(|| {
            format!(
                "{}, but the device binds at most {} per buffer",
                bytes(size),
                bytes(self.max_binding_bytes as f64)
            )
        })
    }
}

/// An estimated byte count for messages (estimates are f64 so that absurd requests cannot
/// overflow; `as u64` saturates).
pub fn bytes(b: f64) -> String {
    crate::util::human_bytes(b as u64)
}
