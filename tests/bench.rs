//! The benchmark harness: the summariser, timing one tiny case, a whole (filtered) suite run with
//! its JSON report, and the errors a user can cause. No speed is asserted, only that times are
//! positive and finite.

mod common;

use nasgpu::bench::cases::ceilings::{
    FMA_ADD, FMA_CHAINS, FMA_MUL, FMA_UNROLL, copy, fma_flops, noop, peak_fma,
};
use nasgpu::bench::{
    AdapterSummary, BenchCase, BenchError, BenchOptions, Ceilings, Report, Timer, TimerKind,
    run_suite, sample_timestamps, split_filters, summarise, time_launches,
};
use nasgpu::kernels::elementwise::{self, Unary};
use nasgpu::tensor::Tensor;

fn positive_finite(what: &str, x: f64) {
    assert!(x.is_finite() && x > 0.0, "{what} = {x}");
}

#[test]
fn summarise_odd_count_takes_the_middle() {
    let t = summarise(vec![3.0, 1.0, 5.0, 2.0, 4.0]);
    assert_eq!((t.median, t.min, t.max, t.samples), (3.0, 1.0, 5.0, 5));
}

#[test]
fn summarise_even_count_averages_the_middle_two() {
    let t = summarise(vec![4.0, 1.0, 3.0, 10.0]);
    assert_eq!((t.median, t.min, t.max, t.samples), (3.5, 1.0, 10.0, 4));
}

#[test]
fn summarise_single_sample() {
    let t = summarise(vec![0.25]);
    assert_eq!((t.median, t.min, t.max, t.samples), (0.25, 0.25, 0.25, 1));
}

#[test]
fn filters_split_at_commas_trimmed_and_lower_cased() {
    let terms = split_filters(&["Relu, add".into(), "".into(), "conv2d,".into()]);
    assert_eq!(terms, ["relu", "add", "conv2d"]);
}

/// A relu over 1000 elements: the smallest real case.
fn tiny_case() -> BenchCase {
    let gpu = common::gpu();
    let a = Tensor::full(&gpu, &[1000], -0.5).unwrap();
    let c = Tensor::full(&gpu, &[1000], f32::NAN).unwrap();
    BenchCase {
        kernel: "relu".into(),
        shape: "1000".into(),
        flops: 0.0,
        bytes: 8000.0,
        launches: vec![elementwise::unary(&gpu, Unary::Relu, &a, &c).unwrap()],
        keep: vec![a, c],
    }
}

#[test]
fn timing_a_tiny_case_gives_positive_finite_times_with_either_timer() {
    let gpu = common::gpu();
    let case = tiny_case();
    let launches: Vec<_> = case.launches.iter().collect();
    let mut timers = vec![TimerKind::WallClock];
    if gpu.has_timestamps {
        timers.push(TimerKind::GpuTimestamps);
    }
    for timer in timers {
        let (t, used) = time_launches(&gpu, timer, &launches, 1, 3).unwrap();
        assert_eq!(t.samples, 3);
        for (what, x) in [("median", t.median), ("min", t.min), ("max", t.max)] {
            positive_finite(&format!("{timer:?} {what}"), x);
        }
        assert!(t.min <= t.median && t.median <= t.max, "{t:?}");
        if timer == TimerKind::WallClock {
            assert_eq!(used, TimerKind::WallClock);
        }
    }
    // The relu really ran: its NaN-poisoned output now holds relu(-0.5) = 0.
    let out = case.keep[1].to_f32().unwrap();
    assert!(out.iter().all(|&v| v == 0.0));
}

#[test]
fn timestamped_passes_fit_inside_their_wall_clock() {
    let gpu = common::gpu();
    if !gpu.has_timestamps {
        eprintln!("adapter has no timestamp queries; nothing to check");
        return;
    }
    let case = tiny_case();
    let launches: Vec<_> = case.launches.iter().collect();
    let s = sample_timestamps(&gpu, &launches, 4).unwrap();
    assert_eq!((s.gpu.len(), s.wall.len()), (4, 4));
    for (g, w) in s.gpu.iter().zip(&s.wall) {
        positive_finite("wall", *w);
        assert!(
            g.is_finite() && *g >= 0.0 && *g <= *w * 1.01,
            "gpu {g} wall {w}"
        );
    }
}

