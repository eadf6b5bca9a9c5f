//! DARTS architecture weights over the NAS-Bench-201 cell (Liu et al. 2019): one row of five
//! logits per edge (`[6, 5]`, edges in `NB201_EDGES` order, operations in `Nb201Op::ALL`
//! order), shared by every cell of the supernet, and the discrete genotype they stand for.

use std::sync::Arc;

use crate::device::{DeviceError, Gpu};
use crate::nn::init::normal;
use crate::nn::nb201::{NB201_EDGES, Nb201Genotype, Nb201Op};
use crate::tensor::Tensor;
use crate::util::SeededRng;

/// Edges x operations.
pub const ALPHA_SHAPE: [usize; 2] = [NB201_EDGES.len(), Nb201Op::ALL.len()];

/// One edge's row of architecture weights.
pub type AlphaRow = [f32; 5];

/// The architecture weights on the device.
pub struct ArchWeights {
    /// `[6, 5]` logits; softmax of row k mixes the operations of edge k.
    pub tensor: Tensor,
}

impl ArchWeights {
    /// DARTS's initialisation, 1e-3 * N(0, 1): near-uniform mixing with ties broken at random.
    pub fn new(gpu: &Arc<Gpu>, rng: &mut SeededRng) -> Result<ArchWeights, DeviceError> {
        let values: Vec<f32> = (0..ALPHA_SHAPE[0] * ALPHA_SHAPE[1])
            .map(|_| (1e-3 * normal(rng)) as f32)
            .collect();
        ArchWeights::from_rows(gpu, &to_rows(&values))
    }

    /// Weights with the given rows (a checkpoint, a test's chosen mixture).
    pub fn from_rows(gpu: &Arc<Gpu>, rows: &[AlphaRow; 6]) -> Result<ArchWeights, DeviceError> {
        Ok(ArchWeights {
            tensor: Tensor::from_f32(gpu, &ALPHA_SHAPE, rows.as_flattened())?,
        })
    }

    /// Overwrites the weights with `rows`.
    pub fn write(&self, rows: &[AlphaRow; 6]) {
        self.tensor.write_f32(rows.as_flattened());
    }

    /// The weights read back to the host, one row per edge (waits for the GPU).
    pub fn read(&self) -> Result<[AlphaRow; 6], DeviceError> {
        Ok(to_rows(&self.tensor.to_f32()?))
    }

    /// The genotype the weights stand for now (see `derive_genotype`; waits for the GPU).
    pub fn genotype(&self) -> Result<Nb201Genotype, DeviceError> {
        Ok(derive_genotype(&self.read()?))
    }
}

fn to_rows(values: &[f32]) -> [AlphaRow; 6] {
    std::array::from_fn(|e| std::array::from_fn(|o| values[e * ALPHA_SHAPE[1] + o]))
}

/// The discrete genotype of architecture weights: on each edge, the operation of largest weight,
/// `none` included (the first on a tie, so the rule is deterministic). This is NAS-Bench-201's
/// DARTS derivation, not the DARTS paper's: there every node keeps its two strongest incoming
/// edges and `none` is never chosen, because a DARTS cell's nodes take exactly two inputs; a
/// NAS-Bench-201 cell has every edge and `none` is one of its operations, so excluding it would
/// search a smaller space than the benchmark's.
pub fn derive_genotype(rows: &[AlphaRow; 6]) -> Nb201Genotype {
    Nb201Genotype(std::array::from_fn(|e| {
        let row = &rows[e];
        let best = (1..row.len()).fold(0, |best, o| if row[o] > row[best] { o } else { best });
        Nb201Op::ALL[best]
    }))
}
