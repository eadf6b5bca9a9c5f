//! Export of a trained network to files other tools load: ONNX (`onnx`), a PyTorch module
//! (`pytorch`), and the architecture file and safetensors weights with their full metadata.
//!
//! Flow: `source::load` (a training folder, a search run, or a file) -> `Model` ->
//! `graph::lower_nasrl`, `lower_cells::lower_nb201`, `lower_darts::lower_darts` or
//! `lower_enas::lower_enas` (inference ops) -> one writer per format. Every writer reads the
//! lowered graph only, so a new op is one `graph::Op` variant plus one function per writer.

pub mod graph;
pub mod lower_cells;
pub mod lower_darts;
pub mod lower_enas;
pub mod onnx;
pub mod protobuf;
pub mod pytorch;
pub mod source;

use std::fmt;

use crate::nn::Architecture;
use crate::nn::meta::{ModelMeta, architecture_file_json};
use crate::nn::weights::{self, NamedTensor};
use graph::Lowered;

/// An export that cannot be done, with a message naming the file, tensor or option.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportError(pub String);

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExportError {}

/// A network to export: architecture, metadata and weights when there are any.
#[derive(Debug, Clone)]
pub struct Model {
    pub arch: Architecture,
    /// Normalisation, classes and version; absent for architectures never trained by nasgpu.
    pub meta: Option<ModelMeta>,
    /// Trained parameters and running statistics; absent for a bare architecture.
    pub weights: Option<Vec<NamedTensor>>,
    /// Where it came from, for messages (e.g. "runs/train").
    pub origin: String,
}

/// The output formats of `nasgpu export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ONNX model (opset 17), weights and normalisation included.
    Onnx,
    /// One self-contained PyTorch `.py` file: the `nn.Module` and a safetensors loader.
    Pytorch,
    /// The architecture file with its metadata.
    Json,
    /// The weights (safetensors) with the architecture and full metadata.
    Safetensors,
}

impl Format {
    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Onnx => "onnx",
            Format::Pytorch => "py",
            Format::Json => "json",
            Format::Safetensors => "safetensors",
        }
    }

    /// Whether the format carries weights (and so cannot be written without them).
    pub fn needs_weights(self) -> bool {
        matches!(self, Format::Onnx | Format::Safetensors)
    }
}

impl Model {
    /// The inference graph.
    pub fn lowered(&self) -> Lowered {
        let norm = self.meta.as_ref().map(|m| &m.normalization);
        let (input, classes) = (self.arch.input, self.arch.classes);
        if let Some(net) = &self.arch.enas {
            return lower_enas::lower_enas(net, input, classes, norm);
        }
        match (&self.arch.nb201, &self.arch.darts) {
            (Some(net), _) => lower_cells::lower_nb201(net, input, classes, norm),
            (None, Some(net)) => lower_darts::lower_darts(net, input, classes, norm),
            (None, None) => graph::lower_nasrl(&self.arch, norm),
        }
    }

    /// Checks that the weights hold every tensor of the graph with its shape.
    pub fn check_weights(&self) -> Result<(), ExportError> {
        for (name, shape) in self.lowered().tensors() {
            self.tensor(&name, &shape)?;
        }
        Ok(())
    }

    /// The data of weight tensor `name`, which must have `shape`.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<&[f32], ExportError> {
        let weights = self
            .weights
            .as_ref()
            .ok_or_else(|| ExportError(format!("{}: has no trained weights", self.origin)))?;
        let t = weights.iter().find(|t| t.name == name).ok_or_else(|| {
            ExportError(format!(
                "{}: weights: tensor '{name}' is missing",
                self.origin
            ))
        })?;
        if t.shape != shape {
            return Err(ExportError(format!(
                "{}: weights: tensor '{name}' has shape {:?}, the architecture needs {shape:?}",
                self.origin, t.shape
            )));
        }
        Ok(&t.data)
    }

    /// One line about the network.
    pub fn describe(&self) -> String {
        let a = &self.arch;
        let trained = match &self.meta {
            Some(m) if self.weights.is_some() => format!("trained on {}", m.dataset),
            _ if self.weights.is_some() => "trained".to_string(),
            _ => "untrained".to_string(),
        };
        let body = match (&a.nb201, &a.darts) {
            _ if a.enas.is_some() => {
                let net = a.enas.as_ref().expect("checked");
                format!(
                    "ENAS macro network {} ({} layers, C = {})",
                    net.layers(),
                    net.layers.len(),
                    net.channels
                )
            }
            (Some(net), _) => format!(
                "NAS-Bench-201 cell network {} (N = {}, C = {})",
                net.genotype, net.cells_per_stage, net.channels
            ),
            (None, Some(net)) => format!(
                "DARTS cell network {} ({} cells, C = {})",
                net.genotype, net.cells, net.channels
            ),
            (None, None) => format!("{} conv layers", a.layers.len()),
        };
        format!(
            "nasgpu network: {body}, input {:?}, {} classes, {} parameters, {:.2} MFLOP/image; {trained}",
            a.input,
            a.classes,
            a.parameter_count(),
            a.forward_flops() / 1e6
        )
    }

    /// What the input is, for docs inside the exported files.
    pub fn input_doc(&self, lowered: &Lowered) -> String {
        let [c, h, w] = lowered.input;
        match &self.meta {
            Some(m) if lowered.raw_pixels => format!(
                "float32 [N, {c}, {h}, {w}] raw pixel values (0..{}), channels first; \
                 normalisation (x / {} - mean) / std with mean {:?} and std {:?} is inside the model",
                m.normalization.pixel_scale,
                m.normalization.pixel_scale,
                m.normalization.mean,
                m.normalization.std
            ),
            _ => format!(
                "float32 [N, {c}, {h}, {w}], already normalised (no normalisation was recorded)"
            ),
        }
    }

    /// Key-value metadata for formats that carry it (ONNX `metadata_props`, safetensors).
    pub fn metadata(&self) -> Vec<(String, String)> {
        let mut map = ModelMeta::safetensors_metadata(self.meta.as_ref(), &self.arch);
        map.insert(
            "input".into(),
            if self.meta.is_some() {
                "raw pixels".into()
            } else {
                "normalised".into()
            },
        );
        map.into_iter().collect()
    }
}

/// The bytes of `model` in `format`.
pub fn export(model: &Model, format: Format) -> Result<Vec<u8>, ExportError> {
    if format.needs_weights() && model.weights.is_none() {
        return Err(ExportError(format!(
            "{}: has no trained weights, which --format {} needs; train the architecture with \
             `nasgpu train --arch FILE --out DIR` and export DIR (json and pytorch work without \
             weights)",
            model.origin,
            format.extension()
        )));
    }
    if model.weights.is_some() {
        model.check_weights()?;
    }
    Ok(match format {
        Format::Onnx => onnx::to_onnx(model)?,
        Format::Pytorch => pytorch::to_pytorch(model).into_bytes(),
        Format::Json => architecture_file_json(&model.arch, model.meta.as_ref()).into_bytes(),
        Format::Safetensors => {
            let tensors = model.weights.as_deref().unwrap_or_default();
            let metadata = ModelMeta::safetensors_metadata(model.meta.as_ref(), &model.arch);
            weights::to_bytes(tensors, &metadata)
        }
    })
}
