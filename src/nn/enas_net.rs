//! An ENAS macro network (`enas_macro.rs`) on the engine's ops, as the released code's
//! `general_child.py` builds a fixed architecture: each layer's branch reads the previous
//! layer's output; the layer's output is the sum of its branch and the outputs it skips from,
//! then batch norm; at each reduction every earlier output still needed goes through its own
//! factorized reduction (`darts_net.rs`'s, which starts with a ReLU where the released one
//! average-pools) to twice the channels at half the size.
//!
//! One body serves the standalone network and the supernet (`supernet/enas.rs`): a layer holds
//! a branch per operation it can run (one standalone, all six in the supernet) under the same
//! names (`layer{l}.{op}...`), and the forward pass takes the layers to run. So a path trained
//! in the supernet is the standalone network with those weights, name for name.

use std::sync::Arc;

use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::kernels::conv2d::Conv2dSpec;
use crate::kernels::conv2d_grouped::GroupedConvSpec;
use crate::kernels::pool::{Pool2dSpec, PoolKind};
use crate::nn::darts_net::FactorizedReduceLayer;
use crate::nn::enas_macro::{EnasLayer, EnasMacroNetwork, EnasOp, EnasShape, reduced_needed};
use crate::nn::init::{self, Init};
use crate::nn::layers::{BatchNorm2d, Conv2d, Linear};
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

fn conv_spec(k: usize) -> Conv2dSpec {
    Conv2dSpec {
        kernel: [k, k],
        stride: [1, 1],
    }
}

/// What follows a branch's 1x1 conv.
pub enum BranchTail {
    /// kxk conv -> BN -> ReLU.
    Conv { conv: Conv2d, bn: BatchNorm2d },
    /// depthwise kxk -> pointwise 1x1 -> BN -> ReLU.
    Separable {
        depthwise: Parameter,
        pointwise: Conv2d,
        bn: BatchNorm2d,
    },
    /// 3x3 pooling, stride 1.
    Pool(Pool2dSpec),
}

/// One operation of one layer: conv1x1 -> BN -> ReLU, then its tail.
pub struct EnasBranch {
    pub inp_conv: Conv2d,
    pub inp_bn: BatchNorm2d,
    pub tail: BranchTail,
}

impl EnasBranch {
    fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        op: EnasOp,
        c: usize,
        rng: &mut SeededRng,
    ) -> Result<EnasBranch, DeviceError> {
        let inp_conv = Conv2d::new(
            gpu,
            &format!("{name}.inp_conv"),
            c,
            c,
            conv_spec(1),
            false,
            rng,
        )?;
        let inp_bn = BatchNorm2d::new(gpu, &format!("{name}.inp_bn"), c)?;
        let pool = |kind| {
            BranchTail::Pool(Pool2dSpec {
                kind,
                kernel: [3, 3],
                stride: [1, 1],
                same_padding: true,
            })
        };
        let tail = match (op, op.kernel()) {
            (EnasOp::MaxPool3x3, _) => pool(PoolKind::Max),
            (EnasOp::AvgPool3x3, _) => pool(PoolKind::Avg),
            (_, Some(k)) if op.separable() => BranchTail::Separable {
                depthwise: Parameter {
                    name: format!("{name}.depthwise.weight"),
                    tensor: init::tensor(
                        gpu,
                        &[c, 1, k, k],
                        Init::HeNormal { fan_in: k * k },
                        rng,
                    )?,
                    decay: true,
                },
                pointwise: Conv2d::new(
                    gpu,
                    &format!("{name}.pointwise"),
                    c,
                    c,
                    conv_spec(1),
                    false,
                    rng,
                )?,
                bn: BatchNorm2d::new(gpu, &format!("{name}.bn"), c)?,
            },
            (_, k) => BranchTail::Conv {
                conv: Conv2d::new(
                    gpu,
                    &format!("{name}.conv"),
                    c,
                    c,
                    conv_spec(k.expect("a conv")),
                    false,
                    rng,
                )?,
                bn: BatchNorm2d::new(gpu, &format!("{name}.bn"), c)?,
            },
        };
        Ok(EnasBranch {
            inp_conv,
            inp_bn,
            tail,
        })
    }

    fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let y = self.inp_conv.forward(g, b, x)?;
        let y = self.inp_bn.forward(g, b, y, train)?;
        let y = ops::relu(g, y);
        let y = match &self.tail {
            BranchTail::Pool(spec) => return ops::pool2d(g, y, *spec),
            BranchTail::Conv { conv, bn } => {
                let y = conv.forward(g, b, y)?;
                bn.forward(g, b, y, train)?
            }
            BranchTail::Separable {
                depthwise,
                pointwise,
                bn,
            } => {
                let c = g.shape(y)[1];
                let k = depthwise.tensor.shape()[2];
                let spec = GroupedConvSpec::depthwise(c, [k, k], [1, 1], [1, 1]);
                let w = b.bind(g, depthwise);
                let y = ops::grouped_conv2d(g, y, w, None, spec)?;
                let y = pointwise.forward(g, b, y)?;
                bn.forward(g, b, y, train)?
            }
        };
        Ok(ops::relu(g, y))
    }

    fn parameters(&self) -> Vec<&Parameter> {
        let mut all = self.inp_conv.parameters();
        all.extend(self.inp_bn.parameters());
        match &self.tail {
            BranchTail::Pool(_) => {}
            BranchTail::Conv { conv, bn } => {
                all.extend(conv.parameters());
                all.extend(bn.parameters());
            }
            BranchTail::Separable {
                depthwise,
                pointwise,
                bn,
            } => {
                all.push(depthwise);
                all.extend(pointwise.parameters());
                all.extend(bn.parameters());
            }
        }
        all
    }

    fn norms(&self) -> Vec<&BatchNorm2d> {
        let mut all = vec![&self.inp_bn];
        match &self.tail {
            BranchTail::Pool(_) => {}
            BranchTail::Conv { bn, .. } | BranchTail::Separable { bn, .. } => all.push(bn),
        }
        all
    }
}

