//! The DARTS cell space's supernet for single-path weight sharing (SPOS, Guo et al. 2020; the
//! ENAS micro search shares weights the same way): every cell holds, on every edge i -> j
//! (i < j, j = 2..5), every operation of `DartsOp::ALL` with weights of its own, plus the
//! cell's preprocessing; a path (a genotype) runs, at each node, only its two chosen
//! operations, through the same cell code as the standalone network (`darts_net.rs`), so a
//! path trained here is the standalone network with these weights.

use std::sync::Arc;

use rand::RngExt;

use super::Supernet;
use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::kernels::conv2d::Conv2dSpec;
use crate::nn::Architecture;
use crate::nn::darts_cell::{
    DARTS_NODES, DartsCellGenotype, DartsGenotype, DartsNetwork, DartsOp, STEM_MULTIPLIER,
};
use crate::nn::darts_net::{CellInputs, CellOp};
use crate::nn::init::Init;
use crate::nn::layers::{BatchNorm2d, Conv2d, Linear};
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

/// One cell of the supernet: its preprocessing and `edges[j][i]`, the operations (in
/// `DartsOp::ALL` order) on the edge from node i to node j + 2.
pub struct SuperCell {
    pub reduction: bool,
    pub inputs: CellInputs,
    pub edges: Vec<Vec<Vec<CellOp>>>,
}

/// The supernet of DARTS networks of one shape (C, number of cells, input, classes).
pub struct DartsSupernet {
    /// The network shape (its genotype is not used: every path has its own).
    pub shape: DartsNetwork,
    pub input: [usize; 3],
    pub classes: usize,
    pub stem_conv: Conv2d,
    pub stem_bn: BatchNorm2d,
    pub cells: Vec<SuperCell>,
    pub classifier: Linear,
}

impl DartsSupernet {
    /// Fresh shared weights. Parameter names: the standalone network's for the stem,
    /// preprocessing and classifier; `cell{c}.edge_{i}_{j}.{op}...` for the operations.
    pub fn new(
        gpu: &Arc<Gpu>,
        shape: &DartsNetwork,
        input: [usize; 3],
        classes: usize,
        rng: &mut SeededRng,
    ) -> Result<DartsSupernet, DeviceError> {
        let stem = STEM_MULTIPLIER * shape.channels;
        let spec = Conv2dSpec {
            kernel: [3, 3],
            stride: [1, 1],
        };
        let stem_conv = Conv2d::new(gpu, "stem.conv", input[0], stem, spec, false, rng)?;
        let stem_bn = BatchNorm2d::new(gpu, "stem.bn", stem)?;
        let mut cells = Vec::with_capacity(shape.cells);
        for (c, place) in shape.places([1, 1]).iter().enumerate() {
            let name = format!("cell{c}");
            let inputs = CellInputs::new(gpu, &name, place, rng)?;
            let mut edges = Vec::with_capacity(DARTS_NODES);
            for j in 0..DARTS_NODES {
                let mut from = Vec::with_capacity(j + 2);
                for i in 0..j + 2 {
                    let stride = if place.reduction && i < 2 { 2 } else { 1 };
                    let mut all = Vec::with_capacity(DartsOp::ALL.len());
                    for op in DartsOp::ALL {
                        let op_name = format!("{name}.edge_{i}_{}.{}", j + 2, op.name());
                        all.push(CellOp::new(gpu, &op_name, op, place.c, stride, rng)?);
                    }
                    from.push(all);
                }
                edges.push(from);
            }
            cells.push(SuperCell {
                reduction: place.reduction,
                inputs,
                edges,
            });
        }
        let features = shape.features();
        let classifier = Linear::new(
            gpu,
            "classifier",
            features,
            classes,
            Init::HeUniform { fan_in: features },
            Init::Constant(0.0),
            rng,
        )?;
        Ok(DartsSupernet {
            shape: shape.clone(),
            input,
            classes,
            stem_conv,
            stem_bn,
            cells,
            classifier,
        })
    }
}

impl Supernet for DartsSupernet {
    type Path = DartsGenotype;

    fn forward_path(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        path: &Self::Path,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let y = self.stem_conv.forward(g, b, x)?;
        let stem = self.stem_bn.forward(g, b, y, train)?;
        let (mut s0, mut s1) = (stem, stem);
        for cell in &self.cells {
            let genotype = if cell.reduction {
                &path.reduce
            } else {
                &path.normal
            };
            let nodes: Vec<[(&CellOp, usize); 2]> = genotype
                .nodes
                .iter()
                .enumerate()
                .map(|(j, n)| n.map(|e| (&cell.edges[j][e.input][e.op.id()], e.input)))
                .collect();
            let out = cell.inputs.cell_forward(g, b, (s0, s1), train, &nodes)?;
            (s0, s1) = (s1, out);
        }
        let pooled = ops::global_avg_pool(g, s1)?;
        self.classifier.forward(g, b, pooled)
    }

    fn shared_parameters(&self) -> Vec<&Parameter> {
        let mut all = self.stem_conv.parameters();
        all.extend(self.stem_bn.parameters());
        for cell in &self.cells {
            all.extend(cell.inputs.parameters());
            for op in cell.edges.iter().flatten().flatten() {
                all.extend(op.parameters());
            }
        }
        all.extend(self.classifier.parameters());
        all
    }

    /// Per node, two different inputs and two operations, uniformly.
    fn sample_path(&self, rng: &mut SeededRng) -> Self::Path {
        let mut cell = || {
            let nodes: Vec<[(DartsOp, usize); 2]> = (0..DARTS_NODES)
                .map(|j| {
                    let a = rng.random_range(0..j + 2);
                    let mut b = rng.random_range(0..j + 1);
                    if b >= a {
                        b += 1;
                    }
                    let mut op = || DartsOp::ALL[rng.random_range(0..DartsOp::ALL.len())];
                    [(op(), a), (op(), b)]
                })
                .collect();
            DartsCellGenotype::new(&nodes).expect("distinct earlier inputs")
        };
        DartsGenotype {
            normal: cell(),
            reduce: cell(),
        }
    }

    fn path_of(&self, arch: &Architecture) -> Result<Self::Path, String> {
        let net = arch
            .darts
            .as_ref()
            .ok_or("not a DARTS cell network (the supernet holds DARTS cells)")?;
        if (net.channels, net.cells) != (self.shape.channels, self.shape.cells)
            || arch.input != self.input
            || arch.classes != self.classes
        {
            return Err(format!(
                "C = {}, {} cells, input {:?}, {} classes; the supernet has C = {}, {} cells, input {:?}, {} classes",
                net.channels,
                net.cells,
                arch.input,
                arch.classes,
                self.shape.channels,
                self.shape.cells,
                self.input,
                self.classes
            ));
        }
        Ok(net.genotype)
    }
}
