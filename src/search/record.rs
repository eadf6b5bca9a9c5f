//! What a search records of each child: one line of `history.jsonl`.

use serde::{Deserialize, Serialize};

use super::space::{Rollout, Space};
use crate::nn::Architecture;

/// How a child's evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildStatus {
    /// Trained (or looked up) and validated.
    Ok,
    /// Successive halving stopped it at a rung: its curve is partial.
    Eliminated,
    /// Its validation accuracy stopped improving for `patience` epochs: its curve is partial.
    EarlyStopped,
    /// The device ran out of memory building or training it.
    OutOfMemory,
    /// The training loss became NaN or infinite.
    NanLoss,
    /// The architecture could not be built (shapes that do not fit).
    Invalid,
    /// Any other device or kernel failure.
    Failed,
}

impl ChildStatus {
    /// Whether the child failed (no usable measurement, reward 0).
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            ChildStatus::Ok | ChildStatus::Eliminated | ChildStatus::EarlyStopped
        )
    }
}

/// Inference latency of a trained child on the device that trained it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median milliseconds of one forward pass of a single image.
    pub batch1_ms: f64,
    /// Median milliseconds of one forward pass of `batch` images.
    pub batch_ms: f64,
    pub batch: usize,
    /// Forward passes timed for each median.
    pub passes: usize,
    /// Whether GPU timestamps (rather than the wall clock around a sync) timed them.
    pub gpu_timestamps: bool,
}

/// One evaluated (or failed) child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildRecord {
    /// Position in the search, from 0.
    pub index: usize,
    /// Strategy step (batch of proposals) this child belongs to.
    pub controller_step: usize,
    pub architecture: Architecture,
    /// The space's decisions, so the child can be reproduced and a controller replayed.
    pub rollout: Rollout,
    /// The space's canonical name of the architecture.
    pub canonical: String,
    /// The objective's value; 0 for a failed child.
    pub reward: f64,
    /// Validation accuracy after each epoch (a table's metric for a looked-up child).
    pub val_accuracy: Vec<f64>,
    pub parameters: usize,
    /// Forward FLOPs per image.
    pub flops: f64,
    /// Training seconds (a table's simulated cost for a looked-up child).
    pub train_seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    pub status: ChildStatus,
    /// What went wrong, for a failed child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ChildRecord {
    /// Best validation accuracy reached (0 without any).
    pub fn best_accuracy(&self) -> f64 {
        self.val_accuracy.iter().copied().fold(0.0, f64::max)
    }
}

/// The field of a record object whose value has the wrong type or form, and why.
fn field_at_fault(value: &serde_json::Value) -> Option<String> {
    use serde_json::from_value as of;
    let object = value.as_object()?;
    for (key, v) in object {
        let v = v.clone();
        let problem = match key.as_str() {
            "index" | "controller_step" | "parameters" => of::<usize>(v).err(),
            "reward" | "flops" | "train_seconds" => of::<f64>(v).err(),
            "val_accuracy" => of::<Vec<f64>>(v).err(),
            "canonical" => of::<String>(v).err(),
            "rollout" => of::<Rollout>(v).err(),
            "status" => of::<ChildStatus>(v).err(),
            "latency" => of::<Option<Latency>>(v).err(),
            "error" => of::<Option<String>>(v).err(),
            "architecture" => match Architecture::from_json(&v.to_string(), "") {
                Err(e) if !e.field.is_empty() => {
                    return Some(format!("architecture.{}: {}", e.field, e.message));
                }
                _ => of::<Architecture>(v).err(),
            },
            _ => None,
        };
        if let Some(e) = problem {
            return Some(format!("{key}: {e}"));
        }
    }
    None
}

impl ChildRecord {
    /// Parses one line of `history.jsonl`; the error names the field at fault where it can
    /// (serde's own message gives only a column).
    pub fn parse_line(line: &[u8]) -> Result<ChildRecord, String> {
        // Without its newline, serde's position reads "line 1 column N" of this line.
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let e = match serde_json::from_slice::<ChildRecord>(line) {
            Ok(record) => return Ok(record),
            Err(e) => e,
        };
        let text = String::from_utf8_lossy(line);
        if e.is_data()
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(fault) = field_at_fault(&value)
        {
            return Err(fault);
        }
        Err(super::error::json_error(&text, &e))
    }

    /// Checks a record read back from `history.jsonl` against the run's space and the
    /// architecture rules, so that an edited or damaged line is refused before it reaches a
    /// strategy or `best.json`. The error starts with the field at fault.
    pub fn check(&self, space: &dyn Space) -> Result<(), String> {
        if let Err(e) = self.architecture.validate() {
            return Err(format!("architecture.{}: {}", e.field, e.message));
        }
        space
            .check(&self.rollout)
            .map_err(|m| format!("rollout: {m}"))?;
        let parsed = space
            .parse(&self.canonical)
            .map_err(|m| format!("canonical: does not parse: {m}"))?;
        if parsed != self.rollout {
            return Err(format!(
                "canonical: '{}' names another architecture than the rollout ('{}')",
                self.canonical,
                space.canonical(&self.rollout)
            ));
        }
        let arch = &self.architecture;
        if space.architecture(&self.rollout, arch.input, arch.classes) != *arch {
            return Err(format!(
                "architecture: is not the one the rollout stands for ('{}')",
                self.canonical
            ));
        }
        if self.parameters != arch.parameter_count() {
            return Err(format!(
                "parameters: {}, but the architecture has {}",
                self.parameters,
                arch.parameter_count()
            ));
        }
        let flops = arch.forward_flops();
        if (self.flops - flops).abs() > 1e-9 * flops.abs() {
            return Err(format!(
                "flops: {}, but the architecture needs {flops}",
                self.flops
            ));
        }
        if !self.reward.is_finite() {
            return Err(format!("reward: {} is not finite", self.reward));
        }
        if !(self.train_seconds.is_finite() && self.train_seconds >= 0.0) {
            return Err(format!(
                "train_seconds: {} is not a finite number >= 0",
                self.train_seconds
            ));
        }
        if let Some(e) = self.val_accuracy.iter().position(|a| !a.is_finite()) {
            return Err(format!(
                "val_accuracy[{e}]: {} is not finite",
                self.val_accuracy[e]
            ));
        }
        Ok(())
    }
}
