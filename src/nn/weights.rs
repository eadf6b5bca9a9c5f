//! Trained weights on disk, in the safetensors layout (a documented format many tools read):
//! an 8-byte little-endian header length, a JSON header mapping each tensor name to its dtype,
//! shape and byte range, then the raw little-endian f32 data. Written atomically.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value as Json, json};

use super::meta::ModelMeta;
use super::network::Network;
use crate::device::DeviceError;

/// A named f32 tensor on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Serialises tensors (in the given order) plus string metadata.
pub fn to_bytes(tensors: &[NamedTensor], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), json!(metadata));
    }
    let mut offset = 0usize;
    for t in tensors {
        let bytes = t.data.len() * 4;
        header.insert(
            t.name.clone(),
            json!({ "dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes] }),
        );
        offset += bytes;
    }
    let mut head = serde_json::to_vec(&Json::Object(header)).expect("header serialises");
    // Pad the header with spaces so the data starts 8-byte aligned (as the format recommends).
    while !(8 + head.len()).is_multiple_of(8) {
        head.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + head.len() + offset);
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&head);
    for t in tensors {
        for v in &t.data {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Writes a weights file atomically.
pub fn save(
    path: &Path,
    tensors: &[NamedTensor],
    metadata: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    crate::util::atomic_write(path, &to_bytes(tensors, metadata))
}

/// Parses a weights file's bytes; `source` names it in errors.
pub fn from_bytes(
    bytes: &[u8],
    source: &str,
) -> Result<(Vec<NamedTensor>, BTreeMap<String, String>), String> {
    let err = |m: String| format!("{source}: {m}");
    if bytes.len() < 8 {
        return Err(err(format!(
            "{} bytes is too short for a weights file",
            bytes.len()
        )));
    }
    let head_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let data_start = 8usize
        .checked_add(head_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            err(format!(
                "header length {head_len} at offset 0 runs past the end of the file ({} bytes)",
                bytes.len()
            ))
        })?;
    let header: serde_json::Map<String, Json> = serde_json::from_slice(&bytes[8..data_start])
        .map_err(|e| err(format!("header at offset 8 is not JSON: {e}")))?;
    let data = &bytes[data_start..];
    let mut metadata = BTreeMap::new();
    let mut tensors = Vec::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            if let Some(map) = entry.as_object() {
                for (k, v) in map {
                    metadata.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
                }
            }
            continue;
        }
        let dtype = entry["dtype"].as_str().unwrap_or("");
        if dtype != "F32" {
            return Err(err(format!(
                "tensor '{name}' has dtype '{dtype}', only F32 is supported"
            )));
        }
        let shape: Vec<usize> = serde_json::from_value(entry["shape"].clone())
            .map_err(|e| err(format!("tensor '{name}': bad shape: {e}")))?;
        let range: [usize; 2] = serde_json::from_value(entry["data_offsets"].clone())
            .map_err(|e| err(format!("tensor '{name}': bad data_offsets: {e}")))?;
        // Checked: a shape whose product wraps would pass the length check below.
        let want = shape
            .iter()
            .try_fold(4usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| err(format!("tensor '{name}': shape {shape:?} is too large")))?;
        if range[1] < range[0] || range[1] > data.len() || range[1] - range[0] != want {
            return Err(err(format!(
                "tensor '{name}': data_offsets {range:?} do not hold {want} bytes within the {} data bytes (file offset {})",
                data.len(),
                data_start + range[0]
            )));
        }
        let values = data[range[0]..range[1]]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        tensors.push(NamedTensor {
            name,
            shape,
            data: values,
        });
    }
    Ok((tensors, metadata))
}

/// Reads a weights file.
pub fn load(path: &Path) -> Result<(Vec<NamedTensor>, BTreeMap<String, String>), String> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("{source}: cannot read: {e}"))?;
    from_bytes(&bytes, &source)
}

/// Downloads a network's parameters and batch-norm running statistics, by name.
pub fn network_tensors(net: &Network) -> Result<Vec<NamedTensor>, DeviceError> {
    net.state()
        .into_iter()
        .map(|(name, t)| {
            Ok(NamedTensor {
                name,
                shape: t.shape().to_vec(),
                data: t.to_f32()?,
            })
        })
        .collect()
}

/// Writes a network's weights with its architecture and metadata (`nn::meta`) atomically.
pub fn save_network(path: &Path, net: &Network, meta: Option<&ModelMeta>) -> Result<(), String> {
    let tensors = network_tensors(net).map_err(|e| format!("{}: {e}", path.display()))?;
    let metadata = ModelMeta::safetensors_metadata(meta, &net.arch);
    save(path, &tensors, &metadata).map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// Loads `tensors` into `net`: every parameter and running statistic must be present with its
/// shape; `source` names the file in errors.
pub fn apply(net: &Network, tensors: &[NamedTensor], source: &str) -> Result<(), String> {
    for (name, t) in net.state() {
        let Some(saved) = tensors.iter().find(|s| s.name == name) else {
            return Err(format!("{source}: tensor '{name}' is missing"));
        };
        if saved.shape != t.shape() {
            return Err(format!(
                "{source}: tensor '{name}' has shape {:?}, the architecture needs {:?}",
                saved.shape,
                t.shape()
            ));
        }
        t.write_f32(&saved.data);
    }
    Ok(())
}
