//! A DARTS cell network built from its genotype (`darts_cell.rs`), as the published
//! `NetworkCIFAR` / `Cell` / `operations.py` build it, on the engine's ops:
//! - `sep_conv_kxk`: two ReLU -> depthwise kxk -> conv1x1 -> BN units, the first carrying the
//!   stride; `dil_conv_kxk`: one such unit with dilation 2;
//! - `max_pool_3x3` / `avg_pool_3x3`: "same"-padded 3x3 pooling (average over the real pixels,
//!   `count_include_pad=False`);
//! - `skip_connect`: the identity, or a factorized reduction where it has stride 2;
//! - each cell first maps s0 (two cells back) and s1 (the previous cell) to C channels: s1 and,
//!   unless the previous cell reduced, s0 by ReLU-conv1x1-BN; s0 after a reduction cell by a
//!   factorized reduction. In a reduction cell the operations on s0 and s1 have stride 2.
//!
//! As in `cell_net.rs`, stride-2 windows use this engine's TensorFlow "same" padding where
//! PyTorch pads symmetrically; shapes and parameter counts are the published ones. The
//! auxiliary head and drop path of the published training recipe are not built.

use std::sync::Arc;

use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::kernels::conv2d::Conv2dSpec;
use crate::kernels::conv2d_grouped::GroupedConvSpec;
use crate::kernels::pool::{Pool2dSpec, PoolKind};
use crate::nn::cell_net::ReluConvBn;
use crate::nn::darts_cell::{CellPlace, DARTS_NODES, DartsNetwork, DartsOp, STEM_MULTIPLIER};
use crate::nn::init::{self, Init};
use crate::nn::layers::{BatchNorm2d, Conv2d, Linear};
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

/// ReLU -> depthwise kxk (stride, dilation) -> conv1x1 -> BN.
pub struct SepUnit {
    pub depthwise: Parameter,
    pub pointwise: Conv2d,
    pub bn: BatchNorm2d,
    pub stride: usize,
    pub dilation: usize,
}

impl SepUnit {
    #[allow(clippy::too_many_arguments)]
    fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        c: usize,
        k: usize,
        stride: usize,
        dilation: usize,
        rng: &mut SeededRng,
    ) -> Result<SepUnit, DeviceError> {
        let one = Conv2dSpec {
            kernel: [1, 1],
            stride: [1, 1],
        };
        Ok(SepUnit {
            depthwise: Parameter {
                name: format!("{name}.depthwise.weight"),
                tensor: init::tensor(gpu, &[c, 1, k, k], Init::HeNormal { fan_in: k * k }, rng)?,
                decay: true,
            },
            pointwise: Conv2d::new(gpu, &format!("{name}.pointwise"), c, c, one, false, rng)?,
            bn: BatchNorm2d::new(gpu, &format!("{name}.bn"), c)?,
            stride,
            dilation,
        })
    }

    fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let c = g.shape(x)[1];
        let k = self.depthwise.tensor.shape()[2];
        let spec = GroupedConvSpec::depthwise(c, [k, k], [self.stride; 2], [self.dilation; 2]);
        let y = ops::relu(g, x);
        let w = b.bind(g, &self.depthwise);
        let y = ops::grouped_conv2d(g, y, w, None, spec)?;
        let y = self.pointwise.forward(g, b, y)?;
        self.bn.forward(g, b, y, train)
    }

    fn parameters(&self) -> Vec<&Parameter> {
        let mut all = vec![&self.depthwise];
        all.extend(self.pointwise.parameters());
        all.extend(self.bn.parameters());
        all
    }
}

/// ReLU, then two stride-2 1x1 convs (on the even grid and on the grid shifted by one pixel)
/// of cout/2 and cout - cout/2 outputs, concatenated, then BN.
pub struct FactorizedReduceLayer {
    pub even: Parameter,
    pub shifted: Parameter,
    pub bn: BatchNorm2d,
}

