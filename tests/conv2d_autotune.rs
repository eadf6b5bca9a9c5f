//! The measured conv algorithm choice: it may pick any spatial variant, so every variant must
//! give the same bits (else the choice would change results); and the CLI measures a shape
//! once, keeps it in its cache file, reuses it, and survives a malformed file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::reference::conv2d::Conv;
use common::*;
use nasgpu::kernels::conv2d::{self, Conv2dSpec, SpatialAlgo};

/// Strides 1, 2, 3 and mixed, 1x1 and 7x7 filters, batch 1, odd sizes, channels off every tile,
/// and channel counts the 64-bit variant takes in one direction, both or neither.
const CASES: &[Conv] = &[
    Conv {
        n: 2,
        cin: 16,
        cout: 8,
        h: 9,
        w: 11,
        kh: 7,
        kw: 7,
        sh: 3,
        sw: 2,
    },
    Conv {
        n: 1,
        cin: 5,
        cout: 7,
        h: 9,
        w: 7,
        kh: 3,
        kw: 3,
        sh: 1,
        sw: 1,
    },
    Conv {
        n: 2,
        cin: 13,
        cout: 17,
        h: 11,
        w: 13,
        kh: 7,
        kw: 7,
        sh: 2,
        sw: 2,
    },
    Conv {
        n: 3,
        cin: 9,
        cout: 33,
        h: 10,
        w: 8,
        kh: 1,
        kw: 1,
        sh: 3,
        sw: 3,
    },
    Conv {
        n: 1,
        cin: 24,
        cout: 40,
        h: 12,
        w: 17,
        kh: 5,
        kw: 3,
        sh: 2,
        sw: 1,
    },
];

fn spec(c: &Conv) -> Conv2dSpec {
    Conv2dSpec {
        kernel: [c.kh, c.kw],
        stride: [c.sh, c.sw],
    }
}

/// Forward (with bias) and backward-to-input outputs of `algo`, as bits, for the passes it
/// takes (the 64-bit variant needs an even number of vec4 channel groups to reduce over).
fn run(c: &Conv, seed: u64, algo: SpatialAlgo) -> (Option<Vec<u32>>, Option<Vec<u32>>) {
    let gpu = gpu();
    let (oh, ow) = c.out_hw();
    let x_shape = [c.n, c.cin, c.h, c.w];
    let y_shape = [c.n, c.cout, oh, ow];
    let mut rng = rng(seed);
    let x = upload(&gpu, &x_shape, &uniform_in(&mut rng, c.x_len(), -2.0, 2.0));
    let w = upload(
        &gpu,
        &[c.cout, c.cin, c.kh, c.kw],
        &uniform_in(&mut rng, c.w_len(), -2.0, 2.0),
    );
    let b = upload(&gpu, &[c.cout], &uniform_in(&mut rng, c.cout, -2.0, 2.0));
    let dy = upload(&gpu, &y_shape, &uniform_in(&mut rng, c.y_len(), -2.0, 2.0));
    let y = poisoned(&gpu, &y_shape);
    let dx = poisoned(&gpu, &x_shape);
    let bits = |t| download(t).iter().map(|v| v.to_bits()).collect();
    let forward = algo.accepts(c.cin).then(|| {
        let launches = conv2d::conv2d_forward_with(&gpu, &x, &w, Some(&b), &y, spec(c), algo)
            .expect("forward launches");
        gpu.run(&launches.iter().collect::<Vec<_>>()).unwrap();
        bits(&y)
    });
    let data = algo.accepts(c.cout).then(|| {
        let launches = conv2d::conv2d_backward_data_with(&gpu, &dy, &w, &dx, spec(c), algo)
            .expect("backward-data launches");
        gpu.run(&launches.iter().collect::<Vec<_>>()).unwrap();
        bits(&dx)
    });
    (forward, data)
}

