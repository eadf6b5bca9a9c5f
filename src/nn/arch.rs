//! The architecture file: what `nasgpu search` emits and `nasgpu train --arch` reads.
//!
//! ```json
//! { "input": [1, 28, 28], "classes": 10,
//!   "layers": [ { "filter_height": 3, "filter_width": 3, "filters": 36, "stride": 1, "inputs": [] },
//!               { "filter_height": 5, "filter_width": 1, "filters": 48, "stride": 2, "inputs": [0] } ] }
//! ```
//! or a NAS-Bench-201 cell network (see `nb201.rs` and `cell_net.rs`):
//! ```json
//! { "input": [1, 28, 28], "classes": 10,
//!   "nb201": { "genotype": "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
//!              "cells_per_stage": 5, "channels": 16 } }
//! ```
//! A file holds exactly one of `layers` and `nb201`.
//!
//! Each layer is conv -> batch norm -> relu. `inputs` lists earlier layer indices (skip
//! connections); an empty list means the image. Inputs of different spatial sizes are
//! zero-padded to the largest and concatenated along channels. Every layer that feeds no other
//! is concatenated into the final feature map, then global average pooling and a linear classifier.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::darts_cell::DartsNetwork;
use super::enas_macro::{EnasLayer, EnasLayers, EnasMacroNetwork, EnasOpName};
use super::nb201::Nb201Network;

/// Largest filter side the conv kernels support.
pub const MAX_FILTER: usize = 7;
/// Largest stride the conv kernels support.
pub const MAX_STRIDE: usize = 3;

/// One conv layer of a child network.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    pub filter_height: usize,
    pub filter_width: usize,
    /// Number of output channels.
    pub filters: usize,
    /// Stride in both directions (the search space's stride token).
    pub stride: usize,
    /// Indices of earlier layers feeding this one; empty means the image.
    #[serde(default)]
    pub inputs: Vec<usize>,
}

/// A whole child network.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    /// Input image shape `[channels, height, width]`.
    pub input: [usize; 3],
    /// Number of classes of the classifier.
    pub classes: usize,
    /// Conv layers of a NAS-RL macro network (empty for a cell network).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerSpec>,
    /// A NAS-Bench-201 cell network instead of conv layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nb201: Option<Nb201Network>,
    /// A DARTS cell network instead of conv layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub darts: Option<DartsNetwork>,
    /// An ENAS macro network instead of conv layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enas: Option<EnasMacroNetwork>,
}

/// A malformed or unreadable architecture, naming the file and the field.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchError {
    pub source: String,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ArchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}: {}: {}", self.source, self.field, self.message)
        }
    }
}

impl std::error::Error for ArchError {}

fn field_error(field: impl Into<String>, message: impl Into<String>) -> ArchError {
    ArchError {
        source: "architecture".into(),
        field: field.into(),
        message: message.into(),
    }
}

