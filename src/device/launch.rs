//! A recorded kernel dispatch: pipeline, bind group and grid. Built once, encoded any number of
//! times, so a planned training step re-encodes the same launches every step.

use std::sync::Arc;

use super::Gpu;
use super::buffer_pool::PooledBuffer;
use super::pipeline_cache::{Access, KernelDef, Pipeline, Specialisation};

/// One buffer bound to a launch: the buffer, how many bytes of it (from offset 0) are bound, and
/// the pooled buffer owning it, which the launch then keeps alive (so a tensor dropped before the
/// launch runs cannot be handed out again by the pool meanwhile).
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub bytes: u64,
    pub owner: Option<&'a Arc<PooledBuffer>>,
}

impl<'a> Binding<'a> {
    /// A binding of a buffer whose lifetime the caller manages.
    pub fn new(buffer: &'a wgpu::Buffer, bytes: u64) -> Binding<'a> {
        Binding {
            buffer,
            bytes,
            owner: None,
        }
    }
}

/// A ready-to-encode dispatch. Holds its uniform buffer and bind group alive.
pub struct Launch {
    pipeline: Arc<Pipeline>,
    bind_group: wgpu::BindGroup,
    /// Workgroup counts in x, y, z.
    pub grid: [u32; 3],
    /// The pooled buffers the launch binds: kept alive as long as the launch, so the pool cannot
    /// hand them out while the launch may still run.
    bound: Vec<Arc<PooledBuffer>>,
    /// Anything else the launch must outlive (`Launch::keep_alive`).
    keep_alive: Vec<Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Launch({}, {:?})", self.pipeline.name, self.grid)
    }
}

/// Workgroup grid for `n` independent items, `per_group` per workgroup. Splits over x and y
/// when x would exceed the device limit; kernels rebuild the linear index as
/// `gid.x + gid.y * nwg.x * WG` (see `linear_index` in the WGSL sources).
pub fn grid_1d(gpu: &Gpu, n: usize, per_group: u32) -> [u32; 3] {
    let groups = (n as u64).div_ceil(per_group as u64).max(1);
    let max_x = gpu.limits.max_compute_workgroups_per_dimension as u64;
    if groups <= max_x {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(max_x);
        [groups.div_ceil(y) as u32, y as u32, 1]
    }
}

impl Launch {
    /// Builds a launch of `kernel`: `params` fill the uniform at binding 0 when the kernel has one;
    /// `buffers` fill the remaining bindings in order.
    pub fn new(
        gpu: &Gpu,
        kernel: &'static KernelDef,
        spec: &Specialisation,
        params: &[u8],
        buffers: &[Binding<'_>],
        grid: [u32; 3],
    ) -> Launch {
        let pipeline = gpu.pipeline(kernel, spec);
        let has_uniform = kernel.bindings.first() == Some(&Access::Uniform);
        assert_eq!(
            buffers.len() + has_uniform as usize,
            kernel.bindings.len(),
            "kernel {} binds {} buffers",
            kernel.name,
            kernel.bindings.len()
        );
        let uniform = has_uniform.then(|| gpu.uniform(params, kernel.name));
        let mut entries = Vec::with_capacity(kernel.bindings.len());
        if let Some(u) = &uniform {
            entries.push(wgpu::BindGroupEntry {
                binding: 0,
                resource: u.as_entire_binding(),
            });
        }
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: (i + has_uniform as usize) as u32,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: b.buffer,
                    offset: 0,
                    size: wgpu::BufferSize::new(b.bytes.max(4).next_multiple_of(4)),
                }),
            });
        }
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name),
            layout: &pipeline.layout,
            entries: &entries,
        });
        let bound = buffers.iter().filter_map(|b| b.owner.cloned()).collect();
        Launch {
            pipeline,
            bind_group,
            grid,
            bound,
            keep_alive: Vec::new(),
        }
    }

    /// The pooled buffers this launch binds (for memory accounting).
    pub fn bound_buffers(&self) -> &[Arc<PooledBuffer>] {
        &self.bound
    }

    /// Keeps `thing` alive for as long as this launch exists: for resources the launch uses
    /// without binding them as pooled tensors (bound pooled buffers are held already).
    pub fn keep_alive<T: Send + Sync + 'static>(mut self, thing: T) -> Launch {
        self.keep_alive.push(Arc::new(thing));
        self
    }

    /// Name of the kernel, for profiles and dispatch counts.
    pub fn name(&self) -> &'static str {
        self.pipeline.name
    }

    /// Records this dispatch into a compute pass.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let [x, y, z] = self.grid;
        pass.dispatch_workgroups(x, y, z);
    }
}
