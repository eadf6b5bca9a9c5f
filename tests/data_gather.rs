//! The batch gather kernel against the f64 reference (`common::reference::data`): normalisation,
//! crop and flip for the same hash, partial batches, chunked datasets, re-encoded launches and
//! determinism. Outputs are poisoned first (images NaN, labels 0xDEADBEEF).
//!
//! Tolerance: atol 1e-6, rtol 1e-7. The kernel computes fma(p, scale, bias) with
//! scale = f32(1 / (255 std)) and bias = f32(-mean / std): two roundings of the constants and
//! at most two of the result, each <= 2^-24 relative. With std >= 0.2 and mean <= 0.9 every term
//! is below 5, so the error stays under 2^-24 * (5 + 4.5 + 2 * 5) ~ 1.2e-6 in the worst case
//! and typically a few 1e-7; a wrong constant (255 vs 256) is off by 4e-3.

mod common;

use std::sync::Arc;

use common::reference::data::{self as cpu, GatherCall, HostData};
use common::*;
use nasgpu::data::{
    Augment, BatchCursor, ChannelStats, DataError, Dataset, DeviceDataset, Format, IGNORE_LABEL,
    bundled, gather_batch, shuffled,
};
use nasgpu::device::Gpu;
use nasgpu::tensor::{DType, Tensor};
use rand::RngExt;

const ATOL: f64 = 1e-6;
const RTOL: f64 = 1e-7;
const LABEL_POISON: u32 = 0xDEAD_BEEF;

fn random_dataset(r: &mut TestRng, n: usize, shape: [usize; 3], classes: u32) -> Dataset {
    let pixels = (0..n * shape.iter().product::<usize>())
        .map(|_| r.random_range(0..256u32) as u8)
        .collect();
    let labels = (0..n).map(|_| r.random_range(0..classes)).collect();
    Dataset::new("random", pixels, labels, shape, classes).unwrap()
}

fn random_stats(r: &mut TestRng, channels: usize) -> ChannelStats {
    ChannelStats {
        mean: (0..channels).map(|_| r.random_range(0.0..0.9f32)).collect(),
        std: (0..channels).map(|_| r.random_range(0.2..0.5f32)).collect(),
    }
}

/// Poisoned outputs for a batch of `b` images like `data`'s.
fn outputs(gpu: &Arc<Gpu>, data: &Dataset, b: usize) -> (Tensor, Tensor) {
    let [c, h, w] = data.image_shape;
    let images = poisoned(gpu, &[b, c, h, w]);
    let labels = Tensor::from_u32(gpu, &[b], &vec![LABEL_POISON; b]).unwrap();
    (images, labels)
}

/// One gather on the device and on the CPU, compared; returns the device images' bits.
#[allow(clippy::too_many_arguments)]
fn check(
    case: &str,
    seed: u64,
    data: &Dataset,
    device: &DeviceDataset,
    order: &[u32],
    batch: usize,
    (offset, count, aug_seed): (u32, u32, u32),
    augment: Augment,
) -> Vec<u32> {
    let gpu = gpu();
    let order_t = Tensor::from_u32(&gpu, &[order.len()], order).unwrap();
    let cursor = BatchCursor::new(&gpu).unwrap();
    let (images, labels) = outputs(&gpu, data, batch);
    let launches =
        gather_batch(&gpu, device, &order_t, &cursor, &images, &labels, augment).unwrap();
    assert_eq!(launches.len(), device.chunk_count());
    cursor.set(offset, count, aug_seed);
    run(&gpu, &launches.iter().collect::<Vec<_>>());
    let got = download(&images);
    let got_labels = labels.to_u32().unwrap();
    let (want, want_labels) = reference(
        data,
        device,
        order,
        batch,
        (offset, count, aug_seed),
        augment,
    );
    assert_eq!(got_labels, want_labels, "{case} (seed {seed}): labels");
    assert_close(case, seed, &got, &want, ATOL, RTOL);
    got.iter().map(|v| v.to_bits()).collect()
}

fn reference(
    data: &Dataset,
    device: &DeviceDataset,
    order: &[u32],
    batch: usize,
    (offset, count, seed): (u32, u32, u32),
    augment: Augment,
) -> (Vec<f64>, Vec<u32>) {
    let host = HostData {
        pixels: &data.images,
        labels: &data.labels,
        shape: data.shape(),
        mean: &device.stats().mean,
        std: &device.stats().std,
    };
    let call = GatherCall {
        order,
        offset,
        count,
        seed,
        batch,
        pad: augment.crop_padding,
        flip: augment.horizontal_flip,
        cutout: augment.cutout,
    };
    cpu::gather(&host, &call)
}

