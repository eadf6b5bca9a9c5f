//! The result of a benchmark run: adapter, timer, ceilings and one row per case; saved as JSON.

use std::io::Write;
use std::path::Path;

use super::timing::{Timer, TimerKind, Timing};
use super::{BenchCase, BenchError, Ceilings};

/// The adapter a report was measured on.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub vendor: u32,
    pub device: u32,
}

impl AdapterSummary {
    /// The facts of `info` as plain strings and numbers.
    pub fn from_info(info: &wgpu::AdapterInfo) -> AdapterSummary {
        AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            vendor: info.vendor,
            device: info.device,
        }
    }
}

/// One case's numbers. Throughput columns are `None` where they do not apply (no FLOPs / bytes).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    pub kernel: String,
    pub shape: String,
    /// The clock that measured this row (wall clock if timestamps failed for it).
    pub timer: TimerKind,
    pub samples: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// Useful FLOPs of one run.
    pub flops: f64,
    /// Minimal bytes one run reads and writes.
    pub bytes: f64,
    pub gflops: Option<f64>,
    /// `gflops` as a percentage of the peak-FMA ceiling.
    pub pct_peak: Option<f64>,
    pub gbps: Option<f64>,
    /// `gbps` as a percentage of the copy bandwidth ceiling.
    pub pct_copy: Option<f64>,
}

impl Row {
    /// The row of `case` timed as `timing` (median used for throughput), against `ceilings`.
    pub fn new(case: &BenchCase, timing: Timing, timer: TimerKind, ceilings: &Ceilings) -> Row {
        let rate = |amount: f64| (amount > 0.0).then(|| amount / timing.median / 1e9);
        let gflops = rate(case.flops);
        let gbps = rate(case.bytes);
        Row {
            kernel: case.kernel.clone(),
            shape: case.shape.clone(),
            timer,
            samples: timing.samples,
            median_ms: timing.median * 1e3,
            min_ms: timing.min * 1e3,
            max_ms: timing.max * 1e3,
            flops: case.flops,
            bytes: case.bytes,
            gflops,
            pct_peak: gflops.map(|g| 100.0 * g / ceilings.peak_gflops),
            gbps,
            pct_copy: gbps.map(|g| 100.0 * g / ceilings.copy_gbps),
        }
    }
}

/// Everything one benchmark run measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Version of nasgpu that measured it.
    pub nasgpu_version: String,
    /// When the run started, `YYYY-MM-DD HH:MM:SS UTC`.
    pub date: String,
    pub adapter: AdapterSummary,
    pub timer: Timer,
    pub warmup: usize,
    pub samples: usize,
    pub ceilings: Ceilings,
    pub rows: Vec<Row>,
}

impl Report {
    /// Pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }

    /// Writes the JSON to `path` atomically: a temporary file beside it, synced, then renamed, so
    /// a reader never sees half a report.
    pub fn write_json(&self, path: &Path) -> Result<(), BenchError> {
        let io = |e: std::io::Error| BenchError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let name = path
            .file_name()
            .ok_or_else(|| io(std::io::Error::other("not a file name")))?;
        let tmp = path.with_file_name(format!(
            ".{}.tmp{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(self.to_json().as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }
}
