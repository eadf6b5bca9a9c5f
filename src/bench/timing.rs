//! Timing one run of some launches: warm-up, then samples, summarised as median/min/max. GPU
//! timestamps where the adapter has them and they pass a sanity check, else wall clock around a
//! device sync.

use std::time::Instant;

use crate::device::{Gpu, Launch};

use super::BenchError;
use super::timestamps::sample_timestamps;

/// Median, min and max seconds of one run over the samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Median seconds (mean of the middle two for an even count).
    pub median: f64,
    /// Fastest sample, seconds.
    pub min: f64,
    /// Slowest sample, seconds.
    pub max: f64,
    /// Number of samples.
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

/// Which clock measured a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// Timestamp queries at the start and end of the compute pass: GPU time only.
    GpuTimestamps,
    /// Host clock around submit + wait: includes submit and synchronisation overhead.
    WallClock,
}

impl TimerKind {
    /// Short name for tables.
    pub fn label(self) -> &'static str {
        match self {
            TimerKind::GpuTimestamps => "GPU timestamps",
            TimerKind::WallClock => "wall clock",
        }
    }
}

/// The timer a benchmark run uses, and why (shown in the report header).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timer {
    /// The clock used.
    pub kind: TimerKind,
    /// Why: no timestamp queries, or how the timestamps compared with the wall clock.
    pub note: String,
}

/// Seconds of one run of `launches` per sample, by wall clock around submit + wait.
pub fn sample_wall_clock(
    gpu: &Gpu,
    launches: &[&Launch],
    samples: usize,
) -> Result<Vec<f64>, BenchError> {
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        gpu.run(launches)?;
        gpu.sync()?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok(times)
}

/// Runs `launches` `warmup` times, waits, then takes `samples` timed runs with `timer`. If GPU
/// timestamps come back unusable for this run, falls back to wall clock and says so in the kind.
pub fn time_launches(
    gpu: &Gpu,
    timer: TimerKind,
    launches: &[&Launch],
    warmup: usize,
    samples: usize,
) -> Result<(Timing, TimerKind), BenchError> {
    if samples == 0 {
        return Err(BenchError::Options("at least one sample is needed".into()));
    }
    for _ in 0..warmup {
        gpu.run(launches)?;
    }
    gpu.sync()?;
    if timer == TimerKind::GpuTimestamps {
        match sample_timestamps(gpu, launches, samples) {
            Ok(times) => return Ok((summarise(times.gpu), TimerKind::GpuTimestamps)),
            Err(BenchError::Timestamps(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let times = sample_wall_clock(gpu, launches, samples)?;
    Ok((summarise(times), TimerKind::WallClock))
}

/// Picks the timer: GPU timestamps when the adapter has them and they agree with the wall clock
/// on `probe` (a run long enough that submit overhead is small), else wall clock, with the reason.
/// Each timestamped pass must fit inside the submit + wait around it, and on such a long run the
/// pass must be most of it; values off by a unit factor or garbage fail one of the two.
pub fn choose_timer(gpu: &Gpu, probe: &[&Launch]) -> Result<Timer, BenchError> {
    if !gpu.has_timestamps {
        return Ok(Timer {
            kind: TimerKind::WallClock,
            note: "adapter has no timestamp queries".into(),
        });
    }
    const PROBE_SAMPLES: usize = 5;
    gpu.run(probe)?;
    gpu.sync()?;
    let times = match sample_timestamps(gpu, probe, PROBE_SAMPLES) {
        Ok(times) => times,
        Err(BenchError::Timestamps(reason)) => {
            return Ok(Timer {
                kind: TimerKind::WallClock,
                note: format!("timestamp queries unusable: {reason}"),
            });
        }
        Err(e) => return Err(e),
    };
    let ratios: Vec<f64> = times
        .gpu
        .iter()
        .zip(&times.wall)
        .map(|(g, w)| g / w)
        .collect();
    let (g, w) = (summarise(times.gpu), summarise(times.wall));
    let comparison = format!(
        "median {:.3} ms by timestamps vs {:.3} ms by wall clock on the peak-FMA run",
        g.median * 1e3,
        w.median * 1e3
    );
    let inside = ratios
        .iter()
        .all(|r| r.is_finite() && *r > 0.0 && *r <= 1.01);
    let most = summarise(ratios).median >= 0.5;
    let kind = if inside && most {
        TimerKind::GpuTimestamps
    } else {
        TimerKind::WallClock
    };
    let verdict = match (inside, most) {
        (true, true) => "checked",
        (false, _) => "timestamp queries rejected, a pass outlasted its submit + wait",
        (true, false) => "timestamp queries rejected, passes far shorter than their submit + wait",
    };
    Ok(Timer {
        kind,
        note: format!("{verdict}: {comparison}"),
    })
}
