//! Issue 11's corpus of malformed inputs (data files, CIFAR batches, image folders,
//! architecture files, search configurations, tables, options): each runs the release binary
//! once and must fail before any training, cleanly, naming the file, field or option, and
//! leaving nothing behind (`common/input_corpus.rs`). Run directories have their own corpus
//! (`malformed_runs.rs`). Add a case whenever a new input kind lands.

#[path = "common/input_corpus.rs"]
mod corpus;

use std::path::Path;
use std::time::Duration;

use corpus::Case;

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `nasgpu train` with `args`, writing to the case's `out` folder, cheap if it ever ran.
fn train(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut v = strings(&["train", "--out"]);
    v.push(p(dir, "out"));
    v.extend(strings(args));
    if !args.contains(&"--epochs") {
        v.extend(strings(&["--epochs", "1"]));
    }
    v
}

/// `nasgpu train --data DIR --preset tiny-cnn` on a folder the case wrote.
fn train_on(dir: &Path, data: &Path) -> Vec<String> {
    let d = data.display().to_string();
    train(dir, &["--preset", "tiny-cnn", "--data", &d])
}

/// `nasgpu train --arch FILE` with `text` as the file.
fn train_arch(dir: &Path, text: &str) -> Vec<String> {
    std::fs::write(dir.join("arch.json"), text).unwrap();
    train(dir, &["--arch", &p(dir, "arch.json")])
}

/// `nasgpu search --config FILE` with `text` as the file; the child settings fit the bundled
/// data so that only the field under test is wrong.
fn search_config(dir: &Path, text: &str) -> Vec<String> {
    std::fs::write(dir.join("config.json"), text).unwrap();
    let mut v = strings(&["search", "--config", &p(dir, "config.json"), "--out"]);
    v.push(p(dir, "out"));
    v
}

/// A configuration with one more section or field (`extra` is JSON object members).
fn config(extra: &str) -> String {
    let child = r#""child": {"validation_images": 500, "batch_size": 32, "epochs": 1}"#;
    if extra.is_empty() {
        format!("{{{child}}}")
    } else {
        format!("{{{child}, {extra}}}")
    }
}

/// `nasgpu search` over a table the case wrote (`text`), on the NAS-Bench-201 space.
fn search_table(dir: &Path, text: &str) -> Vec<String> {
    std::fs::write(dir.join("table.csv"), text).unwrap();
    let mut v = strings(&[
        "search",
        "--space",
        "nb201",
        "--strategy",
        "random",
        "--budget",
        "4",
        "--table",
        &p(dir, "table.csv"),
        "--out",
    ]);
    v.push(p(dir, "out"));
    v
}

fn idx_images(n: u32, claimed: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for d in [claimed, 28, 28] {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend((0..n * 28 * 28).map(|i| (i % 251) as u8));
    b
}

fn idx_labels(n: u32, claimed: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 1];
    b.extend_from_slice(&claimed.to_be_bytes());
    b.extend((0..n).map(|i| (i % 10) as u8));
    b
}

/// A valid IDX folder of 100 training and 20 test images, then `spoil` applied to it.
fn idx(dir: &Path, spoil: impl Fn(&Path)) -> std::path::PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for (file, bytes) in [
        ("train-images-idx3-ubyte", idx_images(100, 100)),
        ("train-labels-idx1-ubyte", idx_labels(100, 100)),
        ("t10k-images-idx3-ubyte", idx_images(20, 20)),
        ("t10k-labels-idx1-ubyte", idx_labels(20, 20)),
    ] {
        std::fs::write(data.join(file), bytes).unwrap();
    }
    spoil(&data);
    data
}

fn cifar_batch(records: usize, label: u8) -> Vec<u8> {
    let mut b = Vec::with_capacity(records * 3073);
    for r in 0..records {
        b.push(if label == 255 { (r % 10) as u8 } else { label });
        b.extend((0..3072).map(|i| ((i + r) % 251) as u8));
    }
    b
}

/// A valid CIFAR-10 folder of 5 x 20 training and 20 test records, then `spoil` applied.
fn cifar(dir: &Path, spoil: impl Fn(&Path)) -> std::path::PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 1..=5 {
        std::fs::write(
            data.join(format!("data_batch_{i}.bin")),
            cifar_batch(20, 255),
        )
        .unwrap();
    }
    std::fs::write(data.join("test_batch.bin"), cifar_batch(20, 255)).unwrap();
    spoil(&data);
    data
}

