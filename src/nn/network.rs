//! A child network built from an architecture file: a NAS-RL macro network of conv layers
//! (`layered_net.rs`), a NAS-Bench-201 cell network (`cell_net.rs`) or a DARTS cell network
//! (`darts_net.rs`) or an ENAS macro network (`enas_net.rs`), behind one interface the
//! trainer, the evaluator and the weights file use.

use std::sync::Arc;

use crate::autograd::{AutogradError, Graph, Value};
use crate::device::{DeviceError, Gpu};
use crate::nn::arch::Architecture;
use crate::nn::cell_net::CellNet;
use crate::nn::darts_net::DartsNet;
use crate::nn::enas_net::EnasNet;
use crate::nn::layered_net::LayeredNet;
use crate::nn::layers::BatchNorm2d;
use crate::nn::param::{Binder, Parameter};
use crate::tensor::Tensor;

/// A trainable child network and the architecture it was built from.
pub struct Network {
    pub arch: Architecture,
    pub body: Body,
}

/// The layers of a network, by kind of architecture.
pub enum Body {
    Layered(Box<LayeredNet>),
    Cell(Box<CellNet>),
    Darts(Box<DartsNet>),
    Enas(Box<EnasNet>),
}

impl Network {
    /// Fresh parameters for `arch`, drawn from `seed`.
    pub fn new(gpu: &Arc<Gpu>, arch: &Architecture, seed: u64) -> Result<Network, DeviceError> {
        let mut rng = crate::util::seeded_rng(seed);
        let body = match (&arch.nb201, &arch.darts) {
            (None, None) if arch.enas.is_some() => Body::Enas(Box::new(EnasNet::new(
                gpu,
                arch.enas.as_ref().expect("checked"),
                arch.input[0],
                arch.classes,
                &mut rng,
            )?)),
            (Some(net), _) => Body::Cell(Box::new(CellNet::new(
                gpu,
                net,
                arch.input[0],
                arch.classes,
                &mut rng,
            )?)),
            (None, Some(net)) => Body::Darts(Box::new(DartsNet::new(
                gpu,
                net,
                arch.input[0],
                arch.classes,
                &mut rng,
            )?)),
            (None, None) => Body::Layered(Box::new(LayeredNet::new(gpu, arch, &mut rng)?)),
        };
        Ok(Network {
            arch: arch.clone(),
            body,
        })
    }

    /// Records the forward pass of images `x` `[N, C, H, W]` and returns logits `[N, classes]`.
    pub fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        match &self.body {
            Body::Layered(net) => net.forward(g, b, x, train),
            Body::Cell(net) => net.forward(g, b, x, train),
            Body::Darts(net) => net.forward(g, b, x, train),
            Body::Enas(net) => net.forward(g, b, x, train),
        }
    }

    /// Every trainable parameter.
    pub fn parameters(&self) -> Vec<&Parameter> {
        match &self.body {
            Body::Layered(net) => net.parameters(),
            Body::Cell(net) => net.parameters(),
            Body::Darts(net) => net.parameters(),
            Body::Enas(net) => net.parameters(),
        }
    }

    /// Every batch norm (their running statistics are state but not parameters).
    pub fn norms(&self) -> Vec<&BatchNorm2d> {
        match &self.body {
            Body::Layered(net) => net.norms(),
            Body::Cell(net) => net.norms(),
            Body::Darts(net) => net.norms(),
            Body::Enas(net) => net.norms(),
        }
    }

    /// Parameters, then every batch norm's running statistics, by name (what a weights file
    /// holds).
    pub fn state(&self) -> Vec<(String, &Tensor)> {
        let mut all: Vec<(String, &Tensor)> = self
            .parameters()
            .into_iter()
            .map(|p| (p.name.clone(), &p.tensor))
            .collect();
        for norm in self.norms() {
            all.extend(norm.running_state());
        }
        all
    }
}
