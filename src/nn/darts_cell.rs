//! The DARTS cell (Liu et al. 2019, `genotypes.py` and `model.py` of the published code) as
//! the architecture file describes it: a normal and a reduction cell, each with two input
//! nodes (the outputs of the two previous cells) and four intermediate nodes; intermediate node
//! j (2..6) sums two operations, each applied to a different earlier node; the cell's output
//! concatenates the four intermediate nodes. Operations: `max_pool_3x3`, `avg_pool_3x3`,
//! `skip_connect`, `sep_conv_3x3`, `sep_conv_5x5`, `dil_conv_3x3`, `dil_conv_5x5` (`none`, the
//! eighth operation of the search, is never part of a derived cell).
//!
//! The canonical name lists each cell's nodes, each as its two `op~input` pairs in input
//! order: `normal:sep_conv_3x3~0,sep_conv_3x3~1|...;reduce:max_pool_3x3~0,...`. The
//! published Python form, `Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4,
//! 5], reduce=[...], reduce_concat=range(2, 6))`, is read too, so published cells can be
//! pasted into an architecture file.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An operation of a derived DARTS cell, in the published `PRIMITIVES` order (after `none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DartsOp {
    MaxPool3x3,
    AvgPool3x3,
    SkipConnect,
    SepConv3x3,
    SepConv5x5,
    DilConv3x3,
    DilConv5x5,
}

impl DartsOp {
    pub const ALL: [DartsOp; 7] = [
        DartsOp::MaxPool3x3,
        DartsOp::AvgPool3x3,
        DartsOp::SkipConnect,
        DartsOp::SepConv3x3,
        DartsOp::SepConv5x5,
        DartsOp::DilConv3x3,
        DartsOp::DilConv5x5,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DartsOp::MaxPool3x3 => "max_pool_3x3",
            DartsOp::AvgPool3x3 => "avg_pool_3x3",
            DartsOp::SkipConnect => "skip_connect",
            DartsOp::SepConv3x3 => "sep_conv_3x3",
            DartsOp::SepConv5x5 => "sep_conv_5x5",
            DartsOp::DilConv3x3 => "dil_conv_3x3",
            DartsOp::DilConv5x5 => "dil_conv_5x5",
        }
    }

    pub fn from_name(name: &str) -> Result<DartsOp, String> {
        if name == "none" {
            return Err(
                "'none' is an operation of the search, never of a derived cell (each node takes \
                 two real operations)"
                    .into(),
            );
        }
        DartsOp::ALL
            .into_iter()
            .find(|op| op.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = DartsOp::ALL.iter().map(|op| op.name()).collect();
                format!("unknown operation '{name}' (expected one of {names:?})")
            })
    }

    /// Index in `ALL`.
    pub fn id(self) -> usize {
        DartsOp::ALL
            .iter()
            .position(|&op| op == self)
            .expect("listed")
    }

    /// Kernel side of a conv operation (None for pools and skip).
    pub fn conv_kernel(self) -> Option<usize> {
        match self {
            DartsOp::SepConv3x3 | DartsOp::DilConv3x3 => Some(3),
            DartsOp::SepConv5x5 | DartsOp::DilConv5x5 => Some(5),
            _ => None,
        }
    }
}

/// Intermediate nodes of a cell.
pub const DARTS_NODES: usize = 4;

/// One operation of a node: what it applies and to which earlier node (0 and 1 are the cell's
/// inputs, 2.. the intermediate nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DartsEdge {
    pub op: DartsOp,
    pub input: usize,
}

/// One cell: the two edges of each intermediate node, in input order (`edges[j][0].input <
/// edges[j][1].input < j + 2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DartsCellGenotype {
    pub nodes: [[DartsEdge; 2]; DARTS_NODES],
}

/// The normal and the reduction cell of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DartsGenotype {
    pub normal: DartsCellGenotype,
    pub reduce: DartsCellGenotype,
}

