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
    /// The benchmark's network (N = 5, C = 16) around `genotype`.
    pub fn new(genotype: Nb201Genotype) -> Nb201Network {
        Nb201Network {
            genotype,
            cells_per_stage: default_cells(),
            channels: default_channels(),
        }
    }

    /// Channels of stages 1..3: C, 2C, 4C.
    pub fn stage_channels(&self) -> [usize; 3] {
        [self.channels, 2 * self.channels, 4 * self.channels]
    }

    /// Height and width of stages 1..3 for an image of `hw`: each reduction halves, rounding up
    /// (stride-2 "same" padding).
    pub fn stage_sizes(hw: [usize; 2]) -> [[usize; 2]; 3] {
        let half = |s: [usize; 2]| s.map(|d| d.div_ceil(2));
        [hw, half(hw), half(half(hw))]
    }

    /// Trainable parameters of the built network for `input_channels` image channels and
    /// `classes` classes: stem conv + BN, the cells' conv edges (weights + BN), the two
    /// reduction blocks (two conv + BN, the 1x1 shortcut conv without BN), the final BN and the
    /// classifier.
    pub fn parameter_count(&self, input_channels: usize, classes: usize) -> usize {
        let c = self.stage_channels();
        let stem = 9 * input_channels * c[0] + 2 * c[0];
        let cells: usize = c
            .iter()
            .map(|&ch| {
                self.cells_per_stage * self.cell_conv_weights(ch)
                    + self.cells_per_stage * self.cell_convs() * 2 * ch
            })
            .sum();
        let reductions: usize = [(c[0], c[1]), (c[1], c[2])]
            .iter()
            .map(|&(a, b)| 9 * a * b + 2 * b + 9 * b * b + 2 * b + a * b)
            .sum();
        stem + cells + reductions + 2 * c[2] + c[2] * classes + classes
    }

    /// Multiply-add FLOPs (2 per MAC) of the convolutions and the classifier for one image of
    /// shape `input` `[channels, height, width]`.
    pub fn forward_flops(&self, input: [usize; 3], classes: usize) -> f64 {
        let c = self.stage_channels();
        let sizes = Self::stage_sizes([input[1], input[2]]);
        let pixels = |s: [usize; 2]| (s[0] * s[1]) as f64;
        let stem = pixels(sizes[0]) * (9 * input[0] * c[0]) as f64;
        let cells: f64 = (0..3)
            .map(|s| {
                pixels(sizes[s]) * (self.cells_per_stage * self.cell_conv_weights(c[s])) as f64
            })
            .sum();
        let reductions: f64 = (0..2)
            .map(|r| {
                let (a, b) = (c[r], c[r + 1]);
                pixels(sizes[r + 1]) * (9 * a * b + 9 * b * b + a * b) as f64
            })
            .sum();
        2.0 * (stem + cells + reductions + (c[2] * classes) as f64)
    }

    /// Number of conv edges in one cell.
    fn cell_convs(&self) -> usize {
        self.genotype
            .0
            .iter()
            .filter(|op| matches!(op, Nb201Op::NorConv1x1 | Nb201Op::NorConv3x3))
            .count()
    }

    /// Conv weights of one cell at `ch` channels (also its conv multiply-adds per pixel).
    fn cell_conv_weights(&self, ch: usize) -> usize {
        self.genotype
            .0
            .iter()
            .map(|op| match op {
                Nb201Op::NorConv1x1 => ch * ch,
                Nb201Op::NorConv3x3 => 9 * ch * ch,
                _ => 0,
            })
            .sum()
    }

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
