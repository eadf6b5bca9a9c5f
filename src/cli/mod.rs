//! Command-line interface: `nasgpu search | train | export | report | bench | devices`.

use clap::{Parser, Subcommand};

pub mod bench;
pub mod devices;
mod error;
pub mod export;
mod interrupt;
mod options;
mod progress;
pub mod report;
pub mod report_html;
pub mod report_json;
pub mod search;
pub mod step;
pub mod train;

pub use error::CliError;

use crate::device::DeviceOptions;

/// Neural architecture search on any GPU, with our own WGSL kernels.
#[derive(Debug, Parser)]
#[command(name = "nasgpu", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options that pick and configure the GPU, shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArgs {
    /// Adapter to use: its index in `nasgpu devices` or a substring of its name
    /// (default: NASGPU_ADAPTER, else discrete > integrated > CPU). WGPU_BACKEND picks backends.
    #[arg(long, global = true)]
    pub adapter: Option<String>,
    /// Compile kernels with runtime bounds checks (slower; for debugging a kernel).
    #[arg(long, global = true)]
    pub checked: bool,
}

impl DeviceArgs {
    pub fn options(&self) -> DeviceOptions {
        DeviceOptions {
            adapter: self.adapter.clone(),
            checked: self.checked,
            autotune: true,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Search for an architecture (NAS-RL controller or random), resumable from its run directory.
    Search(search::SearchArgs),
    /// List every GPU adapter with its backend, type, driver, compute limits and timestamp support.
    Devices(devices::DevicesArgs),
    /// Time every kernel over NAS-sized shapes and an sgemm sweep, against the device's own ceilings.
    Bench(bench::BenchArgs),
    /// Compare search runs: best and top-5 rewards, reward over time, failures, controller cost.
    Report(report::ReportArgs),
    /// Train an architecture file or preset and report validation and test accuracy.
    Train(train::TrainArgs),
    /// One network's training step as a benchmark for comparison scripts (exports weights and
    /// batches, serves timed steps).
    #[command(hide = true)]
    BenchStep(step::StepArgs),
    /// Write a trained network (or a search's best architecture) as ONNX, PyTorch, JSON or safetensors.
    Export(export::ExportArgs),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Search(args) => search::run(&cli.device, &args),
        Command::Devices(args) => devices::run(&cli.device, &args),
        Command::Bench(args) => bench::run(&cli.device, &args),
        Command::Train(args) => train::run(&cli.device, &args),
        Command::Report(args) => report::run(&args),
        Command::BenchStep(args) => step::run(&cli.device, &args),
        Command::Export(args) => export::run(&args),
    }
}
