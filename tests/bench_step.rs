//! The training-step benchmark that comparison scripts drive (`nasgpu bench-step`): what it
//! exports (weights, batches, losses), that the same seed exports the same bits, that an
//! exported loss is the loss of the exported weights on the exported batch, and its protocol.

mod common;

use common::gpu;
use nasgpu::bench::step::{StepBench, architecture};
use nasgpu::nn::weights;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-bench-step-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(path: &std::path::Path) -> Vec<weights::NamedTensor> {
    let bytes = std::fs::read(path).expect("exported file");
    weights::from_bytes(&bytes, &path.display().to_string())
        .expect("a weights file")
        .0
}

#[test]
fn export_writes_weights_batches_and_reproducible_losses() {
    let gpu = gpu();
    let arch = architecture(Some("tiny-cnn"), None).unwrap();
    let (a, b) = (scratch("a"), scratch("b"));
    let meta = StepBench::new(&gpu, &arch, 8, 3)
        .unwrap()
        .export(&a, 2)
        .unwrap();
    let again = StepBench::new(&gpu, &arch, 8, 3)
        .unwrap()
        .export(&b, 2)
        .unwrap();
    assert_eq!(meta.losses.len(), 2);
    assert!(
        meta.losses.iter().all(|l| l.is_finite() && *l > 0.0),
        "{:?}",
        meta.losses
    );
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&meta.losses),
        bits(&again.losses),
        "same seed, same bits"
    );
    assert!(meta.decayed.contains(&"layer0.conv.weight".to_string()));
    assert!(!meta.decayed.contains(&"layer0.bn.gamma".to_string()));
    assert_eq!(meta.step_flops, 3.0 * 8.0 * arch.forward_flops());

    let w = read(&a.join("weights.safetensors"));
    let names: Vec<&str> = w.iter().map(|t| t.name.as_str()).collect();
    for want in [
        "layer0.conv.weight",
        "layer1.bn.running_var",
        "classifier.weight",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let batches = read(&a.join("batches.safetensors"));
    let images = batches
        .iter()
        .find(|t| t.name == "images.1")
        .expect("images.1");
    let labels = batches
        .iter()
        .find(|t| t.name == "labels.1")
        .expect("labels.1");
    assert_eq!(images.shape, vec![8, 1, 28, 28]);
    assert!(images.data.iter().all(|v| v.is_finite()));
    assert!(
        labels
            .data
            .iter()
            .all(|&l| l.fract() == 0.0 && (0.0..10.0).contains(&l))
    );
    let first = batches.iter().find(|t| t.name == "images.0").unwrap();
    assert_ne!(first.data, images.data, "each step exports its own batch");
    let text = std::fs::read_to_string(a.join("meta.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["batch"], 8);
    assert_eq!(json["architecture"]["layers"].as_array().unwrap().len(), 2);
}

#[test]
fn serve_answers_steps_peak_and_refuses_unknown_requests() {
    let gpu = gpu();
    let arch = architecture(Some("tiny-cnn"), None).unwrap();
    let mut bench = StepBench::new(&gpu, &arch, 8, 0).unwrap();
    let mut out = Vec::new();
    bench
        .serve(&b"step 2\n\npeak\nbogus\nquit\nstep 1\n"[..], &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for line in &lines[..2] {
        let value: f64 = line.strip_prefix("ok ").expect("ok line").parse().unwrap();
        assert!(value > 0.0, "{line}");
    }
    assert!(
        lines[2].starts_with("error unknown request 'bogus'"),
        "{text}"
    );
    assert!(
        architecture(Some("no-such"), None)
            .unwrap_err()
            .contains("small-cnn")
    );
}
