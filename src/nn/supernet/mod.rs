//! Supernets: one set of weights shared by every architecture of a search space (ENAS, Pham
//! et al. 2018; single-path one-shot, Guo et al. 2020). A sampled architecture records only its
//! own path through the supernet, so a training step costs about what the architecture costs
//! standalone, and the weights it trains are the ones every later architecture with the same
//! operation there inherits.

pub mod arch_weights;
pub mod darts;
pub mod darts_derive;
pub mod enas;
pub mod nb201;

pub use arch_weights::{ALPHA_SHAPE, AlphaRow, ArchWeights, argmax, derive_genotype, softmax_rows};
pub use darts::DartsSupernet;
pub use darts_derive::{DARTS_ALPHA_COLUMNS, DARTS_CELL_EDGES, derive_darts_genotype};
pub use enas::EnasSupernet;
pub use nb201::{AuxSkip, Nb201Supernet};

use crate::autograd::{AutogradError, Graph, Value};
use crate::nn::Architecture;
use crate::nn::nb201::{Nb201Genotype, Nb201Op};
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

/// A supernet: shared parameters, and the forward pass of one path through them.
pub trait Supernet {
    /// What picks a path (a genotype, a list of layer choices).
    type Path: Clone + PartialEq;

    /// Records `path` on images `x` `[N, C, H, W]` and returns logits `[N, classes]`.
    fn forward_path(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        path: &Self::Path,
        train: bool,
    ) -> Result<Value, AutogradError>;

    /// Every shared parameter.
    fn shared_parameters(&self) -> Vec<&Parameter>;

    /// A path drawn uniformly (single-path one-shot's sampling).
    fn sample_path(&self, rng: &mut SeededRng) -> Self::Path;

    /// The path of an architecture of the supernet's space, or why it has none.
    fn path_of(&self, arch: &Architecture) -> Result<Self::Path, String>;
}

/// A supernet whose edges can also run every operation at once, mixed by the softmax of a row
/// of architecture weights (DARTS's continuous relaxation, Liu et al. 2019).
pub trait MixedSupernet: Supernet<Path: std::fmt::Display> {
    /// Mixed edges x operations of the architecture weights.
    fn alpha_shape(&self) -> [usize; 2];

    /// Records every edge mixed by softmax of its row of `alpha` (`alpha_shape`) on images
    /// `x` and returns logits `[N, classes]`; gradients reach alpha when it is a parameter.
    fn forward_mixed(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        alpha: Value,
        train: bool,
    ) -> Result<Value, AutogradError>;

    /// The discrete path architecture weights (one row per mixed edge) stand for.
    fn derive(&self, rows: &[Vec<f32>]) -> Self::Path;

    /// The operation of each column of the architecture weights, by its published name.
    fn operation_names(&self) -> Vec<&'static str>;

    /// Sets (or removes) DARTS-'s auxiliary skip on the mixed edges.
    fn set_aux_skip(&mut self, aux: Option<AuxSkip>);

    /// The supernet's shape in a few words ("N = 5, C = 16").
    fn describe(&self) -> String;
}

/// Refuses architecture weights that are not F32 `want` (`what` names the rows and columns),
/// naming the supernet `op`.
pub(crate) fn check_alpha(
    g: &Graph,
    alpha: Value,
    want: [usize; 2],
    op: &'static str,
    what: &str,
) -> Result<(), AutogradError> {
    if g.shape(alpha) != want || g.dtype(alpha) != crate::tensor::DType::F32 {
        return Err(crate::autograd::shape_error(
            op,
            format!(
                "architecture weights are {:?} {:?}, expected F32 {want:?} ({what})",
                g.dtype(alpha),
                g.shape(alpha)
            ),
        ));
    }
    Ok(())
}

impl Supernet for Nb201Supernet {
    type Path = Nb201Genotype;

    fn forward_path(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        path: &Self::Path,
        train: bool,
    ) -> Result<Value, AutogradError> {
        self.forward(g, b, x, path, train)
    }

    fn shared_parameters(&self) -> Vec<&Parameter> {
        self.parameters()
    }

    fn sample_path(&self, rng: &mut SeededRng) -> Self::Path {
        use rand::RngExt;
        Nb201Genotype(std::array::from_fn(|_| {
            Nb201Op::ALL[rng.random_range(0..Nb201Op::ALL.len())]
        }))
    }

    fn path_of(&self, arch: &Architecture) -> Result<Self::Path, String> {
        let net = arch
            .nb201
            .as_ref()
            .ok_or("not a NAS-Bench-201 cell network (the supernet holds cells)")?;
        if (net.cells_per_stage, net.channels) != (self.shape.cells_per_stage, self.shape.channels)
            || arch.input != self.input
            || arch.classes != self.classes
        {
            return Err(format!(
                "N = {}, C = {}, input {:?}, {} classes; the supernet has N = {}, C = {}, input {:?}, {} classes",
                net.cells_per_stage,
                net.channels,
                arch.input,
                arch.classes,
                self.shape.cells_per_stage,
                self.shape.channels,
                self.input,
                self.classes
            ));
        }
        Ok(net.genotype)
    }
}
