//! The opened device: adapter facts, queue, pipeline cache, buffer pool and error capture.

use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use super::adapter::{choose_adapter, create_instance, describe};
use super::buffer_pool::{BufferPool, POOL_USAGE, PooledBuffer};
use super::pipeline_cache::{KernelDef, Pipeline, PipelineCache, Specialisation};
use super::{DeviceError, Launch};

/// Environment variable that turns on checked shader modules (runtime bounds checks).
pub const CHECKED_ENV: &str = "NASGPU_CHECKED";
/// Environment variable: `0` or `1` turns measured conv algorithm choice off or on.
pub const AUTOTUNE_ENV: &str = "NASGPU_AUTOTUNE";

/// How to open the device.
#[derive(Debug, Clone, Default)]
pub struct DeviceOptions {
    /// Adapter index or name substring; falls back to `NASGPU_ADAPTER`, then the best adapter.
    pub adapter: Option<String>,
    /// Shader runtime bounds checks on (slower; for debugging). Also on when `NASGPU_CHECKED=1`
    /// or in debug builds.
    pub checked: bool,
    /// Measure the conv variants per shape and cache the fastest on disk (the CLI's default);
    /// `NASGPU_AUTOTUNE=0` or `1` overrides it.
    pub autotune: bool,
}

/// An open GPU device with everything the kernels need. Shared as `Arc<Gpu>`.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// Timestamp queries can be written at compute-pass boundaries.
    pub has_timestamps: bool,
    /// Subgroup built-ins (`subgroupBroadcast`, ...) are enabled; sizes are in `info`.
    pub has_subgroups: bool,
    /// 64-bit integers in shaders: one `vec4<u64>` load moves 8 floats (the llvmpipe matmul).
    pub has_int64: bool,
    /// Shader modules keep runtime bounds checks.
    pub checked: bool,
    /// Conv algorithms are chosen by measuring them (`kernels::conv2d`'s autotune).
    pub autotune: bool,
    pipelines: PipelineCache,
    pool: Arc<BufferPool>,
    first_error: Arc<Mutex<Option<String>>>,
    /// Why the device was lost (driver reset, removed GPU), once it has been.
    lost: Arc<Mutex<Option<String>>>,
    /// `write_buffer` calls since the last submit (bounded: see `write_bytes`).
    pending_writes: std::sync::atomic::AtomicUsize,
}

/// At most this many `write_buffer` calls wait for a submit; more are flushed with an empty one
/// (unbounded unflushed writes are a known source of corruption).
const MAX_PENDING_WRITES: usize = 16;

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gpu({})", describe(&self.info))
    }
}

/// Limits we ask for: the adapter's own, not wgpu's conservative defaults.
fn wanted_limits(adapter: &wgpu::Adapter) -> wgpu::Limits {
    adapter.limits()
}

impl Gpu {
    /// Opens the chosen adapter with its own limits and, where present, timestamp queries.
    pub fn open(options: &DeviceOptions) -> Result<Arc<Gpu>, DeviceError> {
        // Settings first: a bad one is refused before any adapter is touched.
        let autotune = match std::env::var(AUTOTUNE_ENV) {
            Err(_) => options.autotune,
            Ok(v) => match v.trim() {
                "" => options.autotune,
                "0" => false,
                "1" => true,
                _ => {
                    return Err(DeviceError::Setting {
                        name: AUTOTUNE_ENV,
                        value: v,
                        expected: "0 (the built-in estimate) or 1 (measure each conv shape)",
                    });
                }
            },
        };
        let instance = create_instance();
        let adapter = choose_adapter(&instance, options.adapter.as_deref())?;
        let checked = options.checked
            || cfg!(debug_assertions)
            || std::env::var(CHECKED_ENV).is_ok_and(|v| v != "0" && !v.is_empty());
        Gpu::on_adapter(&adapter, checked, autotune)
    }

