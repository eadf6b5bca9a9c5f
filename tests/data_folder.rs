//! Image-folder datasets: DIR/train/<class>/*.png|jpg (and DIR/test/...), decoded into
//! channel-planar u8 images with the class names kept; sizes that differ are resized or refused;
//! broken, truncated and non-image files are skipped with a count, or refused under --strict.

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{ImageFormat, Rgb, RgbImage};
use nasgpu::data::folder::{FolderOptions, load};
use nasgpu::data::{DataSource, Format, load_with};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-folder-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 12x10 RGB image whose pixel (x, y) is (class * 80, x * 20, y * 20) + `k`.
fn picture(class: u8, k: u8, w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([class * 80 + k, (x * 20) as u8 + k, (y * 20) as u8])
    })
}

const CLASSES: [&str; 3] = ["cat", "dog", "emu"];

/// train/<class>/ with `per_class` PNGs (one class's last image a JPEG) and test/<class>/ with 2.
fn folder(dir: &Path, per_class: u8, with_test: bool) {
    for (c, name) in CLASSES.iter().enumerate() {
        let class = dir.join("train").join(name);
        std::fs::create_dir_all(&class).unwrap();
        for k in 0..per_class {
            let format = if c == 2 && k == 0 {
                ImageFormat::Jpeg
            } else {
                ImageFormat::Png
            };
            let ext = if format == ImageFormat::Jpeg {
                "jpg"
            } else {
                "png"
            };
            picture(c as u8, k, 12, 10)
                .save_with_format(class.join(format!("{k:02}.{ext}")), format)
                .unwrap();
        }
        if with_test {
            let test = dir.join("test").join(name);
            std::fs::create_dir_all(&test).unwrap();
            for k in 0..2 {
                picture(c as u8, k, 12, 10)
                    .save(test.join(format!("t{k}.png")))
                    .unwrap();
            }
        }
    }
}

