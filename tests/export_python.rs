//! Exported models loaded by the real runtimes: each network is trained for an epoch with
//! `nasgpu train`, exported with `nasgpu export` to every format, and the ONNX file (through
//! onnx's checker and onnxruntime) and the PyTorch module (loading the exported safetensors)
//! must reproduce nasgpu's logits on the bundled test set within 1e-4 and its accuracy exactly.
//!
//! Python with numpy, onnx, onnxruntime and torch is looked for in `$NASGPU_PYTHON`, then
//! `target/py-venv` (what `.ci/run` installs), then `python3`. Without them the tests say so
//! and skip, unless `NASGPU_REQUIRE_PYTHON=1` (set by `.ci/run`), where that is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use nasgpu::data::{self, ChannelStats, DeviceDataset};
use nasgpu::export::source;
use nasgpu::nn::nb201::Nb201Network;
use nasgpu::nn::{Architecture, Network, infer, weights};

/// Largest |logit difference| accepted between nasgpu and a runtime.
const LOGIT_TOLERANCE: f64 = 1e-4;

fn nasgpu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nasgpu"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run nasgpu")
}

fn check(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Python interpreter with every package, or why there is none.
fn python() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/py-venv/bin/python");
    let candidates: Vec<PathBuf> = std::env::var_os("NASGPU_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([venv, PathBuf::from("python3")])
        .collect();
    let mut why = Vec::new();
    for py in candidates {
        match Command::new(&py).arg(script()).arg("--probe").output() {
            Ok(o) if o.status.success() => {
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
                let missing = v["missing"].as_array().cloned().unwrap_or_default();
                if missing.is_empty() {
                    return Ok(py);
                }
                why.push(format!("{}: missing {missing:?}", py.display()));
            }
            Ok(o) => why.push(format!(
                "{}: {}",
                py.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => why.push(format!("{}: {e}", py.display())),
        }
    }
    Err(why.join("; "))
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_export.py")
}

/// The interpreter, or `None` after printing why the test skips (a failure under
/// `NASGPU_REQUIRE_PYTHON=1`).
fn python_or_skip(test: &str) -> Option<PathBuf> {
    match python() {
        Ok(py) => Some(py),
        Err(why) if std::env::var("NASGPU_REQUIRE_PYTHON").as_deref() == Ok("1") => {
            panic!("{test}: NASGPU_REQUIRE_PYTHON=1 but no usable Python: {why}")
        }
        Err(why) => {
            eprintln!(
                "skipped {test}: no Python with numpy, onnx, onnxruntime and torch ({why}); .ci/run installs them"
            );
            None
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// nasgpu's logits on the test set (the bundled one, or the IDX folder `data`) for the network
/// saved in `dir`, computed through the same gather/normalisation as `nasgpu train`'s test
/// evaluation.
fn nasgpu_logits(dir: &Path, data: Option<&Path>) -> (Vec<f32>, data::Dataset) {
    let model = source::load(dir).expect("exportable");
    let meta = model.meta.clone().expect("train writes metadata");
    let gpu = common::gpu();
    let net = Network::new(&gpu, &model.arch, 0).unwrap();
    weights::apply(&net, model.weights.as_deref().unwrap(), "weights").unwrap();
    let test = match data {
        None => data::bundled().unwrap().test,
        Some(folder) => data::load_dir(folder, None).unwrap().test,
    };
    let stats = ChannelStats {
        mean: meta.normalization.mean.clone(),
        std: meta.normalization.std.clone(),
    };
    let device = Arc::new(DeviceDataset::upload(&gpu, &test, &stats).unwrap());
    let ids: Vec<u32> = (0..test.len() as u32).collect();
    (infer::logits(&net, &device, &ids, 100).unwrap(), test)
}

fn correct(logits: &[f32], labels: &[u32], classes: usize) -> usize {
    logits
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, label)| {
            let best = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            best == Some(**label as usize)
        })
        .count()
}

/// Trains `arch_args` for an epoch (on the bundled data, or on the IDX folder `data`), exports
/// every format and compares them in Python.
fn round_trip(name: &str, arch_args: &[&str], data: Option<&Path>) {
    let Some(py) = python_or_skip(name) else {
        return;
    };
    let dir = scratch(name);
    let d = dir.to_str().unwrap();
    let mut train = vec!["train", "--epochs", "1", "--out", d];
    train.extend_from_slice(arch_args);
    let folder = data.map(|p| p.to_str().unwrap().to_string());
    if let Some(folder) = &folder {
        train.extend_from_slice(&["--data", folder, "--validation", "20"]);
    }
    check(&nasgpu(&train), "nasgpu train");
    let formats = [
        ("onnx", "model.onnx"),
        ("pytorch", "model.py"),
        ("json", "model.json"),
        ("safetensors", "model.safetensors"),
    ];
    for (format, file) in formats {
        let out = dir.join(file);
        check(
            &nasgpu(&[
                "export",
                d,
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ]),
            "nasgpu export",
        );
    }

    // The json and safetensors copies describe the same network as the training output.
    let original = source::load(&dir).unwrap();
    let json = source::load(&dir.join("model.json")).unwrap();
    assert_eq!(json.arch, original.arch);
    assert_eq!(json.meta, original.meta);
    let copy = source::load(&dir.join("model.safetensors")).unwrap();
    assert_eq!(copy.arch, original.arch);
    assert_eq!(copy.meta, original.meta);
    assert_eq!(
        copy.weights, original.weights,
        "safetensors copy changed a tensor"
    );

    let (logits, test) = nasgpu_logits(&dir, data);
    let classes = original.arch.classes;
    let ours = correct(&logits, &test.labels, classes);
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    let reported = metrics["test"]["accuracy"].as_f64().unwrap();
    assert_eq!(
        ours,
        (reported * test.len() as f64).round() as usize,
        "logits path disagrees with nasgpu train's test accuracy {reported}"
    );

    std::fs::write(dir.join("images.u8"), &test.images).unwrap();
    let labels: Vec<u8> = test.labels.iter().flat_map(|l| l.to_le_bytes()).collect();
    std::fs::write(dir.join("labels.u32"), labels).unwrap();
    let raw: Vec<u8> = logits.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("logits.f32"), raw).unwrap();
    let shape = serde_json::json!({ "images": test.shape(), "classes": classes });
    std::fs::write(dir.join("shape.json"), shape.to_string()).unwrap();

    let out = Command::new(&py)
        .arg(script())
        .arg(&dir)
        .args(["--onnx", dir.join("model.onnx").to_str().unwrap()])
        .args(["--pytorch", dir.join("model.py").to_str().unwrap()])
        .args(["--weights", dir.join("model.safetensors").to_str().unwrap()])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "check_export.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    assert_eq!(r["nasgpu_correct"], ours);
    for runtime in ["onnx", "pytorch"] {
        let diff = r[runtime]["max_abs_diff"].as_f64().unwrap();
        let right = r[runtime]["correct"].as_u64().unwrap() as usize;
        println!(
            "{name} {runtime}: max |logit diff| {diff:.3e}, accuracy {:.2}% (nasgpu {:.2}%) on {} images",
            100.0 * right as f64 / test.len() as f64,
            100.0 * ours as f64 / test.len() as f64,
            test.len()
        );
        assert!(
            diff <= LOGIT_TOLERANCE,
            "{name} {runtime}: logits differ by {diff}"
        );
        assert_eq!(right, ours, "{name} {runtime}: accuracy differs");
    }
    assert_eq!(r["onnx"]["opset"], 17);
    if data.is_none() {
        assert_eq!(r["onnx"]["metadata"]["dataset"], "bundled");
        assert_eq!(r["pytorch"]["class_names"][9], "Ankle boot");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn small_cnn_exports_match_nasgpu() {
    round_trip("small-cnn", &["--preset", "small-cnn"], None);
}

/// A NAS-RL child with skip connections, 1x7 / 7x1 / 5x3 filters, strides 2 and 3, asymmetric
/// "same" padding (7x1 at stride 2 pads 2 above and 3 below), concatenations of unequal sizes
/// (14x14 with 5x5: padded 4 before and 5 after) and two dangling layers.
#[test]
fn nasrl_child_with_skips_and_odd_filters_exports_match_nasgpu() {
    let layer = |fh: usize, fw: usize, filters: usize, stride: usize, inputs: &[usize]| {
        nasgpu::nn::LayerSpec {
            filter_height: fh,
            filter_width: fw,
            filters,
            stride,
            inputs: inputs.to_vec(),
        }
    };
    let arch = Architecture {
        input: [1, 28, 28],
        classes: 10,
        layers: vec![
            layer(1, 7, 12, 1, &[]),
            layer(7, 1, 16, 2, &[0]),
            layer(3, 3, 12, 1, &[0, 1]),
            layer(5, 3, 16, 2, &[1, 2]),
            layer(1, 1, 12, 3, &[3]),
            layer(7, 7, 12, 1, &[3, 4]),
            layer(3, 5, 8, 3, &[0]),
        ],
        darts: None,
        enas: None,
        nb201: None,
    };
    arch.validate().unwrap();
    let dir = scratch("child-arch");
    let path = dir.join("child.json");
    std::fs::write(&path, arch.to_json()).unwrap();
    round_trip("nasrl-child", &["--arch", path.to_str().unwrap()], None);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A NAS-Bench-201 cell network whose cell has every operation and a node of only `none`
/// inputs (the published `Zero`: node 2 is zeros), at N = 1 and C = 8 to keep the test short:
/// node 1 = x, node 2 = 0, node 3 = avg_pool_3x3(x) + conv1x1(node 1) + conv3x3(node 2). The
/// 3x3 pooling pads the border, so it must divide by the real pixels only, as nasgpu does.
#[test]
fn nb201_cell_network_exports_match_nasgpu() {
    let genotype =
        "|skip_connect~0|+|none~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|";
    let arch = Architecture {
        input: [1, 28, 28],
        classes: 10,
        layers: Vec::new(),
        darts: None,
        enas: None,
        nb201: Some(Nb201Network {
            genotype: genotype.parse().unwrap(),
            cells_per_stage: 1,
            channels: 8,
        }),
    };
    arch.validate().unwrap();
    let dir = scratch("nb201-arch");
    let path = dir.join("cell.json");
    std::fs::write(&path, arch.to_json()).unwrap();
    round_trip("nb201", &["--arch", path.to_str().unwrap()], None);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A DARTS cell network with every operation in both cells (3 cells, C = 4): depthwise and
/// dilated convs, max and average pooling, factorized reductions (preprocessing and stride-2
/// skips, with the shifted grid cropped), node sums and the concatenated nodes.
#[test]
fn darts_cell_network_exports_match_nasgpu() {
    darts_round_trip("darts", 28, false);
}

/// The network of `darts_cell_network_exports_match_nasgpu` on `side` x `side` images, trained
/// on the bundled data or (`own_data`) on an IDX folder of that size, through `round_trip`.
fn darts_round_trip(name: &str, side: usize, own_data: bool) {
    let genotype = "normal:sep_conv_3x3~0,dil_conv_5x5~1|max_pool_3x3~0,skip_connect~2|avg_pool_3x3~1,sep_conv_5x5~3|dil_conv_3x3~2,skip_connect~4;reduce:skip_connect~0,sep_conv_5x5~1|avg_pool_3x3~1,dil_conv_3x3~2|max_pool_3x3~0,sep_conv_3x3~3|dil_conv_5x5~1,skip_connect~3";
    let arch = Architecture::darts_cells(
        [1, side, side],
        10,
        nasgpu::nn::DartsNetwork {
            genotype: genotype.parse().unwrap(),
            channels: 4,
            cells: 3,
        },
    );
    arch_round_trip(name, &arch, own_data);
}

/// `arch` written to a file, trained on the bundled data or (`own_data`) on an IDX folder of
/// its image size, through `round_trip`.
fn arch_round_trip(name: &str, arch: &Architecture, own_data: bool) {
    arch.validate().unwrap();
    let dir = scratch(&format!("{name}-arch"));
    let path = dir.join("arch.json");
    std::fs::write(&path, arch.to_json()).unwrap();
    let data = own_data.then(|| idx_folder(&dir, arch.input[1] as u32, 0x0DD));
    round_trip(name, &["--arch", path.to_str().unwrap()], data.as_deref());
    let _ = std::fs::remove_dir_all(&dir);
}

/// An IDX folder of 120 training and 40 test images of `side` x `side`, 10 classes, pixels
/// and labels from `seed`.
fn idx_folder(dir: &Path, side: u32, seed: u64) -> PathBuf {
    let mut r = common::rng(seed);
    let mut images = |n: u32| {
        let mut b = vec![0, 0, 8, 3];
        for d in [n, side, side] {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend((0..n * side * side).map(|_| rand::RngExt::random_range(&mut r, 0..=255u8)));
        b
    };
    let (train, test) = (images(120), images(40));
    let labels = |n: u32| {
        let mut b = vec![0, 0, 8, 1];
        b.extend_from_slice(&n.to_be_bytes());
        b.extend((0..n).map(|i| (i * 7 % 10) as u8));
        b
    };
    let data = dir.join("idx");
    std::fs::create_dir_all(&data).unwrap();
    for (file, bytes) in [
        ("train-images-idx3-ubyte", train),
        ("train-labels-idx1-ubyte", labels(120)),
        ("t10k-images-idx3-ubyte", test),
        ("t10k-labels-idx1-ubyte", labels(40)),
    ] {
        std::fs::write(data.join(file), bytes).unwrap();
    }
    data
}

/// The same DARTS network on 25x25 images: both reductions then see odd sizes (25 -> 13 -> 7),
/// where "same" padding of the 3x3 pools and the stride-2 convs is asymmetric and the
/// factorized reduction's shifted grid runs off the border, so the export's padding and crop
/// must reproduce nasgpu's on odd maps too.
#[test]
fn darts_cell_network_on_odd_sizes_exports_match_nasgpu() {
    darts_round_trip("darts-odd", 25, true);
}

/// An ENAS macro network with every operation and skips across both reductions (from layers
/// whose outputs are then reduced once and twice), on 25x25 images so the reductions and the
/// stride-1 pools see odd sizes (25 -> 13 -> 7).
#[test]
fn enas_macro_network_on_odd_sizes_exports_match_nasgpu() {
    let layers: nasgpu::nn::EnasLayers =
        "conv_3x3|sep_conv_5x5+0|max_pool_3x3+1|avg_pool_3x3+0+2|conv_5x5+1|sep_conv_3x3+0+3+4"
            .parse()
            .unwrap();
    let arch = Architecture::enas_macro(
        [1, 25, 25],
        10,
        nasgpu::nn::EnasMacroNetwork {
            layers: layers.0,
            channels: 4,
        },
    );
    arch_round_trip("enas-odd", &arch, true);
}