fn png(path: &Path, w: u32, h: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]))
        .save_with_format(path, image::ImageFormat::Png)
        .unwrap();
}

/// An image folder with classes `a` and `b` (6 images of 8x8 each), then `spoil` applied.
fn folder(dir: &Path, spoil: impl Fn(&Path)) -> std::path::PathBuf {
    let data = dir.join("data");
    for class in ["a", "b"] {
        for k in 0..6 {
            png(&data.join(format!("train/{class}/{k}.png")), 8, 8);
        }
    }
    spoil(&data);
    data
}

fn layer(filters: &str) -> String {
    format!(
        r#"{{"filter_height": 3, "filter_width": 3, "filters": {filters}, "stride": 1, "inputs": []}}"#
    )
}

fn macro_arch(layers: &str) -> String {
    format!(r#"{{"input": [1, 28, 28], "classes": 10, "layers": [{layers}]}}"#)
}

fn enas_arch(members: &str) -> String {
    format!(r#"{{"input": [1, 28, 28], "classes": 10, "enas": {{{members}}}}}"#)
}

fn nb201_arch(members: &str) -> String {
    format!(r#"{{"input": [1, 28, 28], "classes": 10, "nb201": {{{members}}}}}"#)
}

const GENOTYPE: &str =
    "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|";

const DARTS_GENOTYPE: &str = "normal:sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,sep_conv_3x3~1|skip_connect~0,sep_conv_3x3~1|skip_connect~0,dil_conv_3x3~2;reduce:max_pool_3x3~0,max_pool_3x3~1|max_pool_3x3~1,skip_connect~2|max_pool_3x3~0,skip_connect~2|max_pool_3x3~1,skip_connect~2";

const TABLE_HEAD: &str = "arch,accuracy\n";

fn cases() -> Vec<Case> {
    let mut c = Vec::new();
    // --- IDX data ---
    c.push(Case::new(
        "idx",
        "idx-wrong-magic",
        &["train-images-idx3-ubyte"],
        |d| {
            let data = idx(d, |data| {
                let mut b = idx_images(100, 100);
                b[2] = 9;
                std::fs::write(data.join("train-images-idx3-ubyte"), b).unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "idx",
        "idx-truncated-images",
        &["train-images-idx3-ubyte"],
        |d| {
            let data = idx(d, |data| {
                std::fs::write(data.join("train-images-idx3-ubyte"), idx_images(50, 100)).unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "idx",
        "idx-count-4e9",
        &["train-images-idx3-ubyte"],
        |d| {
            let data = idx(d, |data| {
                std::fs::write(
                    data.join("train-images-idx3-ubyte"),
                    idx_images(10, u32::MAX),
                )
                .unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "idx",
        "idx-labels-disagree",
        &["100", "90"],
        |d| {
            let data = idx(d, |data| {
                std::fs::write(data.join("train-labels-idx1-ubyte"), idx_labels(90, 90)).unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "idx",
        "idx-zero-images",
        &["t10k-images-idx3-ubyte"],
        |d| {
            let data = idx(d, |data| {
                std::fs::write(data.join("t10k-images-idx3-ubyte"), idx_images(0, 0)).unwrap();
                std::fs::write(data.join("t10k-labels-idx1-ubyte"), idx_labels(0, 0)).unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "idx",
        "idx-bad-gzip",
        &["train-images-idx3-ubyte.gz", "gzip"],
        |d| {
            let data = idx(d, |data| {
                std::fs::remove_file(data.join("train-images-idx3-ubyte")).unwrap();
                std::fs::write(
                    data.join("train-images-idx3-ubyte.gz"),
                    [0x1f, 0x8b, 8, 0, 1, 2],
                )
                .unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "idx",
        "idx-file-is-a-directory",
        &["train-images-idx3-ubyte", "is a directory"],
        |d| {
            let data = idx(d, |data| {
                std::fs::remove_file(data.join("train-images-idx3-ubyte")).unwrap();
                std::fs::create_dir(data.join("train-images-idx3-ubyte")).unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "idx",
        "idx-symlink-loop",
        &["train-labels-idx1-ubyte", "symbolic link"],
        |d| {
            let data = idx(d, |data| {
                let f = data.join("train-labels-idx1-ubyte");
                std::fs::remove_file(&f).unwrap();
                std::os::unix::fs::symlink(&f, &f).unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "idx",
        "data-is-a-file",
        &["notes.txt", "is a file"],
        |d| {
            std::fs::write(d.join("notes.txt"), "not a dataset").unwrap();
            train_on(d, &d.join("notes.txt"))
        },
    ));
    c.push(Case::new(
        "idx",
        "data-missing",
        &["nowhere", "no such directory"],
        |d| train_on(d, &d.join("nowhere")),
    ));
    // --- CIFAR batches ---
    c.push(Case::new(
        "cifar",
        "cifar-partial-record",
        &["data_batch_2.bin"],
        |d| {
            let data = cifar(d, |data| {
                let mut b = cifar_batch(20, 255);
                b.truncate(b.len() - 100);
                std::fs::write(data.join("data_batch_2.bin"), b).unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "cifar",
        "cifar-label-out-of-range",
        &["data_batch_1.bin", "37"],
        |d| {
            let data = cifar(d, |data| {
                std::fs::write(data.join("data_batch_1.bin"), cifar_batch(20, 37)).unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "cifar",
        "cifar-empty-batch",
        &["data_batch_3.bin"],
        |d| {
            let data = cifar(d, |data| {
                std::fs::write(data.join("data_batch_3.bin"), []).unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "cifar",
        "cifar-batch-is-a-directory",
        &["test_batch.bin", "is a directory"],
        |d| {
            let data = cifar(d, |data| {
                std::fs::remove_file(data.join("test_batch.bin")).unwrap();
                std::fs::create_dir(data.join("test_batch.bin")).unwrap();
            });
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "cifar",
        "cifar-missing-batch",
        &["data_batch_5.bin"],
        |d| {
            let data = cifar(d, |data| {
                std::fs::remove_file(data.join("data_batch_5.bin")).unwrap();
            });
            train_on(d, &data)
        },
    ));
    // --- image folders ---
    c.push(Case::new("folder", "folder-one-class", &["class"], |d| {
        let data = folder(d, |data| {
            std::fs::remove_dir_all(data.join("train/b")).unwrap();
        });
        train_on(d, &data)
    }));
    c.push(Case::new("folder", "folder-no-images", &["data"], |d| {
        let data = folder(d, |data| {
            for class in ["a", "b"] {
                std::fs::remove_dir_all(data.join("train").join(class)).unwrap();
                std::fs::create_dir_all(data.join("train").join(class)).unwrap();
            }
        });
        train_on(d, &data)
    }));
    c.push(Case::new(
        "folder",
        "folder-mixed-sizes",
        &["odd.png", "--resize"],
        |d| {
            let data = folder(d, |data| png(&data.join("train/b/odd.png"), 9, 8));
            train_on(d, &data)
        },
    ));
    c.push(Case::new(
        "folder",
        "folder-strict-broken-image",
        &["broken.png"],
        |d| {
            let data = folder(d, |data| {
                std::fs::write(data.join("train/a/broken.png"), b"\x89PNG\r\n\x1a\nbroken")
                    .unwrap();
            });
            let mut args = train_on(d, &data);
            args.push("--strict".into());
            args
        },
    ));
    c.push(Case::new(
        "folder",
        "folder-test-class-not-in-train",
        &["c"],
        |d| {
            let data = folder(d, |data| {
                png(&data.join("test/a/0.png"), 8, 8);
                png(&data.join("test/c/0.png"), 8, 8);
            });
            train_on(d, &data)
        },
    ));
    // --- architecture files (ENAS macro) ---
    c.push(Case::new(
        "arch",
        "arch-enas-skip-from-later-layer",
        &["arch.json", "enas.layers[1].skips", "skip from 3"],
        |d| {
            let layers = r#""layers": [{"op": "conv_3x3"}, {"op": "max_pool_3x3", "skips": [3]}]"#;
            train_arch(d, &enas_arch(&format!(r#""channels": 8, {layers}"#)))
        },
    ));
    c.push(Case::new(
        "arch",
        "arch-enas-unknown-op",
        &["arch.json", "enas.layers[0].op", "conv_7x7"],
        |d| {
            train_arch(
                d,
                &enas_arch(r#""channels": 8, "layers": [{"op": "conv_7x7"}]"#),
            )
        },
    ));
    c.push(Case::new(
        "arch",
        "arch-enas-too-wide",
        &["arch.json", "enas.channels", "1024"],
        |d| {
            let layers = vec![r#"{"op": "conv_5x5"}"#; 24].join(", ");
            train_arch(
                d,
                &enas_arch(&format!(r#""channels": 1024, "layers": [{layers}]"#)),
            )
        },
    ));
    // --- architecture files (macro) ---
    c.push(Case::new(
        "arch",
        "arch-filters-1e9",
        &["arch.json", "layers[0].filters", "1000000000"],
        |d| train_arch(d, &macro_arch(&layer("1000000000"))),
    ));
    c.push(Case::new(
        "arch",
        "arch-filters-1e5",
        &["arch.json", "layers[0].filters", "100000"],
        |d| train_arch(d, &macro_arch(&layer("100000"))),
    ));
    c.push(Case::new("arch", "arch-10000-layers", &["arch.json", "layers", "10000 layers"], |d| {
        let layers: Vec<String> = (0..10_000)
            .map(|i| {
                let inputs = if i == 0 { String::new() } else { format!("{}", i - 1) };
                format!(
                    r#"{{"filter_height": 3, "filter_width": 3, "filters": 8, "stride": 1, "inputs": [{inputs}]}}"#
                )
            })
            .collect();
        train_arch(d, &macro_arch(&layers.join(",")))
    }));
    c.push(Case::new(
        "arch",
        "arch-stride-4",
        &["arch.json", "layers[0].stride", "4"],
        |d| {
            train_arch(
                d,
                &macro_arch(&layer("8").replace("\"stride\": 1", "\"stride\": 4")),
            )
        },
    ));
    c.push(Case::new(
        "arch",
        "arch-inputs-later-layer",
        &["arch.json", "layers[0].inputs", "5"],
        |d| train_arch(d, &macro_arch(&layer("8").replace("[]", "[5]"))),
    ));
    c.push(Case::new(
        "arch",
        "arch-filter-height-0",
        &["arch.json", "layers[0].filter_height"],
        |d| {
            train_arch(
                d,
                &macro_arch(&layer("8").replace("\"filter_height\": 3", "\"filter_height\": 0")),
            )
        },
    ));
    c.push(Case::new(
        "arch",
        "arch-filters-negative",
        &["arch.json", "layers[0].filters", "-8"],
        |d| train_arch(d, &macro_arch(&layer("-8"))),
    ));
    c.push(Case::new(
        "arch",
        "arch-filters-1e999",
        &["arch.json", "layers[0].filters"],
        |d| train_arch(d, &macro_arch(&layer("1e999"))),
    ));
    c.push(Case::new(
        "arch",
        "arch-classes-not-the-data's",
        &["100 classes", "10 classes"],
        |d| {
            train_arch(
                d,
                &macro_arch(&layer("8")).replace("\"classes\": 10", "\"classes\": 100"),
            )
        },
    ));
    c.push(Case::new(
        "arch",
        "arch-not-json",
        &["arch.json", "not a valid architecture file"],
        |d| train_arch(d, "layers: 3"),
    ));
    c.push(Case::new(
        "arch",
        "arch-file-is-a-directory",
        &["arch.json", "directory"],
        |d| {
            std::fs::create_dir(d.join("arch.json")).unwrap();
            train(d, &["--arch", &p(d, "arch.json")])
        },
    ));
    c.push(Case::new(
        "arch",
        "arch-unknown-field",
        &["arch.json", "layers[0].kernel"],
        |d| {
            train_arch(
                d,
                &macro_arch(&layer("8").replace("\"stride\"", "\"kernel\": 3, \"stride\"")),
            )
        },
    ));
    // --- architecture files (NAS-Bench-201 cells) ---
    c.push(Case::new(
        "nb201",
        "nb201-unknown-op",
        &["arch.json", "nb201.genotype", "conv_9x9"],
        |d| {
            let g = GENOTYPE.replacen("nor_conv_3x3", "conv_9x9", 1);
            train_arch(d, &nb201_arch(&format!(r#""genotype": "{g}""#)))
        },
    ));
    c.push(Case::new(
        "nb201",
        "nb201-short-genotype",
        &["arch.json", "nb201.genotype"],
        |d| {
            train_arch(
                d,
                &nb201_arch(r#""genotype": "|nor_conv_3x3~0|+|skip_connect~0|""#),
            )
        },
    ));
    c.push(Case::new(
        "nb201",
        "nb201-channels-1e5",
        &["arch.json", "nb201.channels", "100000"],
        |d| {
            train_arch(
                d,
                &nb201_arch(&format!(r#""genotype": "{GENOTYPE}", "channels": 100000"#)),
            )
        },
    ));
    c.push(Case::new(
        "nb201",
        "nb201-channels-1024",
        &["arch.json", "nb201.channels", "1024"],
        |d| {
            // Within the field's range, but its activations exceed what the device binds.
            train_arch(
                d,
                &nb201_arch(&format!(
                    r#""genotype": "{GENOTYPE}", "channels": 1024, "cells_per_stage": 32"#
                )),
            )
        },
    ));
    c.push(Case::new(
        "nb201",
        "nb201-cells-zero",
        &["arch.json", "nb201.cells_per_stage", "0"],
        |d| {
            train_arch(
                d,
                &nb201_arch(&format!(
                    r#""genotype": "{GENOTYPE}", "cells_per_stage": 0"#
                )),
            )
        },
    ));
    c.push(Case::new(
        "nb201",
        "nb201-with-layers",
        &["arch.json", "layers"],
        |d| {
            let text = nb201_arch(&format!(r#""genotype": "{GENOTYPE}""#)).replace(
                "\"classes\": 10,",
                &format!("\"classes\": 10, \"layers\": [{}],", layer("8")),
            );
            train_arch(d, &text)
        },
    ));
    // --- architecture files (DARTS cells) ---
    let darts_arch = |members: String| {
        format!(r#"{{"input": [1, 28, 28], "classes": 10, "darts": {{{members}}}}}"#)
    };
    c.push(Case::new(
        "darts",
        "darts-none-op",
        &["arch.json", "darts.genotype", "'none'"],
        move |d| {
            let g = DARTS_GENOTYPE.replacen("sep_conv_3x3~0", "none~0", 1);
            train_arch(d, &darts_arch(format!(r#""genotype": "{g}""#)))
        },
    ));
    c.push(Case::new(
        "darts",
        "darts-channels-1024",
        &["arch.json", "darts.channels", "1024"],
        move |d| {
            // Within the field's range, but its activations exceed what the device binds.
            train_arch(
                d,
                &darts_arch(format!(
                    r#""genotype": "{DARTS_GENOTYPE}", "channels": 1024, "cells": 64"#
                )),
            )
        },
    ));
    // --- search configurations ---
    let cfg = |name: &'static str, expect: &[&'static str], extra: &'static str| {
        Case::new("config", name, expect, move |d| {
            search_config(d, &config(extra))
        })
    };
    c.push(cfg(
        "cfg-darts-space-channels-0",
        &["config.json", "darts_space.channels", "0"],
        r#""darts_space": {"channels": 0}"#,
    ));
    c.push(cfg(
        "cfg-darts-supernet-too-large",
        &["config.json", "darts_space.channels", "512"],
        r#""run": {"space": "darts", "evaluator": "supernet"}, "darts_space": {"channels": 512, "cells": 20}"#,
    ));
    c.push(cfg(
        "cfg-darts-mixed-supernet-too-large",
        &["config.json", "darts_space.channels", "96", "every edge mixed"],
        r#""run": {"space": "darts", "strategy": "darts", "evaluator": "supernet"}, "darts_space": {"channels": 96, "cells": 8}"#,
    ));
    c.push(cfg(
        "cfg-enas-supernet-too-large",
        &["config.json", "enas_space.channels", "512", "conv_5x5 with every skip"],
        r#""run": {"space": "enas", "evaluator": "supernet"}, "enas_space": {"channels": 512, "layers": 24}"#,
    ));
    c.push(cfg(
        "cfg-darts-space-too-large",
        &["config.json", "darts_space.channels", "1024"],
        r#""run": {"space": "darts"}, "darts_space": {"channels": 1024, "cells": 64}"#,
    ));
    c.push(cfg(
        "cfg-controller-hidden-1e6",
        &["config.json", "controller.hidden", "1000000"],
        r#""controller": {"hidden": 1000000}"#,
    ));
    c.push(cfg(
        "cfg-controller-hidden-4096",
        &["config.json", "controller.hidden", "4096", "per buffer"],
        r#""controller": {"hidden": 4096}"#,
    ));
    c.push(cfg(
        "cfg-controller-layers-1e5",
        &["config.json", "controller.layers", "100000"],
        r#""controller": {"layers": 100000}"#,
    ));
    c.push(cfg(
        "cfg-controller-layers-1024",
        &["config.json", "controller.layers", "1024", "host memory"],
        r#""controller": {"layers": 1024, "hidden": 2000}"#,
    ));
    c.push(cfg(
        "cfg-space-layers-1e5",
        &["config.json", "space.layers", "100000"],
        r#""space": {"layers": 100000, "max_layers": 100000}"#,
    ));
    c.push(cfg("cfg-space-layers-2000", &["config.json", "space.layers", "host memory"], r#""space": {"layers": 2000, "max_layers": 2000, "skip_connections": false}, "run": {"strategy": "random"}"#));
    c.push(cfg("cfg-space-max-layers-2000", &["config.json", "space.max_layers", "2000"], r#""space": {"layers": 2, "max_layers": 2000, "depth_increment": 2000, "depth_increment_every": 1}"#));
    c.push(cfg(
        "cfg-filter-counts-5000",
        &["config.json", "space.filter_counts[0]", "5000"],
        r#""space": {"filter_counts": [5000]}"#,
    ));
    c.push(cfg(
        "cfg-init-range-1e30",
        &["config.json", "controller.init_range", "1e30"],
        r#""controller": {"init_range": 1e30}"#,
    ));
    c.push(cfg(
        "cfg-init-range-1e999",
        &["config.json", "controller.init_range"],
        r#""controller": {"init_range": 1e999}"#,
    ));
    c.push(cfg(
        "cfg-controller-lr-negative",
        &["config.json", "controller.learning_rate", "-0.1"],
        r#""controller": {"learning_rate": -0.1}"#,
    ));
    c.push(Case::new(
        "config",
        "cfg-child-lr-1e999",
        &["config.json", "child.learning_rate"],
        |d| {
            search_config(
                d,
                r#"{"child": {"validation_images": 500, "learning_rate": 1e999}}"#,
            )
        },
    ));
    c.push(cfg(
        "cfg-temperature-negative",
        &["config.json", "controller.temperature", "-1"],
        r#""controller": {"temperature": -1}"#,
    ));
    c.push(cfg(
        "cfg-skip-target-1",
        &["config.json", "controller.skip_target", "1"],
        r#""controller": {"skip_target": 1}"#,
    ));
    c.push(cfg(
        "cfg-skip-weight-negative",
        &["config.json", "controller.skip_weight", "-0.5"],
        r#""controller": {"skip_weight": -0.5}"#,
    ));
    c.push(cfg(
        "cfg-op-tanh-reduce-0",
        &["config.json", "controller.op_tanh_reduce", "0"],
        r#""controller": {"op_tanh_reduce": 0}"#,
    ));
    c.push(cfg(
        "cfg-skip-weight-without-skips",
        &["controller.skip_weight", "0.8", "no skip decisions"],
        r#""space": {"skip_connections": false}, "controller": {"skip_weight": 0.8}"#,
    ));
    c.push(cfg(
        "cfg-baseline-decay-2",
        &["config.json", "reinforce.baseline_decay", "2"],
        r#""reinforce": {"baseline_decay": 2}"#,
    ));
    c.push(cfg(
        "cfg-children-per-step-1e9",
        &["config.json", "reinforce.children_per_step", "1000000000"],
        r#""reinforce": {"children_per_step": 1000000000}"#,
    ));
    c.push(cfg(
        "cfg-ppo-epochs-1e9",
        &["config.json", "ppo.epochs", "1000000000"],
        r#""ppo": {"epochs": 1000000000}"#,
    ));
    c.push(Case::new("config", "cfg-halving-eta-2e18", &["config.json", "halving.eta"], |d| {
        // An eta this large once overflowed the rung arithmetic into an endless loop.
        search_config(d, r#"{"child": {"validation_images": 500, "epochs": 3}, "halving": {"min_epochs": 1, "eta": 2000000000000000000}}"#)
    }));
    c.push(cfg(
        "cfg-target-ms-0",
        &["config.json", "objective.target_ms", "0"],
        r#""objective": {"kind": "latency", "target_ms": 0}"#,
    ));
    c.push(cfg(
        "cfg-alpha-1e999",
        &["config.json", "objective.alpha"],
        r#""objective": {"alpha": -1e999}"#,
    ));
    c.push(cfg(
        "cfg-sample-size-over-population",
        &["config.json", "evolution.sample_size", "50"],
        r#""evolution": {"population": 10, "sample_size": 50}"#,
    ));
    c.push(cfg(
        "cfg-nb201-channels-1e5",
        &["config.json", "nb201.channels", "100000"],
        r#""nb201": {"channels": 100000}, "run": {"space": "nb201"}"#,
    ));
    c.push(cfg(
        "cfg-supernet-macro-space",
        &["config.json", "run.evaluator", "nb201"],
        r#""run": {"evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-supernet-channels-1e5",
        &["config.json", "nb201.channels", "100000"],
        r#""nb201": {"channels": 100000}, "run": {"space": "nb201", "evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-supernet-lr-nan-string",
        &["config.json", "supernet.learning_rate"],
        r#""supernet": {"learning_rate": "fast"}, "run": {"space": "nb201", "evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-supernet-momentum-1",
        &["config.json", "supernet.momentum", "1"],
        r#""supernet": {"momentum": 1}, "run": {"space": "nb201", "evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-supernet-batch-over-validation",
        &["config.json", "supernet.batch_size", "4096"],
        r#""supernet": {"batch_size": 4096}, "run": {"space": "nb201", "evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-darts-macro-space",
        &["config.json", "run.space", "--space nb201 or darts"],
        r#""run": {"strategy": "darts", "evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-darts-train-evaluator",
        &["config.json", "run.evaluator", "--evaluator supernet"],
        r#""run": {"space": "nb201", "strategy": "darts"}"#,
    ));
    c.push(cfg(
        "cfg-darts-order-3",
        &["config.json", "darts.order", "must be 1, first order, or 2"],
        r#""darts": {"order": 3}, "run": {"space": "nb201", "strategy": "darts", "evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-darts-unknown-field",
        &["config.json", "darts.arch_lr"],
        r#""darts": {"arch_lr": 0.1}, "run": {"space": "nb201", "strategy": "darts", "evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-darts-remedy-unknown",
        &["config.json", "darts.remedy", "darts-minus"],
        r#""darts": {"remedy": "pc-darts"}, "run": {"space": "nb201", "strategy": "darts", "evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-darts-steps-0",
        &["config.json", "darts.steps_per_derivation", "0"],
        r#""darts": {"steps_per_derivation": 0}, "run": {"space": "nb201", "strategy": "darts", "evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-darts-beta1-1",
        &["config.json", "darts.beta1", "1"],
        r#""darts": {"beta1": 1.0}, "run": {"space": "nb201", "strategy": "darts", "evaluator": "supernet"}"#,
    ));
    c.push(cfg(
        "cfg-budget-0",
        &["config.json", "run.budget", "0"],
        r#""run": {"budget": 0}"#,
    ));
    c.push(cfg(
        "cfg-unknown-section",
        &["config.json", "spaces", "unknown section"],
        r#""spaces": {}"#,
    ));
    c.push(cfg(
        "cfg-wrong-type",
        &["config.json", "space.layers"],
        r#""space": {"layers": "six"}"#,
    ));
    // --- tables ---
    let row = format!("{GENOTYPE},0.5\n");
    c.push(Case::new(
        "table",
        "table-metric-not-a-number",
        &["table.csv", "line 2", "accuracy"],
        move |d| search_table(d, &format!("{TABLE_HEAD}{},high\n", GENOTYPE)),
    ));
    c.push(Case::new(
        "table",
        "table-metric-1e999",
        &["table.csv", "line 2", "accuracy"],
        move |d| search_table(d, &format!("{TABLE_HEAD}{},1e999\n", GENOTYPE)),
    ));
    c.push(Case::new(
        "table",
        "table-no-metric-column",
        &["table.csv", "accuracy"],
        move |d| search_table(d, &format!("arch,loss\n{GENOTYPE},0.5\n")),
    ));
    c.push(Case::new("table", "table-empty", &["table.csv"], |d| {
        search_table(d, "")
    }));
    c.push(Case::new(
        "table",
        "table-duplicate-row",
        &["table.csv", "line 3"],
        move |d| search_table(d, &format!("{TABLE_HEAD}{row}{row}")),
    ));
    c.push(Case::new(
        "table",
        "table-unknown-architecture",
        &["table.csv", "line 2"],
        |d| search_table(d, &format!("{TABLE_HEAD}|conv~0|,0.5\n")),
    ));
    c.push(Case::new(
        "table",
        "table-is-a-directory",
        &["table.csv", "directory"],
        |d| {
            let args = search_table(d, "");
            std::fs::remove_file(d.join("table.csv")).unwrap();
            std::fs::create_dir(d.join("table.csv")).unwrap();
            args
        },
    ));
    // --- options ---
    let opt = |name: &'static str, expect: &[&'static str], args: &'static [&'static str]| {
        Case::new("option", name, expect, move |d| {
            train(d, &[&["--preset", "tiny-cnn"], args].concat())
        })
    };
    c.push(opt(
        "train-validation-0",
        &["--validation", "0"],
        &["--validation", "0"],
    ));
    c.push(opt(
        "train-validation-1.0",
        &["--validation", "1.0"],
        &["--validation", "1.0"],
    ));
    c.push(opt(
        "train-validation-all-images",
        &["--validation", "2000"],
        &["--validation", "2000"],
    ));
    c.push(opt(
        "train-validation-words",
        &["--validation", "most"],
        &["--validation", "most"],
    ));
    c.push(opt("train-lr-negative", &["--lr", "-1"], &["--lr", "-1"]));
    c.push(opt("train-lr-nan", &["--lr", "NaN"], &["--lr", "nan"]));
    c.push(opt("train-lr-inf", &["--lr", "inf"], &["--lr", "inf"]));
    c.push(opt(
        "train-epochs-negative",
        &["--epochs", "-1"],
        &["--epochs", "-1"],
    ));
    c.push(opt(
        "train-epochs-huge",
        &["--epochs", "99999999999999999999"],
        &["--epochs", "99999999999999999999"],
    ));
    c.push(opt("train-batch-0", &["--batch", "0"], &["--batch", "0"]));
    c.push(opt(
        "train-batch-more-than-data",
        &["--batch", "100000"],
        &["--batch", "100000"],
    ));
    c.push(opt(
        "train-momentum-negative",
        &["--momentum", "-0.5"],
        &["--momentum", "-0.5"],
    ));
    c.push(opt(
        "train-weight-decay-nan",
        &["--weight-decay", "NaN"],
        &["--weight-decay", "nan"],
    ));
    c.push(opt(
        "train-seed-negative",
        &["--seed", "-1"],
        &["--seed", "-1"],
    ));
    let search = |name: &'static str, expect: &[&'static str], args: &'static [&'static str]| {
        Case::new("option", name, expect, move |d| {
            let mut v = strings(&["search", "--out"]);
            v.push(p(d, "out"));
            v.extend(strings(args));
            v
        })
    };
    c.push(search(
        "search-budget-negative",
        &["--budget", "-1"],
        &["--budget", "-1"],
    ));
    c.push(search(
        "search-budget-0",
        &["--budget", "0"],
        &["--budget", "0"],
    ));
    c.push(search(
        "search-children-per-step-huge",
        &["--children-per-step", "100000"],
        &["--children-per-step", "100000"],
    ));
    c.push(search(
        "search-child-epochs-negative",
        &["--child-epochs", "-3"],
        &["--child-epochs", "-3"],
    ));
    c.push(Case::new(
        "option",
        "bench-warmup-negative",
        &["--warmup", "-1"],
        |_| strings(&["bench", "--warmup", "-1"]),
    ));
    c.push(Case::new(
        "option",
        "bench-samples-0",
        &["--samples", "0"],
        |_| strings(&["bench", "--samples", "0"]),
    ));
    c.push(Case::new(
        "option",
        "report-window-0",
        &["--window", "0"],
        |d| strings(&["report", "--window", "0", &p(d, "run")]),
    ));
    c.push(Case::new(
        "option",
        "report-refresh-negative",
        &["--refresh", "-5"],
        |d| {
            strings(&[
                "report",
                "--html",
                &p(d, "out/r.html"),
                "--refresh",
                "-5",
                &p(d, "run"),
            ])
        },
    ));
    c
}

#[test]
fn every_malformed_input_is_refused_by_name_before_any_work() {
    let cases = cases();
    assert!(cases.len() >= 35, "{} cases", cases.len());
    corpus::run_all("malformed-inputs", &cases, Duration::from_secs(60));
}