#[test]
fn an_image_folder_loads_with_class_names_and_planar_pixels() {
    let dir = scratch("basic");
    folder(&dir, 4, true);
    let tt = load(&dir, "pets", FolderOptions::default()).unwrap();
    assert_eq!(tt.format, Format::ImageFolder);
    assert_eq!(
        tt.class_names.as_deref().unwrap(),
        CLASSES.map(String::from)
    );
    assert_eq!(tt.train.image_shape, [3, 10, 12]);
    assert_eq!((tt.train.len(), tt.test.len()), (12, 6));
    assert_eq!(tt.train.labels[..4], [0, 0, 0, 0]);
    assert!(tt.skipped.is_empty());
    // Image 1 of class "cat" (k = 1), pixel (x 3, y 2): (1, 61, 40), channel-planar.
    let img = tt.train.image(1);
    let at = |ch: usize| img[ch * 120 + 2 * 12 + 3];
    assert_eq!((at(0), at(1), at(2)), (1, 61, 40));
    // Through `--data DIR`: the same data, found by its layout.
    let via = load_with(&DataSource::Dir(dir.clone()), FolderOptions::default()).unwrap();
    assert!(via.train.images == tt.train.images && via.train.labels == tt.train.labels);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_test_folder_a_fifth_is_held_out_per_class() {
    let dir = scratch("heldout");
    folder(&dir, 10, false);
    let tt = load(&dir, "pets", FolderOptions::default()).unwrap();
    assert_eq!((tt.train.len(), tt.test.len()), (24, 6));
    assert_eq!(tt.test.class_counts(), vec![2, 2, 2]);
    assert!(tt.test.name.contains("held out"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sizes_that_differ_are_refused_or_resized() {
    let dir = scratch("sizes");
    folder(&dir, 3, true);
    let odd = dir.join("train/dog/zz-big.png");
    picture(1, 0, 24, 20).save(&odd).unwrap();
    let err = load(&dir, "pets", FolderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("zz-big.png") && err.contains("--resize"),
        "{err}"
    );
    let tt = load(
        &dir,
        "pets",
        FolderOptions {
            resize: true,
            strict: false,
        },
    )
    .unwrap();
    assert_eq!(tt.train.len(), 10);
    assert_eq!(tt.train.image_shape, [3, 10, 12]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn broken_and_non_image_files_are_counted_or_refused_under_strict() {
    let dir = scratch("broken");
    folder(&dir, 3, true);
    let good = std::fs::read(dir.join("train/cat/00.png")).unwrap();
    let truncated = dir.join("train/cat/truncated.png");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    std::fs::write(dir.join("train/emu/notes.txt"), "not an image").unwrap();
    std::fs::write(dir.join("test/dog/empty.jpg"), b"").unwrap();
    let tt = load(&dir, "pets", FolderOptions::default()).unwrap();
    assert_eq!(tt.skipped.len(), 3, "{:?}", tt.skipped);
    assert_eq!((tt.train.len(), tt.test.len()), (9, 6));
    let err = load(
        &dir,
        "pets",
        FolderOptions {
            resize: false,
            strict: true,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("truncated.png") && err.contains("--strict"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn grey_images_give_one_channel_and_a_test_class_must_exist_in_train() {
    let dir = scratch("grey");
    for name in ["a", "b"] {
        for part in ["train", "test"] {
            let d = dir.join(part).join(name);
            std::fs::create_dir_all(&d).unwrap();
            image::GrayImage::from_fn(8, 8, |x, _| image::Luma([x as u8 * 30]))
                .save(d.join("0.png"))
                .unwrap();
        }
    }
    let tt = load(&dir, "grey", FolderOptions::default()).unwrap();
    assert_eq!(tt.train.image_shape, [1, 8, 8]);
    std::fs::create_dir_all(dir.join("test/zebra")).unwrap();
    let err = load(&dir, "grey", FolderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("zebra"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `nasgpu train --data DIR` on an image folder keeps the class names in the model metadata.
#[test]
fn train_on_an_image_folder_writes_its_class_names() {
    let dir = scratch("train");
    folder(&dir, 6, true);
    std::fs::write(dir.join("train/cat/readme.txt"), "skip me").unwrap();
    let out = dir.join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_nasgpu"))
        .args([
            "train", "--preset", "tiny-cnn", "--epochs", "1", "--batch", "4",
        ])
        .args(["--validation", "3", "--data"])
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("skipped   1 files"), "{stderr}");
    let (_, meta) =
        nasgpu::nn::meta::load_architecture_file(&out.join("architecture.json")).unwrap();
    let meta = meta.unwrap();
    assert_eq!(meta.class_names.unwrap(), CLASSES.map(String::from));
    assert_eq!(meta.input_shape, [3, 10, 12]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `nasgpu search --data DIR --resize` on an image folder whose sizes differ: refused without
/// `--resize` (naming the file), searched with it; `data.json` keeps the option, so `--resume`
/// reads the folder the same way without being told, and refuses `--resize` given again; the
/// best architecture records the class names.
#[test]
fn search_on_an_image_folder_resizes_and_resumes_the_same_way() {
    let dir = scratch("search");
    folder(&dir, 8, true);
    picture(1, 0, 24, 20)
        .save(dir.join("train/dog/zz-big.png"))
        .unwrap();
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        r#"{"space": {"layers": 2, "max_layers": 2, "filter_heights": [1, 3], "filter_widths": [1, 3], "filter_counts": [4], "strides": [1]},
            "reinforce": {"children_per_step": 1},
            "child": {"epochs": 1, "batch_size": 4, "train_images": 0, "validation_images": 6, "latency": false},
            "run": {"budget": 1, "strategy": "random"}}"#,
    )
    .unwrap();
    let search = |extra: &[&str], out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_nasgpu"))
            .arg("search")
            .args(extra)
            .arg("--out")
            .arg(out)
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .unwrap()
    };
    let run = dir.join("run");
    let (c, d) = (config.to_str().unwrap(), dir.to_str().unwrap());
    let refused = search(&["--config", c, "--data", d], &run);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("zz-big.png") && stderr.contains("--resize"),
        "{stderr}"
    );
    assert!(!run.exists(), "a refused search left {}", run.display());

    let done = search(&["--config", c, "--data", d, "--resize"], &run);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let data_json = std::fs::read_to_string(run.join("data.json")).unwrap();
    assert!(data_json.contains("\"resize\": true"), "{data_json}");
    let (_, meta) = nasgpu::nn::meta::load_architecture_file(&run.join("best.json")).unwrap();
    assert_eq!(
        meta.unwrap().class_names.unwrap(),
        CLASSES.map(String::from)
    );

    // Raise the budget and resume: the folder is read resized again, as data.json says.
    let more = Command::new(env!("CARGO_BIN_EXE_nasgpu"))
        .args(["search", "--budget", "2", "--resume"])
        .arg(&run)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        more.status.success(),
        "{}",
        String::from_utf8_lossy(&more.stderr)
    );
    let lines = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2);
    let again = Command::new(env!("CARGO_BIN_EXE_nasgpu"))
        .args(["search", "--resize", "--resume"])
        .arg(&run)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && stderr.contains("--resize"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
