//! The ENAS macro space's supernet (Pham et al. 2018): every layer holds all six operations'
//! branches, each with weights of its own, and every reduction a factorized reduction for each
//! earlier layer; a path (the layers of one network) runs, in each layer, only its own branch
//! and the reductions its skips use, through the same body as the standalone network
//! (`enas_net.rs`) and under the same parameter names, so a path trained here is the
//! standalone network with these weights.

use std::sync::Arc;

use rand::RngExt;

use super::Supernet;
use crate::autograd::{AutogradError, Graph, Value};
use crate::device::{DeviceError, Gpu};
use crate::nn::Architecture;
use crate::nn::enas_macro::{EnasLayer, EnasLayers, EnasOp, EnasOpName};
use crate::nn::enas_net::EnasBody;
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

/// The supernet of ENAS macro networks of one shape (L, C, input, classes).
pub struct EnasSupernet {
    pub layers: usize,
    pub channels: usize,
    pub input: [usize; 3],
    pub classes: usize,
    pub body: EnasBody,
}

impl EnasSupernet {
    /// Fresh shared weights for L layers at C channels.
    pub fn new(
        gpu: &Arc<Gpu>,
        layers: usize,
        channels: usize,
        input: [usize; 3],
        classes: usize,
        rng: &mut SeededRng,
    ) -> Result<EnasSupernet, DeviceError> {
        let body = EnasBody::build(
            gpu,
            layers,
            channels,
            input[0],
            classes,
            rng,
            |_, _| true,
            |_, _| true,
        )?;
        Ok(EnasSupernet {
            layers,
            channels,
            input,
            classes,
            body,
        })
    }

    /// The supernet's shape in a few words.
    pub fn describe(&self) -> String {
        format!("ENAS macro, {} layers, C = {}", self.layers, self.channels)
    }
}

impl Supernet for EnasSupernet {
    type Path = EnasLayers;

    fn forward_path(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        path: &Self::Path,
        train: bool,
    ) -> Result<Value, AutogradError> {
        self.body.forward(g, b, x, &path.0, train)
    }

    fn shared_parameters(&self) -> Vec<&Parameter> {
        self.body.parameters()
    }

    /// Each layer's operation uniformly, each skip with probability 1/2 (the space's sampling).
    fn sample_path(&self, rng: &mut SeededRng) -> Self::Path {
        EnasLayers(
            (0..self.layers)
                .map(|l| EnasLayer {
                    op: EnasOpName(EnasOp::ALL[rng.random_range(0..EnasOp::ALL.len())]),
                    skips: (0..l).filter(|_| rng.random_range(0..2) == 1).collect(),
                })
                .collect(),
        )
    }

    fn path_of(&self, arch: &Architecture) -> Result<Self::Path, String> {
        let net = arch
            .enas
            .as_ref()
            .ok_or("not an ENAS macro network (the supernet holds ENAS macro layers)")?;
        if (net.layers.len(), net.channels) != (self.layers, self.channels)
            || arch.input != self.input
            || arch.classes != self.classes
        {
            return Err(format!(
                "{} layers, C = {}, input {:?}, {} classes; the supernet has {} layers, C = {}, input {:?}, {} classes",
                net.layers.len(),
                net.channels,
                arch.input,
                arch.classes,
                self.layers,
                self.channels,
                self.input,
                self.classes
            ));
        }
        Ok(net.layers())
    }
}
