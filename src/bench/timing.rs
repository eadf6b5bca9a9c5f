//! Timing one benchmark case: warm-up, then samples of one run each, summarised as median/min/max.

use crate::device::{DeviceError, Gpu};

use super::BenchCase;

/// Median, min and max seconds of one run over the samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub samples: usize,
}

/// Summarises samples (seconds); the median of an even count is the mean of the middle two.
pub fn summarise(mut samples: Vec<f64>) -> Timing {
    assert!(!samples.is_empty(), "no samples");
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    let median = if n % 2 == 1 {
        samples[n / 2]
    } else {
        0.5 * (samples[n / 2 - 1] + samples[n / 2])
    };
    Timing {
        median,
        min: samples[0],
        max: samples[n - 1],
        samples: n,
    }
}

/// Wall-clock time of one run, measured around a device sync so the GPU work is included.
pub fn time_wall_clock(
    gpu: &Gpu,
    case: &BenchCase,
    warmup: usize,
    samples: usize,
) -> Result<Timing, DeviceError> {
    let launches: Vec<_> = case.launches.iter().collect();
    for _ in 0..warmup {
        gpu.run(&launches)?;
    }
    gpu.sync()?;
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = std::time::Instant::now();
        gpu.run(&launches)?;
        gpu.sync()?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok(summarise(times))
}
