//! A NAS-Bench-201 cell network (Dong & Yang 2020, `TinyNetwork` + `InferCell` of the published
//! code): stem 3x3 conv + BN to C; N cells at C; a residual reduction block to 2C; N cells; a
//! reduction to 4C; N cells; BN, ReLU, global average pooling and a linear classifier.
//!
//! In a cell, node 0 is the cell's input and node j the sum over i < j of op_(i,j)(node i);
//! node 3 is its output. `nor_conv_kxk` is ReLU -> conv (stride 1, same padding, no bias) -> BN;
//! `avg_pool_3x3` is stride 1 with padding 1, dividing by the real pixels of each window
//! (`count_include_pad=False`, as published); `skip_connect` is the identity; `none` adds nothing.
//! A node with only `none` inputs is zeros (the published `Zero` op, `x * 0`), so every genotype,
//! disconnected ones included, builds and trains.
//!
//! One difference from the published PyTorch code: the stride-2 3x3 conv of a reduction block uses
//! this engine's TensorFlow "same" padding (for an even input, 0 rows before and 1 after) where
//! PyTorch pads 1 on both sides, so its sampling grid sits one pixel lower-right. Shapes and
//! parameter counts are identical. The shortcut's 2x2 average pooling is "same"-padded too, which
//! equals the published unpadded pooling on even sizes and keeps odd sizes consistent with the
//! conv (ceil(h / 2)).

use std::sync::Arc;

use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::kernels::conv2d::Conv2dSpec;
use crate::kernels::pool::{Pool2dSpec, PoolKind};
use crate::nn::layers::{BatchNorm2d, Conv2d, Linear};
use crate::nn::nb201::{NB201_EDGES, Nb201Network, Nb201Op};
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

/// `avg_pool_3x3` of a cell.
const CELL_POOL: Pool2dSpec = Pool2dSpec {
    kind: PoolKind::Avg,
    kernel: [3, 3],
    stride: [1, 1],
    same_padding: true,
};

/// Pooling of a reduction block's shortcut.
const SHORTCUT_POOL: Pool2dSpec = Pool2dSpec {
    kind: PoolKind::Avg,
    kernel: [2, 2],
    stride: [2, 2],
    same_padding: true,
};

/// ReLU -> conv (no bias) -> BN, the published `ReLUConvBN`.
pub struct ReluConvBn {
    pub conv: Conv2d,
    pub bn: BatchNorm2d,
}

impl ReluConvBn {
    pub(crate) fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        rng: &mut SeededRng,
    ) -> Result<ReluConvBn, DeviceError> {
        let spec = Conv2dSpec {
            kernel: [kernel; 2],
            stride: [stride; 2],
        };
        Ok(ReluConvBn {
            conv: Conv2d::new(gpu, &format!("{name}.conv"), cin, cout, spec, false, rng)?,
            bn: BatchNorm2d::new(gpu, &format!("{name}.bn"), cout)?,
        })
    }

    pub(crate) fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let y = ops::relu(g, x);
        let y = self.conv.forward(g, b, y)?;
        self.bn.forward(g, b, y, train)
    }

    pub(crate) fn parameters(&self) -> Vec<&Parameter> {
        let mut all = self.conv.parameters();
        all.extend(self.bn.parameters());
        all
    }
}

/// The operation on one edge of a built cell.
pub enum Edge {
    None,
    Skip,
    Conv(Box<ReluConvBn>),
    AvgPool,
}

impl Edge {
    /// The edge as the cell's forward pass reads it.
    fn op(&self) -> EdgeOp<'_> {
        match self {
            Edge::None => EdgeOp::None,
            Edge::Skip => EdgeOp::Skip,
            Edge::Conv(op) => EdgeOp::Conv(op),
            Edge::AvgPool => EdgeOp::AvgPool,
        }
    }
}

/// One edge's operation with the parameters it runs on: a built cell's own, those a supernet
/// holds for the sampled operation, or all of a supernet edge's operations mixed (DARTS).
#[derive(Clone, Copy)]
pub(crate) enum EdgeOp<'a> {
    None,
    Skip,
    Conv(&'a ReluConvBn),
    AvgPool,
    /// DARTS's mixed operation (Liu et al. 2019): every operation of `Nb201Op::ALL` on these
    /// weights, summed with coefficients softmax(`alpha`), alpha `[5]` in that order; with
    /// `aux_skip` (DARTS-, Chu et al. 2021) plus `beta * x`, the input tensor `[2]` holding
    /// the logits of (beta, 1 - beta).
    Mixed {
        conv1x1: &'a ReluConvBn,
        conv3x3: &'a ReluConvBn,
        alpha: Value,
        aux_skip: Option<Value>,
    },
}

