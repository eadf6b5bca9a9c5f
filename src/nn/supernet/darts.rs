//! The DARTS cell space's supernet for single-path weight sharing (SPOS, Guo et al. 2020; the
//! ENAS micro search shares weights the same way): every cell holds, on every edge i -> j
//! (i < j, j = 2..5), every operation of `DartsOp::ALL` with weights of its own, plus the
//! cell's preprocessing; a path (a genotype) runs, at each node, only its two chosen
//! operations, through the same cell code as the standalone network (`darts_net.rs`), so a
//! path trained here is the standalone network with these weights.
//!
//! DARTS's mixed forward (`MixedSupernet::forward_mixed`) runs the same operations with every
//! edge of every cell mixed: edge i -> j computes all seven operations and sums them by the
//! softmax of its row of alpha, `none` a column that contributes nothing; node j is the sum of
//! its j mixed edges (`darts_derive.rs` gives the rows and the derivation). Unlike the
//! published search network, pools are not followed by an affine-free batch norm and every batch
//! norm is affine: the mixed edges are exactly the standalone cell's operations, so a derived
//! cell inherits what it was searched with.

use std::sync::Arc;

use rand::RngExt;

use super::darts_derive::{DARTS_ALPHA_COLUMNS, DARTS_CELL_EDGES, derive_darts_genotype, edge_row};
use super::{AuxSkip, MixedSupernet, Supernet, check_alpha};
use crate::autograd::{AutogradError, Graph, Value, ops};
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
    /// DARTS- (Chu et al. 2021): when set, the mixed forward adds `beta * x` to every mixed
    /// edge of stride 1 (a reduction cell's edges from its inputs have no identity to add).
    pub aux_skip: Option<AuxSkip>,
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
            aux_skip: None,
        })
    }
}

impl SuperCell {
    /// Records the cell on its inputs with every edge mixed by its row in `rows` (this cell
    /// kind's 14 rows); `aux_skip` adds beta * x to the stride-1 edges.
    fn forward_mixed(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        inputs: (Value, Value),
        rows: &[Value],
        aux_skip: Option<Value>,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let (s0, s1) = self.inputs.preprocess(g, b, inputs, train)?;
        let mut states = vec![s0, s1];
        for (j, from) in self.edges.iter().enumerate() {
            let mut node: Option<Value> = None;
            for (i, all) in from.iter().enumerate() {
                let x = states[i];
                let mut outs = Vec::with_capacity(DARTS_ALPHA_COLUMNS);
                outs.push(None); // `none`
                for op in all {
                    outs.push(Some(op.forward(g, b, x, train)?));
                }
                let mut y = ops::softmax_weighted_sum(g, &outs, rows[edge_row(j, i)])?;
                let strided = self.reduction && i < 2;
                if let (Some(beta), false) = (aux_skip, strided) {
                    // softmax(ln beta, ln(1 - beta))[0] * x = beta * x, beta read on the device.
                    let skip = ops::softmax_weighted_sum(g, &[Some(x), None], beta)?;
                    y = ops::add(g, y, skip)?;
                }
                node = Some(match node {
                    None => y,
                    Some(sum) => ops::add(g, sum, y)?,
                });
            }
            states.push(node.expect("every node has inputs"));
        }
        ops::concat_padded(g, &states[2..])
    }
}

impl MixedSupernet for DartsSupernet {
    fn alpha_shape(&self) -> [usize; 2] {
        [2 * DARTS_CELL_EDGES, DARTS_ALPHA_COLUMNS]
    }

    /// Normal cells mix by rows 0..14 of alpha, reduction cells by rows 14..28.
    fn forward_mixed(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        alpha: Value,
        train: bool,
    ) -> Result<Value, AutogradError> {
        let what = "edges of both cells x operations";
        check_alpha(g, alpha, self.alpha_shape(), "darts_supernet", what)?;
        let rows = ops::rows(g, alpha)?;
        let (normal, reduce) = rows.split_at(DARTS_CELL_EDGES);
        let aux = self
            .aux_skip
            .as_ref()
            .map(|a| g.input(&a.tensor, "darts_minus_beta"));
        self.frame.forward(g, b, x, train, |cell, g, b, inputs| {
            let rows = if cell.reduction { reduce } else { normal };
            cell.forward_mixed(g, b, inputs, rows, aux, train)
        })
    }

    fn derive(&self, rows: &[Vec<f32>]) -> DartsGenotype {
        derive_darts_genotype(rows)
    }

    fn operation_names(&self) -> Vec<&'static str> {
        let mut names = vec!["none"];
        names.extend(DartsOp::ALL.iter().map(|op| op.name()));
        names
    }

    fn set_aux_skip(&mut self, aux: Option<AuxSkip>) {
        self.aux_skip = aux;
    }

    fn describe(&self) -> String {
        format!(
            "DARTS cells, C = {}, {} cells",
            self.shape.channels, self.shape.cells
        )
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
