//! What `nasgpu export` reads: a training output folder (`architecture.json`,
//! `weights.safetensors`), a search run (its best architecture), or one such file.

use std::path::Path;

use super::{ExportError, Model};
use crate::nn::Architecture;
use crate::nn::meta::{ModelMeta, load_architecture_file};
use crate::nn::weights;

/// Files of a training output folder.
pub const ARCH_FILE: &str = "architecture.json";
pub const WEIGHTS_FILE: &str = "weights.safetensors";

fn err(message: String) -> ExportError {
    ExportError(message)
}

/// Weights, architecture and metadata from a safetensors file written by nasgpu.
fn from_weights(path: &Path) -> Result<Model, ExportError> {
    let source = path.display().to_string();
    let (tensors, metadata) = weights::load(path).map_err(err)?;
    let arch_text = metadata.get("architecture").ok_or_else(|| {
        err(format!(
            "{source}: metadata has no 'architecture' (not written by nasgpu train?)"
        ))
    })?;
    let arch = Architecture::from_json(arch_text, &format!("{source}: metadata: architecture"))
        .map_err(|e| err(e.to_string()))?;
    let meta = ModelMeta::from_safetensors_metadata(&metadata, &source).map_err(err)?;
    if let Some(m) = &meta {
        m.check(&arch, &source).map_err(err)?;
    }
    Ok(Model {
        arch,
        meta,
        weights: Some(tensors),
        origin: source,
    })
}

/// Architecture and metadata from an architecture file, without weights.
fn from_architecture(path: &Path) -> Result<Model, ExportError> {
    let (arch, meta) = load_architecture_file(path).map_err(err)?;
    Ok(Model {
        arch,
        meta,
        weights: None,
        origin: path.display().to_string(),
    })
}

/// A training output folder: the weights when present (their metadata holds the architecture
/// they fit), else the architecture file alone. Metadata missing from older weights files is
/// taken from `architecture.json` when it describes the same architecture.
fn from_training_dir(dir: &Path) -> Result<Model, ExportError> {
    let (weights_path, arch_path) = (dir.join(WEIGHTS_FILE), dir.join(ARCH_FILE));
    if !weights_path.is_file() {
        let mut model = from_architecture(&arch_path)?;
        model.origin = dir.display().to_string();
        return Ok(model);
    }
    let mut model = from_weights(&weights_path)?;
    if model.meta.is_none() && arch_path.is_file() {
        let (arch, meta) = load_architecture_file(&arch_path).map_err(err)?;
        if arch == model.arch {
            model.meta = meta;
        }
    }
    model.origin = dir.display().to_string();
    Ok(model)
}

/// The best child of a search run (architecture only: a run keeps no child weights).
fn from_search_run(dir: &Path) -> Result<Model, ExportError> {
    let (run, _, _) = crate::search::RunDir::inspect(dir).map_err(|e| err(e.to_string()))?;
    if let Some(bad) = run.invalid().first() {
        // The best of the valid lines might not be the run's best: export nothing.
        return Err(err(format!(
            "{}: line {}: {}",
            dir.join(crate::search::run_dir::HISTORY_FILE).display(),
            bad.line,
            bad.message
        )));
    }
    let best = run.best().ok_or_else(|| {
        err(format!(
            "{}: the search has no finished child yet",
            dir.display()
        ))
    })?;
    Ok(Model {
        arch: best.architecture.clone(),
        meta: None,
        weights: None,
        origin: format!("{} (best child, #{})", dir.display(), best.index),
    })
}

/// Loads what `path` names; errors say what was expected there.
pub fn load(path: &Path) -> Result<Model, ExportError> {
    if path.is_dir() {
        if path.join(WEIGHTS_FILE).is_file() || path.join(ARCH_FILE).is_file() {
            return from_training_dir(path);
        }
        if path.join(crate::search::run_dir::CONFIG_FILE).is_file() {
            return from_search_run(path);
        }
        return Err(err(format!(
            "{}: neither a training output folder ({ARCH_FILE}, {WEIGHTS_FILE}) nor a search run \
             (config.json, history.jsonl)",
            path.display()
        )));
    }
    if !path.exists() {
        return Err(err(format!(
            "{}: no such file or directory (expected a training output folder, a search run, an \
             architecture .json or a .safetensors file)",
            path.display()
        )));
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("safetensors") => from_weights(path),
        Some("json") => from_architecture(path),
        _ => Err(err(format!(
            "{}: not a .json architecture file or a .safetensors weights file",
            path.display()
        ))),
    }
}