impl<'a> EdgeOp<'a> {
    /// The edge running `op`, with the weights of a supernet edge for the convs.
    pub(crate) fn single(
        op: Nb201Op,
        conv1x1: &'a ReluConvBn,
        conv3x3: &'a ReluConvBn,
    ) -> EdgeOp<'a> {
        match op {
            Nb201Op::None => EdgeOp::None,
            Nb201Op::SkipConnect => EdgeOp::Skip,
            Nb201Op::NorConv1x1 => EdgeOp::Conv(conv1x1),
            Nb201Op::NorConv3x3 => EdgeOp::Conv(conv3x3),
            Nb201Op::AvgPool3x3 => EdgeOp::AvgPool,
        }
    }

    /// Records the edge applied to `x`; `None` contributes nothing.
    fn forward(
        self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Option<Value>, AutogradError> {
        Ok(match self {
            EdgeOp::None => None,
            EdgeOp::Skip => Some(x),
            EdgeOp::Conv(op) => Some(op.forward(g, b, x, train)?),
            EdgeOp::AvgPool => Some(ops::pool2d(g, x, CELL_POOL)?),
            EdgeOp::Mixed {
                conv1x1,
                conv3x3,
                alpha,
                aux_skip,
            } => {
                let mut outs = Vec::with_capacity(Nb201Op::ALL.len());
                for op in Nb201Op::ALL {
                    let edge = EdgeOp::single(op, conv1x1, conv3x3);
                    outs.push(edge.forward(g, b, x, train)?);
                }
                let mixed = ops::softmax_weighted_sum(g, &outs, alpha)?;
                Some(match aux_skip {
                    None => mixed,
                    Some(beta) => {
                        // softmax(ln beta, ln(1 - beta))[0] * x = beta * x, through the same
                        // kernel, with beta read on the device (one plan serves the schedule).
                        let skip = ops::softmax_weighted_sum(g, &[Some(x), None], beta)?;
                        ops::add(g, mixed, skip)?
                    }
                })
            }
        })
    }
}

/// Records a cell whose edges (in `NB201_EDGES` order) are `edges` on input `x`: node j is the
/// sum, in edge order, of its incoming edges; a node with only `none` inputs is zeros of the
/// input's shape, as the published `Zero` op (x * 0).
pub(crate) fn cell_forward(
    g: &mut Graph,
    b: &mut Binder,
    x: Value,
    train: bool,
    edges: &[EdgeOp<'_>; 6],
) -> Result<Value, AutogradError> {
    let mut nodes = vec![x];
    for node in 1..4 {
        let mut sum: Option<Value> = None;
        for (edge, &(from, to)) in edges.iter().zip(&NB201_EDGES) {
            if to != node {
                continue;
            }
            if let Some(y) = edge.forward(g, b, nodes[from], train)? {
                sum = Some(match sum {
                    None => y,
                    Some(s) => ops::add(g, s, y)?,
                });
            }
        }
        nodes.push(match sum {
            Some(s) => s,
            None => ops::scale(g, x, 0.0),
        });
    }
    Ok(nodes[3])
}

/// One cell: its 6 edges in `NB201_EDGES` order.
pub struct Cell {
    pub edges: Vec<Edge>,
}

impl Cell {
    fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        net: &Nb201Network,
        channels: usize,
        rng: &mut SeededRng,
    ) -> Result<Cell, DeviceError> {
        let mut edges = Vec::with_capacity(NB201_EDGES.len());
        for (&op, &(from, to)) in net.genotype.0.iter().zip(&NB201_EDGES) {
            let edge_name = format!("{name}.edge_{from}_{to}");
            edges.push(match op {
                Nb201Op::None => Edge::None,
                Nb201Op::SkipConnect => Edge::Skip,
                Nb201Op::AvgPool3x3 => Edge::AvgPool,
                Nb201Op::NorConv1x1 | Nb201Op::NorConv3x3 => {
                    let k = if op == Nb201Op::NorConv1x1 { 1 } else { 3 };
                    let conv = ReluConvBn::new(gpu, &edge_name, channels, channels, k, 1, rng)?;
                    Edge::Conv(Box::new(conv))
                }
            });
        }
        Ok(Cell { edges })
    }

    fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let edges: [EdgeOp<'_>; 6] = std::array::from_fn(|k| self.edges[k].op());
        cell_forward(g, b, x, train, &edges)
    }

    fn parameters(&self) -> Vec<&Parameter> {
        self.convs().flat_map(|op| op.parameters()).collect()
    }

    fn convs(&self) -> impl Iterator<Item = &ReluConvBn> {
        self.edges.iter().filter_map(|e| match e {
            Edge::Conv(op) => Some(op.as_ref()),
            _ => None,
        })
    }
}

