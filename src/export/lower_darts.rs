//! Lowering of a DARTS cell network (`nn::darts_net`) to inference ops, op for op as
//! `DartsNet::forward` records it: stem conv + BN; per cell the preprocessing of s0 and s1, two
//! operations per node summed, the nodes concatenated; global average pooling, the classifier.
//! Node and tensor names are the network's parameter names (`cell1.node3.op0.unit0.depthwise`).

use super::graph::{Lowered, Op, same_padding};
use super::lower_cells::Builder;
use crate::nn::darts_cell::{CellPlace, DartsNetwork, DartsOp, STEM_MULTIPLIER};
use crate::nn::meta::Normalization;

impl Builder {
    /// ReLU -> depthwise kxk (stride, dilation) -> conv1x1 -> BN.
    fn sep_unit(
        &mut self,
        name: &str,
        x: usize,
        k: usize,
        stride: usize,
        dilation: usize,
    ) -> usize {
        let c = self.g.shape(x)[0];
        let r = self.relu(format!("{name}.relu"), x);
        let d = self.grouped_conv(&format!("{name}.depthwise"), r, c, k, stride, dilation, c);
        let p = self.conv(&format!("{name}.pointwise"), d, c, 1, 1);
        self.batch_norm(&format!("{name}.bn"), p)
    }

    /// ReLU, then two stride-2 1x1 convs, on the even grid and on the grid one pixel further
    /// (crop a row and a column, pad the far side for odd sizes: zeros past the image), of
    /// cout/2 and cout - cout/2 outputs, concatenated, then BN.
    pub(super) fn factorized_reduce(&mut self, name: &str, x: usize, cout: usize) -> usize {
        let r = self.relu(format!("{name}.relu"), x);
        let even = self.conv(&format!("{name}.conv_even"), r, cout / 2, 1, 2);
        let s = self.g.shape(r);
        let (h, w) = (s[1], s[2]);
        let cropped = self.push(
            format!("{name}.crop"),
            Op::Crop { top: 1, left: 1 },
            vec![r],
            vec![s[0], h - 1, w - 1],
        );
        let (oh, ow) = (h.div_ceil(2), w.div_ceil(2));
        let conv = format!("{name}.conv_shifted");
        let shifted = self.push(
            conv.clone(),
            Op::Conv {
                weight: format!("{conv}.weight"),
                cin: s[0],
                cout: cout - cout / 2,
                kernel: [1, 1],
                stride: [2, 2],
                dilation: [1, 1],
                groups: 1,
                pads: [0, 0, 2 * oh - h, 2 * ow - w],
            },
            vec![cropped],
            vec![cout - cout / 2, oh, ow],
        );
        let joined = self.push(
            format!("{name}.concat"),
            Op::ConcatPadded {
                pads: vec![[0; 4]; 2],
            },
            vec![even, shifted],
            vec![cout, oh, ow],
        );
        self.batch_norm(&format!("{name}.bn"), joined)
    }

    pub(super) fn max_pool(&mut self, name: String, x: usize, stride: usize) -> usize {
        let s = self.g.shape(x);
        let [top, bottom] = same_padding(s[1], 3, stride, 1);
        let [left, right] = same_padding(s[2], 3, stride, 1);
        self.push(
            name,
            Op::MaxPool {
                kernel: [3, 3],
                stride: [stride; 2],
                pads: [top, left, bottom, right],
            },
            vec![x],
            vec![s[0], s[1].div_ceil(stride), s[2].div_ceil(stride)],
        )
    }

    fn darts_op(&mut self, name: &str, op: DartsOp, x: usize, stride: usize) -> usize {
        match op {
            DartsOp::MaxPool3x3 => self.max_pool(format!("{name}.pool"), x, stride),
            DartsOp::AvgPool3x3 => self.avg_pool(format!("{name}.pool"), x, 3, stride),
            DartsOp::SkipConnect if stride == 1 => x,
            DartsOp::SkipConnect => {
                let c = self.g.shape(x)[0];
                self.factorized_reduce(name, x, c)
            }
            DartsOp::SepConv3x3 | DartsOp::SepConv5x5 => {
                let k = op.conv_kernel().expect("conv");
                let y = self.sep_unit(&format!("{name}.unit0"), x, k, stride, 1);
                self.sep_unit(&format!("{name}.unit1"), y, k, 1, 1)
            }
            DartsOp::DilConv3x3 | DartsOp::DilConv5x5 => {
                let k = op.conv_kernel().expect("conv");
                self.sep_unit(&format!("{name}.unit0"), x, k, stride, 2)
            }
        }
    }

    fn darts_cell(
        &mut self,
        name: &str,
        net: &DartsNetwork,
        place: &CellPlace,
        (s0, s1): (usize, usize),
    ) -> usize {
        let c = place.c;
        let p0 = if place.reduction_prev {
            self.factorized_reduce(&format!("{name}.pre0"), s0, c)
        } else {
            self.relu_conv_bn(&format!("{name}.pre0"), s0, c, 1, 1)
        };
        let p1 = self.relu_conv_bn(&format!("{name}.pre1"), s1, c, 1, 1);
        let genotype = if place.reduction {
            &net.genotype.reduce
        } else {
            &net.genotype.normal
        };
        let mut states = vec![p0, p1];
        for (j, node) in genotype.nodes.iter().enumerate() {
            let mut terms = Vec::with_capacity(2);
            for (k, e) in node.iter().enumerate() {
                let stride = if place.reduction && e.input < 2 { 2 } else { 1 };
                let op_name = format!("{name}.node{}.op{k}", j + 2);
                terms.push(self.darts_op(&op_name, e.op, states[e.input], stride));
            }
            states.push(self.sum(format!("{name}.node{}", j + 2), terms));
        }
        let nodes = states[2..].to_vec();
        let s = self.g.shape(nodes[0]);
        self.push(
            format!("{name}.concat"),
            Op::ConcatPadded {
                pads: vec![[0; 4]; nodes.len()],
            },
            nodes.clone(),
            vec![nodes.len() * s[0], s[1], s[2]],
        )
    }
}

/// Lowers `net` for images of `input` and `classes` classes. With `norm`, the graph starts
/// from raw pixels.
pub fn lower_darts(
    net: &DartsNetwork,
    input: [usize; 3],
    classes: usize,
    norm: Option<&Normalization>,
) -> Lowered {
    let (g, image) = Lowered::start(input, norm);
    let mut b = Builder { g };
    let stem = b.conv("stem.conv", image, STEM_MULTIPLIER * net.channels, 3, 1);
    let stem = b.batch_norm("stem.bn", stem);
    let (mut s0, mut s1) = (stem, stem);
    for (i, place) in net.places([input[1], input[2]]).iter().enumerate() {
        let out = b.darts_cell(&format!("cell{i}"), net, place, (s0, s1));
        (s0, s1) = (s1, out);
    }
    b.head(s1, classes)
}
