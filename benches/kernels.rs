//! `cargo bench [-- FILTER]`: the same suite and table as `nasgpu bench [--filter FILTER]`.
//! Cargo passes `--bench` (and any other flags) through; the first argument that is not a flag
//! is the kernel-name filter (commas separate several terms).

use nasgpu::bench::table::print_progress;
use nasgpu::bench::{BenchOptions, run_suite_with};

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .take(1)
        .collect();
    let options = BenchOptions {
        filters,
        ..BenchOptions::default()
    };
    if let Err(e) = run_suite_with(&options, &mut print_progress) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
