//! The ENAS macro network (Pham et al. 2018, "macro search space") as the architecture file
//! describes it: a 3x3 conv stem (conv + BN) to C channels, then L layers in a chain, each one
//! of six operations on the previous layer's output, summed with the outputs of the earlier
//! layers it skips from, then batch norm; after layers d and 2d, d = floor(L/3) (as the released code
//! places its pooling layers) the channels double and every earlier output still needed is
//! brought to the new size by a factorized reduction; then global average pooling and a linear
//! classifier.
//!
//! Its canonical string lists the layers joined by `|`, each its operation followed by `+i`
//! for every earlier layer i it skips from: `conv_3x3|sep_conv_5x5+0|max_pool_3x3+0+1`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Operation of one layer, each as the released code's branches build it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnasOp {
    /// conv1x1-BN-ReLU, then kxk conv-BN-ReLU.
    Conv3x3,
    Conv5x5,
    /// conv1x1-BN-ReLU, then depthwise kxk + pointwise conv-BN-ReLU.
    SepConv3x3,
    SepConv5x5,
    /// conv1x1-BN-ReLU, then 3x3 pooling, stride 1, "same" padding (the average over the real
    /// pixels, as TensorFlow's `SAME`).
    MaxPool3x3,
    AvgPool3x3,
}

impl EnasOp {
    /// Every operation, in the released code's order (the index is the choice id).
    pub const ALL: [EnasOp; 6] = [
        EnasOp::Conv3x3,
        EnasOp::Conv5x5,
        EnasOp::SepConv3x3,
        EnasOp::SepConv5x5,
        EnasOp::MaxPool3x3,
        EnasOp::AvgPool3x3,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EnasOp::Conv3x3 => "conv_3x3",
            EnasOp::Conv5x5 => "conv_5x5",
            EnasOp::SepConv3x3 => "sep_conv_3x3",
            EnasOp::SepConv5x5 => "sep_conv_5x5",
            EnasOp::MaxPool3x3 => "max_pool_3x3",
            EnasOp::AvgPool3x3 => "avg_pool_3x3",
        }
    }

    pub fn from_name(name: &str) -> Option<EnasOp> {
        EnasOp::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Choice id of this operation (its position in `ALL`).
    pub fn id(self) -> usize {
        EnasOp::ALL.iter().position(|&o| o == self).expect("listed")
    }

    /// Filter side of the conv after the 1x1 (None for the pools).
    pub fn kernel(self) -> Option<usize> {
        match self {
            EnasOp::Conv3x3 | EnasOp::SepConv3x3 => Some(3),
            EnasOp::Conv5x5 | EnasOp::SepConv5x5 => Some(5),
            EnasOp::MaxPool3x3 | EnasOp::AvgPool3x3 => None,
        }
    }

    pub fn separable(self) -> bool {
        matches!(self, EnasOp::SepConv3x3 | EnasOp::SepConv5x5)
    }

    /// Trainable parameters of the operation at `c` channels: the 1x1 conv and its BN, then the
    /// conv (dense, or depthwise + pointwise) and its BN.
    fn parameters(self, c: usize) -> usize {
        let inp = c * c + 2 * c;
        inp + match self.kernel() {
            None => 0,
            Some(k) if self.separable() => k * k * c + c * c + 2 * c,
            Some(k) => k * k * c * c + 2 * c,
        }
    }

    /// Multiply-adds per output pixel at `c` channels.
    fn macs_per_pixel(self, c: usize) -> usize {
        c * c
            + match self.kernel() {
                None => 0,
                Some(k) if self.separable() => k * k * c + c * c,
                Some(k) => k * k * c * c,
            }
    }
}

/// One layer: its operation and the earlier layers whose outputs are added to its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnasLayer {
    pub op: EnasOpName,
    /// Earlier layers skipped from, ascending.
    #[serde(default)]
    pub skips: Vec<usize>,
}

/// An operation as the file spells it (its published name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnasOpName(pub EnasOp);