#[test]
fn normalisation_matches_reference() {
    let gpu = gpu();
    for (shape, n, batch) in [
        ([1, 28, 28], 50, 64),
        ([3, 32, 32], 40, 7),
        ([2, 5, 7], 9, 1),
        ([4, 1, 1], 13, 13),
        ([1, 3, 1], 6, 5),
    ] {
        let seed = fresh_seed();
        let mut r = rng(seed);
        let data = random_dataset(&mut r, n, shape, 10);
        let stats = random_stats(&mut r, shape[0]);
        let device = DeviceDataset::upload(&gpu, &data, &stats).unwrap();
        assert_eq!(device.chunk_count(), 1);
        // An order with repeats, longer than the batch.
        let order: Vec<u32> = (0..batch + 5)
            .map(|_| r.random_range(0..n as u32))
            .collect();
        let offset = r.random_range(0..5u32);
        check(
            &format!("normalise {shape:?} batch {batch}"),
            seed,
            &data,
            &device,
            &order,
            batch,
            (offset, batch as u32, 7),
            Augment::NONE,
        );
    }
}

/// 64 random images of `shape` on the device, a shuffled order of them and an augmentation
/// seed, all from `seed`.
fn augment_case(
    gpu: &Arc<Gpu>,
    seed: u64,
    shape: [usize; 3],
) -> (Dataset, DeviceDataset, Vec<u32>, u32) {
    let mut r = rng(seed);
    let n = 64;
    let data = random_dataset(&mut r, n, shape, 10);
    let stats = random_stats(&mut r, shape[0]);
    let device = DeviceDataset::upload(gpu, &data, &stats).unwrap();
    let order = shuffled(&(0..n as u32).collect::<Vec<_>>(), seed);
    (data, device, order, r.random_range(0..u32::MAX))
}

#[test]
fn crop_and_flip_follow_the_hash() {
    let gpu = gpu();
    for (shape, pad, flip) in [
        ([3, 32, 32], 4, true),
        ([1, 28, 28], 2, false),
        ([2, 5, 7], 1, true),
        ([1, 9, 4], 4, true),
        ([3, 8, 8], 0, true),
        ([4, 1, 1], 1, false),
    ] {
        let seed = fresh_seed();
        let (data, device, order, aug_seed) = augment_case(&gpu, seed, shape);
        let augment = Augment {
            crop_padding: pad,
            horizontal_flip: flip,
            cutout: 0,
        };
        check(
            &format!("augment {shape:?} pad {pad} flip {flip}"),
            seed,
            &data,
            &device,
            &order,
            48,
            (3, 48, aug_seed),
            augment,
        );
        // The batch really was augmented in more than one way.
        let kinds: std::collections::HashSet<_> = order[3..51]
            .iter()
            .map(|&i| cpu::augmentation(aug_seed, i, pad, flip))
            .collect();
        assert!(kinds.len() > 1, "seed {seed}: every image augmented alike");
        if flip {
            assert!(kinds.iter().any(|k| k.2) && kinds.iter().any(|k| !k.2));
        }
    }
}

#[test]
fn cutout_follows_the_hash() {
    let gpu = gpu();
    // Odd and even sides, a side as large as the image, a square clipped at every border, and
    // cutout with crop and flip (the square is placed on the output image, before the flip).
    for (shape, pad, flip, cutout) in [
        ([1, 28, 28], 0, false, 14),
        ([3, 32, 32], 4, true, 16),
        ([2, 5, 7], 1, true, 3),
        ([1, 9, 4], 0, false, 9),
        ([3, 8, 8], 2, false, 1),
    ] {
        let seed = fresh_seed();
        let (data, device, order, aug_seed) = augment_case(&gpu, seed, shape);
        let augment = Augment {
            crop_padding: pad,
            horizontal_flip: flip,
            cutout,
        };
        let case = format!("cutout {cutout} {shape:?} pad {pad} flip {flip}");
        let gather = |augment| {
            check(
                &case,
                seed,
                &data,
                &device,
                &order,
                40,
                (2, 40, aug_seed),
                augment,
            )
        };
        let cut = gather(augment);
        let whole = gather(Augment {
            cutout: 0,
            ..augment
        });
        // Every difference is a zeroed pixel, and the squares sit in more than one place.
        let zeroed = cut.iter().zip(&whole).filter(|(a, b)| a != b).count();
        assert!(zeroed > 0, "{case} (seed {seed}): nothing was cut out");
        assert!(cut.iter().zip(&whole).all(|(a, b)| a == b || *a == 0));
        let [_, h, w] = shape;
        let corners: std::collections::HashSet<_> = order[2..42]
            .iter()
            .map(|&i| cpu::cutout_corner(aug_seed, i, cutout, h, w))
            .collect();
        assert!(
            corners.len() > 1,
            "{case} (seed {seed}): every square in one place"
        );
    }
}