/// The residual reduction block (the published `ResNetBasicblock`, stride 2): ReLU-conv3x3
/// stride 2-BN then ReLU-conv3x3-BN, plus a shortcut of 2x2 average pooling (stride 2) and a
/// 1x1 conv without BN.
pub struct Reduction {
    pub conv_a: ReluConvBn,
    pub conv_b: ReluConvBn,
    pub shortcut: Conv2d,
}

impl Reduction {
    fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        cin: usize,
        cout: usize,
        rng: &mut SeededRng,
    ) -> Result<Reduction, DeviceError> {
        let one = Conv2dSpec {
            kernel: [1, 1],
            stride: [1, 1],
        };
        Ok(Reduction {
            conv_a: ReluConvBn::new(gpu, &format!("{name}.conv_a"), cin, cout, 3, 2, rng)?,
            conv_b: ReluConvBn::new(gpu, &format!("{name}.conv_b"), cout, cout, 3, 1, rng)?,
            shortcut: Conv2d::new(
                gpu,
                &format!("{name}.shortcut.conv"),
                cin,
                cout,
                one,
                false,
                rng,
            )?,
        })
    }

    fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let y = self.conv_a.forward(g, b, x, train)?;
        let y = self.conv_b.forward(g, b, y, train)?;
        let pooled = ops::pool2d(g, x, SHORTCUT_POOL)?;
        let residual = self.shortcut.forward(g, b, pooled)?;
        ops::add(g, residual, y)
    }

    fn parameters(&self) -> Vec<&Parameter> {
        let mut all = self.conv_a.parameters();
        all.extend(self.conv_b.parameters());
        all.extend(self.shortcut.parameters());
        all
    }
}

/// What every NAS-Bench-201 network holds around its cells: the stem (conv + BN), the two
/// reduction blocks, the head BN and the classifier. Parameter names: `stem.conv`, `stem.bn`,
/// `reduce{1,2}.conv_a|conv_b.conv|.bn`, `reduce{1,2}.shortcut.conv`, `head.bn`, `classifier`
/// (each with `.weight`, `.gamma`, ... as its layer names them).
pub struct Skeleton {
    pub stem_conv: Conv2d,
    pub stem_bn: BatchNorm2d,
    /// The two reduction blocks, after stages 1 and 2.
    pub reductions: Vec<Reduction>,
    pub head_bn: BatchNorm2d,
    pub classifier: Linear,
}

/// The cells of three stages, N each.
pub type Stages<C> = Vec<Vec<C>>;

impl Skeleton {
    /// Fresh parameters for the skeleton of `net` and its cells, made by `make_cell(name,
    /// channels, rng)` (named `stage{1..3}.cell{k}`), all drawn from `rng` in network order.
    pub(crate) fn build<C>(
        gpu: &Arc<Gpu>,
        net: &Nb201Network,
        input_channels: usize,
        classes: usize,
        rng: &mut SeededRng,
        mut make_cell: impl FnMut(&str, usize, &mut SeededRng) -> Result<C, DeviceError>,
    ) -> Result<(Skeleton, Stages<C>), DeviceError> {
        let c = net.stage_channels();
        let stem_spec = Conv2dSpec {
            kernel: [3, 3],
            stride: [1, 1],
        };
        let stem_conv = Conv2d::new(
            gpu,
            "stem.conv",
            input_channels,
            c[0],
            stem_spec,
            false,
            rng,
        )?;
        let stem_bn = BatchNorm2d::new(gpu, "stem.bn", c[0])?;
        let mut stages = Vec::with_capacity(3);
        let mut reductions = Vec::with_capacity(2);
        for (s, &ch) in c.iter().enumerate() {
            if s > 0 {
                reductions.push(Reduction::new(
                    gpu,
                    &format!("reduce{s}"),
                    c[s - 1],
                    ch,
                    rng,
                )?);
            }
            let mut cells = Vec::with_capacity(net.cells_per_stage);
            for k in 0..net.cells_per_stage {
                cells.push(make_cell(&format!("stage{}.cell{k}", s + 1), ch, rng)?);
            }
            stages.push(cells);
        }
        let head_bn = BatchNorm2d::new(gpu, "head.bn", c[2])?;
        let classifier = Linear::classifier(gpu, c[2], classes, rng)?;
        let skeleton = Skeleton {
            stem_conv,
            stem_bn,
            reductions,
            head_bn,
            classifier,
        };
        Ok((skeleton, stages))
    }