impl FactorizedReduceLayer {
    pub(crate) fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        cin: usize,
        cout: usize,
        rng: &mut SeededRng,
    ) -> Result<FactorizedReduceLayer, DeviceError> {
        let half = cout / 2;
        let w = |suffix: &str, n: usize, rng: &mut SeededRng| -> Result<Parameter, DeviceError> {
            Ok(Parameter {
                name: format!("{name}.{suffix}.weight"),
                tensor: init::tensor(gpu, &[n, cin, 1, 1], Init::HeNormal { fan_in: cin }, rng)?,
                decay: true,
            })
        };
        Ok(FactorizedReduceLayer {
            even: w("conv_even", half, rng)?,
            shifted: w("conv_shifted", cout - half, rng)?,
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
        let even = Conv2dSpec {
            kernel: [1, 1],
            stride: [2, 2],
        };
        let (w1, w2) = (b.bind(g, &self.even), b.bind(g, &self.shifted));
        let a = ops::conv2d(g, y, w1, None, even)?;
        let c = ops::oneshot::shifted_pointwise(g, y, w2)?;
        let y = ops::concat_padded(g, &[a, c])?;
        self.bn.forward(g, b, y, train)
    }

    pub(crate) fn parameters(&self) -> Vec<&Parameter> {
        let mut all = vec![&self.even, &self.shifted];
        all.extend(self.bn.parameters());
        all
    }
}

/// One operation of a built cell.
pub enum CellOp {
    Pool(Pool2dSpec),
    Identity,
    Reduce(Box<FactorizedReduceLayer>),
    /// sep_conv (two units) or dil_conv (one).
    Units(Vec<SepUnit>),
}

impl CellOp {
    /// Operation `op` at `c` channels and `stride`, its parameters named `name`...
    pub(crate) fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        op: DartsOp,
        c: usize,
        stride: usize,
        rng: &mut SeededRng,
    ) -> Result<CellOp, DeviceError> {
        let pool = |kind| {
            CellOp::Pool(Pool2dSpec {
                kind,
                kernel: [3, 3],
                stride: [stride; 2],
                same_padding: true,
            })
        };
        Ok(match op {
            DartsOp::MaxPool3x3 => pool(PoolKind::Max),
            DartsOp::AvgPool3x3 => pool(PoolKind::Avg),
            DartsOp::SkipConnect if stride == 1 => CellOp::Identity,
            DartsOp::SkipConnect => {
                CellOp::Reduce(Box::new(FactorizedReduceLayer::new(gpu, name, c, c, rng)?))
            }
            DartsOp::SepConv3x3 | DartsOp::SepConv5x5 => {
                let k = op.conv_kernel().expect("conv");
                CellOp::Units(vec![
                    SepUnit::new(gpu, &format!("{name}.unit0"), c, k, stride, 1, rng)?,
                    SepUnit::new(gpu, &format!("{name}.unit1"), c, k, 1, 1, rng)?,
                ])
            }
            DartsOp::DilConv3x3 | DartsOp::DilConv5x5 => {
                let k = op.conv_kernel().expect("conv");
                CellOp::Units(vec![SepUnit::new(
                    gpu,
                    &format!("{name}.unit0"),
                    c,
                    k,
                    stride,
                    2,
                    rng,
                )?])
            }
        })
    }

    pub(crate) fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        match self {
            CellOp::Pool(spec) => ops::pool2d(g, x, *spec),
            CellOp::Identity => Ok(ops::identity(g, x)),
            CellOp::Reduce(fr) => fr.forward(g, b, x, train),
            CellOp::Units(units) => {
                let mut y = x;
                for u in units {
                    y = u.forward(g, b, y, train)?;
                }
                Ok(y)
            }
        }
    }

    pub(crate) fn parameters(&self) -> Vec<&Parameter> {
        match self {
            CellOp::Pool(_) | CellOp::Identity => Vec::new(),
            CellOp::Reduce(fr) => fr.parameters(),
            CellOp::Units(units) => units.iter().flat_map(|u| u.parameters()).collect(),
        }
    }

    pub(crate) fn norms(&self) -> Vec<&BatchNorm2d> {
        match self {
            CellOp::Pool(_) | CellOp::Identity => Vec::new(),
            CellOp::Reduce(fr) => vec![&fr.bn],
            CellOp::Units(units) => units.iter().map(|u| &u.bn).collect(),
        }
    }
}

/// How a cell brings s0 to its channels and size.
pub enum Preprocess {
    Conv(ReluConvBn),
    Reduce(FactorizedReduceLayer),
}

/// A cell's two input maps, s0 and s1, brought to its channels (and s0 to s1's size).
pub struct CellInputs {
    pub pre0: Preprocess,
    pub pre1: ReluConvBn,
}