#[test]
fn partial_batches_get_ignore_label_and_zeros() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let data = random_dataset(&mut r, 20, [3, 4, 4], 10);
    let stats = random_stats(&mut r, 3);
    let device = DeviceDataset::upload(&gpu, &data, &stats).unwrap();
    let mut order: Vec<u32> = (0..10).map(|i| i * 2).collect();
    order[5] = 20; // out of range: ignored rather than read past the data
    let aug = Augment {
        crop_padding: 1,
        horizontal_flip: true,
        cutout: 0,
    };
    for (case, cursor, expect_valid) in [
        (
            "runs past the end",
            (8, 4, 1),
            vec![true, true, false, false],
        ),
        (
            "count below batch",
            (0, 1, 1),
            vec![true, false, false, false],
        ),
        ("bad index", (4, 4, 1), vec![true, false, true, true]),
        ("offset past the end", (12, 4, 1), vec![false; 4]),
        (
            "count above batch",
            (2, 99, 1),
            vec![true, true, true, false],
        ),
    ] {
        check(case, seed, &data, &device, &order, 4, cursor, aug);
        // Also spell the rule out, independently of the reference.
        let gpu_labels = {
            let (images, labels) = outputs(&gpu, &data, 4);
            let order_t = Tensor::from_u32(&gpu, &[10], &order).unwrap();
            let c = BatchCursor::new(&gpu).unwrap();
            let l = gather_batch(&gpu, &device, &order_t, &c, &images, &labels, aug).unwrap();
            c.set(cursor.0, cursor.1, cursor.2);
            run(&gpu, &l.iter().collect::<Vec<_>>());
            let imgs = download(&images);
            for (b, valid) in expect_valid.iter().enumerate() {
                if !valid {
                    assert!(
                        imgs[b * 48..(b + 1) * 48].iter().all(|&v| v == 0.0),
                        "{case}"
                    );
                }
            }
            labels.to_u32().unwrap()
        };
        for (b, valid) in expect_valid.iter().enumerate() {
            assert_eq!(gpu_labels[b] == IGNORE_LABEL, !valid, "{case}: slot {b}");
        }
    }
}

#[test]
fn chunked_dataset_matches_reference_and_unchunked_bits() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    // 105-byte images (odd) so images straddle u32 words; windows of 3 images plus 5 bytes.
    let data = random_dataset(&mut r, 23, [3, 5, 7], 10);
    let stats = random_stats(&mut r, 3);
    let chunked = DeviceDataset::upload_windowed(&gpu, &data, &stats, 3 * 105 + 5).unwrap();
    assert_eq!(chunked.chunk_count(), 8);
    let whole = DeviceDataset::upload(&gpu, &data, &stats).unwrap();
    let mut order = shuffled(&(0..23).collect::<Vec<_>>(), seed);
    order.extend([22, 0, 21, 1]);
    let aug = Augment {
        crop_padding: 2,
        horizontal_flip: true,
        cutout: 0,
    };
    let cursor = (0, 27, 99);
    let a = check("chunked", seed, &data, &chunked, &order, 30, cursor, aug);
    let b = check("unchunked", seed, &data, &whole, &order, 30, cursor, aug);
    assert_eq!(a, b, "seed {seed}: chunking changed the bits");
    // Each element is written by exactly one chunk's launch, so their order does not matter.
    let order_t = Tensor::from_u32(&gpu, &[order.len()], &order).unwrap();
    let c = BatchCursor::new(&gpu).unwrap();
    let (images, labels) = outputs(&gpu, &data, 30);
    let launches = gather_batch(&gpu, &chunked, &order_t, &c, &images, &labels, aug).unwrap();
    c.set(cursor.0, cursor.1, cursor.2);
    run(&gpu, &launches.iter().rev().collect::<Vec<_>>());
    let reversed: Vec<u32> = download(&images).iter().map(|v| v.to_bits()).collect();
    assert_eq!(a, reversed, "seed {seed}: launch order changed the bits");
}