/// One layer: a branch for each operation it can run (by choice id) and the batch norm after
/// the sum.
pub struct EnasLayerWeights {
    pub branches: Vec<Option<EnasBranch>>,
    pub bn: BatchNorm2d,
}

/// The weights of an ENAS macro network, or of every network of one shape.
pub struct EnasBody {
    pub shape: EnasShape,
    pub stem_conv: Conv2d,
    pub stem_bn: BatchNorm2d,
    pub layers: Vec<EnasLayerWeights>,
    /// `reductions[r][i]`: layer i's factorized reduction at the r-th reduction, where built.
    pub reductions: Vec<Vec<Option<FactorizedReduceLayer>>>,
    pub classifier: Linear,
}

impl EnasBody {
    /// Fresh weights of L layers at C channels, drawn from `rng` in network order; layer l
    /// gets a branch for each operation `has_op(l, op)` and the r-th reduction one for each
    /// layer `has_reduction(after, i)`.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        gpu: &Arc<Gpu>,
        layers: usize,
        channels: usize,
        input_channels: usize,
        classes: usize,
        rng: &mut SeededRng,
        has_op: impl Fn(usize, EnasOp) -> bool,
        has_reduction: impl Fn(usize, usize) -> bool,
    ) -> Result<EnasBody, DeviceError> {
        let shape = EnasMacroNetwork::shape_of(layers, channels);
        let stem_conv = Conv2d::new(
            gpu,
            "stem.conv",
            input_channels,
            channels,
            conv_spec(3),
            false,
            rng,
        )?;
        let stem_bn = BatchNorm2d::new(gpu, "stem.bn", channels)?;
        let mut built = Vec::with_capacity(layers);
        let mut reductions = Vec::new();
        for l in 0..layers {
            let c = shape.channels[l];
            let mut branches = Vec::with_capacity(EnasOp::ALL.len());
            for op in EnasOp::ALL {
                branches.push(if has_op(l, op) {
                    let name = format!("layer{l}.{}", op.name());
                    Some(EnasBranch::new(gpu, &name, op, c, rng)?)
                } else {
                    None
                });
            }
            let bn = BatchNorm2d::new(gpu, &format!("layer{l}.bn"), c)?;
            built.push(EnasLayerWeights { branches, bn });
            if shape.reduce_after.contains(&l) {
                let r = reductions.len();
                let mut at = Vec::with_capacity(l + 1);
                for i in 0..=l {
                    at.push(if has_reduction(l, i) {
                        let name = format!("reduce{r}.layer{i}");
                        Some(FactorizedReduceLayer::new(gpu, &name, c, 2 * c, rng)?)
                    } else {
                        None
                    });
                }
                reductions.push(at);
            }
        }
        let features = 2usize.pow(shape.reduce_after.len() as u32) * channels;
        let classifier = Linear::classifier(gpu, features, classes, rng)?;
        Ok(EnasBody {
            shape,
            stem_conv,
            stem_bn,
            layers: built,
            reductions,
            classifier,
        })
    }

    /// Records images `x` `[N, C, H, W]` through `path` (one entry per layer) and returns
    /// logits `[N, classes]`; refuses a path that needs weights this body does not hold.
    pub fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        path: &[EnasLayer],
        train: bool,
    ) -> Result<Value, AutogradError> {
        let missing = |what: String| crate::autograd::shape_error("enas_network", what);
        if path.len() != self.layers.len() {
            return Err(missing(format!(
                "{} layers given to a network of {}",
                path.len(),
                self.layers.len()
            )));
        }
        let y = self.stem_conv.forward(g, b, x)?;
        let mut input = self.stem_bn.forward(g, b, y, train)?;
        let mut outs: Vec<Value> = Vec::with_capacity(path.len());
        for (l, layer) in path.iter().enumerate() {
            let weights = &self.layers[l];
            let branch = weights.branches[layer.op.0.id()]
                .as_ref()
                .ok_or_else(|| missing(format!("layer {l} has no {} branch", layer.op.0.name())))?;
            let mut terms = vec![branch.forward(g, b, input, train)?];
            for &i in &layer.skips {
                terms.push(
                    *outs
                        .get(i)
                        .ok_or_else(|| missing(format!("layer {l}: skip from {i}")))?,
                );
            }
            let sum = ops::sum_n(g, &terms)?;
            let out = weights.bn.forward(g, b, sum, train)?;
            outs.push(out);
            input = out;
            if let Some(r) = self.shape.reduce_after.iter().position(|&p| p == l) {
                for (i, o) in outs.iter_mut().enumerate() {
                    if reduced_needed(path, l, i) {
                        let fr = self.reductions[r][i].as_ref().ok_or_else(|| {
                            missing(format!("reduction {r} of layer {i} is not built"))
                        })?;
                        *o = fr.forward(g, b, *o, train)?;
                    }
                }
                input = outs[l];
            }
        }
        let pooled = ops::global_avg_pool(g, input)?;
        self.classifier.forward(g, b, pooled)
    }

    /// Every trainable parameter in network order.
    pub fn parameters(&self) -> Vec<&Parameter> {
        let mut all = self.stem_conv.parameters();
        all.extend(self.stem_bn.parameters());
        let mut reductions = self.reductions.iter();
        for (l, layer) in self.layers.iter().enumerate() {
            for branch in layer.branches.iter().flatten() {
                all.extend(branch.parameters());
            }
            all.extend(layer.bn.parameters());
            if self.shape.reduce_after.contains(&l) {
                let at = reductions.next().expect("one per reduction");
                for fr in at.iter().flatten() {
                    all.extend(fr.parameters());
                }
            }
        }
        all.extend(self.classifier.parameters());
        all
    }

    /// Every batch norm in network order.
    pub fn norms(&self) -> Vec<&BatchNorm2d> {
        let mut all = vec![&self.stem_bn];
        let mut reductions = self.reductions.iter();
        for (l, layer) in self.layers.iter().enumerate() {
            for branch in layer.branches.iter().flatten() {
                all.extend(branch.norms());
            }
            all.push(&layer.bn);
            if self.shape.reduce_after.contains(&l) {
                let at = reductions.next().expect("one per reduction");
                all.extend(at.iter().flatten().map(|fr| &fr.bn));
            }
        }
        all
    }
}

/// A built ENAS macro network: the body with each layer's own operation and the reductions
/// its skips use.
pub struct EnasNet {
    pub net: EnasMacroNetwork,
    pub body: EnasBody,
}

impl EnasNet {
    pub fn new(
        gpu: &Arc<Gpu>,
        net: &EnasMacroNetwork,
        input_channels: usize,
        classes: usize,
        rng: &mut SeededRng,
    ) -> Result<EnasNet, DeviceError> {
        let body = EnasBody::build(
            gpu,
            net.layers.len(),
            net.channels,
            input_channels,
            classes,
            rng,
            |l, op| net.layers[l].op.0 == op,
            |p, i| net.reduced_needed(p, i),
        )?;
        Ok(EnasNet {
            net: net.clone(),
            body,
        })
    }

    pub fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        self.body.forward(g, b, x, &self.net.layers, train)
    }

    pub fn parameters(&self) -> Vec<&Parameter> {
        self.body.parameters()
    }

    pub fn norms(&self) -> Vec<&BatchNorm2d> {
        self.body.norms()
    }
}
