//! GPU time of a run from timestamp queries written at the start and end of its compute pass.
//! The query set is resolved in a separate encoder after all samples (wgpu#6406), then read back
//! through a staging buffer and scaled by the queue's timestamp period.

use std::time::Instant;

use crate::device::{Gpu, Launch, read_mapped};

use super::BenchError;

/// Most samples one call can take: a query set holds at most 4096 queries, two per sample.
pub const MAX_TIMESTAMP_SAMPLES: usize = (wgpu::QUERY_SET_MAX_QUERIES / 2) as usize;

/// Seconds per run, by GPU timestamps and, for the same runs, by wall clock around submit + wait.
#[derive(Debug, Clone, PartialEq)]
pub struct TimestampSamples {
    pub gpu: Vec<f64>,
    pub wall: Vec<f64>,
}

/// Times `samples` runs of `launches` (one pass, one submit each; the host waits after each
/// submit so sample `i + 1` is not encoded while sample `i` runs).
pub fn sample_timestamps(
    gpu: &Gpu,
    launches: &[&Launch],
    samples: usize,
) -> Result<TimestampSamples, BenchError> {
    sample_timestamps_of(
        gpu,
        &|pass| {
            for launch in launches {
                launch.encode(pass);
            }
        },
        samples,
    )
}

/// The same for whatever `encode` records into the pass (a compiled plan's phases).
pub fn sample_timestamps_of(
    gpu: &Gpu,
    encode: &dyn Fn(&mut wgpu::ComputePass<'_>),
    samples: usize,
) -> Result<TimestampSamples, BenchError> {
    if samples == 0 || samples > MAX_TIMESTAMP_SAMPLES {
        return Err(BenchError::Options(format!(
            "{samples} samples; GPU timestamps take 1 to {MAX_TIMESTAMP_SAMPLES}"
        )));
    }
    let count = 2 * samples as u32;
    let set = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("bench timestamps"),
        ty: wgpu::QueryType::Timestamp,
        count,
    });
    let mut wall = Vec::with_capacity(samples);
    for i in 0..samples as u32 {
        let start = Instant::now();
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("bench sample"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &set,
                    beginning_of_pass_write_index: Some(2 * i),
                    end_of_pass_write_index: Some(2 * i + 1),
                }),
            });
            encode(&mut pass);
        }
        gpu.queue.submit([encoder.finish()]);
        gpu.sync()?;
        wall.push(start.elapsed().as_secs_f64());
    }
    let ticks = resolve(gpu, &set, count)?;
    let period_ns = gpu.queue.get_timestamp_period() as f64;
    if !(period_ns.is_finite() && period_ns > 0.0) {
        return Err(BenchError::Timestamps(format!(
            "timestamp period is {period_ns} ns"
        )));
    }
    let gpu_times = ticks
        .chunks_exact(2)
        .map(|pair| match pair[1].checked_sub(pair[0]) {
            Some(d) => Ok(d as f64 * period_ns * 1e-9),
            None => Err(BenchError::Timestamps(format!(
                "end {} before start {}",
                pair[1], pair[0]
            ))),
        })
        .collect::<Result<Vec<f64>, BenchError>>()?;
    Ok(TimestampSamples {
        gpu: gpu_times,
        wall,
    })
}

/// Resolves `count` timestamps of `set` in an encoder of its own and reads the raw ticks back.
fn resolve(gpu: &Gpu, set: &wgpu::QuerySet, count: u32) -> Result<Vec<u64>, BenchError> {
    let bytes = count as u64 * wgpu::QUERY_SIZE as u64;
    let resolved = gpu.create_buffer(
        bytes,
        wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        "timestamps resolved",
    )?;
    let staging = gpu.create_buffer(
        bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        "timestamps staging",
    )?;
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    encoder.resolve_query_set(set, 0..count, &resolved, 0);
    encoder.copy_buffer_to_buffer(&resolved, 0, &staging, 0, bytes);
    gpu.queue.submit([encoder.finish()]);
    let data = read_mapped(gpu, &staging, bytes)?;
    Ok(data
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect())
}
