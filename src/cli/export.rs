//! `nasgpu export SOURCE --format onnx|pytorch|json|safetensors`: writes a trained network (or a
//! search's best architecture) in a format other tools load. Needs no GPU.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::CliError;
use crate::export::{self, Format, source};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A training output folder (architecture.json, weights.safetensors), a search run
    /// directory (its best architecture), or an architecture .json / weights .safetensors file.
    pub source: PathBuf,
    /// onnx (opset 17, weights and normalisation inside), pytorch (one .py file: nn.Module +
    /// safetensors loader), json (architecture file with metadata), safetensors (weights with
    /// full metadata).
    #[arg(long, value_enum)]
    pub format: Format,
    /// Output file (default: model.<onnx|py|json|safetensors> beside the source).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print what was written as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn default_out(source: &Path, format: Format) -> PathBuf {
    let name = format!("model.{}", format.extension());
    if source.is_dir() {
        source.join(name)
    } else {
        source.with_file_name(name)
    }
}

pub fn run(args: &ExportArgs) -> Result<(), CliError> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.source, args.format));
    // An existing file may be another network's export: replaced only when asked, and then
    // whole (atomically), after the export succeeded.
    crate::util::output::check_file(&out, "--out", args.force).map_err(CliError)?;
    let model = source::load(&args.source).map_err(|e| CliError(e.to_string()))?;
    let bytes = export::export(&model, args.format).map_err(|e| CliError(e.to_string()))?;
    crate::util::atomic_write(&out, &bytes)
        .map_err(|e| CliError(format!("{}: cannot write: {e}", out.display())))?;
    if args.json {
        let a = &model.arch;
        let doc = json!({
            "path": out, "format": args.format, "bytes": bytes.len(), "source": model.origin,
            "weights": model.weights.is_some(), "normalization": model.meta.is_some(),
            "input": a.input, "classes": a.classes, "layers": a.layers.len(),
            "parameters": a.parameter_count(), "forward_flops_per_image": a.forward_flops(),
            "class_names": model.meta.as_ref().and_then(|m| m.class_names.clone()),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("summary serialises")
        );
    } else {
        println!(
            "wrote {} ({}, {}): {}",
            out.display(),
            args.format.extension(),
            crate::util::human_bytes(bytes.len() as u64),
            model.describe()
        );
    }
    if model.weights.is_none() && !args.json {
        eprintln!(
            "note: {} has no trained weights; the file holds the architecture only",
            model.origin
        );
    }
    Ok(())
}