    /// Records the forward pass of images `x` `[N, C, H, W]` through the skeleton, each cell
    /// recorded by `cell(cell, g, b, input)`, and returns logits `[N, classes]`.
    pub(crate) fn forward<C>(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
        stages: &[Vec<C>],
        mut cell: impl FnMut(&C, &mut Graph, &mut Binder, Value) -> Result<Value, AutogradError>,
    ) -> Result<Value, AutogradError> {
        let y = self.stem_conv.forward(g, b, x)?;
        let mut y = self.stem_bn.forward(g, b, y, train)?;
        for (s, cells) in stages.iter().enumerate() {
            if s > 0 {
                y = self.reductions[s - 1].forward(g, b, y, train)?;
            }
            for c in cells {
                y = cell(c, g, b, y)?;
            }
        }
        let y = self.head_bn.forward(g, b, y, train)?;
        let y = ops::relu(g, y);
        let pooled = ops::global_avg_pool(g, y)?;
        self.classifier.forward(g, b, pooled)
    }

    /// Every trainable parameter in network order, each cell's from `cell`.
    pub(crate) fn parameters<'a, C>(
        &'a self,
        stages: &'a [Vec<C>],
        cell: impl Fn(&'a C) -> Vec<&'a Parameter>,
    ) -> Vec<&'a Parameter> {
        let mut all = self.stem_conv.parameters();
        all.extend(self.stem_bn.parameters());
        for (s, cells) in stages.iter().enumerate() {
            if s > 0 {
                all.extend(self.reductions[s - 1].parameters());
            }
            for c in cells {
                all.extend(cell(c));
            }
        }
        all.extend(self.head_bn.parameters());
        all.extend(self.classifier.parameters());
        all
    }

    /// Every batch norm in network order, each cell's from `cell`.
    pub(crate) fn norms<'a, C>(
        &'a self,
        stages: &'a [Vec<C>],
        cell: impl Fn(&'a C) -> Vec<&'a BatchNorm2d>,
    ) -> Vec<&'a BatchNorm2d> {
        let mut all = vec![&self.stem_bn];
        for (s, cells) in stages.iter().enumerate() {
            if s > 0 {
                let r = &self.reductions[s - 1];
                all.extend([&r.conv_a.bn, &r.conv_b.bn]);
            }
            for c in cells {
                all.extend(cell(c));
            }
        }
        all.push(&self.head_bn);
        all
    }
}

/// A built cell network: the skeleton around N copies per stage of one cell. Cell parameter
/// names: `stage{1..3}.cell{k}.edge_{i}_{j}.conv|.bn`.
pub struct CellNet {
    pub skeleton: Skeleton,
    pub stages: Stages<Cell>,
}

impl CellNet {
    /// Fresh parameters for `net` on images of `input_channels` channels, drawn from `rng` in
    /// network order.
    pub fn new(
        gpu: &Arc<Gpu>,
        net: &Nb201Network,
        input_channels: usize,
        classes: usize,
        rng: &mut SeededRng,
    ) -> Result<CellNet, DeviceError> {
        let (skeleton, stages) =
            Skeleton::build(gpu, net, input_channels, classes, rng, |name, ch, rng| {
                Cell::new(gpu, name, net, ch, rng)
            })?;
        Ok(CellNet { skeleton, stages })
    }

    /// Records the forward pass of images `x` `[N, C, H, W]` and returns logits `[N, classes]`.
    pub fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        self.skeleton
            .forward(g, b, x, train, &self.stages, |cell, g, b, y| {
                cell.forward(g, b, y, train)
            })
    }

    /// Every trainable parameter, in network order.
    pub fn parameters(&self) -> Vec<&Parameter> {
        self.skeleton.parameters(&self.stages, Cell::parameters)
    }

    /// Every batch norm, in network order.
    pub fn norms(&self) -> Vec<&BatchNorm2d> {
        self.skeleton
            .norms(&self.stages, |cell| cell.convs().map(|op| &op.bn).collect())
    }
}
