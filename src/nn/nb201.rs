//! The NAS-Bench-201 cell (Dong & Yang 2020) as the architecture file describes it: 4 nodes,
//! an operation on each of the 6 edges i -> j (i < j), node j the sum of its incoming edges.
//! Its canonical string is the published one,
//! `|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|`:
//! one `+`-separated group per node 1..3, each `|op~i|` naming the operation from node i.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Operation on one edge of the cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nb201Op {
    /// No edge: contributes nothing to the sum.
    None,
    /// Identity.
    SkipConnect,
    /// ReLU -> 1x1 conv -> batch norm.
    NorConv1x1,
    /// ReLU -> 3x3 conv -> batch norm.
    NorConv3x3,
    /// 3x3 average pooling, stride 1, padding 1 (counting only real pixels).
    AvgPool3x3,
}

/// Edges of the cell in canonical order: (from, to).
pub const NB201_EDGES: [(usize, usize); 6] = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)];

impl Nb201Op {
    /// Every operation, in the order of the published benchmark (the index is the choice id).
    pub const ALL: [Nb201Op; 5] = [
        Nb201Op::None,
        Nb201Op::SkipConnect,
        Nb201Op::NorConv1x1,
        Nb201Op::NorConv3x3,
        Nb201Op::AvgPool3x3,
    ];

    /// The published name (`nor_conv_3x3`).
    pub fn name(self) -> &'static str {
        match self {
            Nb201Op::None => "none",
            Nb201Op::SkipConnect => "skip_connect",
            Nb201Op::NorConv1x1 => "nor_conv_1x1",
            Nb201Op::NorConv3x3 => "nor_conv_3x3",
            Nb201Op::AvgPool3x3 => "avg_pool_3x3",
        }
    }

    /// The operation of a published name.
    pub fn from_name(name: &str) -> Option<Nb201Op> {
        Nb201Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Choice id of this operation (its position in `ALL`).
    pub fn id(self) -> usize {
        Nb201Op::ALL
            .iter()
            .position(|&o| o == self)
            .expect("listed")
    }
}

/// The 6 edge operations of one cell, in `NB201_EDGES` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nb201Genotype(pub [Nb201Op; 6]);

impl fmt::Display for Nb201Genotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut edge = 0;
        for node in 1..4 {
            if node > 1 {
                write!(f, "+")?;
            }
            write!(f, "|")?;
            for from in 0..node {
                write!(f, "{}~{from}|", self.0[edge].name())?;
                edge += 1;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Nb201Genotype {
    type Err = String;

    /// Parses the canonical string; errors say which node or edge is wrong.
    fn from_str(s: &str) -> Result<Nb201Genotype, String> {
        let nodes: Vec<&str> = s.split('+').collect();
        if nodes.len() != 3 {
            return Err(format!(
                "'{s}': {} node groups separated by '+', expected 3",
                nodes.len()
            ));
        }
        let mut ops = Vec::with_capacity(6);
        for (k, group) in nodes.iter().enumerate() {
            let node = k + 1;
            let inner = group
                .strip_prefix('|')
                .and_then(|g| g.strip_suffix('|'))
                .ok_or_else(|| format!("'{s}': node {node} group '{group}' is not |op~i|...|"))?;
            let edges: Vec<&str> = inner.split('|').collect();
            if edges.len() != node {
                return Err(format!(
                    "'{s}': node {node} has {} edges, expected {node}",
                    edges.len()
                ));
            }
            for (from, edge) in edges.iter().enumerate() {
                let (name, index) = edge
                    .split_once('~')
                    .ok_or_else(|| format!("'{s}': edge '{edge}' is not op~i"))?;
                if index != from.to_string() {
                    return Err(format!(
                        "'{s}': edge '{edge}' of node {node}: expected input {from}"
                    ));
                }
                let op = Nb201Op::from_name(name).ok_or_else(|| {
                    format!(
                        "'{s}': unknown operation '{name}' (expected one of none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3)"
                    )
                })?;
                ops.push(op);
            }
        }
        Ok(Nb201Genotype(ops.try_into().expect("6 edges")))
    }
}

impl Serialize for Nb201Genotype {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Nb201Genotype {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Nb201Genotype, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A NAS-Bench-201 network: a 3x3 conv stem (conv + BN) to `channels`, three stages of
/// `cells_per_stage` copies of the cell at C, 2C and 4C channels joined by residual reduction
/// blocks (ResNet basic block, stride 2, with an avg-pool + 1x1 conv shortcut), then BN, ReLU,
/// global average pooling and a linear classifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nb201Network {
    pub genotype: Nb201Genotype,
    /// N, cells per stage (the benchmark: 5).
    #[serde(default = "default_cells")]
    pub cells_per_stage: usize,
    /// C, channels of the first stage (the benchmark: 16).
    #[serde(default = "default_channels")]
    pub channels: usize,
}

fn default_cells() -> usize {
    5
}

fn default_channels() -> usize {
    16
}

impl Nb201Network {
    /// Whether some path from the cell's input reaches its output through non-`none` edges
    /// (otherwise the cell outputs zeros and the network cannot learn from the image).
    pub fn connected(&self) -> bool {
        let mut reach = [true, false, false, false];
        for (k, &(from, to)) in NB201_EDGES.iter().enumerate() {
            if reach[from] && self.genotype.0[k] != Nb201Op::None {
                reach[to] = true;
            }
        }
        reach[3]
    }
}
