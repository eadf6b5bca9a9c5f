//! Readers on the real bundled data and on malformed inputs built here: every bad file gives
//! an error naming the file and the byte offset, never a panic. Host only, no GPU.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{fresh_seed, rng};
use nasgpu::data::{
    self, DataError, FileBytes, Format, bundled, parse_cifar_file, parse_idx_images,
    parse_idx_labels, read_idx_pair,
};
use rand::RngExt;

/// An IDX image file: magic 00 00 08 03, sizes, pixels (pixel k = k * 7 mod 256).
fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for d in [n, rows, cols] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend((0..n * rows * cols).map(|k| (k * 7 % 256) as u8));
    v
}

/// An IDX label file with labels i mod 10.
fn idx_labels(n: u32) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&n.to_be_bytes());
    v.extend((0..n).map(|i| (i % 10) as u8));
    v
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn mem(name: &str, bytes: &[u8]) -> Result<FileBytes, DataError> {
    FileBytes::from_memory(name, bytes)
}

/// Asserts a format error at `offset` whose message names `file`, and returns the message.
fn expect_format(
    result: Result<impl std::fmt::Debug, DataError>,
    file: &str,
    offset: u64,
) -> String {
    match result {
        Err(e @ DataError::Format { offset: got, .. }) => {
            let msg = e.to_string();
            assert_eq!(got, offset, "wrong offset in: {msg}");
            assert!(msg.contains(file), "message does not name {file}: {msg}");
            assert!(msg.contains(&format!("byte {offset}")), "{msg}");
            msg
        }
        other => panic!("{file}: expected a format error at byte {offset}, got {other:?}"),
    }
}

/// A fresh empty directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasgpu-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn bundled_subset_matches_the_script_that_made_it() {
    let data = bundled().expect("bundled subset");
    assert_eq!(data.format, Format::Idx);
    for (part, n, first, last, sum, weighted) in [
        (
            &data.train,
            2000,
            [9, 0, 0, 3, 0, 2, 7, 2, 5, 5],
            [4, 6, 4, 4, 4],
            114_533_639u64,
            14_433_611_488u64,
        ),
        (
            &data.test,
            1000,
            [9, 2, 1, 1, 6, 1, 4, 6, 5, 7],
            [5, 5, 8, 5, 5],
            56_973_981,
            7_164_456_856,
        ),
    ] {
        assert_eq!(part.len(), n);
        assert_eq!(part.shape(), [n, 1, 28, 28]);
        assert_eq!(part.classes, 10);
        assert_eq!(part.labels[..10], first);
        assert_eq!(part.labels[n - 5..], last);
        assert_eq!(part.class_counts(), vec![n / 10; 10]);
        // Checksums printed by python3 (scripts/make-subset.py and a one-line weighted sum).
        let s: u64 = part.images.iter().map(|&p| p as u64).sum();
        let ws: u64 = part
            .images
            .iter()
            .enumerate()
            .map(|(i, &p)| p as u64 * (i as u64 % 251 + 1))
            .sum();
        assert_eq!((s, ws), (sum, weighted), "{}", part.name);
    }
    let stats = data.train.channel_stats();
    // Fashion-MNIST's well-known statistics are mean 0.286, std 0.353 on the full set.
    assert!((stats.mean[0] - 0.286).abs() < 0.01, "{stats:?}");
    assert!((stats.std[0] - 0.353).abs() < 0.01, "{stats:?}");
    assert_eq!(
        data.summary(),
        "bundled: 2000 training + 1000 test images of 1x28x28, 10 classes"
    );
}

#[test]
fn idx_reads_raw_and_gzip_alike() {
    let (imgs, labs) = (idx_images(12, 5, 3), idx_labels(12));
    for (ni, nl, bi, bl) in [
        ("a-images", "a-labels", imgs.clone(), labs.clone()),
        ("a-images.gz", "a-labels.gz", gz(&imgs), gz(&labs)),
    ] {
        let d = read_idx_pair("t", &mem(ni, &bi).unwrap(), &mem(nl, &bl).unwrap(), 10).unwrap();
        assert_eq!(d.shape(), [12, 1, 5, 3]);
        assert_eq!(d.images, imgs[16..]);
        assert_eq!(d.labels, (0..12).map(|i| i % 10).collect::<Vec<u32>>());
    }
}

