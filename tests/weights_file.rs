//! The weights file: round trip, and corrupt files give errors naming the file and offset.

use std::collections::BTreeMap;

use nasgpu::nn::weights::{NamedTensor, from_bytes, load, save, to_bytes};

fn tensors() -> Vec<NamedTensor> {
    vec![
        NamedTensor {
            name: "a".into(),
            shape: vec![2, 3],
            data: vec![1.0, -2.0, 3.5, 0.0, 1e-7, 9.0],
        },
        NamedTensor {
            name: "b.bias".into(),
            shape: vec![1],
            data: vec![0.25],
        },
    ]
}

#[test]
fn round_trip_through_a_file() {
    let dir = std::env::temp_dir().join(format!("nasgpu-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("w.safetensors");
    let meta = BTreeMap::from([("arch".to_string(), "{}".to_string())]);
    save(&path, &tensors(), &meta).unwrap();
    let (mut back, back_meta) = load(&path).unwrap();
    back.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(back, tensors());
    assert_eq!(back_meta, meta);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupt_files_are_errors_not_panics() {
    let good = to_bytes(&tensors(), &BTreeMap::new());
    for cut in [0, 4, 8, 20, good.len() - 1] {
        let err = from_bytes(&good[..cut], "w.bin").unwrap_err();
        assert!(err.starts_with("w.bin: "), "{err}");
    }
    let mut bad_len = good.clone();
    bad_len[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(
        from_bytes(&bad_len, "w.bin")
            .unwrap_err()
            .contains("offset 0")
    );
    let mut bad_json = good.clone();
    bad_json[8] = b'!';
    assert!(
        from_bytes(&bad_json, "w.bin")
            .unwrap_err()
            .contains("offset 8")
    );
}