impl DartsCellGenotype {
    /// The cell of `pairs` (4 nodes x 2 `(op, input)`, in any order within a node), checked:
    /// inputs of node j are earlier nodes (< j + 2) and distinct.
    pub fn new(pairs: &[[(DartsOp, usize); 2]]) -> Result<DartsCellGenotype, String> {
        if pairs.len() != DARTS_NODES {
            return Err(format!(
                "{} nodes, expected {DARTS_NODES} (two operations each)",
                pairs.len()
            ));
        }
        let mut nodes = [[DartsEdge {
            op: DartsOp::SkipConnect,
            input: 0,
        }; 2]; DARTS_NODES];
        for (j, pair) in pairs.iter().enumerate() {
            let mut edges = pair.map(|(op, input)| DartsEdge { op, input });
            edges.sort_by_key(|e| (e.input, e.op));
            for e in &edges {
                if e.input >= j + 2 {
                    return Err(format!(
                        "node {} reads node {}, which is not an earlier node (0..{})",
                        j + 2,
                        e.input,
                        j + 2
                    ));
                }
            }
            if edges[0].input == edges[1].input {
                return Err(format!(
                    "node {} reads node {} twice (its two operations take different inputs)",
                    j + 2,
                    edges[0].input
                ));
            }
            nodes[j] = edges;
        }
        Ok(DartsCellGenotype { nodes })
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (j, node) in self.nodes.iter().enumerate() {
            if j > 0 {
                f.write_str("|")?;
            }
            write!(
                f,
                "{}~{},{}~{}",
                node[0].op.name(),
                node[0].input,
                node[1].op.name(),
                node[1].input
            )?;
        }
        Ok(())
    }

    /// `op~i,op~i|...` (4 nodes).
    fn parse_compact(text: &str) -> Result<DartsCellGenotype, String> {
        let mut pairs = Vec::new();
        for (j, node) in text.split('|').enumerate() {
            let edges: Vec<&str> = node.split(',').collect();
            if edges.len() != 2 {
                return Err(format!(
                    "node {} is '{node}': expected two 'op~input' separated by ','",
                    j + 2
                ));
            }
            let mut pair = [(DartsOp::SkipConnect, 0); 2];
            for (k, edge) in edges.iter().enumerate() {
                let (op, input) = edge
                    .trim()
                    .split_once('~')
                    .ok_or_else(|| format!("node {}: '{edge}' is not 'op~input'", j + 2))?;
                let input: usize = input.parse().map_err(|_| {
                    format!(
                        "node {}: input '{input}' of '{edge}' is not a node number",
                        j + 2
                    )
                })?;
                pair[k] = (DartsOp::from_name(op)?, input);
            }
            pairs.push(pair);
        }
        DartsCellGenotype::new(&pairs)
    }

    /// The list of a published `Genotype(...)`: `[('op', i), ...]`, two per node in order.
    fn parse_python(list: &str) -> Result<DartsCellGenotype, String> {
        let mut edges = Vec::new();
        for item in list.split(')') {
            let item = item.trim_start_matches([',', ' ', '[', '\n']).trim();
            if item.is_empty() || item == "]" {
                continue;
            }
            let inner = item
                .strip_prefix('(')
                .ok_or_else(|| format!("'{item}' is not an ('op', input) pair"))?;
            let (op, input) = inner
                .split_once(',')
                .ok_or_else(|| format!("'{inner}' is not an ('op', input) pair"))?;
            let op = op.trim().trim_matches(['\'', '"']);
            let input: usize = input
                .trim()
                .parse()
                .map_err(|_| format!("input '{}' of '{op}' is not a node number", input.trim()))?;
            edges.push((DartsOp::from_name(op)?, input));
        }
        if edges.len() != 2 * DARTS_NODES {
            return Err(format!(
                "{} operations, expected {} (two per node)",
                edges.len(),
                2 * DARTS_NODES
            ));
        }
        let pairs: Vec<[(DartsOp, usize); 2]> = edges.chunks(2).map(|c| [c[0], c[1]]).collect();
        DartsCellGenotype::new(&pairs)
    }

    /// Operations applied to node `input` anywhere in the cell.
    pub fn edges(&self) -> impl Iterator<Item = (usize, DartsEdge)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .flat_map(|(j, n)| n.iter().map(move |&e| (j + 2, e)))
    }
}

impl fmt::Display for DartsGenotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("normal:")?;
        self.normal.write(f)?;
        f.write_str(";reduce:")?;
        self.reduce.write(f)
    }
}

/// The text between `key=[` and its closing `]` in a published `Genotype(...)`.
fn python_list<'a>(text: &'a str, key: &str) -> Result<&'a str, String> {
    let start = text
        .find(&format!("{key}=["))
        .ok_or_else(|| format!("no '{key}=[...]' in the Genotype"))?
        + key.len()
        + 2;
    let end = text[start..]
        .find(']')
        .ok_or_else(|| format!("'{key}=[' is not closed"))?;
    Ok(&text[start..start + end])
}

/// The concat list of a published genotype must be the four intermediate nodes.
fn check_concat(text: &str, key: &str) -> Result<(), String> {
    let Some(at) = text.find(&format!("{key}=")) else {
        return Ok(());
    };
    let rest = &text[at + key.len() + 1..];
    let value: String = rest
        .chars()
        .take_while(|&c| c != ']' && c != ')')
        .filter(|c| !c.is_whitespace())
        .collect();
    if value == "[2,3,4,5" || value == "range(2,6" {
        Ok(())
    } else {
        Err(format!(
            "{key} must be the four intermediate nodes ([2, 3, 4, 5] or range(2, 6)), got '{value}...'"
        ))
    }
}

