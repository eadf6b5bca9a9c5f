//! A NAS-RL macro network built from an architecture file's layers: conv -> batch norm -> relu
//! per layer, skip inputs concatenated with zero padding, dangling layers concatenated at the
//! end, then global average pooling and a linear classifier.

use std::sync::Arc;

use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::kernels::conv2d::Conv2dSpec;
use crate::nn::arch::Architecture;
use crate::nn::layers::{BatchNorm2d, Conv2d, Linear};
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

/// The layers of a macro network.
pub struct LayeredNet {
    pub arch: Architecture,
    pub convs: Vec<Conv2d>,
    pub norms: Vec<BatchNorm2d>,
    pub classifier: Linear,
}

impl LayeredNet {
    /// Fresh parameters for the layers of `arch`, drawn from `rng`.
    pub fn new(
        gpu: &Arc<Gpu>,
        arch: &Architecture,
        rng: &mut SeededRng,
    ) -> Result<LayeredNet, DeviceError> {
        let cin = arch.input_channels();
        let mut convs = Vec::with_capacity(arch.layers.len());
        let mut norms = Vec::with_capacity(arch.layers.len());
        for (i, layer) in arch.layers.iter().enumerate() {
            let spec = Conv2dSpec {
                kernel: [layer.filter_height, layer.filter_width],
                stride: [layer.stride; 2],
            };
            convs.push(Conv2d::new(
                gpu,
                &format!("layer{i}.conv"),
                cin[i],
                layer.filters,
                spec,
                false,
                rng,
            )?);
            norms.push(BatchNorm2d::new(
                gpu,
                &format!("layer{i}.bn"),
                layer.filters,
            )?);
        }
        let features: usize = arch
            .output_layers()
            .iter()
            .map(|&i| arch.layers[i].filters)
            .sum();
        let classifier = Linear::classifier(gpu, features, arch.classes, rng)?;
        Ok(LayeredNet {
            arch: arch.clone(),
            convs,
            norms,
            classifier,
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
        let mut outputs: Vec<Value> = Vec::with_capacity(self.arch.layers.len());
        for (i, layer) in self.arch.layers.iter().enumerate() {
            let input = if layer.inputs.is_empty() {
                x
            } else {
                let inputs: Vec<Value> = layer.inputs.iter().map(|&j| outputs[j]).collect();
                ops::concat_padded(g, &inputs)?
            };
            let y = self.convs[i].forward(g, b, input)?;
            let y = self.norms[i].forward(g, b, y, train)?;
            outputs.push(ops::relu(g, y));
        }
        let finals: Vec<Value> = self
            .arch
            .output_layers()
            .iter()
            .map(|&i| outputs[i])
            .collect();
        let features = ops::concat_padded(g, &finals)?;
        let pooled = ops::global_avg_pool(g, features)?;
        self.classifier.forward(g, b, pooled)
    }

    /// Every trainable parameter.
    pub fn parameters(&self) -> Vec<&Parameter> {
        let mut all = Vec::new();
        for (conv, norm) in self.convs.iter().zip(&self.norms) {
            all.extend(conv.parameters());
            all.extend(norm.parameters());
        }
        all.extend(self.classifier.parameters());
        all
    }

    /// Every batch norm, in layer order.
    pub fn norms(&self) -> Vec<&BatchNorm2d> {
        self.norms.iter().collect()
    }
}
