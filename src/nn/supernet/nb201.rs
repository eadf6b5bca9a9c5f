//! The NAS-Bench-201 supernet: the cell network's skeleton (stem, reduction blocks, head) and,
//! on every edge of every cell, one ReLU-conv-BN for each of `nor_conv_1x1` and `nor_conv_3x3`
//! (`skip_connect`, `avg_pool_3x3` and `none` have no parameters). A genotype's forward pass
//! runs those operations only, through the same cell code as the standalone network, so a path
//! with the supernet's weights computes exactly what the standalone network computes with them.
//! DARTS's mixed forward (`MixedSupernet::forward_mixed`) runs the same cell code with every edge mixed.
//!
//! Parameter names are the standalone network's with the operation inserted after the edge:
//! `stage1.cell0.edge_0_1.nor_conv_3x3.conv.weight` (standalone: `stage1.cell0.edge_0_1.conv
//! .weight`); `path_state` maps a path back to the standalone names.

use std::sync::Arc;

use super::arch_weights::{ALPHA_SHAPE, derive_genotype};
use super::{MixedSupernet, check_alpha};
use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::nn::cell_net::{EdgeOp, ReluConvBn, Skeleton, Stages, cell_forward};
use crate::nn::layers::BatchNorm2d;
use crate::nn::nb201::{NB201_EDGES, Nb201Genotype, Nb201Network, Nb201Op};
use crate::nn::param::{Binder, Parameter};
use crate::tensor::Tensor;
use crate::util::SeededRng;

/// The parametric operations of one edge.
pub struct SuperEdge {
    /// `{edge}.nor_conv_1x1`
    pub conv1x1: ReluConvBn,
    /// `{edge}.nor_conv_3x3`
    pub conv3x3: ReluConvBn,
}

impl SuperEdge {
    /// The edge running `op` on these weights.
    fn op(&self, op: Nb201Op) -> EdgeOp<'_> {
        EdgeOp::single(op, &self.conv1x1, &self.conv3x3)
    }

    /// Every operation on these weights, mixed by softmax(`alpha`) (`[5]`, `Nb201Op::ALL` order),
    /// plus DARTS-'s auxiliary skip when `aux_skip` is given.
    fn mixed(&self, alpha: Value, aux_skip: Option<Value>) -> EdgeOp<'_> {
        EdgeOp::Mixed {
            conv1x1: &self.conv1x1,
            conv3x3: &self.conv3x3,
            alpha,
            aux_skip,
        }
    }

    /// The weights of `op`, if it has any.
    fn conv(&self, op: Nb201Op) -> Option<&ReluConvBn> {
        match op {
            Nb201Op::NorConv1x1 => Some(&self.conv1x1),
            Nb201Op::NorConv3x3 => Some(&self.conv3x3),
            _ => None,
        }
    }
}

/// One cell of the supernet: its 6 edges in `NB201_EDGES` order.
pub struct SuperCell {
    pub name: String,
    pub edges: Vec<SuperEdge>,
}

impl SuperCell {
    fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        channels: usize,
        rng: &mut SeededRng,
    ) -> Result<SuperCell, DeviceError> {
        let mut edges = Vec::with_capacity(NB201_EDGES.len());
        for &(from, to) in &NB201_EDGES {
            let edge = format!("{name}.edge_{from}_{to}");
            let conv = |op: Nb201Op, k: usize, rng: &mut SeededRng| {
                let name = format!("{edge}.{}", op.name());
                ReluConvBn::new(gpu, &name, channels, channels, k, 1, rng)
            };
            edges.push(SuperEdge {
                conv1x1: conv(Nb201Op::NorConv1x1, 1, rng)?,
                conv3x3: conv(Nb201Op::NorConv3x3, 3, rng)?,
            });
        }
        Ok(SuperCell {
            name: name.to_string(),
            edges,
        })
    }

    fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        genotype: &Nb201Genotype,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let edges: [EdgeOp<'_>; 6] = std::array::from_fn(|k| self.edges[k].op(genotype.0[k]));
        cell_forward(g, b, x, train, &edges)
    }

    /// The cell with every edge mixed, edge k by row k of the architecture weights.
    fn forward_mixed(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        rows: &[Value],
        aux_skip: Option<Value>,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let edges: [EdgeOp<'_>; 6] =
            std::array::from_fn(|k| self.edges[k].mixed(rows[k], aux_skip));
        cell_forward(g, b, x, train, &edges)
    }

    fn convs(&self) -> impl Iterator<Item = &ReluConvBn> {
        self.edges.iter().flat_map(|e| [&e.conv1x1, &e.conv3x3])
    }
}

/// Weights shared by every genotype of a NAS-Bench-201 network shape (N cells per stage, C
/// channels).
pub struct Nb201Supernet {
    /// The network shape (its genotype is not used: every path has its own).
    pub shape: Nb201Network,
    pub input: [usize; 3],
    pub classes: usize,
    pub skeleton: Skeleton,
    pub stages: Stages<SuperCell>,
    /// DARTS- (Chu et al. 2021): when set, `forward_mixed` adds `beta * x` to every mixed edge,
    /// the tensor `[2]` holding the logits of (beta, 1 - beta) (`AuxSkip` writes them).
    pub aux_skip: Option<AuxSkip>,
}

/// The coefficient of DARTS-'s auxiliary skip connection, on the device: written between steps
/// as beta decays, read by the compiled mixed forward.
#[derive(Clone)]
pub struct AuxSkip {
    pub tensor: Tensor,
}

impl AuxSkip {
    /// A coefficient starting at `beta`.
    pub fn new(gpu: &Arc<Gpu>, beta: f32) -> Result<AuxSkip, DeviceError> {
        Ok(AuxSkip {
            tensor: Tensor::from_f32(gpu, &[2], &AuxSkip::logits(beta))?,
        })
    }