/// `value` as a JSON object whose keys are all in `allowed`.
fn object<'a>(
    value: &'a serde_json::Value,
    path: &str,
    allowed: &[&str],
) -> Result<&'a serde_json::Map<String, serde_json::Value>, ArchError> {
    let Some(map) = value.as_object() else {
        let at = if path.is_empty() {
            "top level".to_string()
        } else {
            path.trim_end_matches('.').to_string()
        };
        return Err(field_error(
            at,
            format!("expected a JSON object, got {value}"),
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(field_error(
            format!("{path}{unknown}"),
            format!("unknown field (expected one of {allowed:?})"),
        ));
    }
    Ok(map)
}

/// A required field of an object, deserialised to `T`, with errors naming `path` + `key`.
fn required<T: serde::de::DeserializeOwned>(
    map: &serde_json::Map<String, serde_json::Value>,
    path: &str,
    key: &str,
) -> Result<T, ArchError> {
    let value = map
        .get(key)
        .ok_or_else(|| field_error(format!("{path}{key}"), "missing"))?;
    serde_json::from_value(value.clone())
        .map_err(|e| field_error(format!("{path}{key}"), e.to_string()))
}

/// Largest cells per stage a cell network may have (the benchmark uses 5).
pub const MAX_CELLS_PER_STAGE: usize = 32;
/// Largest first-stage channel count of a cell network (the benchmark uses 16; the last stage has 4x).
pub const MAX_CELL_CHANNELS: usize = 1024;

/// The `nb201` object of a file, each field read on its own so errors name it.
fn cell_network(raw: &serde_json::Value) -> Result<Nb201Network, ArchError> {
    let path = "nb201.";
    let map = object(raw, path, &["genotype", "cells_per_stage", "channels"])?;
    let genotype: String = required(map, path, "genotype")?;
    let genotype = genotype
        .parse()
        .map_err(|e: String| field_error("nb201.genotype", e))?;
    let defaults = Nb201Network::new(genotype);
    let optional = |key: &str, default: usize| match map.get(key) {
        None => Ok(default),
        Some(_) => required(map, path, key),
    };
    Ok(Nb201Network {
        genotype,
        cells_per_stage: optional("cells_per_stage", defaults.cells_per_stage)?,
        channels: optional("channels", defaults.channels)?,
    })
}

/// Bounds N and C so that a file cannot ask for an absurd network. Cells with no path from input
/// to output are accepted: they output zeros, as in the published benchmark (which trains them).
fn validate_cell_network(net: &Nb201Network) -> Result<(), ArchError> {
    if !(1..=MAX_CELLS_PER_STAGE).contains(&net.cells_per_stage) {
        return Err(field_error(
            "nb201.cells_per_stage",
            format!(
                "{} is not in 1..={MAX_CELLS_PER_STAGE}",
                net.cells_per_stage
            ),
        ));
    }
    if !(1..=MAX_CELL_CHANNELS).contains(&net.channels) {
        return Err(field_error(
            "nb201.channels",
            format!("{} is not in 1..={MAX_CELL_CHANNELS}", net.channels),
        ));
    }
    Ok(())
}

/// The error for an architecture giving more than one kind of network (conv layers, a
/// NAS-Bench-201, a DARTS cell or an ENAS macro network), naming the first field given and the
/// second.
fn one_kind_only(layers: bool, nb201: bool, darts: bool, enas: bool) -> Option<ArchError> {
    let given: Vec<&str> = [
        ("layers", layers),
        ("nb201", nb201),
        ("darts", darts),
        ("enas", enas),
    ]
    .iter()
    .filter(|k| k.1)
    .map(|k| k.0)
    .collect();
    (given.len() > 1).then(|| {
        field_error(
            given[0],
            format!(
                "given together with {} (an architecture is one of conv layers, a NAS-Bench-201 cell network, a DARTS cell network or an ENAS macro network)",
                given[1]
            ),
        )
    })
}

/// Largest number of layers of an ENAS macro network (the paper's has 12 or 24).
pub const MAX_ENAS_LAYERS: usize = 96;

/// The `enas` object of a file, each field read on its own so errors name it.
fn enas_network(raw: &serde_json::Value) -> Result<EnasMacroNetwork, ArchError> {
    let path = "enas.";
    let map = object(raw, path, &["layers", "channels"])?;
    let channels: usize = required(map, path, "channels")?;
    let raw_layers: Vec<serde_json::Value> = required(map, path, "layers")?;
    let mut layers = Vec::with_capacity(raw_layers.len());
    for (l, raw) in raw_layers.iter().enumerate() {
        let at = format!("enas.layers[{l}].");
        let m = object(raw, &at, &["op", "skips"])?;
        layers.push(EnasLayer {
            op: required::<EnasOpName>(m, &at, "op")?,
            skips: match m.get("skips") {
                None => Vec::new(),
                Some(_) => required(m, &at, "skips")?,
            },
        });
    }
    Ok(EnasMacroNetwork { layers, channels })
}

fn validate_enas_network(net: &EnasMacroNetwork) -> Result<(), ArchError> {
    if !(1..=MAX_ENAS_LAYERS).contains(&net.layers.len()) {
        return Err(field_error(
            "enas.layers",
            format!(
                "{} layers is not in 1..={MAX_ENAS_LAYERS}",
                net.layers.len()
            ),
        ));
    }
    if !(1..=MAX_CELL_CHANNELS).contains(&net.channels) {
        return Err(field_error(
            "enas.channels",
            format!("{} is not in 1..={MAX_CELL_CHANNELS}", net.channels),
        ));
    }
    EnasLayers(net.layers.clone()).check().map_err(|e| {
        let layer = e
            .strip_prefix("layer ")
            .and_then(|r| r.split(':').next())
            .unwrap_or("0");
        field_error(format!("enas.layers[{layer}].skips"), e)
    })
}

/// Largest number of cells of a DARTS network (the paper's CIFAR-10 network has 20).
pub const MAX_DARTS_CELLS: usize = 64;

/// The `darts` object of a file, each field read on its own so errors name it.
fn darts_network(raw: &serde_json::Value) -> Result<DartsNetwork, ArchError> {
    let path = "darts.";
    let map = object(raw, path, &["genotype", "channels", "cells"])?;
    let genotype: String = required(map, path, "genotype")?;
    let genotype = genotype
        .parse()
        .map_err(|e: String| field_error("darts.genotype", e))?;
    let defaults = DartsNetwork::new(genotype);
    let optional = |key: &str, default: usize| match map.get(key) {
        None => Ok(default),
        Some(_) => required(map, path, key),
    };
    Ok(DartsNetwork {
        genotype,
        channels: optional("channels", defaults.channels)?,
        cells: optional("cells", defaults.cells)?,
    })
}

fn validate_darts_network(net: &DartsNetwork) -> Result<(), ArchError> {
    if !(3..=MAX_DARTS_CELLS).contains(&net.cells) {
        return Err(field_error(
            "darts.cells",
            format!(
                "{} is not in 3..={MAX_DARTS_CELLS} (two of the cells are reduction cells)",
                net.cells
            ),
        ));
    }
    if !(1..=MAX_CELL_CHANNELS).contains(&net.channels) {
        return Err(field_error(
            "darts.channels",
            format!("{} is not in 1..={MAX_CELL_CHANNELS}", net.channels),
        ));
    }
    Ok(())
}

impl Architecture {
    /// A NAS-RL macro network of conv layers.
    pub fn layered(input: [usize; 3], classes: usize, layers: Vec<LayerSpec>) -> Architecture {
        Architecture {
            input,
            classes,
            layers,
            nb201: None,
            darts: None,
            enas: None,
        }
    }

    /// A NAS-Bench-201 cell network.
    pub fn cell(input: [usize; 3], classes: usize, net: Nb201Network) -> Architecture {
        Architecture {
            input,
            classes,
            layers: Vec::new(),
            nb201: Some(net),
            darts: None,
            enas: None,
        }
    }

    /// A DARTS cell network.
    pub fn darts_cells(input: [usize; 3], classes: usize, net: DartsNetwork) -> Architecture {
        Architecture {
            input,
            classes,
            layers: Vec::new(),
            nb201: None,
            darts: Some(net),
            enas: None,
        }
    }

    /// An ENAS macro network.
    pub fn enas_macro(input: [usize; 3], classes: usize, net: EnasMacroNetwork) -> Architecture {
        Architecture {
            input,
            classes,
            layers: Vec::new(),
            nb201: None,
            darts: None,
            enas: Some(net),
        }
    }

    /// Parses and validates JSON text; `source` names it in errors (usually the file path).
    /// Fields are read one by one so that a wrong type names its field, not just a column.
    pub fn from_json(text: &str, source: &str) -> Result<Architecture, ArchError> {
        let with_source = |e: ArchError| ArchError {
            source: source.to_string(),
            ..e
        };
        let root: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            // A number out of range (`1e999`) fails before any field is read: name its field.
            let field = crate::util::json_path::path_at(text, e.line(), e.column());
            with_source(field_error(
                field.unwrap_or_default(),
                format!("not a valid architecture file: {e}"),
            ))
        })?;
        // "meta" (input normalisation, class names: `nn::meta`) is read by `load_architecture_file`.
        let top = object(
            &root,
            "",
            &[
                "input", "classes", "layers", "nb201", "darts", "enas", "meta",
            ],
        )
        .map_err(with_source)?;
        let input: [usize; 3] = required(top, "", "input").map_err(with_source)?;
        let classes: usize = required(top, "", "classes").map_err(with_source)?;
        let nb201 = match top.get("nb201") {
            None => None,
            Some(raw) => Some(cell_network(raw).map_err(with_source)?),
        };
        let darts = match top.get("darts") {
            None => None,
            Some(raw) => Some(darts_network(raw).map_err(with_source)?),
        };
        let enas = match top.get("enas") {
            None => None,
            Some(raw) => Some(enas_network(raw).map_err(with_source)?),
        };
        if let Some(field) = one_kind_only(
            top.contains_key("layers"),
            nb201.is_some(),
            darts.is_some(),
            enas.is_some(),
        ) {
            return Err(with_source(field));
        }
        let raw_layers: Vec<serde_json::Value> = if nb201.is_some()
            || darts.is_some()
            || enas.is_some()
        {
            Vec::new()
        } else if top.contains_key("layers") {
            required(top, "", "layers").map_err(with_source)?
        } else {
            return Err(with_source(field_error(
                "layers",
                "missing (give conv layers, nb201 for a NAS-Bench-201 cell network, darts for a DARTS cell network or enas for an ENAS macro network)",
            )));
        };
        let mut layers = Vec::with_capacity(raw_layers.len());
        for (i, raw) in raw_layers.iter().enumerate() {
            let path = format!("layers[{i}].");
            let keys = [
                "filter_height",
                "filter_width",
                "filters",
                "stride",
                "inputs",
            ];
            let l = object(raw, &path, &keys).map_err(with_source)?;
            layers.push(LayerSpec {
                filter_height: required(l, &path, "filter_height").map_err(with_source)?,
                filter_width: required(l, &path, "filter_width").map_err(with_source)?,
                filters: required(l, &path, "filters").map_err(with_source)?,
                stride: required(l, &path, "stride").map_err(with_source)?,
                inputs: match l.get("inputs") {
                    None => Vec::new(),
                    Some(_) => required(l, &path, "inputs").map_err(with_source)?,
                },
            });
        }
        let arch = Architecture {
            input,
            classes,
            layers,
            nb201,
            darts,
            enas,
        };
        arch.validate().map_err(with_source)?;
        Ok(arch)
    }

    /// Reads, parses and validates an architecture file.
    pub fn load(path: &Path) -> Result<Architecture, ArchError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ArchError {
            source: source.clone(),
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Architecture::from_json(&text, &source)
    }

    /// A one-line description for logs: `12 layers`, or the cell's genotype with N and C.
    pub fn describe(&self) -> String {
        if let Some(net) = &self.enas {
            return format!(
                "ENAS macro network {} ({} layers, C={})",
                net.layers(),
                net.layers.len(),
                net.channels
            );
        }
        if let Some(net) = &self.darts {
            return format!(
                "DARTS cells {} ({} cells, C={})",
                net.genotype, net.cells, net.channels
            );
        }
        match &self.nb201 {
            Some(net) => format!(
                "NAS-Bench-201 cell {} (N={}, C={})",
                net.genotype, net.cells_per_stage, net.channels
            ),
            None => format!("{} layers", self.layers.len()),
        }
    }

    /// Pretty JSON, as written to `best.json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("architecture serialises")
    }

    /// Checks every field against what the engine can build.
    pub fn validate(&self) -> Result<(), ArchError> {
        let [c, h, w] = self.input;
        if c == 0 || h == 0 || w == 0 {
            return Err(field_error(
                "input",
                format!("{:?} has a zero dimension", self.input),
            ));
        }
        if self.classes < 2 {
            return Err(field_error(
                "classes",
                format!("{} (need at least 2)", self.classes),
            ));
        }
        if let Some(field) = one_kind_only(
            !self.layers.is_empty(),
            self.nb201.is_some(),
            self.darts.is_some(),
            self.enas.is_some(),
        ) {
            return Err(field);
        }
        if let Some(net) = &self.enas {
            return validate_enas_network(net);
        }
        if let Some(net) = &self.nb201 {
            return validate_cell_network(net);
        }
        if let Some(net) = &self.darts {
            return validate_darts_network(net);
        }
        if self.layers.is_empty() {
            return Err(field_error("layers", "empty (need at least one layer)"));
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let field = |name: &str| format!("layers[{i}].{name}");
            for (name, value) in [
                ("filter_height", layer.filter_height),
                ("filter_width", layer.filter_width),
            ] {
                if !(1..=MAX_FILTER).contains(&value) {
                    return Err(field_error(
                        field(name),
                        format!("{value} is not in 1..={MAX_FILTER}"),
                    ));
                }
            }
            if layer.filters == 0 {
                return Err(field_error(field("filters"), "0 (need at least 1)"));
            }
            if !(1..=MAX_STRIDE).contains(&layer.stride) {
                return Err(field_error(
                    field("stride"),
                    format!("{} is not in 1..={MAX_STRIDE}", layer.stride),
                ));
            }
            let mut seen = Vec::new();
            for &j in &layer.inputs {
                if j >= i {
                    return Err(field_error(
                        field("inputs"),
                        format!(
                            "{j} is not an earlier layer (layer {i} may only read layers 0..{i})"
                        ),
                    ));
                }
                if seen.contains(&j) {
                    return Err(field_error(field("inputs"), format!("{j} is listed twice")));
                }
                seen.push(j);
            }
        }
        Ok(())
    }

    /// Spatial size of each layer's output, following the "same"-padding rule and the largest
    /// input of each concatenation. Macro networks only (empty for a cell network).
    pub fn spatial_sizes(&self) -> Vec<[usize; 2]> {
        let mut sizes: Vec<[usize; 2]> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let [ih, iw] = self.input_size(&sizes, layer);
            sizes.push([ih.div_ceil(layer.stride), iw.div_ceil(layer.stride)]);
        }
        sizes
    }

    /// Channels and size entering `layer` given the sizes of the layers before it.
    fn input_size(&self, sizes: &[[usize; 2]], layer: &LayerSpec) -> [usize; 2] {
        if layer.inputs.is_empty() {
            [self.input[1], self.input[2]]
        } else {
            let h = layer.inputs.iter().map(|&j| sizes[j][0]).max().unwrap_or(0);
            let w = layer.inputs.iter().map(|&j| sizes[j][1]).max().unwrap_or(0);
            [h, w]
        }
    }

    /// Input channels of each layer (sum of its inputs' filters, or the image's channels).
    /// Macro networks only (empty for a cell network).
    pub fn input_channels(&self) -> Vec<usize> {
        self.layers
            .iter()
            .map(|l| {
                if l.inputs.is_empty() {
                    self.input[0]
                } else {
                    l.inputs.iter().map(|&j| self.layers[j].filters).sum()
                }
            })
            .collect()
    }

    /// Layers whose output feeds no other layer: concatenated before the classifier.
    /// Macro networks only (empty for a cell network).
    pub fn output_layers(&self) -> Vec<usize> {
        let n = self.layers.len();
        let mut used = vec![false; n];
        for l in &self.layers {
            for &j in &l.inputs {
                used[j] = true;
            }
        }
        (0..n).filter(|&i| !used[i]).collect()
    }

    /// Trainable parameters: conv weights (no conv bias: batch norm follows), batch-norm scale and
    /// shift, and the classifier (exactly what `Network::new` builds, for either kind).
    pub fn parameter_count(&self) -> usize {
        if let Some(net) = &self.nb201 {
            return net.parameter_count(self.input[0], self.classes);
        }
        if let Some(net) = &self.darts {
            return net.parameter_count(self.input[0], self.classes);
        }
        if let Some(net) = &self.enas {
            return net.parameter_count(self.input[0], self.classes);
        }
        let cin = self.input_channels();
        let convs: usize = self
            .layers
            .iter()
            .zip(&cin)
            .map(|(l, &c)| l.filters * c * l.filter_height * l.filter_width + 2 * l.filters)
            .sum();
        let features: usize = self
            .output_layers()
            .iter()
            .map(|&i| self.layers[i].filters)
            .sum();
        convs + features * self.classes + self.classes
    }

    /// Multiply-add FLOPs (2 per MAC) of the convolutions and the classifier in one forward pass
    /// for one image (normalisation, activations, pooling and sums are not counted).
    pub fn forward_flops(&self) -> f64 {
        if let Some(net) = &self.nb201 {
            return net.forward_flops(self.input, self.classes);
        }
        if let Some(net) = &self.darts {
            return net.forward_flops(self.input, self.classes);
        }
        if let Some(net) = &self.enas {
            return net.forward_flops(self.input, self.classes);
        }
        let cin = self.input_channels();
        let sizes = self.spatial_sizes();
        let convs: f64 = self
            .layers
            .iter()
            .zip(&cin)
            .zip(&sizes)
            .map(|((l, &c), s)| {
                2.0 * (s[0] * s[1] * l.filters * c * l.filter_height * l.filter_width) as f64
            })
            .sum();
        let features: usize = self
            .output_layers()
            .iter()
            .map(|&i| self.layers[i].filters)
            .sum();
        convs + 2.0 * (features * self.classes) as f64
    }
}
