//! Train/validation splits, subsets and epoch orders: deterministic for a seed, disjoint,
//! covering, sized as asked, and stratified when asked. Host only, no GPU.

mod common;

use common::{fresh_seed, rng};
use nasgpu::data::{Amount, Dataset, Sampling, bundled, shuffled, split_train_validation, subset};
use rand::RngExt;

/// A dataset of `n` 1x1 images with skewed classes (class k has weight k + 1).
fn skewed(n: usize, classes: u32, seed: u64) -> Dataset {
    let mut r = rng(seed);
    let total: u32 = (1..=classes).sum();
    let labels: Vec<u32> = (0..n)
        .map(|_| {
            let mut x = r.random_range(0..total);
            let mut k = 0;
            while x > k {
                x -= k + 1;
                k += 1;
            }
            k
        })
        .collect();
    Dataset::new("skewed", vec![0; n], labels, [1, 1, 1], classes).unwrap()
}

fn class_counts(data: &Dataset, indices: &[u32]) -> Vec<usize> {
    let mut c = vec![0; data.classes as usize];
    for &i in indices {
        c[data.labels[i as usize] as usize] += 1;
    }
    c
}

#[test]
fn split_is_disjoint_covering_sized_and_deterministic() {
    let data = bundled().unwrap().train;
    for sampling in [Sampling::Random, Sampling::Stratified] {
        for (amount, want) in [
            (Amount::Count(300), 300),
            (Amount::Fraction(0.1), 200),
            (Amount::Count(0), 0),
            (Amount::Count(2000), 2000),
        ] {
            let seed = fresh_seed();
            let s = split_train_validation(&data, amount, sampling, seed).unwrap();
            assert_eq!(s.validation.len(), want, "seed {seed}");
            assert_eq!(s.train.len() + s.validation.len(), data.len());
            let mut all: Vec<u32> = s.train.iter().chain(&s.validation).copied().collect();
            all.sort_unstable();
            assert_eq!(
                all,
                (0..data.len() as u32).collect::<Vec<_>>(),
                "seed {seed}"
            );
            assert!(s.train.windows(2).all(|w| w[0] < w[1]));
            assert!(s.validation.windows(2).all(|w| w[0] < w[1]));
            let again = split_train_validation(&data, amount, sampling, seed).unwrap();
            assert_eq!(s, again, "seed {seed}: same seed, different split");
            if want == 300 {
                let other = split_train_validation(&data, amount, sampling, seed ^ 1).unwrap();
                assert_ne!(s.validation, other.validation, "seed {seed}");
            }
        }
    }
}

#[test]
fn stratified_keeps_class_proportions() {
    let seed = fresh_seed();
    let data = skewed(5000, 7, seed);
    let counts = data.class_counts();
    let s = split_train_validation(&data, Amount::Count(777), Sampling::Stratified, seed).unwrap();
    let got = class_counts(&data, &s.validation);
    for (k, (&g, &c)) in got.iter().zip(&counts).enumerate() {
        let ideal = 777.0 * c as f64 / 5000.0;
        assert!(
            (g as f64 - ideal).abs() < 1.0,
            "seed {seed}: class {k}: {g} vs {ideal}"
        );
    }
    // A stratified subset of the training part, e.g. a search proxy.
    let sub = subset(
        &data,
        &s.train,
        Amount::Count(1000),
        Sampling::Stratified,
        seed,
    )
    .unwrap();
    assert_eq!(sub.len(), 1000);
    assert!(
        sub.iter().all(|i| s.train.binary_search(i).is_ok()),
        "seed {seed}"
    );
    let train_counts = class_counts(&data, &s.train);
    for (k, (&g, &c)) in class_counts(&data, &sub)
        .iter()
        .zip(&train_counts)
        .enumerate()
    {
        let ideal = 1000.0 * c as f64 / s.train.len() as f64;
        assert!(
            (g as f64 - ideal).abs() < 1.0,
            "seed {seed}: class {k}: {g} vs {ideal}"
        );
    }
    // Balanced bundled data: a stratified 10% is exactly 20 per class.
    let b = bundled().unwrap().train;
    let v = split_train_validation(&b, Amount::Fraction(0.1), Sampling::Stratified, seed)
        .unwrap()
        .validation;
    assert_eq!(class_counts(&b, &v), vec![20; 10], "seed {seed}");
}

#[test]
fn random_subsets_and_orders() {
    let seed = fresh_seed();
    let data = skewed(1000, 3, seed);
    let from: Vec<u32> = (100..900).collect();
    let a = subset(&data, &from, Amount::Fraction(0.25), Sampling::Random, seed).unwrap();
    assert_eq!(a.len(), 200);
    assert!(a.windows(2).all(|w| w[0] < w[1]) && a.iter().all(|i| (100..900).contains(i)));
    assert_eq!(
        a,
        subset(&data, &from, Amount::Fraction(0.25), Sampling::Random, seed).unwrap()
    );
    let o = shuffled(&from, seed);
    assert_eq!(o, shuffled(&from, seed));
    assert_ne!(o, from, "seed {seed}");
    let mut sorted = o.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, from);
}

#[test]
fn bad_amounts_are_errors() {
    let data = skewed(50, 2, 1);
    for bad in [
        Amount::Count(51),
        Amount::Fraction(1.5),
        Amount::Fraction(-0.1),
    ] {
        let e = split_train_validation(&data, bad, Sampling::Random, 0).unwrap_err();
        assert!(e.to_string().contains("validation size"), "{e}");
    }
    let e = subset(&data, &[3, 50], Amount::Count(1), Sampling::Random, 0).unwrap_err();
    assert!(e.to_string().contains("index 50"), "{e}");
    assert_eq!("5000".parse::<Amount>().unwrap(), Amount::Count(5000));
    assert_eq!("0.2".parse::<Amount>().unwrap(), Amount::Fraction(0.2));
    assert_eq!("10%".parse::<Amount>().unwrap(), Amount::Fraction(0.1));
    assert!("ten".parse::<Amount>().is_err());
}
