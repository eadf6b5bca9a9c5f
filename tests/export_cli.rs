//! `nasgpu export` as a user runs it, without a GPU: a synthesised training folder (random
//! weights with metadata) and a synthesised search run; bad input gives an error naming it, a
//! non-zero exit and no file.

#[path = "common/runs.rs"]
mod runs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nasgpu::data::ChannelStats;
use nasgpu::export::{graph, source};
use nasgpu::nn::meta::architecture_file_json;
use nasgpu::nn::weights::{self, NamedTensor};
use nasgpu::nn::{Architecture, ModelMeta};
use nasgpu::search::StrategyKind as Strategy;
use rand::SeedableRng;

fn export(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasgpu"))
        .arg("export")
        .args(args)
        .output()
        .expect("run nasgpu export")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-export-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn arch() -> Architecture {
    let mut rng = runs::Rng::seed_from_u64(7);
    runs::random_arch(&mut rng, 5)
}

/// A training output folder as `nasgpu train` leaves it, with deterministic pseudo-weights.
fn training_folder(dir: &Path) -> Architecture {
    let arch = arch();
    let stats = ChannelStats {
        mean: vec![0.25],
        std: vec![0.5],
    };
    let names = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let meta = ModelMeta::new(
        &arch,
        "synthetic",
        &stats,
        Some(names.map(String::from).to_vec()),
    );
    let tensors: Vec<NamedTensor> = graph::lower_nasrl(&arch, None)
        .tensors()
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let data = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 200.0)
                .collect();
            NamedTensor { name, shape, data }
        })
        .collect();
    let metadata = ModelMeta::safetensors_metadata(Some(&meta), &arch);
    weights::save(&dir.join("weights.safetensors"), &tensors, &metadata).unwrap();
    std::fs::write(
        dir.join("architecture.json"),
        architecture_file_json(&arch, Some(&meta)),
    )
    .unwrap();
    arch
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_format_is_written_and_reads_back() {
    let dir = scratch("formats");
    let arch = training_folder(&dir);
    let d = dir.to_str().unwrap();
    for format in ["onnx", "pytorch", "json", "safetensors"] {
        let o = export(&[d, "--format", format]);
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("wrote"));
    }
    assert_eq!(
        files(&dir),
        [
            "architecture.json",
            "model.json",
            "model.onnx",
            "model.py",
            "model.safetensors",
            "weights.safetensors"
        ]
    );
    let json = source::load(&dir.join("model.json")).unwrap();
    assert_eq!(json.arch, arch);
    assert_eq!(json.meta.as_ref().unwrap().dataset, "synthetic");
    let copy = source::load(&dir.join("model.safetensors")).unwrap();
    assert_eq!(copy.weights, source::load(&dir).unwrap().weights);
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    // ModelProto field 1 (ir_version) = 8, then producer_name "nasgpu".
    assert_eq!(&onnx[..4], &[0x08, 0x08, 0x12, 0x06]);
    assert_eq!(&onnx[4..10], b"nasgpu");
    let py = std::fs::read_to_string(dir.join("model.py")).unwrap();
    assert!(py.contains("class Net(nn.Module)"));
    assert!(py.contains("CLASS_NAMES = [\"zero\""));

    let o = export(&[
        d,
        "--format",
        "onnx",
        "--json",
        "--out",
        dir.join("x.onnx").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    assert_eq!(v["format"], "onnx");
    assert_eq!(
        v["bytes"].as_u64().unwrap() as usize,
        std::fs::read(dir.join("x.onnx")).unwrap().len()
    );
    assert_eq!(v["parameters"], arch.parameter_count());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_search_run_exports_its_best_architecture_and_refuses_formats_needing_weights() {
    let dir = scratch("run");
    let run = dir.join("run");
    runs::synth_run(&run, Strategy::Random, 3, 20, 2);
    let r = run.to_str().unwrap();
    let o = export(&[r, "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (best_run, _, _) = nasgpu::search::RunDir::inspect(&run).unwrap();
    let best = best_run.best().unwrap().architecture.clone();
    assert_eq!(Architecture::load(&run.join("model.json")).unwrap(), best);
    let o = export(&[r, "--format", "pytorch"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no trained weights"), "{}", stderr(&o));
    for format in ["onnx", "safetensors"] {
        let o = export(&[r, "--format", format]);
        assert!(!o.status.success(), "{format} without weights was accepted");
        assert!(stderr(&o).contains("no trained weights"), "{}", stderr(&o));
        assert!(!run.join(format!("model.{format}")).exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_named_and_writes_nothing() {
    let dir = scratch("bad");
    training_folder(&dir);
    let d = dir.to_str().unwrap();
    let before = files(&dir);

    let missing = dir.join("no-such-run");
    let o = export(&[missing.to_str().unwrap(), "--format", "onnx"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no-such-run"), "{}", stderr(&o));

    let o = export(&[d, "--format", "tflite"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("tflite") && stderr(&o).contains("--format"),
        "{}",
        stderr(&o)
    );

    // A path below a regular file cannot be created.
    let unwritable = dir.join("weights.safetensors").join("model.onnx");
    let o = export(&[d, "--format", "onnx", "--out", unwritable.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(unwritable.to_str().unwrap()),
        "{}",
        stderr(&o)
    );

    let o = export(&[d, "--format", "onnx", "--out", d]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));

    // Weights that lack a tensor: the error names it.
    let (mut tensors, metadata) = weights::load(&dir.join("weights.safetensors")).unwrap();
    tensors.retain(|t| t.name != "layer2.bn.running_var");
    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    weights::save(&broken.join("weights.safetensors"), &tensors, &metadata).unwrap();
    let o = export(&[broken.to_str().unwrap(), "--format", "onnx"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("layer2.bn.running_var"),
        "{}",
        stderr(&o)
    );
    assert!(!broken.join("model.onnx").exists());
    std::fs::remove_dir_all(&broken).unwrap();

    let mut meta = BTreeMap::new();
    meta.insert("mean".to_string(), "[0.5, 0.5]".to_string());
    meta.insert(
        "architecture".to_string(),
        serde_json::to_string(&arch()).unwrap(),
    );
    let bad_meta = dir.join("bad-meta.safetensors");
    weights::save(&bad_meta, &tensors, &meta).unwrap();
    let o = export(&[bad_meta.to_str().unwrap(), "--format", "onnx"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("bad-meta.safetensors"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_file(&bad_meta).unwrap();

    assert_eq!(files(&dir), before, "a failed export left files behind");
    let _ = std::fs::remove_dir_all(&dir);
}
