//! A second device on the same software adapter whose kernels run on the submitting thread.
//!
//! Mesa's llvmpipe (lavapipe) hands every dispatch to a pool of worker threads and waits for
//! them. For a convolution that costs nothing next to the work; for a pass of a hundred tiny
//! kernels (the LSTM controller: rows of 8, widths of 35-140) the hand-offs are most of the
//! time, about 0.13 ms a dispatch on a 2-core Xeon. llvmpipe reads `LP_NUM_THREADS` when an
//! instance enumerates it, and 0 runs every dispatch inline. So launch-bound work gets its own
//! instance and device opened with `LP_NUM_THREADS=0`, while children keep the pool.
//!
//! The thread count only changes which thread runs a workgroup, never a workgroup's
//! arithmetic, and no kernel reduces across workgroups with float atomics: the twin computes
//! the same bits. A user's own `LP_NUM_THREADS`, and every other adapter, keep the device as
//! it is.

use std::sync::{Arc, Mutex};

use super::Gpu;
use super::adapter::{create_instance, list_adapters};

/// llvmpipe's worker-thread count; read when an instance enumerates the adapter.
const LLVMPIPE_THREADS_ENV: &str = "LP_NUM_THREADS";

/// Twins opened so far, by the adapter they twin (one per process and adapter).
static TWINS: Mutex<Vec<(String, Arc<Gpu>)>> = Mutex::new(Vec::new());

/// Whether `info` is llvmpipe, whose dispatches go through a thread pool.
fn is_llvmpipe(info: &wgpu::AdapterInfo) -> bool {
    info.device_type == wgpu::DeviceType::Cpu && info.name.starts_with("llvmpipe")
}

fn same_adapter(a: &wgpu::AdapterInfo, b: &wgpu::AdapterInfo) -> bool {
    a.name == b.name && a.backend == b.backend && a.driver_info == b.driver_info
}

impl Gpu {
    /// The device for passes of many tiny kernels: on llvmpipe (without a user's
    /// `LP_NUM_THREADS`) a twin of this device that runs dispatches inline, else this device.
    /// If the twin cannot be opened, this device (the twin only saves time).
    pub fn for_tiny_kernels(self: &Arc<Gpu>) -> Arc<Gpu> {
        if !is_llvmpipe(&self.info) || std::env::var_os(LLVMPIPE_THREADS_ENV).is_some() {
            return self.clone();
        }
        let key = format!("{} {}", self.describe(), self.info.driver_info);
        let mut twins = TWINS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, twin)) = twins.iter().find(|(k, _)| *k == key) {
            return twin.clone();
        }
        match self.open_inline_twin() {
            Some(twin) => {
                twins.push((key, twin.clone()));
                twin
            }
            None => self.clone(),
        }
    }

    fn open_inline_twin(&self) -> Option<Arc<Gpu>> {
        // SAFETY: set and removed under `TWINS`'s lock, once per process and adapter. Rust's
        // own environment reads are synchronised with these calls. C code reading the
        // environment on another thread meanwhile (another instance being created) would race;
        // the CLI opens the twin on its main thread while its other threads (the ctrl-c
        // handler, llvmpipe's idle workers) read no variables.
        unsafe { std::env::set_var(LLVMPIPE_THREADS_ENV, "0") };
        let instance = create_instance();
        let adapters = list_adapters(&instance);
        unsafe { std::env::remove_var(LLVMPIPE_THREADS_ENV) };
        let adapter = adapters
            .iter()
            .find(|a| same_adapter(&a.get_info(), &self.info))?;
        Gpu::on_adapter(adapter, self.checked, self.autotune).ok()
    }
}
