//! Lowering of a NAS-Bench-201 cell network (`nn::cell_net`) to inference ops, op for op as
//! `CellNet::forward` records it: stem conv + BN; three stages of cells joined by residual
//! reduction blocks; BN, ReLU, global average pooling, the classifier. Node and tensor names
//! are the network's parameter names (`stage2.cell0.edge_0_1.conv.weight`, ...).

use super::graph::{Lowered, Op, same_padding};
use crate::nn::layers::batchnorm::DEFAULT_BATCH_NORM;
use crate::nn::meta::Normalization;
use crate::nn::nb201::{NB201_EDGES, Nb201Network, Nb201Op};

/// Adds ops to a graph under construction; every op keeps the value's shape unless it says.
/// (Also the DARTS lowering's, `lower_darts.rs`.)
pub(super) struct Builder {
    pub(super) g: Lowered,
}

impl Builder {
    pub(super) fn push(
        &mut self,
        name: String,
        op: Op,
        inputs: Vec<usize>,
        shape: Vec<usize>,
    ) -> usize {
        self.g.push(name, op, inputs, shape)
    }

    /// A conv without bias, "same" padded, from `x` to `cout` channels.
    pub(super) fn conv(
        &mut self,
        name: &str,
        x: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
    ) -> usize {
        self.grouped_conv(name, x, cout, kernel, stride, 1, 1)
    }

