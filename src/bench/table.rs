//! The text form of a report: a header (adapter, timer, ceilings, date) and one line per case.

use super::report::{Report, Row};
use super::suite::SuiteEvent;
use super::timing::TimerKind;
use crate::util::human_bytes;

/// The header: adapter, timer, sampling, ceilings, then the column titles.
pub fn render_header(report: &Report) -> String {
    let a = &report.adapter;
    let c = &report.ceilings;
    let mut s = format!("nasgpu bench {}   {}\n", report.nasgpu_version, report.date);
    s += &format!(
        "adapter   {} ({}, {}), driver {} {}\n",
        a.name, a.backend, a.device_type, a.driver, a.driver_info
    );
    s += &format!(
        "timer     {} ({})\n",
        report.timer.kind.label(),
        report.timer.note
    );
    s += &format!(
        "samples   {} per case after {} warm-up runs; median, min and max of one run\n",
        report.samples, report.warmup
    );
    s += &format!(
        "ceilings  peak FMA {:>10.1} GFLOPS  ({}, {:.2} ms)\n",
        c.peak_gflops, c.peak_fma_shape, c.peak_fma_ms
    );
    s += &format!(
        "          copy     {:>10.1} GB/s    ({} read + written, {:.2} ms)\n",
        c.copy_gbps,
        human_bytes(c.copy_bytes),
        c.copy_ms
    );
    s += &format!(
        "          dispatch {:>10.1} us      each extra dispatch in one pass\n",
        c.dispatch_us
    );
    s += &format!(
        "          submit   {:>10.1} us      per submit of one dispatch, no wait (wall clock)\n",
        c.submit_us
    );
    s += &format!(
        "          sync     {:>10.1} us      one dispatch, submit + wait (wall clock)\n",
        c.round_trip_us
    );
    if a.device_type == "Cpu" {
        s += "note      software adapter: compare ratios within this run; these are not GPU speeds\n";
    }
    s += "\n";
    s += &format!(
        "{:<24} {:<34} {:>10} {:>10} {:>10} {:>9} {:>6} {:>8} {:>6}",
        "kernel", "shape", "median ms", "min ms", "max ms", "GFLOPS", "%peak", "GB/s", "%copy"
    );
    s
}

/// One case's line; `timer` is the report's timer, so a row timed otherwise is marked.
pub fn render_row(row: &Row, timer: TimerKind) -> String {
    let opt = |v: Option<f64>, width: usize, digits: usize| match v {
        Some(v) => format!("{v:>width$.digits$}"),
        None => format!("{:>width$}", ""),
    };
    let mut s = format!(
        "{:<24} {:<34} {:>10.3} {:>10.3} {:>10.3} {} {} {} {}",
        row.kernel,
        row.shape,
        row.median_ms,
        row.min_ms,
        row.max_ms,
        opt(row.gflops, 9, 2),
        opt(row.pct_peak, 6, 1),
        opt(row.gbps, 8, 2),
        opt(row.pct_copy, 6, 1),
    );
    if row.timer != timer {
        s += &format!("  [{}]", row.timer.label());
    }
    s
}

/// The whole table: header and every row.
pub fn render(report: &Report) -> String {
    let mut s = render_header(report);
    for row in &report.rows {
        s.push('\n');
        s += &render_row(row, report.timer.kind);
    }
    s
}

/// Observer for `run_suite_with` that prints the header, then each row as it is measured.
pub fn print_progress(event: SuiteEvent<'_>) {
    match event {
        SuiteEvent::Header(report) => println!("{}", render_header(report)),
        SuiteEvent::Row(report) => {
            if let Some(row) = report.rows.last() {
                println!("{}", render_row(row, report.timer.kind));
            }
        }
    }
}
