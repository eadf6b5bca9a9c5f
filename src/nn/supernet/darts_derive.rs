//! DARTS's architecture weights over the DARTS cell space and the discrete cells they stand
//! for (Liu et al. 2019; quark0/darts `model_search.py`, `Network.genotype`):
//! - one row per edge i -> j of a cell (i < j, j = 2..5: 14 edges, node by node, inputs in
//!   order), the normal cell's 14 rows, then the reduction cell's (`[28, 8]`);
//! - columns in the published `PRIMITIVES` order: `none`, then `DartsOp::ALL`;
//! - derivation: for each node, its two incoming edges whose strongest non-`none` softmax
//!   weight is largest, each with that strongest operation (`none` is a column of the
//!   relaxation, never of a derived cell: it only lets an edge fade out).

use super::arch_weights::{argmax, softmax_rows};
use crate::nn::darts_cell::{DARTS_NODES, DartsCellGenotype, DartsGenotype, DartsOp};

/// Columns of the architecture weights: `none` and the seven operations.
pub const DARTS_ALPHA_COLUMNS: usize = 1 + DartsOp::ALL.len();

/// Mixed edges of one cell: node j (0-based) has j + 2 inputs.
pub const DARTS_CELL_EDGES: usize = DARTS_NODES * (DARTS_NODES + 3) / 2;

/// Row of edge `input` -> node `j` + 2 within its cell's block of rows.
pub fn edge_row(j: usize, input: usize) -> usize {
    (0..j).map(|n| n + 2).sum::<usize>() + input
}

/// The genotype of DARTS-space architecture weights `[28, 8]` (see the module's rule; ties go
/// to the earlier edge and the earlier operation, so the rule is deterministic).
pub fn derive_darts_genotype<R: AsRef<[f32]>>(rows: &[R]) -> DartsGenotype {
    assert_eq!(rows.len(), 2 * DARTS_CELL_EDGES, "DARTS alpha has 28 rows");
    let weights = softmax_rows(rows);
    let cell = |block: &[Vec<f32>]| {
        let nodes: Vec<[(DartsOp, usize); 2]> = (0..DARTS_NODES)
            .map(|j| {
                // (strength, input, op) of every incoming edge, strongest first.
                let mut edges: Vec<(f32, usize, DartsOp)> = (0..j + 2)
                    .map(|i| {
                        let real = &block[edge_row(j, i)][1..];
                        let best = argmax(real);
                        (real[best], i, DartsOp::ALL[best])
                    })
                    .collect();
                edges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                [(edges[0].2, edges[0].1), (edges[1].2, edges[1].1)]
            })
            .collect();
        DartsCellGenotype::new(&nodes).expect("two distinct earlier inputs per node")
    };
    DartsGenotype {
        normal: cell(&weights[..DARTS_CELL_EDGES]),
        reduce: cell(&weights[DARTS_CELL_EDGES..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_rows_enumerate_each_cells_fourteen_edges_once() {
        let mut seen = Vec::new();
        for j in 0..DARTS_NODES {
            for i in 0..j + 2 {
                seen.push(edge_row(j, i));
            }
        }
        assert_eq!(seen, (0..DARTS_CELL_EDGES).collect::<Vec<_>>());
        assert_eq!(DARTS_CELL_EDGES, 14);
    }

    /// `none` is never derived however strong, the two strongest edges win, ties go to the
    /// earlier edge and operation.
    #[test]
    fn derivation_keeps_each_nodes_two_strongest_real_edges() {
        let mut rows = vec![vec![0.0f32; DARTS_ALPHA_COLUMNS]; 2 * DARTS_CELL_EDGES];
        // Normal node 2 (edges 0, 1): `none` dominates edge 0, yet its real ops still count.
        rows[edge_row(0, 0)] = vec![9.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0];
        rows[edge_row(0, 1)][4] = 2.0; // sep_conv_3x3
        // Normal node 5 (edges 0..5): input 3 and input 1 strongest.
        rows[edge_row(3, 3)][7] = 5.0; // dil_conv_5x5
        rows[edge_row(3, 1)][1] = 4.0; // max_pool_3x3
        rows[edge_row(3, 4)][2] = 1.0;
        let g = derive_darts_genotype(&rows);
        let n = &g.normal.nodes;
        assert_eq!((n[0][0].input, n[0][0].op), (0, DartsOp::SepConv5x5));
        assert_eq!((n[0][1].input, n[0][1].op), (1, DartsOp::SepConv3x3));
        assert_eq!((n[3][0].input, n[3][0].op), (1, DartsOp::MaxPool3x3));
        assert_eq!((n[3][1].input, n[3][1].op), (3, DartsOp::DilConv5x5));
        // All-zero rows: every edge ties, so inputs 0 and 1 with the first operation.
        for node in &g.reduce.nodes {
            assert_eq!((node[0].input, node[0].op), (0, DartsOp::MaxPool3x3));
            assert_eq!((node[1].input, node[1].op), (1, DartsOp::MaxPool3x3));
        }
    }
}
