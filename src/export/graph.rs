//! A network lowered to a flat list of inference ops, the form every exporter reads. Each
//! search space lowers its networks to these ops (`lower_nasrl` for the NAS-RL conv stacks,
//! `lower_cells::lower_nb201` for NAS-Bench-201 cell networks);
//! each exporter writes each op with one function, so a new op is one variant here plus one
//! function per exporter.
//!
//! Value 0 is the input image; node `k` produces value `k + 1`. Shapes are per image
//! (`[C, H, W]`, or `[features]` after pooling); the batch dimension is free.

use crate::nn::arch::Architecture;
use crate::nn::layers::batchnorm::DEFAULT_BATCH_NORM;
use crate::nn::meta::Normalization;

/// One inference op.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `x * scale[c] + bias[c]`: raw pixels to the network's normalised input.
    Normalize {
        scale: Vec<f32>,
        bias: Vec<f32>,
    },
    /// 2-D convolution without bias; weight `[cout, cin / groups, kh, kw]`, explicit zero
    /// padding `[top, left, bottom, right]` (nasgpu's "same" rule, resolved for the input size).
    Conv {
        weight: String,
        cin: usize,
        cout: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
        groups: usize,
        pads: [usize; 4],
    },
    /// Batch norm with running statistics: tensors `{prefix}.gamma`, `.beta`, `.running_mean`,
    /// `.running_var`.
    BatchNorm {
        prefix: String,
        channels: usize,
        eps: f32,
    },
    Relu,
    /// Each input zero-padded by `pads[i]` (`[top, left, bottom, right]`) to a common size, then
    /// concatenated along channels (NAS-RL skip connections: centred, offsets floored).
    ConcatPadded {
        pads: Vec<[usize; 4]>,
    },
    /// Mean over H and W: `[C, H, W]` to `[C]`.
    GlobalAvgPool,
    /// Average pooling with explicit zero padding `[top, left, bottom, right]`; each window
    /// divides by its count of real (non-padding) pixels, as nasgpu's kernel does.
    AvgPool {
        kernel: [usize; 2],
        stride: [usize; 2],
        pads: [usize; 4],
    },
    /// Max pooling with explicit padding `[top, left, bottom, right]` that never wins a window
    /// (the max of the real pixels, as nasgpu's kernel takes it).
    MaxPool {
        kernel: [usize; 2],
        stride: [usize; 2],
        pads: [usize; 4],
    },
    /// The first `top` rows and `left` columns dropped (the shifted grid of a factorized
    /// reduction).
    Crop {
        top: usize,
        left: usize,
    },
    /// Element-wise sum of two or more same-shaped values.
    Sum,
    /// Zeros of the input's shape, computed as `x * 0` (the published NAS-Bench-201 `Zero` op,
    /// which also carries a NaN through).
    Zero,
    /// `x · W + b` with `{prefix}.weight` stored `[inputs, outputs]` and `{prefix}.bias`.
    Linear {
        prefix: String,
        inputs: usize,
        outputs: usize,
    },
}

/// One op applied to earlier values.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Readable name, e.g. `layer3.conv` (unique within the graph).
    pub name: String,
    pub op: Op,
    /// Value ids read (0 = the input image).
    pub inputs: Vec<usize>,
    /// Per-image shape of the output.
    pub shape: Vec<usize>,
}

/// A lowered network.
#[derive(Debug, Clone, PartialEq)]
pub struct Lowered {
    /// `[C, H, W]` of the input image.
    pub input: [usize; 3],
    pub nodes: Vec<Node>,
    /// Whether the input is raw pixels (a `Normalize` node follows) or already normalised.
    pub raw_pixels: bool,
}

impl Lowered {
    /// The value id of the last node: the logits.
    pub fn output(&self) -> usize {
        self.nodes.len()
    }

    /// Per-image shape of value `v`.
    pub fn shape(&self, v: usize) -> Vec<usize> {
        if v == 0 {
            self.input.to_vec()
        } else {
            self.nodes[v - 1].shape.clone()
        }
    }

    /// Every tensor the graph reads from the weights file, with its shape.
    pub fn tensors(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        for n in &self.nodes {
            match &n.op {
                Op::Conv {
                    weight,
                    cin,
                    cout,
                    kernel,
                    groups,
                    ..
                } => out.push((
                    weight.clone(),
                    vec![*cout, cin / groups, kernel[0], kernel[1]],
                )),
                Op::BatchNorm {
                    prefix, channels, ..
                } => {
                    for t in ["gamma", "beta", "running_mean", "running_var"] {
                        out.push((format!("{prefix}.{t}"), vec![*channels]));
                    }
                }
                Op::Linear {
                    prefix,
                    inputs,
                    outputs,
                } => {
                    out.push((format!("{prefix}.weight"), vec![*inputs, *outputs]));
                    out.push((format!("{prefix}.bias"), vec![*outputs]));
                }
                Op::Normalize { .. }
                | Op::Relu
                | Op::ConcatPadded { .. }
                | Op::GlobalAvgPool
                | Op::AvgPool { .. }
                | Op::MaxPool { .. }
                | Op::Crop { .. }
                | Op::Sum
                | Op::Zero => {}
            }
        }
        out
    }

