//! DARTS architecture weights (Liu et al. 2019): a matrix of operation logits, one row per
//! mixed edge, softmax of row k mixing edge k's operations. Its shape is the supernet's
//! (`MixedSupernet::alpha_shape`); which discrete path a matrix stands for is the supernet's
//! derivation (`MixedSupernet::derive`). The NAS-Bench-201 layout and derivation live here too:
//! one row of five logits per edge (`[6, 5]`, edges in `NB201_EDGES` order, operations in
//! `Nb201Op::ALL` order), shared by every cell.

use std::sync::Arc;

use crate::device::{DeviceError, Gpu};
use crate::nn::init::normal;
use crate::nn::nb201::{NB201_EDGES, Nb201Genotype, Nb201Op};
use crate::tensor::Tensor;
use crate::util::SeededRng;

/// NAS-Bench-201's edges x operations.
pub const ALPHA_SHAPE: [usize; 2] = [NB201_EDGES.len(), Nb201Op::ALL.len()];

/// One NAS-Bench-201 edge's row of architecture weights.
pub type AlphaRow = [f32; 5];

/// The architecture weights on the device.
pub struct ArchWeights {
    /// `[edges, operations]` logits.
    pub tensor: Tensor,
}

impl ArchWeights {
    /// DARTS's initialisation, 1e-3 * N(0, 1): near-uniform mixing with ties broken at random.
    pub fn new(
        gpu: &Arc<Gpu>,
        shape: [usize; 2],
        rng: &mut SeededRng,
    ) -> Result<ArchWeights, DeviceError> {
        let values: Vec<f32> = (0..shape[0] * shape[1])
            .map(|_| (1e-3 * normal(rng)) as f32)
            .collect();
        Ok(ArchWeights {
            tensor: Tensor::from_f32(gpu, &shape, &values)?,
        })
    }

    /// Weights with the given rows (a checkpoint, a test's chosen mixture); every row as long
    /// as the first.
    pub fn from_rows<R: AsRef<[f32]>>(
        gpu: &Arc<Gpu>,
        rows: &[R],
    ) -> Result<ArchWeights, DeviceError> {
        let shape = [rows.len(), rows.first().map_or(0, |r| r.as_ref().len())];
        Ok(ArchWeights {
            tensor: Tensor::from_f32(gpu, &shape, &flatten(rows, shape))?,
        })
    }

    /// `[edges, operations]`.
    pub fn shape(&self) -> [usize; 2] {
        let s = self.tensor.shape();
        [s[0], s[1]]
    }

    /// Overwrites the weights with `rows` (of the weights' shape).
    pub fn write<R: AsRef<[f32]>>(&self, rows: &[R]) {
        self.tensor.write_f32(&flatten(rows, self.shape()));
    }

    /// The weights read back to the host, one row per edge (waits for the GPU).
    pub fn read(&self) -> Result<Vec<Vec<f32>>, DeviceError> {
        let values = self.tensor.to_f32()?;
        Ok(values
            .chunks(self.shape()[1])
            .map(<[f32]>::to_vec)
            .collect())
    }
}

fn flatten<R: AsRef<[f32]>>(rows: &[R], shape: [usize; 2]) -> Vec<f32> {
    assert_eq!(
        rows.len(),
        shape[0],
        "architecture weights have {} rows",
        shape[0]
    );
    let mut out = Vec::with_capacity(shape[0] * shape[1]);
    for row in rows {
        assert_eq!(
            row.as_ref().len(),
            shape[1],
            "architecture weight rows have {} columns",
            shape[1]
        );
        out.extend_from_slice(row.as_ref());
    }
    out
}

/// Row-wise softmax (in f64, rounded once).
pub fn softmax_rows<R: AsRef<[f32]>>(rows: &[R]) -> Vec<Vec<f32>> {
    rows.iter()
        .map(|row| {
            let row = row.as_ref();
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f64> = row.iter().map(|&v| ((v - max) as f64).exp()).collect();
            let sum: f64 = exp.iter().sum();
            exp.iter().map(|e| (e / sum) as f32).collect()
        })
        .collect()
}

/// Index of the largest value, the first on a tie (so every derivation is deterministic).
pub fn argmax(values: &[f32]) -> usize {
    (1..values.len()).fold(0, |best, i| if values[i] > values[best] { i } else { best })
}

/// The discrete NAS-Bench-201 genotype of architecture weights `[6, 5]`: on each edge, the
/// operation of largest weight, `none` included (the first on a tie). This is NAS-Bench-201's
/// DARTS derivation, not the DARTS paper's (`darts_derive.rs`): there every node keeps its two
/// strongest incoming edges and `none` is never chosen, because a DARTS cell's nodes take
/// exactly two inputs; a NAS-Bench-201 cell has every edge and `none` is one of its
/// operations, so excluding it would search a smaller space than the benchmark's.
pub fn derive_genotype<R: AsRef<[f32]>>(rows: &[R]) -> Nb201Genotype {
    assert_eq!(rows.len(), ALPHA_SHAPE[0], "NAS-Bench-201 alpha has 6 rows");
    Nb201Genotype(std::array::from_fn(|e| {
        Nb201Op::ALL[argmax(rows[e].as_ref())]
    }))
}