impl std::str::FromStr for DartsGenotype {
    type Err = String;

    fn from_str(s: &str) -> Result<DartsGenotype, String> {
        let s = s.trim();
        if s.starts_with("Genotype(") {
            check_concat(s, "normal_concat")?;
            check_concat(s, "reduce_concat")?;
            let normal = DartsCellGenotype::parse_python(python_list(s, "normal")?)
                .map_err(|e| format!("normal cell: {e}"))?;
            let reduce = DartsCellGenotype::parse_python(python_list(s, "reduce")?)
                .map_err(|e| format!("reduction cell: {e}"))?;
            return Ok(DartsGenotype { normal, reduce });
        }
        let (normal, reduce) = s
            .strip_prefix("normal:")
            .and_then(|r| r.split_once(";reduce:"))
            .ok_or_else(|| {
                format!(
                    "'{s}' is neither 'normal:op~i,op~i|...;reduce:op~i,op~i|...' nor a published Genotype(...)"
                )
            })?;
        Ok(DartsGenotype {
            normal: DartsCellGenotype::parse_compact(normal)
                .map_err(|e| format!("normal cell: {e}"))?,
            reduce: DartsCellGenotype::parse_compact(reduce)
                .map_err(|e| format!("reduction cell: {e}"))?,
        })
    }
}

impl Serialize for DartsGenotype {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for DartsGenotype {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A DARTS network (`NetworkCIFAR` of the published code, without the auxiliary head and drop
/// path): a 3x3 conv stem (conv + BN) to 3C channels, `cells` cells of which the ones at
/// cells/3 and 2*cells/3 are reduction cells (stride 2, channels doubled), global average
/// pooling and a linear classifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DartsNetwork {
    pub genotype: DartsGenotype,
    /// C, channels of the first cells (the paper's CIFAR-10 network: 36; its search: 16).
    #[serde(default = "default_channels")]
    pub channels: usize,
    /// Cells in all (the paper's CIFAR-10 network: 20; its search: 8).
    #[serde(default = "default_cells")]
    pub cells: usize,
}

fn default_channels() -> usize {
    16
}

fn default_cells() -> usize {
    8
}

/// Stem channels per C (the published `stem_multiplier`).
pub const STEM_MULTIPLIER: usize = 3;

/// Where one cell sits: its channels, whether it and the cell before reduce, the channels of
/// its two inputs, and the spatial size of its inputs (s1's) and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellPlace {
    pub reduction: bool,
    pub reduction_prev: bool,
    /// Channels of s0 (two cells back) and s1 (the previous cell).
    pub c_prev_prev: usize,
    pub c_prev: usize,
    /// Channels of every node of this cell; its output has 4x.
    pub c: usize,
    /// Height and width of s1 and of this cell's output.
    pub size_in: [usize; 2],
    pub size_out: [usize; 2],
}

impl DartsNetwork {
    pub fn new(genotype: DartsGenotype) -> DartsNetwork {
        DartsNetwork {
            genotype,
            channels: default_channels(),
            cells: default_cells(),
        }
    }

    /// Whether cell `i` is a reduction cell (at cells/3 and 2*cells/3, as published).
    pub fn is_reduction(&self, i: usize) -> bool {
        i == self.cells / 3 || i == 2 * self.cells / 3
    }

    /// Every cell's place for an image of `hw`, in order. Reductions halve, rounding up.
    pub fn places(&self, hw: [usize; 2]) -> Vec<CellPlace> {
        let stem = STEM_MULTIPLIER * self.channels;
        let (mut cpp, mut cp, mut c) = (stem, stem, self.channels);
        let mut size = hw;
        let mut reduction_prev = false;
        let mut out = Vec::with_capacity(self.cells);
        for i in 0..self.cells {
            let reduction = self.is_reduction(i);
            if reduction {
                c *= 2;
            }
            let size_out = if reduction {
                size.map(|d| d.div_ceil(2))
            } else {
                size
            };
            out.push(CellPlace {
                reduction,
                reduction_prev,
                c_prev_prev: cpp,
                c_prev: cp,
                c,
                size_in: size,
                size_out,
            });
            reduction_prev = reduction;
            (cpp, cp) = (cp, DARTS_NODES * c);
            size = size_out;
        }
        out
    }

    /// Channels of the last cell's output (the classifier's features).
    pub fn features(&self) -> usize {
        let stem = STEM_MULTIPLIER * self.channels;
        self.places([1, 1])
            .last()
            .map_or(stem, |p| DARTS_NODES * p.c)
    }