/// Launches built once and re-encoded with a new cursor each step, as a training loop does.
#[test]
fn one_set_of_launches_serves_every_step() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let data = random_dataset(&mut r, 100, [3, 8, 8], 10);
    let stats = random_stats(&mut r, 3);
    let device = DeviceDataset::upload_windowed(&gpu, &data, &stats, 192 * 40).unwrap();
    let order = shuffled(&(0..100).collect::<Vec<_>>(), seed);
    let order_t = Tensor::from_u32(&gpu, &[100], &order).unwrap();
    let cursor = BatchCursor::new(&gpu).unwrap();
    let (images, labels) = outputs(&gpu, &data, 32);
    let aug = Augment {
        crop_padding: 2,
        horizontal_flip: true,
        cutout: 0,
    };
    let launches = gather_batch(&gpu, &device, &order_t, &cursor, &images, &labels, aug).unwrap();
    let launches: Vec<_> = launches.iter().collect();
    for step in 0..4u32 {
        let (offset, count) = (step * 32, (100 - step * 32).min(32));
        cursor.set(offset, count, 1000 + step);
        run(&gpu, &launches);
        let (want, want_labels) = reference(
            &data,
            &device,
            &order,
            32,
            (offset, count, 1000 + step),
            aug,
        );
        assert_eq!(
            labels.to_u32().unwrap(),
            want_labels,
            "step {step} (seed {seed})"
        );
        assert_close(
            &format!("step {step}"),
            seed,
            &download(&images),
            &want,
            ATOL,
            RTOL,
        );
    }
}

#[test]
fn same_seed_same_bits_other_seed_other_crops() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let data = random_dataset(&mut r, 64, [3, 32, 32], 10);
    let stats = data.channel_stats();
    let device = DeviceDataset::upload(&gpu, &data, &stats).unwrap();
    let order: Vec<u32> = (0..64).collect();
    let aug = Augment {
        crop_padding: 4,
        horizontal_flip: true,
        cutout: 0,
    };
    let run_once = |aug_seed: u32| {
        let order_t = Tensor::from_u32(&gpu, &[64], &order).unwrap();
        let cursor = BatchCursor::new(&gpu).unwrap();
        let (images, labels) = outputs(&gpu, &data, 64);
        let l = gather_batch(&gpu, &device, &order_t, &cursor, &images, &labels, aug).unwrap();
        cursor.set(0, 64, aug_seed);
        run(&gpu, &l.iter().collect::<Vec<_>>());
        download(&images)
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    let first = run_once(5);
    assert_eq!(
        first,
        run_once(5),
        "seed {seed}: same augmentation seed, different bits"
    );
    let other = run_once(6);
    let per_image = 3 * 32 * 32;
    let differing = (0..64)
        .filter(|b| {
            first[b * per_image..(b + 1) * per_image] != other[b * per_image..(b + 1) * per_image]
        })
        .count();
    assert!(
        differing > 48,
        "seed {seed}: only {differing} of 64 images changed with the seed"
    );
}

#[test]
fn bundled_batch_matches_reference() {
    let gpu = gpu();
    let seed = fresh_seed();
    let data = bundled().unwrap();
    let stats = data.train.channel_stats();
    let device = DeviceDataset::upload(&gpu, &data.test, &stats).unwrap();
    assert_eq!(device.len(), 1000);
    let order = shuffled(&(0..1000).collect::<Vec<_>>(), seed);
    let aug = data.format.default_augment();
    assert_eq!(aug, Augment::NONE);
    check(
        "bundled test",
        seed,
        &data.test,
        &device,
        &order,
        128,
        (990, 128, 0),
        aug,
    );
    check(
        "bundled test",
        seed,
        &data.test,
        &device,
        &order,
        128,
        (128, 128, 0),
        aug,
    );
}

