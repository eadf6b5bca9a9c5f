//! Linear layer `y = x·W + b`, W `[in, out]`.

use std::sync::Arc;

use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::nn::init::{self, Init};
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

pub struct Linear {
    pub weight: Parameter,
    pub bias: Parameter,
}

impl Linear {
    /// Weights from `init` (He-uniform for classifiers, uniform(-a, a) for the controller).
    pub fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        inputs: usize,
        outputs: usize,
        weight_init: Init,
        bias_init: Init,
        rng: &mut SeededRng,
    ) -> Result<Linear, DeviceError> {
        Ok(Linear {
            weight: Parameter {
                name: format!("{name}.weight"),
                tensor: init::tensor(gpu, &[inputs, outputs], weight_init, rng)?,
                decay: true,
            },
            bias: Parameter {
                name: format!("{name}.bias"),
                tensor: init::tensor(gpu, &[outputs], bias_init, rng)?,
                decay: false,
            },
        })
    }

    /// Every network's head, `classifier`: pooled `features` to `classes` logits, He-uniform
    /// weights and a zero bias.
    pub fn classifier(
        gpu: &Arc<Gpu>,
        features: usize,
        classes: usize,
        rng: &mut SeededRng,
    ) -> Result<Linear, DeviceError> {
        Linear::new(
            gpu,
            "classifier",
            features,
            classes,
            Init::HeUniform { fan_in: features },
            Init::Constant(0.0),
            rng,
        )
    }

    pub fn forward(&self, g: &mut Graph, b: &mut Binder, x: Value) -> Result<Value, AutogradError> {
        let w = b.bind(g, &self.weight);
        let bias = b.bind(g, &self.bias);
        ops::linear(g, x, w, Some(bias))
    }

    pub fn parameters(&self) -> Vec<&Parameter> {
        vec![&self.weight, &self.bias]
    }
}