impl Serialize for EnasOpName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for EnasOpName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<EnasOpName, D::Error> {
        let s = String::deserialize(d)?;
        EnasOp::from_name(&s)
            .map(EnasOpName)
            .ok_or_else(|| serde::de::Error::custom(unknown_op(&s)))
    }
}

fn unknown_op(name: &str) -> String {
    let names: Vec<&str> = EnasOp::ALL.iter().map(|o| o.name()).collect();
    format!(
        "unknown operation '{name}' (expected one of {})",
        names.join(", ")
    )
}

/// The layers of an ENAS macro network, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnasLayers(pub Vec<EnasLayer>);

impl EnasLayers {
    /// Checks that every skip names an earlier layer, once, in ascending order.
    pub fn check(&self) -> Result<(), String> {
        if self.0.is_empty() {
            return Err("no layers (need at least one)".into());
        }
        for (l, layer) in self.0.iter().enumerate() {
            for pair in layer.skips.windows(2) {
                if pair[0] >= pair[1] {
                    return Err(format!(
                        "layer {l}: skips {:?} are not ascending and distinct",
                        layer.skips
                    ));
                }
            }
            if let Some(&i) = layer.skips.iter().find(|&&i| i >= l) {
                return Err(format!(
                    "layer {l}: skip from {i} is not an earlier layer (layer {l} may skip from 0..{l})"
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for EnasLayers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (l, layer) in self.0.iter().enumerate() {
            if l > 0 {
                write!(f, "|")?;
            }
            write!(f, "{}", layer.op.0.name())?;
            for i in &layer.skips {
                write!(f, "+{i}")?;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for EnasLayers {
    type Err = String;

    /// Parses the canonical string; errors name the layer that is wrong.
    fn from_str(s: &str) -> Result<EnasLayers, String> {
        let mut layers = Vec::new();
        for (l, part) in s.split('|').enumerate() {
            let mut pieces = part.split('+');
            let name = pieces.next().unwrap_or_default();
            let op = EnasOp::from_name(name)
                .ok_or_else(|| format!("'{s}': layer {l}: {}", unknown_op(name)))?;
            let skips = pieces
                .map(|i| {
                    i.parse::<usize>()
                        .map_err(|_| format!("'{s}': layer {l}: skip '+{i}' is not +<layer index>"))
                })
                .collect::<Result<Vec<usize>, String>>()?;
            layers.push(EnasLayer {
                op: EnasOpName(op),
                skips,
            });
        }
        let layers = EnasLayers(layers);
        layers.check().map_err(|e| format!("'{s}': {e}"))?;
        Ok(layers)
    }
}

/// A whole ENAS macro network.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnasMacroNetwork {
    pub layers: Vec<EnasLayer>,
    /// C, channels of the first stage (doubled at each reduction).
    pub channels: usize,
}

/// `EnasMacroNetwork::reduced_needed` for `layers`, without a network around them.
pub fn reduced_needed(layers: &[EnasLayer], p: usize, i: usize) -> bool {
    i == p || layers[p + 1..].iter().any(|l| l.skips.contains(&i))
}

/// Where the network is reduced and how wide each layer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnasShape {
    /// The layers after which the network reduces: d - 1 and 2d - 1 for d = floor(L/3), as
    /// the released code's `pool_layers` (none for L < 3).
    pub reduce_after: Vec<usize>,
    /// Channels of each layer's output.
    pub channels: Vec<usize>,
}

impl EnasMacroNetwork {
    pub fn layers(&self) -> EnasLayers {
        EnasLayers(self.layers.clone())
    }

    /// The reductions and the width of every layer, for `L` layers at C channels.
    pub fn shape_of(layers: usize, channels: usize) -> EnasShape {
        let distance = layers / 3;
        let reduce_after: Vec<usize> = if distance == 0 {
            Vec::new()
        } else {
            vec![distance - 1, 2 * distance - 1]
        };
        let mut c = channels;
        let mut widths = Vec::with_capacity(layers);
        for l in 0..layers {
            widths.push(c);
            if reduce_after.contains(&l) {
                c *= 2;
            }
        }
        EnasShape {
            reduce_after,
            channels: widths,
        }
    }

    pub fn shape(&self) -> EnasShape {
        Self::shape_of(self.layers.len(), self.channels)
    }

    /// Whether the output of layer `i` is still needed, at the new size, after the reduction
    /// following layer `p`: it is the next layer's input, or a later layer skips from it.
    pub fn reduced_needed(&self, p: usize, i: usize) -> bool {
        reduced_needed(&self.layers, p, i)
    }

    /// Height and width of the stages for an image of `hw`: each reduction halves, rounding up.
    fn stage_sizes(&self, hw: [usize; 2]) -> Vec<[usize; 2]> {
        let mut sizes = vec![hw];
        for _ in &self.shape().reduce_after {
            let last = *sizes.last().expect("one");
            sizes.push(last.map(|d| d.div_ceil(2)));
        }
        sizes
    }

    /// Trainable parameters of the built network for `input_channels` image channels and
    /// `classes` classes: the stem, every layer's operation and batch norm, the factorized
    /// reductions that are used, and the classifier.
    pub fn parameter_count(&self, input_channels: usize, classes: usize) -> usize {
        let shape = self.shape();
        let stem = 9 * input_channels * self.channels + 2 * self.channels;
        let layers: usize = self
            .layers
            .iter()
            .zip(&shape.channels)
            .map(|(l, &c)| l.op.0.parameters(c) + 2 * c)
            .sum();
        let reductions: usize = shape
            .reduce_after
            .iter()
            .map(|&p| {
                let c = shape.channels[p];
                let used = (0..=p).filter(|&i| self.reduced_needed(p, i)).count();
                used * (c * 2 * c + 2 * 2 * c)
            })
            .sum();
        let last = 2usize.pow(shape.reduce_after.len() as u32) * self.channels;
        stem + layers + reductions + last * classes + classes
    }

    /// Parameters of the supernet of this network's shape (`supernet/enas.rs`): every
    /// operation in every layer, every factorized reduction.
    pub fn supernet_parameter_count(&self, input_channels: usize, classes: usize) -> usize {
        let shape = self.shape();
        let all_skips = EnasMacroNetwork {
            layers: (0..self.layers.len())
                .map(|l| EnasLayer {
                    op: EnasOpName(EnasOp::Conv3x3),
                    skips: (0..l).collect(),
                })
                .collect(),
            channels: self.channels,
        };
        let others: usize = shape
            .channels
            .iter()
            .map(|&c| {
                EnasOp::ALL[1..]
                    .iter()
                    .map(|op| op.parameters(c))
                    .sum::<usize>()
            })
            .sum();
        all_skips.parameter_count(input_channels, classes) + others
    }

    /// Multiply-add FLOPs (2 per MAC) of the convolutions and the classifier for one image of
    /// shape `input` `[channels, height, width]`.
    pub fn forward_flops(&self, input: [usize; 3], classes: usize) -> f64 {
        let shape = self.shape();
        let sizes = self.stage_sizes([input[1], input[2]]);
        let pixels = |s: [usize; 2]| (s[0] * s[1]) as f64;
        let stage_of = |l: usize| shape.reduce_after.iter().filter(|&&p| p < l).count();
        let stem = pixels(sizes[0]) * (9 * input[0] * self.channels) as f64;
        let layers: f64 = self
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                pixels(sizes[stage_of(l)]) * layer.op.0.macs_per_pixel(shape.channels[l]) as f64
            })
            .sum();
        let reductions: f64 = shape
            .reduce_after
            .iter()
            .enumerate()
            .map(|(r, &p)| {
                let c = shape.channels[p];
                let used = (0..=p).filter(|&i| self.reduced_needed(p, i)).count();
                used as f64 * pixels(sizes[r + 1]) * (c * 2 * c) as f64
            })
            .sum();
        let last = 2usize.pow(shape.reduce_after.len() as u32) * self.channels;
        2.0 * (stem + layers + reductions + (last * classes) as f64)
    }
}
