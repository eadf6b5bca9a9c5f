//! `nasgpu devices`: every adapter and the facts that matter for compute.

use super::{CliError, DeviceArgs};

#[derive(Debug, clap::Args)]
pub struct DevicesArgs {}

pub fn run(_device: &DeviceArgs, _args: &DevicesArgs) -> Result<(), CliError> {
    Err(CliError("devices: not written yet".into()))
}
