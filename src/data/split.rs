//! Seeded index selections over a training set: the train/validation split, subsets for search
//! proxies, and epoch orders. They work on indices into the training `Dataset` only, so the
//! test set can never leak into them. All are deterministic for a seed.

use rand::seq::SliceRandom;

use super::dataset::Dataset;
use super::error::{DataError, argument};
use crate::util::{SeededRng, seeded_rng};

/// A size: an absolute count, or a fraction of the whole (rounded to nearest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Count(usize),
    Fraction(f64),
}

impl Amount {
    /// The count this amount means out of `total` items; `what` names it in errors.
    pub fn resolve(self, total: usize, what: &str) -> Result<usize, DataError> {
        let n = match self {
            Amount::Count(n) => n,
            Amount::Fraction(f) if (0.0..=1.0).contains(&f) => (f * total as f64).round() as usize,
            Amount::Fraction(f) => {
                return Err(argument(format!(
                    "{what}: fraction {f} is not between 0 and 1"
                )));
            }
        };
        if n > total {
            return Err(argument(format!(
                "{what}: {n} items asked for but only {total} are available"
            )));
        }
        Ok(n)
    }
}

impl std::str::FromStr for Amount {
    type Err = DataError;
    /// "5000" is a count; "0.1" or "10%" a fraction.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            argument(format!(
                "'{s}' is neither a count (5000) nor a fraction (0.1, 10%)"
            ))
        };
        let s = s.trim();
        if let Some(pct) = s.strip_suffix('%') {
            let f: f64 = pct.trim().parse().map_err(|_| bad())?;
            return Ok(Amount::Fraction(f / 100.0));
        }
        if let Ok(n) = s.parse::<usize>() {
            return Ok(Amount::Count(n));
        }
        s.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Amount::Fraction)
            .ok_or_else(bad)
    }
}

/// How to choose items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// A seeded uniform draw.
    Random,
    /// Each class in proportion to its share (largest remainder), seeded within each class.
    Stratified,
}

/// Disjoint training and validation indices that together cover the training set, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<u32>,
    pub validation: Vec<u32>,
}

/// Splits `train` (a dataset's training part, never its test part) into training and
/// validation indices.
pub fn split_train_validation(
    train: &Dataset,
    validation: Amount,
    sampling: Sampling,
    seed: u64,
) -> Result<Split, DataError> {
    let all = all_indices(train.len())?;
    let k = validation.resolve(all.len(), "validation size")?;
    let validation = pick(&train.labels, train.classes, &all, k, sampling, seed);
    let mut in_validation = vec![false; all.len()];
    for &i in &validation {
        in_validation[i as usize] = true;
    }
    let train = all
        .into_iter()
        .filter(|&i| !in_validation[i as usize])
        .collect();
    Ok(Split { train, validation })
}

/// `n` of the indices in `from` (e.g. a split's training part), ascending; for search proxies.
pub fn subset(
    data: &Dataset,
    from: &[u32],
    n: Amount,
    sampling: Sampling,
    seed: u64,
) -> Result<Vec<u32>, DataError> {
    if let Some(&bad) = from.iter().find(|&&i| i as usize >= data.len()) {
        return Err(argument(format!(
            "subset of {}: index {bad} is outside 0..{}",
            data.name,
            data.len()
        )));
    }
    let k = n.resolve(from.len(), "subset size")?;
    Ok(pick(&data.labels, data.classes, from, k, sampling, seed))
}

/// `indices` in a seeded random order (an epoch's order tensor).
pub fn shuffled(indices: &[u32], seed: u64) -> Vec<u32> {
    let mut order = indices.to_vec();
    order.shuffle(&mut seeded_rng(seed));
    order
}

/// `0..n` as u32 indices (the device gathers with u32 indices).
fn all_indices(n: usize) -> Result<Vec<u32>, DataError> {
    let n = u32::try_from(n).map_err(|_| argument(format!("{n} images exceed u32 indices")))?;
    Ok((0..n).collect())
}

/// `k` distinct items of `pool`, ascending.
fn pick(
    labels: &[u32],
    classes: u32,
    pool: &[u32],
    k: usize,
    sampling: Sampling,
    seed: u64,
) -> Vec<u32> {
    let mut rng = seeded_rng(seed);
    let mut chosen = match sampling {
        Sampling::Random => {
            let mut all = pool.to_vec();
            all.shuffle(&mut rng);
            all.truncate(k);
            all
        }
        Sampling::Stratified => stratified(labels, classes, pool, k, &mut rng),
    };
    chosen.sort_unstable();
    chosen
}

/// `k` items of `pool` with each class's count proportional to its share of the pool.
fn stratified(
    labels: &[u32],
    classes: u32,
    pool: &[u32],
    k: usize,
    rng: &mut SeededRng,
) -> Vec<u32> {
    let mut by_class: Vec<Vec<u32>> = vec![Vec::new(); classes as usize];
    for &i in pool {
        by_class[labels[i as usize] as usize].push(i);
    }
    // Largest-remainder quotas: floor(k * c / P), then +1 for the largest remainders (ties go
    // to the lower class). Integer arithmetic, so the quotas never depend on rounding.
    let total = pool.len().max(1) as u128;
    let mut quota: Vec<usize> = Vec::with_capacity(by_class.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(by_class.len());
    for (class, items) in by_class.iter().enumerate() {
        let share = k as u128 * items.len() as u128;
        quota.push((share / total) as usize);
        remainders.push((share % total, class));
    }
    let short = k - quota.iter().sum::<usize>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, class) in remainders.iter().take(short) {
        quota[class] += 1;
    }
    let mut chosen = Vec::with_capacity(k);
    for (items, q) in by_class.iter_mut().zip(quota) {
        items.shuffle(rng);
        chosen.extend_from_slice(&items[..q]);
    }
    chosen
}
