//! Supernets: one set of weights shared by every architecture of a search space (ENAS, Pham
//! et al. 2018; single-path one-shot, Guo et al. 2020). A sampled architecture records only its
//! own path through the supernet, so a training step costs about what the architecture costs
//! standalone, and the weights it trains are the ones every later architecture with the same
//! operation there inherits.

pub mod nb201;

pub use nb201::Nb201Supernet;

use crate::autograd::{AutogradError, Graph, Value};
use crate::nn::param::{Binder, Parameter};

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
}

impl Supernet for Nb201Supernet {
    type Path = crate::nn::nb201::Nb201Genotype;

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
}