    /// Softmax logits that give (beta, 1 - beta) exactly at the ends: a weight of 0 is a logit
    /// whose exponential underflows to 0.
    pub fn logits(beta: f32) -> [f32; 2] {
        let ln = |w: f32| if w <= 0.0 { -1e4 } else { w.ln() };
        let beta = beta.clamp(0.0, 1.0);
        [ln(beta), ln(1.0 - beta)]
    }

    /// Sets beta for the next steps.
    pub fn set(&self, beta: f32) {
        self.tensor.write_f32(&AuxSkip::logits(beta));
    }
}

impl Nb201Supernet {
    /// Fresh shared weights for networks shaped like `shape` on images `input` with `classes`
    /// classes, drawn from `rng` in network order.
    pub fn new(
        gpu: &Arc<Gpu>,
        shape: &Nb201Network,
        input: [usize; 3],
        classes: usize,
        rng: &mut SeededRng,
    ) -> Result<Nb201Supernet, DeviceError> {
        let (skeleton, stages) =
            Skeleton::build(gpu, shape, input[0], classes, rng, |name, ch, rng| {
                SuperCell::new(gpu, name, ch, rng)
            })?;
        Ok(Nb201Supernet {
            shape: shape.clone(),
            input,
            classes,
            skeleton,
            stages,
            aux_skip: None,
        })
    }

    /// Records the path of `genotype` on images `x` and returns logits `[N, classes]`.
    pub fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        genotype: &Nb201Genotype,
        train: bool,
    ) -> Result<Value, AutogradError> {
        self.skeleton
            .forward(g, b, x, train, &self.stages, |cell, g, b, y| {
                cell.forward(g, b, y, genotype, train)
            })
    }

    /// Every shared parameter, in network order.
    pub fn parameters(&self) -> Vec<&Parameter> {
        self.skeleton.parameters(&self.stages, |cell| {
            cell.convs().flat_map(|op| op.parameters()).collect()
        })
    }

    /// Every batch norm, in network order.
    pub fn norms(&self) -> Vec<&BatchNorm2d> {
        self.skeleton
            .norms(&self.stages, |cell| cell.convs().map(|op| &op.bn).collect())
    }

    /// The tensors `genotype`'s path reads, under the names the standalone network of that
    /// genotype gives them, in its order (parameters, then running statistics, as
    /// `Network::state`): loaded into the standalone network, it computes what the path does.
    pub fn path_state(&self, genotype: &Nb201Genotype) -> Vec<(String, &Tensor)> {
        fn path<'a>(cell: &'a SuperCell, genotype: &Nb201Genotype) -> Vec<&'a ReluConvBn> {
            cell.edges
                .iter()
                .zip(genotype.0)
                .filter_map(|(edge, op)| edge.conv(op))
                .collect()
        }
        let params = self.skeleton.parameters(&self.stages, |cell| {
            path(cell, genotype)
                .into_iter()
                .flat_map(|op| op.parameters())
                .collect()
        });
        let norms = self.skeleton.norms(&self.stages, |cell| {
            path(cell, genotype).into_iter().map(|op| &op.bn).collect()
        });
        let mut state: Vec<(String, &Tensor)> = params
            .into_iter()
            .map(|p| (standalone_name(&p.name), &p.tensor))
            .collect();
        for norm in norms {
            for (name, t) in norm.running_state() {
                state.push((standalone_name(&name), t));
            }
        }
        state
    }
}

impl MixedSupernet for Nb201Supernet {
    fn alpha_shape(&self) -> [usize; 2] {
        ALPHA_SHAPE
    }

    /// Records the DARTS supernet on images `x`: every edge of every cell computes all five
    /// operations on the shared weights and sums them with softmax of its row of `alpha`
    /// (`[6, 5]`: edges in `NB201_EDGES` order, operations in `Nb201Op::ALL` order; one row per
    /// edge shared by every cell, as NAS-Bench-201's DARTS baseline shares them). Returns
    /// logits `[N, classes]`. Gradients reach alpha when it is a graph parameter.
    fn forward_mixed(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        alpha: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        check_alpha(
            g,
            alpha,
            ALPHA_SHAPE,
            "nb201_supernet",
            "edges x operations",
        )?;
        let rows = ops::rows(g, alpha)?;
        let aux = self
            .aux_skip
            .as_ref()
            .map(|a| g.input(&a.tensor, "darts_minus_beta"));
        self.skeleton
            .forward(g, b, x, train, &self.stages, |cell, g, b, y| {
                cell.forward_mixed(g, b, y, &rows, aux, train)
            })
    }

    fn derive(&self, rows: &[Vec<f32>]) -> Nb201Genotype {
        derive_genotype(rows)
    }

    fn operation_names(&self) -> Vec<&'static str> {
        Nb201Op::ALL.iter().map(|op| op.name()).collect()
    }

    fn set_aux_skip(&mut self, aux: Option<AuxSkip>) {
        self.aux_skip = aux;
    }

    fn describe(&self) -> String {
        format!(
            "N = {}, C = {}",
            self.shape.cells_per_stage, self.shape.channels
        )
    }
}

/// `stage1.cell0.edge_0_1.nor_conv_3x3.conv.weight` -> `stage1.cell0.edge_0_1.conv.weight`
/// (only cell operations carry an operation segment).
fn standalone_name(name: &str) -> String {
    [Nb201Op::NorConv1x1, Nb201Op::NorConv3x3]
        .iter()
        .fold(name.to_string(), |n, op| {
            n.replacen(&format!(".{}.", op.name()), ".", 1)
        })
}