/// `a` equals `b`, numbers to 1e-12 relative.
fn same_json(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                "{at}: {x} vs {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                same_json(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (k, v) in x {
                same_json(v, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

/// f64 reference of one peak-FMA invocation's output vec4 (see `shaders/bench_fma.wgsl`).
fn fma_reference(i: usize, steps: usize) -> [f64; 4] {
    let (m, c) = (FMA_MUL as f64, FMA_ADD as f64);
    let mut out = [0.0; 4];
    for (lane, o) in out.iter_mut().enumerate() {
        for chain in 0..FMA_CHAINS {
            let mut x =
                ((i & 255) as f32 * 0.001) as f64 + 0.25 * lane as f64 + chain as f64 / 64.0;
            for _ in 0..steps {
                x = x * m + c;
            }
            *o += x;
        }
    }
    out
}

/// The ceilings are only honest if their kernels do the work they are credited with.
#[test]
fn ceiling_kernels_compute_what_they_count() {
    let gpu = common::gpu();
    let seed = common::fresh_seed();
    // Peak FMA: 1024 invocations, 3 loop trips. Skipping or repeating a step moves each value by
    // about 1e-3 relative; f32 rounding over 12 steps stays far below the 1e-5 tolerance.
    let iterations = 3;
    let out = common::poisoned(&gpu, &[4 * 1024]);
    let launch = peak_fma(&gpu, &out, iterations).unwrap();
    gpu.run(&[&launch]).unwrap();
    let steps = iterations as usize * FMA_UNROLL;
    let want: Vec<f64> = (0..1024).flat_map(|i| fma_reference(i, steps)).collect();
    common::assert_close("peak_fma", seed, &out.to_f32().unwrap(), &want, 1e-5, 1e-5);
    assert_eq!(
        fma_flops(1024, iterations),
        (1024 * steps * FMA_CHAINS * 8) as f64
    );

    // Copy: every element arrives, bit for bit, with a length not a multiple of the grid.
    let mut rng = common::rng(seed);
    let n = 4 * 70_001;
    let data = common::to_f32(&common::uniform(&mut rng, n));
    let src = Tensor::from_f32(&gpu, &[n], &data).unwrap();
    let dst = common::poisoned(&gpu, &[n]);
    gpu.run(&[&copy(&gpu, &src, &dst).unwrap()]).unwrap();
    assert!(dst.to_f32().unwrap() == data, "copy differs (seed {seed})");

    // No-op: its sink is never written.
    let sink = Tensor::zeros(&gpu, &[4]).unwrap();
    gpu.run(&[&noop(&gpu, &sink)]).unwrap();
    assert_eq!(sink.to_f32().unwrap(), [0.0; 4]);
}

fn quick(filters: &[&str]) -> BenchOptions {
    BenchOptions {
        filters: filters.iter().map(|s| s.to_string()).collect(),
        warmup: 1,
        samples: 3,
        ..BenchOptions::default()
    }
}

#[test]
fn a_filtered_suite_run_reports_ceilings_rows_and_round_trips_through_json() {
    let report = run_suite(&quick(&["relu"])).unwrap();
    let gpu = common::gpu();
    assert_eq!(report.adapter.name, gpu.info.name);
    assert_eq!(report.samples, 3);

    let c = &report.ceilings;
    positive_finite("peak GFLOPS", c.peak_gflops);
    positive_finite("copy GB/s", c.copy_gbps);
    positive_finite("round trip us", c.round_trip_us);
    positive_finite("submit us", c.submit_us);
    assert!(c.dispatch_us.is_finite() && c.dispatch_us >= 0.0);

    assert!(!report.rows.is_empty());
    for row in &report.rows {
        assert!(row.kernel.contains("relu"), "{}", row.kernel);
        assert_eq!(row.samples, 3);
        for x in [row.median_ms, row.min_ms, row.max_ms] {
            positive_finite(&row.kernel, x);
        }
        // relu moves bytes and does no arithmetic: GB/s filled, GFLOPS blank.
        assert_eq!((row.gflops, row.pct_peak), (None, None));
        positive_finite("GB/s", row.gbps.unwrap());
        let pct = row.pct_copy.unwrap();
        assert!((pct - 100.0 * row.gbps.unwrap() / c.copy_gbps).abs() < 1e-9);
    }

    let value: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(value["adapter"]["name"], gpu.info.name.as_str());
    assert!(value["ceilings"]["peak_gflops"].as_f64().unwrap() > 0.0);
    assert!(value["rows"][0]["median_ms"].as_f64().unwrap() > 0.0);
    assert!(value["timer"]["kind"].is_string());

    let dir = std::env::temp_dir().join(format!("nasgpu-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.json");
    report.write_json(&path).unwrap();
    let back: Report = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // serde_json may round the last bit of a float when parsing; compare the rest exactly.
    same_json(
        &serde_json::to_value(&back).unwrap(),
        &serde_json::to_value(&report).unwrap(),
        "report",
    );
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "temporary file left behind: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_filter_matching_nothing_is_an_error_listing_the_kernels() {
    match run_suite(&quick(&["relu", "no_such_kernel"])) {
        Err(BenchError::NoMatch { filter, kernels }) => {
            assert_eq!(filter, "no_such_kernel");
            assert!(kernels.iter().any(|k| k == "relu"), "{kernels:?}");
            let message = BenchError::NoMatch { filter, kernels }.to_string();
            assert!(message.contains("relu"), "{message}");
        }
        other => panic!("expected NoMatch, got {other:?}"),
    }
}

#[test]
fn zero_samples_is_an_error() {
    let options = BenchOptions {
        samples: 0,
        ..quick(&["relu"])
    };
    assert!(matches!(run_suite(&options), Err(BenchError::Options(_))));
}

#[test]
fn unwritable_json_path_is_an_error_not_a_panic() {
    let report = Report {
        nasgpu_version: "0".into(),
        date: "today".into(),
        adapter: AdapterSummary::from_info(&common::gpu().info),
        timer: Timer {
            kind: TimerKind::WallClock,
            note: String::new(),
        },
        warmup: 0,
        samples: 1,
        ceilings: Ceilings {
            peak_gflops: 1.0,
            peak_fma_shape: String::new(),
            peak_fma_ms: 1.0,
            copy_gbps: 1.0,
            copy_bytes: 16,
            copy_ms: 1.0,
            dispatch_us: 1.0,
            submit_us: 1.0,
            round_trip_us: 1.0,
        },
        rows: Vec::new(),
    };
    let err = report
        .write_json(std::path::Path::new("/nonexistent-dir/report.json"))
        .unwrap_err();
    assert!(matches!(err, BenchError::Io { .. }), "{err}");
}