impl CellInputs {
    /// The preprocessing of cell `name` at `place`.
    pub(crate) fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        place: &CellPlace,
        rng: &mut SeededRng,
    ) -> Result<CellInputs, DeviceError> {
        let c = place.c;
        let pre0 = if place.reduction_prev {
            Preprocess::Reduce(FactorizedReduceLayer::new(
                gpu,
                &format!("{name}.pre0"),
                place.c_prev_prev,
                c,
                rng,
            )?)
        } else {
            Preprocess::Conv(ReluConvBn::new(
                gpu,
                &format!("{name}.pre0"),
                place.c_prev_prev,
                c,
                1,
                1,
                rng,
            )?)
        };
        let pre1 = ReluConvBn::new(gpu, &format!("{name}.pre1"), place.c_prev, c, 1, 1, rng)?;
        Ok(CellInputs { pre0, pre1 })
    }

    /// Records s0 and s1 brought to the cell's channels (and s0 to s1's size).
    pub(crate) fn preprocess(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        (s0, s1): (Value, Value),
        train: bool,
    ) -> Result<(Value, Value), AutogradError> {
        let s0 = match &self.pre0 {
            Preprocess::Conv(p) => p.forward(g, b, s0, train)?,
            Preprocess::Reduce(p) => p.forward(g, b, s0, train)?,
        };
        Ok((s0, self.pre1.forward(g, b, s1, train)?))
    }

    /// Records the cell on s0 and s1 with `nodes[j]` = the two (operation, input) of node
    /// j + 2: each node the sum of its two operations, the output the four nodes concatenated.
    pub(crate) fn cell_forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        (s0, s1): (Value, Value),
        train: bool,
        nodes: &[[(&CellOp, usize); 2]],
    ) -> Result<Value, AutogradError> {
        let (s0, s1) = self.preprocess(g, b, (s0, s1), train)?;
        let mut states = vec![s0, s1];
        for node in nodes {
            let h0 = node[0].0.forward(g, b, states[node[0].1], train)?;
            let h1 = node[1].0.forward(g, b, states[node[1].1], train)?;
            states.push(ops::add(g, h0, h1)?);
        }
        ops::concat_padded(g, &states[2..])
    }

    pub(crate) fn parameters(&self) -> Vec<&Parameter> {
        let mut all = match &self.pre0 {
            Preprocess::Conv(p) => p.parameters(),
            Preprocess::Reduce(p) => p.parameters(),
        };
        all.extend(self.pre1.parameters());
        all
    }

    pub(crate) fn norms(&self) -> Vec<&BatchNorm2d> {
        let pre0 = match &self.pre0 {
            Preprocess::Conv(p) => &p.bn,
            Preprocess::Reduce(p) => &p.bn,
        };
        vec![pre0, &self.pre1.bn]
    }
}

/// One built cell: preprocessing of its two inputs, then per intermediate node two
/// (operation, input) pairs.
pub struct DartsCell {
    pub inputs: CellInputs,
    pub nodes: Vec<[(CellOp, usize); 2]>,
}

impl DartsCell {
    fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        s0: Value,
        s1: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let nodes: Vec<[(&CellOp, usize); 2]> = self
            .nodes
            .iter()
            .map(|n| [(&n[0].0, n[0].1), (&n[1].0, n[1].1)])
            .collect();
        self.inputs.cell_forward(g, b, (s0, s1), train, &nodes)
    }

    fn parameters(&self) -> Vec<&Parameter> {
        let mut all = self.inputs.parameters();
        for node in &self.nodes {
            for (op, _) in node {
                all.extend(op.parameters());
            }
        }
        all
    }

    fn norms(&self) -> Vec<&BatchNorm2d> {
        let mut all = self.inputs.norms();
        for node in &self.nodes {
            for (op, _) in node {
                all.extend(op.norms());
            }
        }
        all
    }
}

/// What every DARTS network holds around its cells: the stem (conv + BN to 3C) and the
/// classifier on the globally pooled last cell; `C` is the kind of cell (a built one, or a
/// supernet's with every operation).
pub struct DartsFrame<C> {
    pub stem_conv: Conv2d,
    pub stem_bn: BatchNorm2d,
    pub cells: Vec<C>,
    pub classifier: Linear,
}