#[test]
fn truncated_idx_files_name_file_and_offset() {
    let imgs = idx_images(4, 5, 3); // 16 + 60 bytes
    let labs = idx_labels(4); // 8 + 4 bytes
    // (cut length, offset reported): header fields report where the field starts, data
    // reports where the file ends.
    for (len, offset) in [
        (0, 0),
        (1, 1),
        (3, 3),
        (6, 4),
        (15, 12),
        (16, 16),
        (40, 40),
        (75, 75),
    ] {
        let f = mem("train-images-idx3-ubyte", &imgs[..len]).unwrap();
        let msg = expect_format(parse_idx_images(&f), "train-images-idx3-ubyte", offset);
        assert!(
            msg.contains("truncated") || msg.contains("end of file"),
            "{msg}"
        );
    }
    for (len, offset) in [(0, 0), (2, 2), (7, 4), (8, 8), (11, 11)] {
        let f = mem("lab", &labs[..len]).unwrap();
        expect_format(parse_idx_labels(&f, 10), "lab", offset);
    }
    // Truncated inside gzip-compressed data: the offset is into the decompressed bytes, and
    // the message says so.
    let f = mem("x.gz", &gz(&imgs[..50])).unwrap();
    let msg = expect_format(parse_idx_images(&f), "x.gz", 50);
    assert!(msg.contains("decompressed"), "{msg}");
}

#[test]
fn bad_headers_and_labels_are_format_errors() {
    let imgs = idx_images(4, 5, 3);
    let labs = idx_labels(4);
    let mut bad_magic = imgs.clone();
    bad_magic[0] = 0x12;
    expect_format(parse_idx_images(&mem("m", &bad_magic).unwrap()), "m", 0);
    let mut bad_type = imgs.clone();
    bad_type[2] = 0x0d; // float32 IDX
    let msg = expect_format(parse_idx_images(&mem("t", &bad_type).unwrap()), "t", 2);
    assert!(msg.contains("0x08"), "{msg}");
    // A label file where images are expected: wrong dimension count.
    let msg = expect_format(parse_idx_images(&mem("dims", &labs).unwrap()), "dims", 3);
    assert!(msg.contains("3 dimension"), "{msg}");
    // Zero rows.
    let mut zero = imgs.clone();
    zero[8..12].copy_from_slice(&0u32.to_be_bytes());
    expect_format(parse_idx_images(&mem("z", &zero).unwrap()), "z", 8);
    // Trailing bytes after the declared data.
    let mut long = imgs.clone();
    long.extend_from_slice(&[1, 2, 3]);
    let msg = expect_format(parse_idx_images(&mem("long", &long).unwrap()), "long", 76);
    assert!(msg.contains("3 more bytes"), "{msg}");
    // Sizes whose product overflows u64 must not panic.
    let mut huge = imgs.clone();
    for d in 0..3 {
        huge[4 + 4 * d..8 + 4 * d].copy_from_slice(&u32::MAX.to_be_bytes());
    }
    expect_format(parse_idx_images(&mem("huge", &huge).unwrap()), "huge", 76);
    // Label 10 of a 10-class set, at image 3: byte 8 + 3.
    let mut bad_label = labs.clone();
    bad_label[8 + 3] = 10;
    let msg = expect_format(
        parse_idx_labels(&mem("l", &bad_label).unwrap(), 10),
        "l",
        11,
    );
    assert!(msg.contains("0..10") && msg.contains("found 10"), "{msg}");
}