    /// A conv without bias of `groups` channel groups and `dilation`, "same" padded for its
    /// effective filter.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn grouped_conv(
        &mut self,
        name: &str,
        x: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        groups: usize,
    ) -> usize {
        let s = self.g.shape(x);
        let [top, bottom] = same_padding(s[1], kernel, stride, dilation);
        let [left, right] = same_padding(s[2], kernel, stride, dilation);
        self.push(
            name.to_string(),
            Op::Conv {
                weight: format!("{name}.weight"),
                cin: s[0],
                cout,
                kernel: [kernel; 2],
                stride: [stride; 2],
                dilation: [dilation; 2],
                groups,
                pads: [top, left, bottom, right],
            },
            vec![x],
            vec![cout, s[1].div_ceil(stride), s[2].div_ceil(stride)],
        )
    }

    pub(super) fn batch_norm(&mut self, name: &str, x: usize) -> usize {
        let shape = self.g.shape(x);
        self.push(
            name.to_string(),
            Op::BatchNorm {
                prefix: name.to_string(),
                channels: shape[0],
                eps: DEFAULT_BATCH_NORM.eps,
            },
            vec![x],
            shape,
        )
    }

    pub(super) fn relu(&mut self, name: String, x: usize) -> usize {
        let shape = self.g.shape(x);
        self.push(name, Op::Relu, vec![x], shape)
    }

    /// The published `ReLUConvBN`: parameters `{name}.conv` and `{name}.bn`.
    pub(super) fn relu_conv_bn(
        &mut self,
        name: &str,
        x: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
    ) -> usize {
        let r = self.relu(format!("{name}.relu"), x);
        let c = self.conv(&format!("{name}.conv"), r, cout, kernel, stride);
        self.batch_norm(&format!("{name}.bn"), c)
    }

    /// Average pooling "same" padded, dividing by the real pixels of each window.
    pub(super) fn avg_pool(
        &mut self,
        name: String,
        x: usize,
        kernel: usize,
        stride: usize,
    ) -> usize {
        let s = self.g.shape(x);
        let [top, bottom] = same_padding(s[1], kernel, stride, 1);
        let [left, right] = same_padding(s[2], kernel, stride, 1);
        self.push(
            name,
            Op::AvgPool {
                kernel: [kernel; 2],
                stride: [stride; 2],
                pads: [top, left, bottom, right],
            },
            vec![x],
            vec![s[0], s[1].div_ceil(stride), s[2].div_ceil(stride)],
        )
    }

    /// Global average pooling of `x` and the linear classifier to `classes`: the graph.
    pub(super) fn head(mut self, x: usize, classes: usize) -> Lowered {
        let c = self.g.shape(x)[0];
        let pooled = self.push("pool".into(), Op::GlobalAvgPool, vec![x], vec![c]);
        self.push(
            "classifier".into(),
            Op::Linear {
                prefix: "classifier".into(),
                inputs: c,
                outputs: classes,
            },
            vec![pooled],
            vec![classes],
        );
        self.g
    }

    /// `values` summed in order (one value passes through).
    pub(super) fn sum(&mut self, name: String, values: Vec<usize>) -> usize {
        if let [single] = values[..] {
            return single;
        }
        let shape = self.g.shape(values[0]);
        self.push(name, Op::Sum, values, shape)
    }

    /// One cell: node j sums op_(i,j)(node i) over its non-`none` edges; zeros if it has none.
    fn cell(&mut self, name: &str, net: &Nb201Network, x: usize) -> usize {
        let channels = self.g.shape(x)[0];
        let mut nodes = vec![x];
        for node in 1..4 {
            let mut terms = Vec::new();
            for (&op, &(from, to)) in net.genotype.0.iter().zip(&NB201_EDGES) {
                if to != node {
                    continue;
                }
                let edge = format!("{name}.edge_{from}_{to}");
                let input = nodes[from];
                match op {
                    Nb201Op::None => {}
                    Nb201Op::SkipConnect => terms.push(input),
                    Nb201Op::NorConv1x1 => {
                        terms.push(self.relu_conv_bn(&edge, input, channels, 1, 1))
                    }
                    Nb201Op::NorConv3x3 => {
                        terms.push(self.relu_conv_bn(&edge, input, channels, 3, 1))
                    }
                    Nb201Op::AvgPool3x3 => {
                        terms.push(self.avg_pool(format!("{edge}.pool"), input, 3, 1))
                    }
                }
            }
            let value = if terms.is_empty() {
                let shape = self.g.shape(x);
                self.push(format!("{name}.node{node}.zero"), Op::Zero, vec![x], shape)
            } else {
                self.sum(format!("{name}.node{node}"), terms)
            };
            nodes.push(value);
        }
        nodes[3]
    }

    /// The residual reduction block: ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, plus 2x2 average
    /// pooling (stride 2) and a 1x1 conv on the shortcut.
    fn reduction(&mut self, name: &str, x: usize, cout: usize) -> usize {
        let a = self.relu_conv_bn(&format!("{name}.conv_a"), x, cout, 3, 2);
        let b = self.relu_conv_bn(&format!("{name}.conv_b"), a, cout, 3, 1);
        let pooled = self.avg_pool(format!("{name}.shortcut.pool"), x, 2, 2);
        let residual = self.conv(&format!("{name}.shortcut.conv"), pooled, cout, 1, 1);
        self.sum(format!("{name}.add"), vec![residual, b])
    }
}

/// Lowers `net` for images of `input` and `classes` classes. With `norm`, the graph starts
/// from raw pixels.
pub fn lower_nb201(
    net: &Nb201Network,
    input: [usize; 3],
    classes: usize,
    norm: Option<&Normalization>,
) -> Lowered {
    let (g, image) = Lowered::start(input, norm);
    let mut b = Builder { g };
    let channels = net.stage_channels();
    let stem = b.conv("stem.conv", image, channels[0], 3, 1);
    let mut y = b.batch_norm("stem.bn", stem);
    for (s, &ch) in channels.iter().enumerate() {
        if s > 0 {
            y = b.reduction(&format!("reduce{s}"), y, ch);
        }
        for k in 0..net.cells_per_stage {
            y = b.cell(&format!("stage{}.cell{k}", s + 1), net, y);
        }
    }
    let y = b.batch_norm("head.bn", y);
    let y = b.relu("head.relu".into(), y);
    b.head(y, classes)
}
