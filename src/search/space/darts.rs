//! The DARTS cell space (Liu et al. 2019) for discrete search: a normal and a reduction cell,
//! each of 4 intermediate nodes that sum two operations of 7 (`DartsOp::ALL`) on two different
//! earlier nodes, built into the published network at the configured C and number of cells.
//!
//! The rollout lists, for the normal cell and then the reduction cell, node by node: the pair
//! of inputs (node 2 always reads nodes 0 and 1, so it has no such decision; node j + 2 picks
//! one of the C(j + 2, 2) pairs), then the operation on the pair's lower and on its higher
//! input: 11 decisions per cell, 22 in all. Every rollout is a valid cell and every cell one
//! rollout, so there is nothing to repair after sampling or mutation. The canonical name is
//! the genotype's (`DartsGenotype`'s Display), which lists each pair in input order.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::macro_space::mutate_one;
use super::{Block, Rollout, Schema, Space, TokenGroup};
use crate::nn::darts_cell::{DARTS_NODES, DartsCellGenotype};
use crate::nn::{Architecture, DartsGenotype, DartsNetwork, DartsOp};
use crate::search::ConfigError;
use crate::util::SeededRng;

/// The network around the cells (the configuration's `darts_space` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DartsSpaceConfig {
    /// C, channels of the first cells (the paper's search: 16).
    pub channels: usize,
    /// Cells in all (the paper's search: 8).
    pub cells: usize,
}

impl Default for DartsSpaceConfig {
    fn default() -> Self {
        DartsSpaceConfig {
            channels: 16,
            cells: 8,
        }
    }
}

impl DartsSpaceConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(3..=crate::nn::arch::MAX_DARTS_CELLS).contains(&self.cells) {
            return Err(ConfigError::field(
                "darts_space.cells",
                format!(
                    "{} is not in 3..={} (two of the cells are reduction cells)",
                    self.cells,
                    crate::nn::arch::MAX_DARTS_CELLS
                ),
            ));
        }
        if !(1..=crate::nn::arch::MAX_CELL_CHANNELS).contains(&self.channels) {
            return Err(ConfigError::field(
                "darts_space.channels",
                format!(
                    "{} is not in 1..={}",
                    self.channels,
                    crate::nn::arch::MAX_CELL_CHANNELS
                ),
            ));
        }
        Ok(())
    }
}

/// The space: every pair of cells, built at the configured C and number of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct DartsSpace {
    pub config: DartsSpaceConfig,
}

const OPS: usize = DartsOp::ALL.len();
/// Decisions per cell: node 2's two operations, then (pair, op, op) for nodes 3..5.
const PER_CELL: usize = 2 + 3 * (DARTS_NODES - 1);

/// Input pairs (a < b) of a node with `inputs` earlier nodes, indexed b(b-1)/2 + a, so the
/// pairs of a node are those of the node before it followed by the pairs that use its newest
/// input.
fn pairs(inputs: usize) -> usize {
    inputs * (inputs - 1) / 2
}

fn pair_of(index: usize) -> (usize, usize) {
    let mut b = 1;
    while pairs(b + 1) <= index {
        b += 1;
    }
    (index - pairs(b), b)
}

fn index_of(a: usize, b: usize) -> usize {
    pairs(b) + a
}

/// Options of each decision of one cell, in rollout order.
fn cell_options() -> Vec<usize> {
    let mut out = vec![OPS, OPS];
    for j in 1..DARTS_NODES {
        out.extend([pairs(j + 2), OPS, OPS]);
    }
    out
}

fn cell_of(d: &[usize]) -> DartsCellGenotype {
    let mut nodes = Vec::with_capacity(DARTS_NODES);
    nodes.push([(DartsOp::ALL[d[0]], 0), (DartsOp::ALL[d[1]], 1)]);
    for j in 1..DARTS_NODES {
        let k = 2 + 3 * (j - 1);
        let (a, b) = pair_of(d[k]);
        nodes.push([(DartsOp::ALL[d[k + 1]], a), (DartsOp::ALL[d[k + 2]], b)]);
    }
    DartsCellGenotype::new(&nodes).expect("every rollout is a valid cell")
}

fn decisions_of(cell: &DartsCellGenotype) -> Vec<usize> {
    let n = &cell.nodes;
    let mut out = vec![n[0][0].op.id(), n[0][1].op.id()];
    for node in &n[1..] {
        out.extend([
            index_of(node[0].input, node[1].input),
            node[0].op.id(),
            node[1].op.id(),
        ]);
    }
    out
}

fn genotype(r: &Rollout) -> DartsGenotype {
    DartsGenotype {
        normal: cell_of(&r.0[..PER_CELL]),
        reduce: cell_of(&r.0[PER_CELL..]),
    }
}

impl Space for DartsSpace {
    fn name(&self) -> &'static str {
        "darts"
    }

    /// One block of 22 tokens: one operation group shared by every edge of both cells (as the
    /// ENAS micro controller shares its operation embedding), and one input-pair group per
    /// node with a choice (their option counts differ).
    fn schema(&self, _sampled: usize) -> Option<Schema> {
        let mut groups = vec![TokenGroup {
            name: "darts_op".into(),
            options: OPS,
        }];
        for j in 1..DARTS_NODES {
            groups.push(TokenGroup {
                name: format!("darts_inputs_node{}", j + 2),
                options: pairs(j + 2),
            });
        }
        let mut cell = vec![0, 0];
        for j in 1..DARTS_NODES {
            cell.extend([j, 0, 0]);
        }
        let mut tokens = cell.clone();
        tokens.extend(cell);
        Some(Schema {
            groups,
            blocks: vec![Block {
                tokens,
                anchor: false,
            }],
        })
    }

    fn sample(&self, _sampled: usize, rng: &mut SeededRng) -> Rollout {
        let options = self.options();
        Rollout(options.iter().map(|&n| rng.random_range(0..n)).collect())
    }

    /// One operation or one node's input pair changed to another.
    fn mutate(&self, parent: &Rollout, rng: &mut SeededRng) -> Rollout {
        mutate_one(parent, &self.options(), rng)
    }

    fn check(&self, r: &Rollout) -> Result<(), String> {
        self.schema(0).expect("always").check(r)
    }

    fn canonical(&self, r: &Rollout) -> String {
        genotype(r).to_string()
    }

    fn parse(&self, name: &str) -> Result<Rollout, String> {
        let g: DartsGenotype = name.parse()?;
        let mut d = decisions_of(&g.normal);
        d.extend(decisions_of(&g.reduce));
        Ok(Rollout(d))
    }

    fn architecture(&self, r: &Rollout, input: [usize; 3], classes: usize) -> Architecture {
        Architecture::darts_cells(
            input,
            classes,
            DartsNetwork {
                genotype: genotype(r),
                channels: self.config.channels,
                cells: self.config.cells,
            },
        )
    }
}

impl DartsSpace {
    fn options(&self) -> Vec<usize> {
        let mut o = cell_options();
        o.extend(cell_options());
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_indices_enumerate_every_pair_once() {
        let mut seen = Vec::new();
        for i in 0..pairs(5) {
            let (a, b) = pair_of(i);
            assert!(a < b && b < 5, "{i}: ({a}, {b})");
            assert_eq!(index_of(a, b), i);
            seen.push((a, b));
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 10);
    }
}