#[test]
fn image_label_count_mismatch_names_both_files() {
    let i = mem("imgs-file", &idx_images(5, 2, 2)).unwrap();
    let l = mem("labels-file", &idx_labels(4)).unwrap();
    match read_idx_pair("t", &i, &l, 10) {
        Err(e @ DataError::Mismatch { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("imgs-file") && msg.contains("labels-file"),
                "{msg}"
            );
            assert!(
                msg.contains("5 images") && msg.contains("4 labels"),
                "{msg}"
            );
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn bad_gzip_names_the_file() {
    let good = gz(&idx_images(3, 4, 4));
    let mut corrupt = good.clone();
    for b in &mut corrupt[12..30] {
        *b ^= 0x5a;
    }
    let cases: [(&str, Vec<u8>); 4] = [
        ("corrupt.gz", corrupt),
        ("cut.gz", good[..good.len() / 2].to_vec()),
        ("header-only.gz", good[..5].to_vec()),
        ("not-gzip.gz", idx_images(3, 4, 4)),
    ];
    for (name, bytes) in cases {
        match mem(name, &bytes) {
            Err(e @ DataError::Gzip { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(name), "{msg}");
            }
            other => panic!("{name}: expected a gzip error, got {other:?}"),
        }
    }
    // From disk too: the path is in the message.
    let dir = temp_dir("gzip");
    let path = write(&dir, "train-images-idx3-ubyte.gz", &good[..good.len() - 9]);
    let err = FileBytes::read(&path).unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    let missing = FileBytes::read(&dir.join("nope")).unwrap_err();
    assert!(matches!(missing, DataError::Io { .. }) && missing.to_string().contains("nope"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Random corruption of small valid files: any result is fine, a panic is not.
#[test]
fn random_corruption_never_panics() {
    let seed = fresh_seed();
    let mut r = rng(seed);
    let originals = [
        ("i", idx_images(3, 4, 5)),
        ("l", idx_labels(7)),
        ("c10", cifar_records(Format::Cifar10, &[3, 9])),
        ("c100", cifar_records(Format::Cifar100, &[99, 0])),
    ];
    for _ in 0..3000 {
        let (name, original) = &originals[r.random_range(0..originals.len())];
        let mut bytes = original.clone();
        match r.random_range(0..3) {
            0 => bytes.truncate(r.random_range(0..=bytes.len())),
            1 => {
                for _ in 0..r.random_range(1..4) {
                    let k = r.random_range(0..bytes.len());
                    bytes[k] = r.random_range(0..256u32) as u8;
                }
            }
            _ => bytes = gz(&bytes)[..r.random_range(0..20)].to_vec(),
        }
        let Ok(f) = mem(name, &bytes) else { continue };
        let _ = parse_idx_images(&f);
        let _ = parse_idx_labels(&f, 10);
        let (mut imgs, mut labs) = (Vec::new(), Vec::new());
        let _ = parse_cifar_file(&f, Format::Cifar10, &mut imgs, &mut labs);
        let _ = parse_cifar_file(&f, Format::Cifar100, &mut imgs, &mut labs);
    }
}

/// CIFAR records with the given (fine) labels; pixel k of record r is (r * 31 + k) mod 256.
fn cifar_records(format: Format, labels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for (r, &l) in labels.iter().enumerate() {
        if format == Format::Cifar100 {
            v.push(l / 5); // coarse label
        }
        v.push(l);
        v.extend((0..3072).map(|k| ((r * 31 + k) % 256) as u8));
    }
    v
}

#[test]
fn cifar_readers_on_synthetic_files() {
    let f = mem("b.bin", &cifar_records(Format::Cifar10, &[3, 0, 9])).unwrap();
    let d = data::read_cifar_files("c", &[f.clone(), f], Format::Cifar10).unwrap();
    assert_eq!(d.shape(), [6, 3, 32, 32]);
    assert_eq!(d.labels, vec![3, 0, 9, 3, 0, 9]);
    assert_eq!(d.image(1)[..3], [31, 32, 33]);
    assert_eq!(d.classes, 10);

    let f = mem("train.bin", &cifar_records(Format::Cifar100, &[99, 42])).unwrap();
    let d = data::read_cifar_files("c", &[f], Format::Cifar100).unwrap();
    assert_eq!(d.labels, vec![99, 42]);
    assert_eq!(d.classes, 100);
    assert_eq!(d.image(1)[..2], [31, 32]);

    // Truncated: the offset is the start of the incomplete record.
    let bytes = cifar_records(Format::Cifar10, &[1, 2, 3]);
    let f = mem("data_batch_1.bin", &bytes[..3073 * 2 + 100]).unwrap();
    let msg = expect_format(
        data::read_cifar_files("c", &[f], Format::Cifar10),
        "data_batch_1.bin",
        6146,
    );
    assert!(
        msg.contains("record 2") && msg.contains("truncated"),
        "{msg}"
    );
    // Empty file.
    let f = mem("test_batch.bin", &[]).unwrap();
    expect_format(
        data::read_cifar_files("c", &[f], Format::Cifar10),
        "test_batch.bin",
        0,
    );
    // Label 10 in CIFAR-10 record 1; fine label 100 and coarse label 20 in CIFAR-100.
    let mut bad = cifar_records(Format::Cifar10, &[1, 2, 3]);
    bad[3073] = 10;
    let f = mem("bad.bin", &bad).unwrap();
    expect_format(
        data::read_cifar_files("c", &[f], Format::Cifar10),
        "bad.bin",
        3073,
    );
    let mut bad = cifar_records(Format::Cifar100, &[5, 6]);
    bad[3074 + 1] = 100;
    let f = mem("fine.bin", &bad).unwrap();
    expect_format(
        data::read_cifar_files("c", &[f], Format::Cifar100),
        "fine.bin",
        3075,
    );
    bad[3074] = 20;
    let f = mem("coarse.bin", &bad).unwrap();
    expect_format(
        data::read_cifar_files("c", &[f], Format::Cifar100),
        "coarse.bin",
        3074,
    );
}

/// When the full Fashion-MNIST is installed (scripts/fetch-data.sh or Debian's package), read
/// it and check that the bundled subset is the first 200 / 100 images of each class.
#[test]
fn full_fashion_mnist_when_present() {
    let dirs = [
        PathBuf::from("data/fashion-mnist"),
        PathBuf::from(data::DEBIAN_FASHION_MNIST),
    ];
    let Some(dir) = dirs.iter().find(|d| data::detect(d).is_ok()) else {
        eprintln!("full Fashion-MNIST not present; skipped (scripts/fetch-data.sh gets it)");
        return;
    };
    let full = data::load_dir(dir, Some("fashion-mnist")).unwrap();
    assert_eq!((full.train.len(), full.test.len()), (60_000, 10_000));
    assert_eq!(full.train.labels[..10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    let small = bundled().unwrap();
    for (big, sub, per_class) in [
        (&full.train, &small.train, 200),
        (&full.test, &small.test, 100),
    ] {
        let mut taken = [0; 10];
        let mut picked = Vec::new();
        for (i, &l) in big.labels.iter().enumerate() {
            if taken[l as usize] < per_class {
                taken[l as usize] += 1;
                picked.push(i as u32);
            }
        }
        let expected = big.select(&picked).unwrap();
        assert_eq!(expected.images, sub.images);
        assert_eq!(expected.labels, sub.labels);
    }
}

#[test]
fn detect_finds_each_format() {
    let dir = temp_dir("detect");
    // IDX, mixing raw and .gz and the dotted file names some mirrors use.
    let idx = dir.join("idx");
    std::fs::create_dir(&idx).unwrap();
    write(
        &idx,
        "train-images-idx3-ubyte.gz",
        &gz(&idx_images(6, 4, 4)),
    );
    write(&idx, "train-labels.idx1-ubyte", &idx_labels(6));
    write(&idx, "t10k-images-idx3-ubyte", &idx_images(2, 4, 4));
    write(&idx, "t10k-labels-idx1-ubyte.gz", &gz(&idx_labels(2)));
    let d = data::load_dir(&idx, None).unwrap();
    assert_eq!((d.name.as_str(), d.format), ("idx", Format::Idx));
    assert_eq!((d.train.len(), d.test.len()), (6, 2));

    // CIFAR-10 inside the tarball's folder.
    let c10 = dir.join("c10");
    let inner = c10.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&inner).unwrap();
    for b in 1..=5u8 {
        write(
            &inner,
            &format!("data_batch_{b}.bin"),
            &cifar_records(Format::Cifar10, &[b, 0]),
        );
    }
    write(
        &inner,
        "test_batch.bin",
        &cifar_records(Format::Cifar10, &[7]),
    );
    let d = data::load_dir(&c10, Some("cifar10")).unwrap();
    assert_eq!(d.format, Format::Cifar10);
    assert_eq!(d.train.labels, vec![1, 0, 2, 0, 3, 0, 4, 0, 5, 0]);
    assert_eq!(d.test.labels, vec![7]);
    assert_eq!(d.format.default_augment().crop_padding, 4);

    let c100 = dir.join("c100");
    std::fs::create_dir(&c100).unwrap();
    write(
        &c100,
        "train.bin",
        &cifar_records(Format::Cifar100, &[10, 20, 30]),
    );
    write(&c100, "test.bin", &cifar_records(Format::Cifar100, &[99]));
    let d = data::load_dir(&c100, None).unwrap();
    assert_eq!(
        (d.format, d.train.len(), d.test.labels[0]),
        (Format::Cifar100, 3, 99)
    );

    // A corrupt file in a detected directory is reported, with its path.
    write(
        &c100,
        "test.bin",
        &cifar_records(Format::Cifar100, &[99])[..100],
    );
    let err = data::load_dir(&c100, None).unwrap_err();
    assert!(err.to_string().contains("test.bin"), "{err}");

    // Part of a dataset: say what is missing.
    std::fs::remove_file(inner.join("data_batch_4.bin")).unwrap();
    let err = data::detect(&c10).unwrap_err();
    assert!(matches!(err, DataError::Incomplete { .. }), "{err}");
    assert!(err.to_string().contains("data_batch_4.bin"), "{err}");

    // Nothing we know.
    let other = dir.join("other");
    std::fs::create_dir(&other).unwrap();
    write(&other, "notes.txt", b"hi");
    let err = data::detect(&other).unwrap_err();
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert!(data::detect(&dir.join("absent")).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The only test touching NASGPU_DATA (tests run on threads of one process).
#[test]
fn named_datasets_search_nasgpu_data_and_explain_misses() {
    use data::DatasetName;
    assert_eq!(
        DatasetName::parse("Fashion_MNIST").unwrap(),
        DatasetName::FashionMnist
    );
    assert_eq!(
        DatasetName::parse("cifar-10").unwrap(),
        DatasetName::Cifar10
    );
    use data::DataSource;
    let src = |d: Option<&str>, n: Option<&str>| DataSource::from_args(d.map(Path::new), n);
    assert_eq!(
        src(None, None).unwrap(),
        DataSource::Named(DatasetName::Bundled)
    );
    assert_eq!(
        src(None, Some("mnist")).unwrap(),
        DataSource::Named(DatasetName::Mnist)
    );
    assert_eq!(
        src(Some("d"), None).unwrap(),
        DataSource::Dir(PathBuf::from("d"))
    );
    assert!(src(Some("d"), Some("mnist")).is_err());
    let unknown = DatasetName::parse("imagenet").unwrap_err();
    assert!(unknown.to_string().contains("fashion-mnist"), "{unknown}");

    let root = temp_dir("named");
    let mnist = root.join("mnist");
    std::fs::create_dir(&mnist).unwrap();
    write(&mnist, "train-images-idx3-ubyte", &idx_images(3, 2, 2));
    write(&mnist, "train-labels-idx1-ubyte", &idx_labels(3));
    write(&mnist, "t10k-images-idx3-ubyte", &idx_images(1, 2, 2));
    write(&mnist, "t10k-labels-idx1-ubyte", &idx_labels(1));
    // SAFETY: no other test in this binary reads or writes the environment.
    unsafe { std::env::set_var(data::DATA_ENV, &root) };
    let d = data::load(&data::DataSource::Named(DatasetName::Mnist)).unwrap();
    assert_eq!((d.name.as_str(), d.train.len()), ("mnist", 3));

    if !Path::new("data/cifar100").exists() {
        let err = data::load_named(DatasetName::Cifar100).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&root.join("cifar100").display().to_string()),
            "{msg}"
        );
        assert!(
            msg.contains("data/cifar100") && msg.contains("--dataset bundled"),
            "{msg}"
        );
        assert!(msg.contains("cifar-100-binary.tar.gz"), "{msg}");
    }
    let fm = DatasetName::FashionMnist.search_dirs();
    assert_eq!(fm[0], root.join("fashion-mnist"));
    assert_eq!(fm.last().unwrap(), Path::new(data::DEBIAN_FASHION_MNIST));
    unsafe { std::env::remove_var(data::DATA_ENV) };
    assert_eq!(
        data::load_named(DatasetName::Bundled).unwrap().train.len(),
        2000
    );
    std::fs::remove_dir_all(root).unwrap();
}
