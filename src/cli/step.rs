//! `nasgpu bench-step` (hidden): one network's training step as a benchmark for comparison
//! scripts (`scripts/compare-pytorch.sh`, `scripts/gpu-compare.sh`); see `bench::step`.

use std::path::PathBuf;

use super::options::{MAX_BATCH, count};
use super::{CliError, DeviceArgs};
use crate::bench::step::{StepBench, architecture, measure_ceilings};
use crate::bench::summarise;
use crate::device::Gpu;

/// Options of `nasgpu bench-step`.
#[derive(Debug, clap::Args)]
pub struct StepArgs {
    /// A preset network (small-cnn, tiny-cnn).
    #[arg(long, default_value = "small-cnn", conflicts_with = "arch")]
    pub preset: String,
    /// An architecture file instead of a preset.
    #[arg(long, value_name = "FILE")]
    pub arch: Option<PathBuf>,
    #[arg(long, default_value_t = 64, allow_negative_numbers = true,
          value_parser = count(1, MAX_BATCH))]
    pub batch: usize,
    /// Seeds the weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the initial weights, the first batches and their losses here.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Steps to export (each batch and its loss).
    #[arg(long, default_value_t = 3, allow_negative_numbers = true,
          value_parser = count(1, 10_000))]
    pub export_steps: usize,
    /// Measure the device's peak-FMA and copy ceilings first (printed as `ceilings JSON`).
    #[arg(long)]
    pub ceilings: bool,
    /// Print the per-op profile of one step.
    #[arg(long)]
    pub profile: bool,
    /// Time this many steps (after 3 warm-up steps) and print median, min and max.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true,
          value_parser = count(0, 1_000_000))]
    pub samples: usize,
    /// Then answer `step K` / `profile` / `quit` requests on stdin.
    #[arg(long)]
    pub serve: bool,
}

pub fn run(device: &DeviceArgs, args: &StepArgs) -> Result<(), CliError> {
    let gpu = Gpu::open(&device.options()).map_err(|e| CliError(e.to_string()))?;
    let fail = CliError;
    println!("adapter {}", gpu.describe());
    let ceilings = if args.ceilings {
        let c = measure_ceilings(&gpu).map_err(fail)?;
        println!(
            "ceilings {}",
            serde_json::to_string(&c).expect("ceilings serialise")
        );
        Some(c)
    } else {
        None
    };
    let arch = architecture(Some(&args.preset), args.arch.as_deref()).map_err(fail)?;
    let mut bench = StepBench::new(&gpu, &arch, args.batch, args.seed).map_err(fail)?;
    println!(
        "network {}, {} parameters, batch {}, {:.1} MFLOP per step",
        arch.describe(),
        arch.parameter_count(),
        args.batch,
        bench.step_flops() / 1e6
    );
    if let Some(dir) = &args.export {
        let meta = bench.export(dir, args.export_steps).map_err(fail)?;
        println!("exported {} losses {:?}", dir.display(), meta.losses);
    }
    if args.samples > 0 {
        bench.step(3).map_err(fail)?;
        let mut times = Vec::with_capacity(args.samples);
        for _ in 0..args.samples {
            times.push(bench.step(1).map_err(fail)?);
        }
        let t = summarise(times);
        let gflops = bench.step_flops() / t.median / 1e9;
        print!(
            "step median {:.2} ms min {:.2} max {:.2} ({:.0} images/s, {:.2} GFLOPS",
            t.median * 1e3,
            t.min * 1e3,
            t.max * 1e3,
            args.batch as f64 / t.median,
            gflops
        );
        match &ceilings {
            Some(c) => println!(", {:.1}% of peak FMA)", 100.0 * gflops / c.peak_gflops),
            None => println!(")"),
        }
    }
    if args.profile {
        let (ops, kernels) = bench.profile().map_err(fail)?;
        let total: f64 = ops.iter().map(|o| o.2).sum();
        println!(
            "profile (each node waited for alone; total {:.1} ms)",
            total * 1e3
        );
        for (name, count, s) in &ops {
            println!(
                "  {name:<28} {count:>3} nodes {:>9.2} ms {:>5.1}%",
                s * 1e3,
                100.0 * s / total
            );
        }
        let total: f64 = kernels.iter().map(|o| o.2).sum();
        println!(
            "kernels (each launch waited for alone; total {:.1} ms)",
            total * 1e3
        );
        for (name, count, s) in &kernels {
            println!(
                "  {name:<56} {count:>3} {:>9.2} ms {:>5.1}%",
                s * 1e3,
                100.0 * s / total
            );
        }
    }
    if args.serve {
        println!("ready");
        let stdin = std::io::stdin();
        bench
            .serve(stdin.lock(), std::io::stdout().lock())
            .map_err(fail)?;
    }
    Ok(())
}
