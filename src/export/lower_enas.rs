//! Lowering of an ENAS macro network (`nn::enas_net`) to inference ops, op for op as
//! `EnasBody::forward` records it: stem conv + BN; per layer its branch on the previous
//! layer's output, summed with the outputs it skips from, then BN; after each reduction layer
//! the factorized reductions of the outputs still needed; global average pooling, the
//! classifier. Node and tensor names are the network's parameter names
//! (`layer3.sep_conv_5x5.depthwise`, `reduce0.layer1.conv_even`).

use super::graph::Lowered;
use super::lower_cells::Builder;
use crate::nn::enas_macro::{EnasMacroNetwork, EnasOp};
use crate::nn::meta::Normalization;

impl Builder {
    /// conv -> BN -> ReLU, parameters `{name}.{conv}` and `{name}.{bn}`.
    fn conv_bn_relu(&mut self, name: &str, [conv, bn]: [&str; 2], x: usize, k: usize) -> usize {
        let c = self.g.shape(x)[0];
        let y = self.conv(&format!("{name}.{conv}"), x, c, k, 1);
        let y = self.batch_norm(&format!("{name}.{bn}"), y);
        self.relu(format!("{name}.{bn}.relu"), y)
    }

    /// One layer's branch: conv1x1-BN-ReLU, then its conv, separable conv or pool.
    fn enas_branch(&mut self, name: &str, op: EnasOp, x: usize) -> usize {
        let y = self.conv_bn_relu(name, ["inp_conv", "inp_bn"], x, 1);
        match (op, op.kernel()) {
            (EnasOp::MaxPool3x3, _) => self.max_pool(format!("{name}.pool"), y, 1),
            (EnasOp::AvgPool3x3, _) => self.avg_pool(format!("{name}.pool"), y, 3, 1),
            (_, Some(k)) if op.separable() => {
                let c = self.g.shape(y)[0];
                let d = self.grouped_conv(&format!("{name}.depthwise"), y, c, k, 1, 1, c);
                let p = self.conv(&format!("{name}.pointwise"), d, c, 1, 1);
                let b = self.batch_norm(&format!("{name}.bn"), p);
                self.relu(format!("{name}.bn.relu"), b)
            }
            (_, k) => self.conv_bn_relu(name, ["conv", "bn"], y, k.expect("a conv")),
        }
    }
}

/// Lowers `net` for images of `input` and `classes` classes. With `norm`, the graph starts
/// from raw pixels.
pub fn lower_enas(
    net: &EnasMacroNetwork,
    input: [usize; 3],
    classes: usize,
    norm: Option<&Normalization>,
) -> Lowered {
    let (g, image) = Lowered::start(input, norm);
    let mut b = Builder { g };
    let shape = net.shape();
    let stem = b.conv("stem.conv", image, net.channels, 3, 1);
    let mut x = b.batch_norm("stem.bn", stem);
    let mut outs: Vec<usize> = Vec::with_capacity(net.layers.len());
    for (l, layer) in net.layers.iter().enumerate() {
        let name = format!("layer{l}");
        let op = layer.op.0;
        let mut terms = vec![b.enas_branch(&format!("{name}.{}", op.name()), op, x)];
        terms.extend(layer.skips.iter().map(|&i| outs[i]));
        let sum = b.sum(format!("{name}.sum"), terms);
        x = b.batch_norm(&format!("{name}.bn"), sum);
        outs.push(x);
        if let Some(r) = shape.reduce_after.iter().position(|&p| p == l) {
            let cout = 2 * shape.channels[l];
            for (i, out) in outs.iter_mut().enumerate() {
                if net.reduced_needed(l, i) {
                    *out = b.factorized_reduce(&format!("reduce{r}.layer{i}"), *out, cout);
                }
            }
            x = outs[l];
        }
    }
    b.head(x, classes)
}