#[test]
fn bad_arguments_are_errors() {
    let gpu = gpu();
    let mut r = rng(1);
    let data = random_dataset(&mut r, 8, [3, 4, 4], 10);
    let stats = data.channel_stats();
    let device = DeviceDataset::upload(&gpu, &data, &stats).unwrap();
    let order = Tensor::from_u32(&gpu, &[8], &[0; 8]).unwrap();
    let cursor = BatchCursor::new(&gpu).unwrap();
    let (images, labels) = outputs(&gpu, &data, 8);
    let wrong_c = poisoned(&gpu, &[8, 1, 4, 4]);
    let f32_labels = poisoned(&gpu, &[8]);
    let f32_order = poisoned(&gpu, &[8]);
    let none = Augment::NONE;
    let with_augment =
        |augment| gather_batch(&gpu, &device, &order, &cursor, &images, &labels, augment);
    let cases: Vec<(&str, Result<_, DataError>)> = vec![
        (
            "channels",
            gather_batch(&gpu, &device, &order, &cursor, &wrong_c, &labels, none),
        ),
        (
            "label dtype",
            gather_batch(&gpu, &device, &order, &cursor, &images, &f32_labels, none),
        ),
        (
            "order dtype",
            gather_batch(&gpu, &device, &f32_order, &cursor, &images, &labels, none),
        ),
        (
            "aliasing",
            gather_batch(&gpu, &device, &labels, &cursor, &images, &labels, none),
        ),
        (
            "padding",
            with_augment(Augment {
                crop_padding: 5,
                ..Augment::NONE
            }),
        ),
        (
            "cutout",
            with_augment(Augment {
                cutout: 5,
                ..Augment::NONE
            }),
        ),
    ];
    for (case, result) in cases {
        let e = result.expect_err(case);
        assert!(!e.to_string().is_empty(), "{case}");
    }
    let msg = gather_batch(&gpu, &device, &order, &cursor, &wrong_c, &labels, none)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("[8, 1, 4, 4]") && msg.contains("[8, 3, 4, 4]"),
        "{msg}"
    );
    assert!(DeviceDataset::upload_windowed(&gpu, &data, &stats, 47).is_err());
    let two = ChannelStats {
        mean: vec![0.5; 2],
        std: vec![0.2; 2],
    };
    assert!(DeviceDataset::upload(&gpu, &data, &two).is_err());
    let zero_std = ChannelStats {
        mean: vec![0.5; 3],
        std: vec![0.0; 3],
    };
    assert!(DeviceDataset::upload(&gpu, &data, &zero_std).is_err());
    assert_eq!(order.dtype(), DType::U32);
}

/// A CIFAR-10-sized training set (50,000 x 3x32x32 = 153.6 MB) with the device's own binding
/// limit: more than one chunk wherever a binding is capped at 128 MiB (lavapipe, most GPUs).
#[test]
fn cifar10_sized_dataset_spans_bindings() {
    let gpu = gpu();
    let seed = fresh_seed();
    let mut r = rng(seed);
    let (n, per_image) = (50_000usize, 3072usize);
    // A random block repeated, with each image's first 4 bytes set to its index (cheap to build
    // in a debug test, yet every image is distinct).
    let block: Vec<u8> = (0..per_image * 7 + 1)
        .map(|_| r.random_range(0..256u32) as u8)
        .collect();
    let mut pixels = Vec::with_capacity(n * per_image);
    while pixels.len() < n * per_image {
        let take = block.len().min(n * per_image - pixels.len());
        pixels.extend_from_slice(&block[..take]);
    }
    for i in 0..n {
        pixels[i * per_image..i * per_image + 4].copy_from_slice(&(i as u32).to_le_bytes());
    }
    let labels = (0..n).map(|i| (i % 10) as u32).collect();
    let data = Dataset::new("cifar10-sized", pixels, labels, [3, 32, 32], 10).unwrap();
    let stats = random_stats(&mut r, 3);
    let device = DeviceDataset::upload(&gpu, &data, &stats).unwrap();
    let expected_chunks =
        (n as u64 * per_image as u64).div_ceil(gpu.max_binding_bytes() / 3072 * 3072);
    assert_eq!(device.chunk_count() as u64, expected_chunks);
    let per_chunk = (gpu.max_binding_bytes() / 3072) as u32;
    let mut order: Vec<u32> = vec![0, 49_999, per_chunk - 1, per_chunk.min(49_999), 12_345];
    order.extend((0..59).map(|_| r.random_range(0..n as u32)));
    let aug = Format::Cifar10.default_augment();
    check(
        "cifar10-sized",
        seed,
        &data,
        &device,
        &order,
        64,
        (0, 64, 77),
        aug,
    );
}
