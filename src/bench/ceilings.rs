//! The device's own ceilings, measured on the spot before the table: peak FMA throughput (GFLOPS),
//! copy bandwidth (GB/s), and the overhead of a dispatch, of a submit and of a submit + wait.

use std::sync::Arc;
use std::time::Instant;

use crate::device::{Gpu, Launch};
use crate::tensor::Tensor;

use super::BenchError;
use super::cases::ceilings::{copy, fma_flops, fma_invocations, noop, peak_fma};
use super::timing::{TimerKind, sample_wall_clock, summarise, time_launches};

/// Workgroups of 256 invocations in the peak-FMA grid: enough to fill the largest GPUs.
const FMA_WORKGROUPS: usize = 1024;
/// Wall-clock length the peak-FMA run is calibrated to, so launch overhead is a small share.
const FMA_TARGET_SECONDS: f64 = 0.01;
/// Bytes the copy kernel moves each way (less where the device's storage binding is smaller).
const COPY_BYTES: u64 = 128 << 20;
/// No-op dispatches in one pass, against one, to isolate the cost of a dispatch.
const NOOP_DISPATCHES: usize = 1000;
/// Back-to-back submits (one no-op dispatch each) per sample of the submit overhead.
const NOOP_SUBMITS: usize = 100;

/// What the device can do at best, measured with the benchmark's own timer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ceilings {
    /// Peak-FMA throughput, GFLOPS (median run).
    pub peak_gflops: f64,
    /// Shape of the peak-FMA run.
    pub peak_fma_shape: String,
    /// Median milliseconds of the peak-FMA run.
    pub peak_fma_ms: f64,
    /// Copy bandwidth, GB/s counting bytes read plus bytes written (median run).
    pub copy_gbps: f64,
    /// Bytes the copy kernel reads (and writes).
    pub copy_bytes: u64,
    /// Median milliseconds of the copy run.
    pub copy_ms: f64,
    /// Microseconds each extra dispatch adds inside one compute pass.
    pub dispatch_us: f64,
    /// Microseconds per submit of one dispatch, submits back to back without waiting (wall clock).
    pub submit_us: f64,
    /// Microseconds of one dispatch submitted and waited for (wall clock).
    pub round_trip_us: f64,
}

/// The ceiling kernels with their buffers, built once per benchmark run.
pub struct CeilingKernels {
    fma: Launch,
    fma_flops: f64,
    fma_shape: String,
    copy: Launch,
    copy_bytes: u64,
    noop: Launch,
    _keep: Vec<Tensor>,
}

impl CeilingKernels {
    /// Builds the kernels, calibrating the peak-FMA loop count to about 10 ms on this device.
    pub fn build(gpu: &Arc<Gpu>) -> Result<CeilingKernels, BenchError> {
        let fma_out = Tensor::zeros(gpu, &[FMA_WORKGROUPS * 256 * 4])?;
        let iterations = calibrate_fma(gpu, &fma_out)?;
        let invocations = fma_invocations(&fma_out);
        let fma = peak_fma(gpu, &fma_out, iterations)?;

        let copy_bytes = COPY_BYTES.min(gpu.max_binding_bytes()) / 16 * 16;
        let n = (copy_bytes / 4) as usize;
        let src = Tensor::full(gpu, &[n], 1.0)?;
        let dst = Tensor::zeros(gpu, &[n])?;
        let copy = copy(gpu, &src, &dst)?;

        let sink = Tensor::zeros(gpu, &[4])?;
        let noop = noop(gpu, &sink);
        Ok(CeilingKernels {
            fma,
            fma_flops: fma_flops(invocations, iterations),
            fma_shape: format!("{invocations} invocations x {iterations} iterations"),
            copy,
            copy_bytes,
            noop,
            _keep: vec![fma_out, src, dst, sink],
        })
    }

    /// The peak-FMA run: long and compute-bound, so it suits checking a timer against the wall clock.
    pub fn fma_launch(&self) -> &Launch {
        &self.fma
    }

    /// Peak-FMA GFLOPS alone, median of `samples` runs with `timer` (for re-measuring the ceiling
    /// between the samples of a longer benchmark, as machine load drifts).
    pub fn peak_gflops(
        &self,
        gpu: &Gpu,
        timer: TimerKind,
        samples: usize,
    ) -> Result<f64, BenchError> {
        let (fma, _) = time_launches(gpu, timer, &[&self.fma], 1, samples)?;
        Ok(self.fma_flops / fma.median / 1e9)
    }

    /// Measures every ceiling with `timer` (the overhead of submits always by wall clock).
    pub fn measure(
        &self,
        gpu: &Gpu,
        timer: TimerKind,
        warmup: usize,
        samples: usize,
    ) -> Result<Ceilings, BenchError> {
        let (fma, _) = time_launches(gpu, timer, &[&self.fma], warmup, samples)?;
        let (copy, _) = time_launches(gpu, timer, &[&self.copy], warmup, samples)?;
        let one = [&self.noop];
        let many = vec![&self.noop; NOOP_DISPATCHES];
        let (t_one, _) = time_launches(gpu, timer, &one, warmup, samples)?;
        let (t_many, _) = time_launches(gpu, timer, &many, warmup, samples)?;
        let round_trip = summarise(sample_wall_clock(gpu, &one, samples)?);
        let mut submits = Vec::with_capacity(samples);
        for _ in 0..samples {
            let start = Instant::now();
            for _ in 0..NOOP_SUBMITS {
                gpu.run(&one)?;
            }
            gpu.sync()?;
            submits.push(start.elapsed().as_secs_f64() / NOOP_SUBMITS as f64);
        }
        Ok(Ceilings {
            peak_gflops: self.fma_flops / fma.median / 1e9,
            peak_fma_shape: self.fma_shape.clone(),
            peak_fma_ms: fma.median * 1e3,
            copy_gbps: 2.0 * self.copy_bytes as f64 / copy.median / 1e9,
            copy_bytes: self.copy_bytes,
            copy_ms: copy.median * 1e3,
            dispatch_us: (t_many.median - t_one.median).max(0.0) / (NOOP_DISPATCHES - 1) as f64
                * 1e6,
            submit_us: summarise(submits).median * 1e6,
            round_trip_us: round_trip.median * 1e6,
        })
    }
}

/// Loop trips that make one peak-FMA run last about `FMA_TARGET_SECONDS` by wall clock.
fn calibrate_fma(gpu: &Arc<Gpu>, out: &Tensor) -> Result<u32, BenchError> {
    const MAX_ITERATIONS: u32 = 1 << 24;
    let mut iterations = 16u32;
    loop {
        let launch = peak_fma(gpu, out, iterations)?;
        // First run compiles (on some drivers at first dispatch); the second is timed.
        let times = sample_wall_clock(gpu, &[&launch], 2)?;
        let t = times[1].max(1e-6);
        if t >= FMA_TARGET_SECONDS / 2.0 || iterations >= MAX_ITERATIONS {
            return Ok(iterations);
        }
        let scale = (FMA_TARGET_SECONDS / t).clamp(2.0, 64.0);
        iterations = ((iterations as f64 * scale) as u32).min(MAX_ITERATIONS);
    }
}
