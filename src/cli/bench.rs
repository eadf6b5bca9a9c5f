//! `nasgpu bench`: the kernel benchmark table.

use super::{CliError, DeviceArgs};
use crate::bench::{cases::all_cases, time_wall_clock};
use crate::device::Gpu;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Only kernels whose name contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Timed samples per case (after warm-up).
    #[arg(long, default_value_t = 15)]
    pub samples: usize,
}

pub fn run(device: &DeviceArgs, args: &BenchArgs) -> Result<(), CliError> {
    let gpu = Gpu::open(&device.options())?;
    println!("adapter: {}", gpu.describe());
    let cases = all_cases(&gpu)?;
    println!(
        "{:<28} {:<34} {:>10} {:>10} {:>10} {:>9} {:>9}",
        "kernel", "shape", "median ms", "min ms", "max ms", "GFLOPS", "GB/s"
    );
    for case in cases.iter().filter(|c| {
        args.filter
            .as_ref()
            .is_none_or(|f| c.kernel.contains(f.as_str()))
    }) {
        let t = time_wall_clock(&gpu, case, 3, args.samples)?;
        println!(
            "{:<28} {:<34} {:>10.3} {:>10.3} {:>10.3} {:>9.2} {:>9.2}",
            case.kernel,
            case.shape,
            t.median * 1e3,
            t.min * 1e3,
            t.max * 1e3,
            case.flops / t.median / 1e9,
            case.bytes / t.median / 1e9
        );
    }
    Ok(())
}
