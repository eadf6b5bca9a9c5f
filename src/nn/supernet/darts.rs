//! The DARTS cell space's supernet for single-path weight sharing (SPOS, Guo et al. 2020; the
//! ENAS micro search shares weights the same way): every cell holds, on every edge i -> j
//! (i < j, j = 2..5), every operation of `DartsOp::ALL` with weights of its own, plus the
//! cell's preprocessing; a path (a genotype) runs, at each node, only its two chosen
//! operations, through the same cell code as the standalone network (`darts_net.rs`), so a
//! path trained here is the standalone network with these weights.

use std::sync::Arc;

use rand::RngExt;

use super::Supernet;
use crate::autograd::{AutogradError, Graph, Value};
use crate::device::{DeviceError, Gpu};
use crate::nn::Architecture;
use crate::nn::darts_cell::{DARTS_NODES, DartsCellGenotype, DartsGenotype, DartsNetwork, DartsOp};
use crate::nn::darts_net::{CellInputs, CellOp, DartsFrame};
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
    pub frame: DartsFrame<SuperCell>,
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
        let frame = DartsFrame::build(gpu, shape, input[0], classes, rng, |name, place, rng| {
            let inputs = CellInputs::new(gpu, name, place, rng)?;
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
            Ok(SuperCell {
                reduction: place.reduction,
                inputs,
                edges,
            })
        })?;
        Ok(DartsSupernet {
            shape: shape.clone(),
            input,
            classes,
            frame,
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
        self.frame.forward(g, b, x, train, |cell, g, b, inputs| {
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
            cell.inputs.cell_forward(g, b, inputs, train, &nodes)
        })
    }

    fn shared_parameters(&self) -> Vec<&Parameter> {
        self.frame.parameters(|cell| {
            let mut all = cell.inputs.parameters();
            for op in cell.edges.iter().flatten().flatten() {
                all.extend(op.parameters());
            }
            all
        })
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