impl<C> DartsFrame<C> {
    /// Fresh parameters, drawn from `rng` in network order; cell i is made by
    /// `make_cell("cell{i}", its place, rng)`.
    pub(crate) fn build(
        gpu: &Arc<Gpu>,
        net: &DartsNetwork,
        input_channels: usize,
        classes: usize,
        rng: &mut SeededRng,
        mut make_cell: impl FnMut(&str, &CellPlace, &mut SeededRng) -> Result<C, DeviceError>,
    ) -> Result<DartsFrame<C>, DeviceError> {
        let stem = STEM_MULTIPLIER * net.channels;
        let spec = Conv2dSpec {
            kernel: [3, 3],
            stride: [1, 1],
        };
        let stem_conv = Conv2d::new(gpu, "stem.conv", input_channels, stem, spec, false, rng)?;
        let stem_bn = BatchNorm2d::new(gpu, "stem.bn", stem)?;
        let mut cells = Vec::with_capacity(net.cells);
        for (i, place) in net.places([1, 1]).iter().enumerate() {
            cells.push(make_cell(&format!("cell{i}"), place, rng)?);
        }
        let features = net.features();
        let classifier = Linear::classifier(gpu, features, classes, rng)?;
        Ok(DartsFrame {
            stem_conv,
            stem_bn,
            cells,
            classifier,
        })
    }

    /// Records images `x` `[N, C, H, W]` through the stem, each cell by `cell(cell, g, b,
    /// (s0, s1))`, pooling and the classifier; returns logits `[N, classes]`.
    pub(crate) fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
        mut cell: impl FnMut(
            &C,
            &mut Graph,
            &mut Binder,
            (Value, Value),
        ) -> Result<Value, AutogradError>,
    ) -> Result<Value, AutogradError> {
        let y = self.stem_conv.forward(g, b, x)?;
        let stem = self.stem_bn.forward(g, b, y, train)?;
        let (mut s0, mut s1) = (stem, stem);
        for c in &self.cells {
            let out = cell(c, g, b, (s0, s1))?;
            (s0, s1) = (s1, out);
        }
        let pooled = ops::global_avg_pool(g, s1)?;
        self.classifier.forward(g, b, pooled)
    }

    /// Every trainable parameter in network order, each cell's from `cell`.
    pub(crate) fn parameters<'a>(
        &'a self,
        cell: impl Fn(&'a C) -> Vec<&'a Parameter>,
    ) -> Vec<&'a Parameter> {
        let mut all = self.stem_conv.parameters();
        all.extend(self.stem_bn.parameters());
        for c in &self.cells {
            all.extend(cell(c));
        }
        all.extend(self.classifier.parameters());
        all
    }
}

/// A built DARTS network. Parameter names: `stem.conv`, `stem.bn`, `cell{i}.pre0|pre1...`,
/// `cell{i}.node{j}.op{k}...` (j = 2..5, k = 0, 1), `classifier`.
pub struct DartsNet {
    pub frame: DartsFrame<DartsCell>,
}

impl DartsNet {
    /// Fresh parameters for `net` on images of `input_channels`, drawn from `rng` in network
    /// order.
    pub fn new(
        gpu: &Arc<Gpu>,
        net: &DartsNetwork,
        input_channels: usize,
        classes: usize,
        rng: &mut SeededRng,
    ) -> Result<DartsNet, DeviceError> {
        let frame = DartsFrame::build(
            gpu,
            net,
            input_channels,
            classes,
            rng,
            |name, place, rng| {
                let inputs = CellInputs::new(gpu, name, place, rng)?;
                let genotype = if place.reduction {
                    &net.genotype.reduce
                } else {
                    &net.genotype.normal
                };
                let mut nodes = Vec::with_capacity(DARTS_NODES);
                for (j, edges) in genotype.nodes.iter().enumerate() {
                    let mut built = Vec::with_capacity(2);
                    for (k, e) in edges.iter().enumerate() {
                        let stride = if place.reduction && e.input < 2 { 2 } else { 1 };
                        let op_name = format!("{name}.node{}.op{k}", j + 2);
                        built.push((
                            CellOp::new(gpu, &op_name, e.op, place.c, stride, rng)?,
                            e.input,
                        ));
                    }
                    let [a, b]: [(CellOp, usize); 2] = built.try_into().ok().expect("two edges");
                    nodes.push([a, b]);
                }
                Ok(DartsCell { inputs, nodes })
            },
        )?;
        Ok(DartsNet { frame })
    }

    /// Records the forward pass of images `x` `[N, C, H, W]`; returns logits `[N, classes]`.
    pub fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        self.frame.forward(g, b, x, train, |cell, g, b, (s0, s1)| {
            cell.forward(g, b, s0, s1, train)
        })
    }

    /// Every trainable parameter in network order.
    pub fn parameters(&self) -> Vec<&Parameter> {
        self.frame.parameters(|c| c.parameters())
    }

    /// Every batch norm in network order.
    pub fn norms(&self) -> Vec<&BatchNorm2d> {
        let mut all = vec![&self.frame.stem_bn];
        for cell in &self.frame.cells {
            all.extend(cell.norms());
        }
        all
    }
}
