//! What a trained network expects of its input, written beside its weights so that the files
//! describe themselves: normalisation (pixel scale, per-channel mean and std), input shape,
//! classes and their names, the dataset and the nasgpu version.
//!
//! In `architecture.json` it is the top-level `"meta"` object; in `weights.safetensors` it is
//! spread over flat string keys of `__metadata__` (safetensors metadata is string to string).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::arch::Architecture;
use crate::data::ChannelStats;

/// The version of nasgpu that wrote a file.
pub const NASGPU_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How raw pixels become network inputs: `x = (pixel / pixel_scale - mean[c]) / std[c]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalization {
    /// Pixel value that means 1.0 (255 for 8-bit images).
    pub pixel_scale: f32,
    /// Per-channel mean of `pixel / pixel_scale` over the training images.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation of `pixel / pixel_scale`.
    pub std: Vec<f32>,
}

impl Normalization {
    /// Per-channel `(scale, bias)` with `x = pixel * scale + bias`, rounded to f32 exactly as the
    /// batch gather kernel computes them, so exporters reproduce nasgpu's inputs bit for bit.
    pub fn scale_bias(&self) -> (Vec<f32>, Vec<f32>) {
        self.mean
            .iter()
            .zip(&self.std)
            .map(|(&m, &s)| {
                let (m, s) = (m as f64, s as f64);
                (
                    (1.0 / (self.pixel_scale as f64 * s)) as f32,
                    (-m / s) as f32,
                )
            })
            .unzip()
    }
}

/// Everything about a trained network besides its architecture and weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelMeta {
    pub nasgpu_version: String,
    /// The dataset the network was trained on, as nasgpu named it.
    pub dataset: String,
    /// `[channels, height, width]` of one input image.
    pub input_shape: [usize; 3],
    pub classes: usize,
    /// One name per class, when the dataset has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    pub normalization: Normalization,
}

impl ModelMeta {
    /// The metadata of `arch` trained on `dataset` with input statistics `stats`.
    pub fn new(
        arch: &Architecture,
        dataset: &str,
        stats: &ChannelStats,
        class_names: Option<Vec<String>>,
    ) -> ModelMeta {
        ModelMeta {
            nasgpu_version: NASGPU_VERSION.to_string(),
            dataset: dataset.to_string(),
            input_shape: arch.input,
            classes: arch.classes,
            class_names: class_names.filter(|n| n.len() == arch.classes),
            normalization: Normalization {
                pixel_scale: 255.0,
                mean: stats.mean.clone(),
                std: stats.std.clone(),
            },
        }
    }

    /// Checks that the metadata fits `arch`; `source` names the file in errors.
    pub fn check(&self, arch: &Architecture, source: &str) -> Result<(), String> {
        let c = arch.input[0];
        let n = &self.normalization;
        let problem = if self.input_shape != arch.input {
            Some(format!(
                "input_shape {:?} differs from the architecture's input {:?}",
                self.input_shape, arch.input
            ))
        } else if self.classes != arch.classes {
            Some(format!(
                "classes {} differs from the architecture's {}",
                self.classes, arch.classes
            ))
        } else if n.mean.len() != c || n.std.len() != c {
            Some(format!(
                "mean and std need {c} values (one per channel), got {} and {}",
                n.mean.len(),
                n.std.len()
            ))
        } else if !(n.pixel_scale.is_finite() && n.pixel_scale > 0.0) {
            Some(format!("pixel_scale {} is not positive", n.pixel_scale))
        } else if n.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            Some(format!("std {:?} has a value that is not positive", n.std))
        } else {
            self.class_names
                .as_ref()
                .filter(|names| names.len() != self.classes)
                .map(|names| {
                    format!(
                        "class_names has {} names for {} classes",
                        names.len(),
                        self.classes
                    )
                })
        };
        match problem {
            Some(p) => Err(format!("{source}: meta: {p}")),
            None => Ok(()),
        }
    }

    /// Safetensors metadata: the architecture plus this metadata as flat string keys.
    pub fn safetensors_metadata(
        meta: Option<&ModelMeta>,
        arch: &Architecture,
    ) -> BTreeMap<String, String> {
        let mut map = BTreeMap::from([(
            "architecture".to_string(),
            serde_json::to_string(arch).expect("architecture serialises"),
        )]);
        let Some(m) = meta else {
            map.insert("nasgpu_version".into(), NASGPU_VERSION.into());
            return map;
        };
        map.insert("nasgpu_version".into(), m.nasgpu_version.clone());
        map.insert("dataset".into(), m.dataset.clone());
        map.insert("input_shape".into(), json(&m.input_shape));
        map.insert("classes".into(), m.classes.to_string());
        if let Some(names) = &m.class_names {
            map.insert("class_names".into(), json(names));
        }
        map.insert("pixel_scale".into(), json(&m.normalization.pixel_scale));
        map.insert("mean".into(), json(&m.normalization.mean));
        map.insert("std".into(), json(&m.normalization.std));
        map
    }

    /// Reads the metadata back from safetensors metadata: `Ok(None)` for a file written before
    /// nasgpu kept it (no `mean` key); `source` names the file in errors.
    pub fn from_safetensors_metadata(
        map: &BTreeMap<String, String>,
        source: &str,
    ) -> Result<Option<ModelMeta>, String> {
        if !map.contains_key("mean") {
            return Ok(None);
        }
        fn field<T: serde::de::DeserializeOwned>(
            map: &BTreeMap<String, String>,
            key: &str,
            source: &str,
        ) -> Result<T, String> {
            let text = map
                .get(key)
                .ok_or_else(|| format!("{source}: metadata: '{key}' is missing"))?;
            serde_json::from_str(text)
                .map_err(|e| format!("{source}: metadata: '{key}' = {text:?}: {e}"))
        }
        let class_names = if map.contains_key("class_names") {
            Some(field(map, "class_names", source)?)
        } else {
            None
        };
        Ok(Some(ModelMeta {
            nasgpu_version: map.get("nasgpu_version").cloned().unwrap_or_default(),
            dataset: map.get("dataset").cloned().unwrap_or_default(),
            input_shape: field(map, "input_shape", source)?,
            classes: field(map, "classes", source)?,
            class_names,
            normalization: Normalization {
                pixel_scale: field(map, "pixel_scale", source)?,
                mean: field(map, "mean", source)?,
                std: field(map, "std", source)?,
            },
        }))
    }
}

/// Compact JSON of a metadata value.
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("metadata serialises")
}

/// The architecture file with its metadata: the architecture's fields plus `"meta"`.
pub fn architecture_file_json(arch: &Architecture, meta: Option<&ModelMeta>) -> String {
    let mut value = serde_json::to_value(arch).expect("architecture serialises");
    if let Some(m) = meta {
        value["meta"] = serde_json::to_value(m).expect("metadata serialises");
    }
    serde_json::to_string_pretty(&value).expect("architecture serialises")
}

/// Reads an architecture file and its `"meta"` object, if it has one (files written by
/// `nasgpu search` and by older versions have none). Errors name the file and the field.
pub fn load_architecture_file(path: &Path) -> Result<(Architecture, Option<ModelMeta>), String> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{source}: cannot read: {e}"))?;
    let arch = Architecture::from_json(&text, &source).map_err(|e| e.to_string())?;
    let root: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{source}: {e}"))?;
    let meta = match root.get("meta") {
        None => None,
        Some(m) => {
            let meta: ModelMeta =
                serde_json::from_value(m.clone()).map_err(|e| format!("{source}: meta: {e}"))?;
            meta.check(&arch, &source)?;
            Some(meta)
        }
    };
    Ok((arch, meta))
}