    /// Trainable parameters of the built network (exactly what `DartsNet::new` makes).
    pub fn parameter_count(&self, input_channels: usize, classes: usize) -> usize {
        let stem = STEM_MULTIPLIER * self.channels;
        let mut total = 9 * input_channels * stem + 2 * stem;
        for p in self.places([1, 1]) {
            let c = p.c;
            // Preprocessing: s0 by a factorized reduction after a reduction cell, else a
            // ReLU-conv1x1-BN; s1 always by a ReLU-conv1x1-BN.
            total += p.c_prev_prev * c + 2 * c + p.c_prev * c + 2 * c;
            let cell = if p.reduction {
                &self.genotype.reduce
            } else {
                &self.genotype.normal
            };
            for (_, e) in cell.edges() {
                let stride = if p.reduction && e.input < 2 { 2 } else { 1 };
                total += op_parameters(e.op, c, stride);
            }
        }
        total + self.features() * classes + classes
    }

    /// Parameters of this shape's supernet (`nn::supernet::DartsSupernet`): the stem, every
    /// cell's preprocessing, every operation on every edge i -> j, and the classifier.
    pub fn supernet_parameter_count(&self, input_channels: usize, classes: usize) -> usize {
        let stem = STEM_MULTIPLIER * self.channels;
        let mut total = 9 * input_channels * stem + 2 * stem;
        for p in self.places([1, 1]) {
            let c = p.c;
            total += p.c_prev_prev * c + 2 * c + p.c_prev * c + 2 * c;
            for j in 0..DARTS_NODES {
                for i in 0..j + 2 {
                    let stride = if p.reduction && i < 2 { 2 } else { 1 };
                    total += DartsOp::ALL
                        .iter()
                        .map(|&op| op_parameters(op, c, stride))
                        .sum::<usize>();
                }
            }
        }
        total + self.features() * classes + classes
    }

    /// Multiply-add FLOPs (2 per MAC) of the convolutions and the classifier for one image of
    /// shape `input` (pooling, normalisation, activations and sums are not counted).
    pub fn forward_flops(&self, input: [usize; 3], classes: usize) -> f64 {
        let pixels = |s: [usize; 2]| (s[0] * s[1]) as f64;
        let hw = [input[1], input[2]];
        let stem = STEM_MULTIPLIER * self.channels;
        let mut macs = pixels(hw) * (9 * input[0] * stem) as f64;
        for p in self.places(hw) {
            let c = p.c;
            // Both preprocessings output at s1's size (s0 is 2x larger after a reduction cell,
            // and its factorized reduction halves it).
            macs += pixels(p.size_in) * (p.c_prev_prev * c + p.c_prev * c) as f64;
            let cell = if p.reduction {
                &self.genotype.reduce
            } else {
                &self.genotype.normal
            };
            for (_, e) in cell.edges() {
                let stride = if p.reduction && e.input < 2 { 2 } else { 1 };
                macs += op_macs(e.op, c, stride, p.size_out);
            }
        }
        2.0 * (macs + (self.features() * classes) as f64)
    }
}

/// Parameters of one operation at `c` channels (C -> C) and `stride`.
fn op_parameters(op: DartsOp, c: usize, stride: usize) -> usize {
    let unit = |k: usize| c * k * k + c * c + 2 * c;
    match op {
        DartsOp::SepConv3x3 | DartsOp::SepConv5x5 => 2 * unit(op.conv_kernel().expect("conv")),
        DartsOp::DilConv3x3 | DartsOp::DilConv5x5 => unit(op.conv_kernel().expect("conv")),
        // A stride-2 skip is a factorized reduction: two 1x1 convs of c/2 outputs, then BN.
        DartsOp::SkipConnect if stride == 2 => c * c + 2 * c,
        _ => 0,
    }
}

/// Multiply-adds of one operation for one image: every conv of it runs at the output size (the
/// first depthwise conv carries the stride).
fn op_macs(op: DartsOp, c: usize, stride: usize, out: [usize; 2]) -> f64 {
    let out_px = (out[0] * out[1]) as f64;
    let unit = |k: usize| out_px * (c * k * k + c * c) as f64;
    match op {
        DartsOp::SepConv3x3 | DartsOp::SepConv5x5 => 2.0 * unit(op.conv_kernel().expect("conv")),
        DartsOp::DilConv3x3 | DartsOp::DilConv5x5 => unit(op.conv_kernel().expect("conv")),
        DartsOp::SkipConnect if stride == 2 => out_px * (c * c) as f64,
        _ => 0.0,
    }
}

/// DARTS V2, the cell the paper reports (`genotypes.DARTS_V2`), for tests and examples.
pub const DARTS_V2: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";
