//! Compute pipelines cached by (kernel, specialisation): never by shape, so one pipeline serves
//! every shape a search produces. wgpu does not deduplicate pipelines itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How a kernel binds one buffer. Binding `i` of group 0 is `bindings[i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// `var<uniform>`: small parameter block (shapes, scalars).
    Uniform,
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// A WGSL entry point and the buffers it binds; declared as a `static` next to its launcher.
#[derive(Debug)]
pub struct KernelDef {
    /// Unique name, used in cache keys, labels and benchmark rows.
    pub name: &'static str,
    /// The WGSL source (from `include_str!`), possibly with `{{KEY}}` template slots.
    pub source: &'static str,
    /// Entry point name inside `source`.
    pub entry: &'static str,
    /// Binding layout of group 0.
    pub bindings: &'static [Access],
}

/// Template values substituted for `{{KEY}}` in a kernel's source (tile sizes, unroll factors).
/// Part of the cache key; keep the number of distinct values small (each is a compile).
pub type Specialisation = Vec<(&'static str, String)>;

/// A compiled pipeline with the layout its bind groups must use.
#[derive(Debug)]
pub struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    pub name: &'static str,
}

#[derive(Default)]
pub(crate) struct PipelineCache {
    pipelines: Mutex<HashMap<(&'static str, String), Arc<Pipeline>>>,
}

/// Applies `{{KEY}}` substitutions; an unreplaced slot is a programming error caught in tests.
pub fn specialise(source: &str, spec: &Specialisation) -> String {
    let mut text = source.to_string();
    for (key, value) in spec {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    text
}

fn spec_key(spec: &Specialisation) -> String {
    spec.iter().map(|(k, v)| format!("{k}={v};")).collect()
}

impl PipelineCache {
    pub fn get_or_create(
        &self,
        device: &wgpu::Device,
        checked: bool,
        kernel: &'static KernelDef,
        spec: &Specialisation,
    ) -> Arc<Pipeline> {
        let key = (kernel.name, spec_key(spec));
        if let Some(p) = self
            .pipelines
            .lock()
            .expect("pipeline cache poisoned")
            .get(&key)
        {
            return p.clone();
        }
        let pipeline = Arc::new(compile(device, checked, kernel, spec));
        self.pipelines
            .lock()
            .expect("pipeline cache poisoned")
            .entry(key)
            .or_insert(pipeline)
            .clone()
    }
}

fn compile(
    device: &wgpu::Device,
    checked: bool,
    kernel: &'static KernelDef,
    spec: &Specialisation,
) -> Pipeline {
    let source = specialise(kernel.source, spec);
    debug_assert!(
        !source.contains("{{"),
        "kernel {} has an unfilled template slot",
        kernel.name
    );
    let desc = wgpu::ShaderModuleDescriptor {
        label: Some(kernel.name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    };
    let module = if checked {
        device.create_shader_module(desc)
    } else {
        // SAFETY: every launcher validates shapes on the host before dispatching, and the kernels
        // guard their own index ranges, so the runtime bounds checks only cost time.
        unsafe { device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked()) }
    };
    let entries: Vec<wgpu::BindGroupLayoutEntry> = kernel
        .bindings
        .iter()
        .enumerate()
        .map(|(i, access)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: match access {
                Access::Uniform => wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                Access::Read | Access::ReadWrite => wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage {
                        read_only: *access == Access::Read,
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
            },
            count: None,
        })
        .collect();
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(kernel.name),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(kernel.name),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(kernel.name),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some(kernel.entry),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &[],
            // Our kernels write every workgroup-memory cell before reading it.
            zero_initialize_workgroup_memory: false,
        },
        cache: None,
    });
    Pipeline {
        pipeline,
        layout,
        name: kernel.name,
    }
}
