//! A search whose space holds children too large for the device: each is estimated before it
//! is built (`nn::footprint`, the estimate `train` uses) and recorded as out of memory, naming
//! the field, while the children that fit train as usual.

use std::process::Command;

#[test]
fn children_that_cannot_fit_are_recorded_out_of_memory_before_building() {
    let dir = std::env::temp_dir().join(format!("nasgpu-child-estimate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // One layer of 8 or 4096 filters: at batch 32 a 4096-filter output is 392 MiB, more than a
    // storage binding holds on any adapter we know of (the smallest child fits, so the search
    // itself is accepted).
    let config = r#"{
        "space": {"layers": 1, "max_layers": 1, "depth_increment": 0, "filter_heights": [3],
                  "filter_widths": [3], "filter_counts": [8, 4096], "strides": [1]},
        "reinforce": {"children_per_step": 4},
        "child": {"epochs": 1, "batch_size": 32, "train_images": 256, "validation_images": 128,
                  "latency": false},
        "run": {"budget": 4, "strategy": "random", "seed": 3}
    }"#;
    std::fs::write(dir.join("config.json"), config).unwrap();
    let run = dir.join("run");
    let out = Command::new(env!("CARGO_BIN_EXE_nasgpu"))
        .arg("search")
        .arg("--config")
        .arg(dir.join("config.json"))
        .arg("--out")
        .arg(&run)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run nasgpu");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let history = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = history
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 4);
    let wide: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["architecture"]["layers"][0]["filters"] == 4096)
        .collect();
    assert!(
        !wide.is_empty() && wide.len() < 4,
        "seed 3 should draw both widths: {history}"
    );
    for r in &records {
        let error = r["error"].as_str().unwrap_or_default();
        if r["architecture"]["layers"][0]["filters"] == 4096 {
            assert_eq!(r["status"], "out_of_memory", "{r}");
            assert!(
                error.contains("does not fit") && error.contains("layers[0].filters: 4096"),
                "{r}"
            );
        } else {
            assert_eq!(r["status"], "ok", "{r}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
