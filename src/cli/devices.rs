//! `nasgpu devices`: every adapter and the facts that matter for compute, marking the one a
//! command would use.

use super::{CliError, DeviceArgs};
use crate::bench::AdapterSummary;
use crate::device::{chosen_index, create_instance, list_adapters};
use crate::util::human_bytes;

/// Options of `nasgpu devices`.
#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The compute limits of an adapter (sizes in bytes).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ComputeLimits {
    pub max_compute_workgroup_size_x: u32,
    pub max_compute_workgroup_size_y: u32,
    pub max_compute_workgroup_size_z: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_storage_buffers_per_shader_stage: u32,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_uniform_buffer_binding_size: u64,
}

impl ComputeLimits {
    fn from_limits(l: &wgpu::Limits) -> ComputeLimits {
        ComputeLimits {
            max_compute_workgroup_size_x: l.max_compute_workgroup_size_x,
            max_compute_workgroup_size_y: l.max_compute_workgroup_size_y,
            max_compute_workgroup_size_z: l.max_compute_workgroup_size_z,
            max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
            max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
            max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
            max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
            max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
            max_buffer_size: l.max_buffer_size,
            max_uniform_buffer_binding_size: l.max_uniform_buffer_binding_size,
        }
    }
}

/// One adapter as `nasgpu devices` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceEntry {
    /// Index accepted by `--adapter`.
    pub index: usize,
    /// The adapter commands would use with the current `--adapter` / `NASGPU_ADAPTER`.
    pub chosen: bool,
    #[serde(flatten)]
    pub adapter: AdapterSummary,
    pub timestamp_queries: bool,
    pub limits: ComputeLimits,
    /// Conv variant choices measured on this adapter and kept in the autotune cache file.
    pub conv_autotune: ConvAutotune,
}

/// What the autotune cache holds for one adapter.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConvAutotune {
    /// The cache file (`NASGPU_CACHE_DIR`, `XDG_CACHE_HOME`, `HOME`), when there is a place.
    pub cache_file: Option<String>,
    /// Pass shapes with a measured choice for this adapter, driver and build.
    pub shapes: usize,
}

/// Lists every adapter; an empty list or an `--adapter` matching none is an error (non-zero exit).
pub fn run(device: &DeviceArgs, args: &DevicesArgs) -> Result<(), CliError> {
    let instance = create_instance();
    let adapters = list_adapters(&instance);
    let chosen = chosen_index(&adapters, device.adapter.as_deref())?;
    let entries: Vec<DeviceEntry> = adapters
        .iter()
        .enumerate()
        .map(|(index, a)| DeviceEntry {
            index,
            chosen: index == chosen,
            adapter: AdapterSummary::from_info(&a.get_info()),
            timestamp_queries: a.features().contains(wgpu::Features::TIMESTAMP_QUERY),
            limits: ComputeLimits::from_limits(&a.limits()),
            conv_autotune: {
                let (file, shapes) = crate::kernels::conv2d::autotune_cached_shapes(&a.get_info());
                ConvAutotune {
                    cache_file: file.map(|f| f.display().to_string()),
                    shapes,
                }
            },
        })
        .collect();
    if args.json {
        let text = serde_json::to_string_pretty(&entries)
            .map_err(|e| CliError(format!("devices: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    let why = if device.adapter.is_some() {
        "chosen by --adapter"
    } else if std::env::var(crate::device::ADAPTER_ENV).is_ok_and(|v| !v.trim().is_empty()) {
        "chosen by NASGPU_ADAPTER"
    } else {
        "default choice"
    };
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print!("{}", render(e, why));
    }
    Ok(())
}

/// The text block of one adapter.
fn render(e: &DeviceEntry, why: &str) -> String {
    let a = &e.adapter;
    let l = &e.limits;
    let mark = if e.chosen {
        format!("   <- {why}")
    } else {
        String::new()
    };
    let mut s = format!("[{}] {}{mark}\n", e.index, a.name);
    let mut line = |key: &str, value: String| s += &format!("    {key:<26} {value}\n");
    line("backend", a.backend.clone());
    line("device type", a.device_type.clone());
    line(
        "vendor / device id",
        format!("{:#06x} / {:#06x}", a.vendor, a.device),
    );
    line("driver", a.driver.clone());
    line("driver info", a.driver_info.clone());
    line(
        "timestamp queries",
        if e.timestamp_queries { "yes" } else { "no" }.into(),
    );
    line(
        "workgroup size",
        format!(
            "{} x {} x {} (x, y, z max)",
            l.max_compute_workgroup_size_x,
            l.max_compute_workgroup_size_y,
            l.max_compute_workgroup_size_z
        ),
    );
    line(
        "invocations per workgroup",
        l.max_compute_invocations_per_workgroup.to_string(),
    );
    line(
        "workgroup storage",
        human_bytes(l.max_compute_workgroup_storage_size as u64),
    );
    line(
        "workgroups per dimension",
        l.max_compute_workgroups_per_dimension.to_string(),
    );
    line(
        "storage buffers per stage",
        l.max_storage_buffers_per_shader_stage.to_string(),
    );
    line(
        "storage buffer binding",
        human_bytes(l.max_storage_buffer_binding_size),
    );
    line("buffer size", human_bytes(l.max_buffer_size));
    line(
        "uniform buffer binding",
        human_bytes(l.max_uniform_buffer_binding_size),
    );
    let t = &e.conv_autotune;
    line(
        "conv autotune",
        match &t.cache_file {
            Some(f) => format!("{} shapes measured, in {f}", t.shapes),
            None => "no cache folder (set NASGPU_CACHE_DIR); measured per run".into(),
        },
    );
    s
}
