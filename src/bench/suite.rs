//! The benchmark suite behind `nasgpu bench` and `cargo bench`: open the device, pick the
//! timer, measure the ceilings, then time every selected case.

use std::sync::Arc;

use crate::device::{DeviceOptions, Gpu, Launch};

use super::cases::FAMILIES;
use super::ceilings::CeilingKernels;
use super::report::{AdapterSummary, Report, Row};
use super::timestamps::MAX_TIMESTAMP_SAMPLES;
use super::timing::{choose_timer, time_launches};
use super::{BenchCase, BenchError};
use crate::util::date::utc_string;

/// What to run and how often.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Which adapter, checked shaders or not.
    pub device: DeviceOptions,
    /// Kernel-name substrings (case-insensitive; commas separate several in one entry). A case
    /// runs if any matches; empty runs every case. A term matching no kernel is an error.
    pub filters: Vec<String>,
    /// Untimed runs before the samples.
    pub warmup: usize,
    /// Timed runs per case.
    pub samples: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            device: DeviceOptions::default(),
            filters: Vec::new(),
            warmup: 3,
            samples: 15,
        }
    }
}

/// Progress of a run, for printing the table as it is measured.
#[derive(Debug)]
pub enum SuiteEvent<'a> {
    /// Timer and ceilings are known; `rows` is still empty.
    Header(&'a Report),
    /// One case has been timed: its row is the last of `rows`.
    Row(&'a Report),
}

/// Runs the suite silently and returns the report.
pub fn run_suite(options: &BenchOptions) -> Result<Report, BenchError> {
    run_suite_with(options, &mut |_| {})
}

/// Runs the suite, telling `observer` about the header and each row as soon as they are known.
pub fn run_suite_with(
    options: &BenchOptions,
    observer: &mut dyn FnMut(SuiteEvent<'_>),
) -> Result<Report, BenchError> {
    if options.samples == 0 || options.samples > MAX_TIMESTAMP_SAMPLES {
        return Err(BenchError::Options(format!(
            "samples must be 1 to {MAX_TIMESTAMP_SAMPLES}, got {}",
            options.samples
        )));
    }
    let date = utc_string(std::time::SystemTime::now());
    let gpu = Gpu::open(&options.device)?;
    let cases = select_cases(&gpu, &split_filters(&options.filters))?;

    let ceiling_kernels = CeilingKernels::build(&gpu)?;
    let timer = choose_timer(&gpu, &[ceiling_kernels.fma_launch()])?;
    let ceilings = ceiling_kernels.measure(&gpu, timer.kind, options.warmup, options.samples)?;
    drop(ceiling_kernels);

    let mut report = Report {
        nasgpu_version: env!("CARGO_PKG_VERSION").to_string(),
        date,
        adapter: AdapterSummary::from_info(&gpu.info),
        timer,
        warmup: options.warmup,
        samples: options.samples,
        ceilings,
        rows: Vec::with_capacity(cases.len()),
    };
    observer(SuiteEvent::Header(&report));
    for case in &cases {
        let launches: Vec<&Launch> = case.launches.iter().collect();
        let (timing, kind) = time_launches(
            &gpu,
            report.timer.kind,
            &launches,
            options.warmup,
            options.samples,
        )?;
        let row = Row::new(case, timing, kind, &report.ceilings);
        report.rows.push(row);
        observer(SuiteEvent::Row(&report));
    }
    Ok(report)
}

/// Filter terms: entries split at commas, trimmed, lower-cased, empty ones dropped.
pub fn split_filters(filters: &[String]) -> Vec<String> {
    filters
        .iter()
        .flat_map(|f| f.split(','))
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Builds every family's cases, keeping those whose kernel name contains a term (all when there
/// are no terms). Unselected cases are dropped family by family, so their buffers are not all
/// held at once. A term that matches no kernel is an error listing the kernel names.
fn select_cases(gpu: &Arc<Gpu>, terms: &[String]) -> Result<Vec<BenchCase>, BenchError> {
    let mut selected = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut matched = vec![false; terms.len()];
    for family in FAMILIES {
        for case in family(gpu)? {
            let name = case.kernel.to_lowercase();
            let hits: Vec<bool> = terms.iter().map(|t| name.contains(t.as_str())).collect();
            for (m, h) in matched.iter_mut().zip(&hits) {
                *m |= h;
            }
            if !names.contains(&case.kernel) {
                names.push(case.kernel.clone());
            }
            if terms.is_empty() || hits.contains(&true) {
                selected.push(case);
            }
        }
    }
    if let Some(i) = matched.iter().position(|m| !m) {
        return Err(BenchError::NoMatch {
            filter: terms[i].clone(),
            kernels: names,
        });
    }
    Ok(selected)
}
