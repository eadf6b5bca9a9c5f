//! `nasgpu bench`: the kernel benchmark table, optionally saved as JSON.

use std::path::{Path, PathBuf};

use super::{CliError, DeviceArgs};
use crate::bench::table::print_progress;
use crate::bench::{BenchOptions, MAX_TIMESTAMP_SAMPLES, run_suite_with};

/// Most untimed warm-up runs per case (more is a hang, not a benchmark).
const MAX_WARMUP: i64 = 1000;

/// Options of `nasgpu bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Only kernels whose name contains this text (repeat it, or separate terms with commas).
    #[arg(long, value_name = "TEXT", value_delimiter = ',')]
    pub filter: Vec<String>,
    /// Timed samples per case, after the warm-up.
    #[arg(long, default_value_t = 15, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=MAX_TIMESTAMP_SAMPLES as i64))]
    pub samples: u32,
    /// Untimed warm-up runs per case.
    #[arg(long, default_value_t = 3, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(0..=MAX_WARMUP))]
    pub warmup: u32,
    /// Also write the report as JSON to this file (atomically: never half-written).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Runs the suite, printing the table as it goes, then writes the JSON report if asked.
pub fn run(device: &DeviceArgs, args: &BenchArgs) -> Result<(), CliError> {
    if let Some(path) = &args.json {
        check_writable_dir(path)?;
    }
    let options = BenchOptions {
        device: device.options(),
        filters: args.filter.clone(),
        warmup: args.warmup as usize,
        samples: args.samples as usize,
    };
    let report = run_suite_with(&options, &mut print_progress)?;
    if let Some(path) = &args.json {
        report.write_json(path)?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

/// Fails before the (long) run if the JSON file's folder does not exist.
fn check_writable_dir(path: &Path) -> Result<(), CliError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(CliError(format!(
            "--json {}: folder '{}' does not exist",
            path.display(),
            dir.display()
        )))
    }
}
