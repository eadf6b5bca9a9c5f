//! `nasgpu train` run as the built binary on the bundled data: what it writes, how it refuses bad
//! options, and what Ctrl-C leaves behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nasgpu"));
    cmd.arg("train")
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir());
    cmd
}

fn train(args: &[&str]) -> Output {
    command(args).output().expect("run nasgpu train")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-cli-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn metrics(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("metrics.json")).expect("metrics.json");
    serde_json::from_str(&text).expect("metrics.json parses")
}

#[test]
fn a_short_run_writes_weights_metrics_and_architecture() {
    let out = scratch("short");
    let o = out.to_str().unwrap();
    let run = train(&[
        "--preset", "tiny-cnn", "--epochs", "1", "--cutout", "8", "--out", o, "--json",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let m = metrics(&out);
    // --json: stdout is exactly the metrics document (plus the folder); human lines on stderr.
    let mut printed: serde_json::Value =
        serde_json::from_slice(&run.stdout).expect("--json prints one JSON document");
    assert_eq!(printed["out"], o);
    printed.as_object_mut().unwrap().remove("out");
    assert_eq!(printed, m);
    assert!(String::from_utf8_lossy(&run.stderr).contains("epoch 1/1"));
    assert_eq!(m["status"], "completed");
    assert_eq!(m["augment"]["cutout"], 8, "{m}");
    assert_eq!(m["epochs"].as_array().unwrap().len(), 1);
    let test_accuracy = m["test"]["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&test_accuracy), "{m}");
    assert!(m["epochs"][0]["images_per_second"].as_f64().unwrap() > 0.0);
    assert!(out.join("weights.safetensors").is_file());
    assert!(out.join("architecture.json").is_file());
    // Both files describe their input: normalisation, classes and their names, the version.
    let (arch, meta) =
        nasgpu::nn::meta::load_architecture_file(&out.join("architecture.json")).unwrap();
    let meta = meta.expect("architecture.json holds \"meta\"");
    assert_eq!(meta.input_shape, arch.input);
    assert_eq!(meta.dataset, "bundled");
    assert_eq!(meta.nasgpu_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(meta.normalization.pixel_scale, 255.0);
    assert_eq!(meta.normalization.mean.len(), 1);
    assert_eq!(meta.class_names.as_ref().unwrap()[0], "T-shirt/top");
    let (_, st) = nasgpu::nn::weights::load(&out.join("weights.safetensors")).unwrap();
    let from_weights = nasgpu::nn::ModelMeta::from_safetensors_metadata(&st, "weights").unwrap();
    assert_eq!(from_weights, Some(meta));
    let _ = std::fs::remove_dir_all(&out);
}

/// A NAS-Bench-201 cell file trains end to end; its weights file holds every batch norm's
/// running statistics and its architecture; a bad cell file is refused naming the field.
#[test]
fn a_cell_architecture_trains_and_saves_its_state() {
    let out = scratch("cell");
    std::fs::create_dir_all(&out).unwrap();
    let arch = out.join("cell.json");
    let genotype =
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|";
    let file = |channels: usize| {
        format!(
            r#"{{"input": [1, 28, 28], "classes": 10, "nb201": {{"genotype": "{genotype}", "cells_per_stage": 1, "channels": {channels}}}}}"#
        )
    };
    std::fs::write(&arch, file(4)).unwrap();
    let run_dir = out.join("run");
    let run = train(&[
        "--arch",
        arch.to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("NAS-Bench-201 cell"), "{stderr}");
    let m = metrics(&run_dir);
    assert_eq!(m["status"], "completed");
    assert_eq!(m["architecture"]["nb201"]["genotype"], genotype);
    let (tensors, meta) = nasgpu::nn::weights::load(&run_dir.join("weights.safetensors")).unwrap();
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    for name in [
        "stem.bn.running_mean",
        "reduce2.conv_b.bn.running_var",
        "stage3.cell0.edge_2_3.conv.weight",
        "head.bn.running_var",
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    let saved = nasgpu::nn::Architecture::from_json(&meta["architecture"], "meta").unwrap();
    assert_eq!(saved.nb201.unwrap().genotype.to_string(), genotype);

    std::fs::write(&arch, file(0)).unwrap();
    let bad = out.join("bad");
    let run = train(&[
        "--arch",
        arch.to_str().unwrap(),
        "--out",
        bad.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("nb201.channels: 0 is not in 1..=1024"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_options_are_refused_by_name_before_anything_is_written() {
    for (option, value) in [
        ("--batch", "0"),
        ("--epochs", "0"),
        ("--lr", "-1"),
        ("--lr", "NaN"),
        ("--momentum", "1.5"),
        ("--weight-decay", "-0.1"),
        // The bundled images are 28x28.
        ("--cutout", "29"),
    ] {
        let out = scratch("bad");
        let arg = format!("{option}={value}");
        let run = train(&["--preset", "tiny-cnn", &arg, "--out", out.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{arg} was accepted");
        assert!(stderr.contains(option), "{arg}: {stderr}");
        assert!(!out.exists(), "{arg}: {} was created", out.display());
    }
}

/// Ctrl-C after the first epoch: exits non-zero, marks metrics.json interrupted, and keeps the
/// weights of the finished epochs (the half-trained epoch is not saved over them).
#[test]
fn ctrl_c_keeps_the_finished_epochs() {
    let out = scratch("interrupt");
    let mut child = command(&["--preset", "tiny-cnn", "--epochs", "200", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nasgpu train");
    let started = Instant::now();
    let weights = out.join("weights.safetensors");
    while !weights.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no epoch finished"
        );
        assert!(child.try_wait().unwrap().is_none(), "train exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let saved = std::fs::read(&weights).unwrap();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "an interrupted run must exit non-zero");
    let m = metrics(&out);
    assert_eq!(m["status"], "interrupted");
    let finished = m["epochs"].as_array().unwrap().len();
    assert!((1..200).contains(&finished), "{finished} epochs recorded");
    if finished == 1 {
        // Interrupted during the second epoch: the file is still the first epoch's.
        assert_eq!(std::fs::read(&weights).unwrap(), saved);
    }
    let _ = std::fs::remove_dir_all(&out);
}