    /// Opens a device on `adapter` (chosen by `open`, or the same adapter seen by another
    /// instance) with the given settings.
    pub(super) fn on_adapter(
        adapter: &wgpu::Adapter,
        checked: bool,
        autotune: bool,
    ) -> Result<Arc<Gpu>, DeviceError> {
        let info = adapter.get_info();
        let has_timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let mut features = wgpu::Features::empty();
        if has_timestamps {
            features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        // Subgroup operations let lanes share loaded values (conv, matmul); ask where present.
        let has_subgroups = adapter.features().contains(wgpu::Features::SUBGROUP);
        if has_subgroups {
            features |= wgpu::Features::SUBGROUP;
        }
        // On llvmpipe a storage load costs the same per lane for 32 or 64-bit components.
        let has_int64 = adapter.features().contains(wgpu::Features::SHADER_INT64);
        if has_int64 {
            features |= wgpu::Features::SHADER_INT64;
        }
        let limits = wanted_limits(adapter);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("nasgpu"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| DeviceError::RequestDevice {
            adapter: describe(&info),
            reason: e.to_string(),
        })?;

        let first_error: Arc<Mutex<Option<String>>> = Arc::default();
        let sink = first_error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(e.to_string());
            }
        }));
        let lost: Arc<Mutex<Option<String>>> = Arc::default();
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            let mut slot = lost_sink.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| format!("{reason:?}: {message}"));
        });
        Ok(Arc::new(Gpu {
            device,
            queue,
            info,
            limits,
            has_timestamps,
            has_subgroups,
            has_int64,
            checked,
            autotune,
            pipelines: PipelineCache::default(),
            pool: Arc::default(),
            first_error,
            lost,
            pending_writes: Default::default(),
        }))
    }

    /// One line naming the adapter, for logs and reports.
    pub fn describe(&self) -> String {
        describe(&self.info)
    }

    /// The cached pipeline of a kernel with the given template values.
    pub fn pipeline(&self, kernel: &'static KernelDef, spec: &Specialisation) -> Arc<Pipeline> {
        self.pipelines
            .get_or_create(&self.device, self.checked, kernel, spec)
    }

    /// Largest storage binding the device accepts, in bytes.
    pub fn max_binding_bytes(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    /// A storage buffer of at least `bytes` from the pool. Out of memory is an error, not a panic.
    pub fn storage(&self, bytes: u64, label: &str) -> Result<PooledBuffer, DeviceError> {
        let limit = self.max_binding_bytes();
        if bytes > limit {
            return Err(DeviceError::TooLarge {
                bytes,
                limit,
                label: label.to_string(),
            });
        }
        self.pool.take(bytes, |class| {
            self.create_buffer(class.min(limit), POOL_USAGE, label)
        })
    }

    /// Creates an unpooled buffer, turning an out-of-memory error into `DeviceError`.
    pub fn create_buffer(
        &self,
        bytes: u64,
        usage: wgpu::BufferUsages,
        label: &str,
    ) -> Result<wgpu::Buffer, DeviceError> {
        if bytes > self.limits.max_buffer_size {
            return Err(DeviceError::TooLarge {
                bytes,
                limit: self.limits.max_buffer_size,
                label: label.to_string(),
            });
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4),
            usage,
            mapped_at_creation: false,
        });
        match pollster::block_on(scope.pop()) {
            None => Ok(buffer),
            Some(_) => Err(DeviceError::OutOfMemory {
                bytes,
                label: label.to_string(),
            }),
        }
    }

    /// A uniform buffer holding `bytes` (shapes and scalars of one launch).
    pub fn uniform(&self, bytes: &[u8], label: &str) -> wgpu::Buffer {
        let mut padded = bytes.to_vec();
        padded.resize(bytes.len().max(16).next_multiple_of(16), 0);
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &padded,
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// Releases idle pooled buffers.
    pub fn trim_pool(&self) {
        self.pool.trim()
    }

    /// Encodes the launches into one compute pass of one encoder and submits it (no wait).
    pub fn run(&self, launches: &[&Launch]) -> Result<(), DeviceError> {
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for launch in launches {
                launch.encode(&mut pass);
            }
        }
        self.submit(encoder.finish());
        self.check_errors()
    }

    /// Submits one command buffer; pending `write_bytes` data lands before it runs.
    pub fn submit(&self, commands: wgpu::CommandBuffer) -> wgpu::SubmissionIndex {
        self.pending_writes
            .store(0, std::sync::atomic::Ordering::Relaxed);
        self.queue.submit([commands])
    }

    /// Blocks until all submitted work has finished, then reports any captured GPU error.
    pub fn sync(&self) -> Result<(), DeviceError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| DeviceError::Backend {
                message: e.to_string(),
            })?;
        self.check_errors()
    }

    /// Returns the device loss, or else the first error wgpu reported since the device was
    /// opened, if any.
    pub fn check_errors(&self) -> Result<(), DeviceError> {
        if let Some(reason) = self.lost.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Err(DeviceError::Lost {
                reason: reason.clone(),
            });
        }
        match self
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            None => Ok(()),
            Some(message) => Err(DeviceError::Backend {
                message: message.clone(),
            }),
        }
    }

    /// Copies `bytes` bytes from the start of `buffer` to the host (waits for the GPU).
    pub fn read_bytes(&self, buffer: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>, DeviceError> {
        let bytes = bytes.next_multiple_of(4);
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let staging = self.create_buffer(
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            "readback",
        )?;
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        self.submit(encoder.finish());
        read_mapped(self, &staging, bytes)
    }

    /// Writes host bytes to the start of `buffer`. The data reaches the device before the next
    /// submit's commands run, so per-step writes (a batch cursor, a learning rate) ride along
    /// with the step's single submit; past a small bound, pending writes are flushed.
    pub fn write_bytes(&self, buffer: &wgpu::Buffer, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut padded;
        let data = if data.len().is_multiple_of(4) {
            data
        } else {
            padded = data.to_vec();
            padded.resize(data.len().next_multiple_of(4), 0);
            &padded
        };
        self.queue.write_buffer(buffer, 0, data);
        let pending = self
            .pending_writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if pending >= MAX_PENDING_WRITES {
            self.pending_writes
                .store(0, std::sync::atomic::Ordering::Relaxed);
            self.queue.submit(std::iter::empty());
        }
    }
}

/// Maps a MAP_READ buffer whose copy has been submitted, waits, and copies it out.
pub fn read_mapped(gpu: &Gpu, staging: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>, DeviceError> {
    let slice = staging.slice(..bytes);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    gpu.sync()?;
    match rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(DeviceError::Readback {
                reason: e.to_string(),
            });
        }
        Err(_) => {
            return Err(DeviceError::Readback {
                reason: "map callback never ran".into(),
            });
        }
    }
    let data = slice
        .get_mapped_range()
        .map_err(|e| DeviceError::Readback {
            reason: e.to_string(),
        })?
        .to_vec();
    staging.unmap();
    Ok(data)
}
