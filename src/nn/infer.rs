//! Logits of a network on images of a device dataset, in inference mode (running batch-norm
//! statistics), through the same gather and normalisation as evaluation. Used to check exported
//! models against nasgpu's own numbers.

use std::sync::Arc;

use super::network::Network;
use super::param::Binder;
use super::train::{BatchSource, gather};
use crate::autograd::{AutogradError, Graph, Phase, Plan};
use crate::data::{Augment, BatchCursor, DeviceDataset};
use crate::tensor::Tensor;

/// Row-major logits `[ids.len(), classes]` of `net` on images `ids` of `data`.
pub fn logits(
    net: &Network,
    data: &Arc<DeviceDataset>,
    ids: &[u32],
    batch: usize,
) -> Result<Vec<f32>, AutogradError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let gpu = data.labels().gpu();
    let backward = |e: crate::data::DataError| AutogradError::Backward {
        message: e.to_string(),
    };
    let source = BatchSource {
        data: data.clone(),
        order: Tensor::from_u32(gpu, &[ids.len()], ids)?,
        cursor: BatchCursor::new(gpu).map_err(backward)?,
        augment: Augment::NONE,
    };
    let mut g = Graph::new(gpu);
    g.set_no_grad(true);
    let mut binder = Binder::new();
    let (images, _) = gather(&mut g, &source, batch);
    let out = net.forward(&mut g, &mut binder, images, false)?;
    let plan = Plan::compile(&g, &[out])?;
    let classes = net.arch.classes;
    let mut all = Vec::with_capacity(ids.len() * classes);
    for offset in (0..ids.len()).step_by(batch) {
        let count = batch.min(ids.len() - offset);
        source.cursor.set(offset as u32, count as u32, 0);
        plan.run(&[Phase::Forward])?;
        let values = plan.tensor(out).expect("kept").to_f32()?;
        all.extend_from_slice(&values[..count * classes]);
    }
    Ok(all)
}