    /// An empty graph for images of `input`, and the value the network reads: the input
    /// itself, or with `norm` a `Normalize` node on raw pixels.
    pub(super) fn start(input: [usize; 3], norm: Option<&Normalization>) -> (Lowered, usize) {
        let mut g = Lowered {
            input,
            nodes: Vec::new(),
            raw_pixels: norm.is_some(),
        };
        let image = match norm {
            Some(n) => {
                let (scale, bias) = n.scale_bias();
                g.push(
                    "input.normalize".into(),
                    Op::Normalize { scale, bias },
                    vec![0],
                    input.to_vec(),
                )
            }
            None => 0,
        };
        (g, image)
    }

    /// Appends a node; returns its value id.
    pub(super) fn push(
        &mut self,
        name: String,
        op: Op,
        inputs: Vec<usize>,
        shape: Vec<usize>,
    ) -> usize {
        self.nodes.push(Node {
            name,
            op,
            inputs,
            shape,
        });
        self.nodes.len()
    }

    /// Concatenates `values` (all `[C, H, W]`) with centred zero padding; one value passes
    /// through unchanged, as in `autograd::ops::concat_padded`.
    fn concat_padded(&mut self, name: String, values: &[usize]) -> usize {
        if let [single] = values {
            return *single;
        }
        let shapes: Vec<Vec<usize>> = values.iter().map(|&v| self.shape(v)).collect();
        let h = shapes.iter().map(|s| s[1]).max().unwrap_or(0);
        let w = shapes.iter().map(|s| s[2]).max().unwrap_or(0);
        let c = shapes.iter().map(|s| s[0]).sum();
        let pads = shapes
            .iter()
            .map(|s| {
                let (top, left) = ((h - s[1]) / 2, (w - s[2]) / 2);
                [top, left, h - s[1] - top, w - s[2] - left]
            })
            .collect();
        self.push(
            name,
            Op::ConcatPadded { pads },
            values.to_vec(),
            vec![c, h, w],
        )
    }
}

/// "Same" padding `[before, after]` of one side (TensorFlow's rule, as the conv kernels use).
pub fn same_padding(input: usize, kernel: usize, stride: usize, dilation: usize) -> [usize; 2] {
    let out = input.div_ceil(stride);
    let span = (kernel - 1) * dilation + 1;
    let total = ((out - 1) * stride + span).saturating_sub(input);
    [total / 2, total - total / 2]
}

/// Lowers a NAS-RL conv stack: per layer `concat_padded(inputs) -> conv -> bn -> relu`, the
/// dangling layers concatenated, global average pooling, the classifier. With `norm`, the
/// graph starts from raw pixels.
pub fn lower_nasrl(arch: &Architecture, norm: Option<&Normalization>) -> Lowered {
    let (mut g, image) = Lowered::start(arch.input, norm);
    let mut outputs = Vec::with_capacity(arch.layers.len());
    for (i, layer) in arch.layers.iter().enumerate() {
        let x = if layer.inputs.is_empty() {
            image
        } else {
            let values: Vec<usize> = layer.inputs.iter().map(|&j| outputs[j]).collect();
            g.concat_padded(format!("layer{i}.concat"), &values)
        };
        let s = g.shape(x);
        let (kernel, stride) = ([layer.filter_height, layer.filter_width], layer.stride);
        let [top, bottom] = same_padding(s[1], kernel[0], stride, 1);
        let [left, right] = same_padding(s[2], kernel[1], stride, 1);
        let out = vec![layer.filters, s[1].div_ceil(stride), s[2].div_ceil(stride)];
        let conv = g.push(
            format!("layer{i}.conv"),
            Op::Conv {
                weight: format!("layer{i}.conv.weight"),
                cin: s[0],
                cout: layer.filters,
                kernel,
                stride: [stride; 2],
                dilation: [1, 1],
                groups: 1,
                pads: [top, left, bottom, right],
            },
            vec![x],
            out.clone(),
        );
        let bn = g.push(
            format!("layer{i}.bn"),
            Op::BatchNorm {
                prefix: format!("layer{i}.bn"),
                channels: layer.filters,
                eps: DEFAULT_BATCH_NORM.eps,
            },
            vec![conv],
            out.clone(),
        );
        outputs.push(g.push(format!("layer{i}.relu"), Op::Relu, vec![bn], out));
    }
    let finals: Vec<usize> = arch.output_layers().iter().map(|&i| outputs[i]).collect();
    let features = g.concat_padded("features.concat".into(), &finals);
    let c = g.shape(features)[0];
    let pooled = g.push("pool".into(), Op::GlobalAvgPool, vec![features], vec![c]);
    g.push(
        "classifier".into(),
        Op::Linear {
            prefix: "classifier".into(),
            inputs: c,
            outputs: arch.classes,
        },
        vec![pooled],
        vec![arch.classes],
    );
    g
}
