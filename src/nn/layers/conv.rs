//! Conv2d layer: weights `[Cout, Cin, KH, KW]`, optional bias, "same" padding.

use std::sync::Arc;

use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::kernels::conv2d::Conv2dSpec;
use crate::nn::init::{self, Init};
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

pub struct Conv2d {
    pub weight: Parameter,
    pub bias: Option<Parameter>,
    pub spec: Conv2dSpec,
}

impl Conv2d {
    /// He-normal weights; bias (zeros) only when `bias` (omit it before batch norm).
    pub fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        cin: usize,
        cout: usize,
        spec: Conv2dSpec,
        bias: bool,
        rng: &mut SeededRng,
    ) -> Result<Conv2d, DeviceError> {
        let [kh, kw] = spec.kernel;
        let weight = Parameter {
            name: format!("{name}.weight"),
            tensor: init::tensor(
                gpu,
                &[cout, cin, kh, kw],
                Init::HeNormal {
                    fan_in: cin * kh * kw,
                },
                rng,
            )?,
            decay: true,
        };
        let bias = if bias {
            Some(Parameter {
                name: format!("{name}.bias"),
                tensor: init::tensor(gpu, &[cout], Init::Constant(0.0), rng)?,
                decay: false,
            })
        } else {
            None
        };
        Ok(Conv2d { weight, bias, spec })
    }

    pub fn forward(&self, g: &mut Graph, b: &mut Binder, x: Value) -> Result<Value, AutogradError> {
        let w = b.bind(g, &self.weight);
        let bias = self.bias.as_ref().map(|p| b.bind(g, p));
        ops::conv2d(g, x, w, bias, self.spec)
    }

    pub fn parameters(&self) -> Vec<&Parameter> {
        std::iter::once(&self.weight).chain(&self.bias).collect()
    }
}