#[test]
fn every_spatial_variant_gives_the_same_bits() {
    let gpu = gpu();
    let variants: Vec<SpatialAlgo> = SpatialAlgo::ALL
        .into_iter()
        .filter(|a| a.runs_on(&gpu))
        .collect();
    assert!(
        variants.len() >= 7,
        "direct and tiled variants run everywhere"
    );
    let mut compared = [0usize; 2];
    for c in CASES {
        let seed = fresh_seed();
        // The first variant (direct 16x16) takes every pass.
        let (want_y, want_dx) = run(c, seed, variants[0]);
        let (want_y, want_dx) = (want_y.unwrap(), want_dx.unwrap());
        assert!(
            want_y
                .iter()
                .chain(&want_dx)
                .all(|b| f32::from_bits(*b).is_finite()),
            "{c:?}: every output written (seed {seed})"
        );
        for &algo in &variants[1..] {
            let (y, dx) = run(c, seed, algo);
            if let Some(y) = y {
                compared[0] += 1;
                assert!(
                    y == want_y,
                    "{c:?}: forward of {algo:?} differs in bits from {:?} (seed {seed})",
                    variants[0]
                );
            }
            if let Some(dx) = dx {
                compared[1] += 1;
                assert!(
                    dx == want_dx,
                    "{c:?}: backward data of {algo:?} differs in bits from {:?} (seed {seed})",
                    variants[0]
                );
            }
        }
    }
    let all = CASES.len() * (variants.len() - 1);
    assert!(
        compared[0] > all / 2 && compared[1] > all / 2,
        "{compared:?} of {all}"
    );
}

/// Runs a short `bench-step` of tiny-cnn with its autotune cache in `cache`; returns stderr.
fn bench_step(cache: &Path, autotune: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nasgpu"));
    cmd.args(["bench-step", "--preset", "tiny-cnn", "--batch", "4"])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("NASGPU_CACHE_DIR", cache)
        .env("NASGPU_AUTOTUNE_LOG", "1")
        .env_remove("NASGPU_AUTOTUNE");
    if let Some(v) = autotune {
        cmd.env("NASGPU_AUTOTUNE", v);
    }
    let out = cmd.output().expect("nasgpu runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "bench-step failed: {stderr}");
    stderr
}

fn measured(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.starts_with("autotune "))
        .count()
}

fn entries(file: &Path) -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(file).expect("cache file written");
    let json: serde_json::Value = serde_json::from_str(&text).expect("cache file is JSON");
    json["conv_spatial"]
        .as_object()
        .expect("conv_spatial holds the choices")
        .clone()
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn cli_measures_each_shape_once_and_reuses_the_cache_file() {
    let dir = fresh_dir("autotune-cache");
    let file = dir.join("autotune.json");

    // tiny-cnn: two convs forward, the second backward to its input.
    let first = bench_step(&dir, None);
    assert_eq!(measured(&first), 3, "three pass shapes measured:\n{first}");
    let choices = entries(&file);
    assert_eq!(choices.len(), 3, "{choices:?}");
    for (key, algo) in &choices {
        assert!(key.contains("|Forward n4 c") || key.contains("|BackwardData n4 c"));
        let algo = algo.as_str().unwrap();
        assert!(
            ["direct ", "subgroup ", "subgroup64 "]
                .iter()
                .any(|p| algo.starts_with(p))
                || algo == "tiled",
            "{key}: {algo}"
        );
    }

    // `nasgpu devices` reports them for the adapter that measured them.
    let devices = Command::new(env!("CARGO_BIN_EXE_nasgpu"))
        .arg("devices")
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("NASGPU_CACHE_DIR", &dir)
        .output()
        .expect("nasgpu devices runs");
    let listing = String::from_utf8_lossy(&devices.stdout);
    let want = format!("3 shapes measured, in {}", file.display());
    assert!(
        listing
            .lines()
            .any(|l| l.contains("conv autotune") && l.contains(&want)),
        "{listing}"
    );

    let second = bench_step(&dir, None);
    assert_eq!(
        measured(&second),
        0,
        "choices come from the file:\n{second}"
    );
    assert_eq!(entries(&file), choices, "the file is left as it was");

    // A malformed file is measured over and replaced, never an error.
    std::fs::write(&file, "{ not json").unwrap();
    let third = bench_step(&dir, None);
    assert_eq!(measured(&third), 3, "{third}");
    assert_eq!(entries(&file).len(), 3);

    // NASGPU_AUTOTUNE=0: the estimate decides, nothing is measured or written.
    let off = fresh_dir("autotune-off");
    assert_eq!(measured(&bench_step(&off, Some("0"))), 0);
    assert!(!off.join("autotune.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_autotune_setting_is_refused_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_nasgpu"))
        .args(["bench-step", "--preset", "tiny-cnn", "--batch", "4"])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("NASGPU_AUTOTUNE", "yes")
        .output()
        .expect("nasgpu runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "accepted NASGPU_AUTOTUNE=yes: {stderr}"
    );
    assert!(
        stderr.contains("NASGPU_AUTOTUNE=\"yes\"") && stderr.contains("expected 0"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
