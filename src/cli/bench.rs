//! `nasgpu bench`: the kernel benchmark table.

use super::{CliError, DeviceArgs};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

pub fn run(_device: &DeviceArgs, _args: &BenchArgs) -> Result<(), CliError> {
    Err(CliError("bench: not written yet".into()))
}
