//! Planned evaluation: inference-mode forward (running batch-norm statistics, no gradients) over
//! a fixed list of images, batch by batch, with metrics accumulated on the device.

use std::sync::Arc;

use super::batch::{BatchSource, gather};
use super::metrics::{Metrics, MetricsTensor};
use crate::autograd::ops::{accumulate_metrics, softmax_cross_entropy};
use crate::autograd::{AutogradError, Graph, Phase, Plan, Value};
use crate::data::{Augment, BatchCursor, DeviceDataset};
use crate::device::DeviceError;
use crate::nn::network::Network;
use crate::nn::param::Binder;
use crate::tensor::Tensor;

/// Evaluates a network on `ids` of a device dataset.
pub struct Evaluator {
    source: BatchSource,
    count: usize,
    batch: usize,
    metrics: MetricsTensor,
    plan: Plan,
}

impl Evaluator {
    /// Compiles the evaluation graph of `net` (sharing its parameters and running statistics).
    pub fn new(
        net: &Network,
        data: &Arc<DeviceDataset>,
        ids: &[u32],
        batch: usize,
    ) -> Result<Evaluator, AutogradError> {
        Evaluator::with_forward(data, ids, batch, |g, b, images| {
            net.forward(g, b, images, false)
        })
    }

    /// Compiles the evaluation graph of `forward` (images -> logits), e.g. a supernet's path.
    pub fn with_forward(
        data: &Arc<DeviceDataset>,
        ids: &[u32],
        batch: usize,
        forward: impl FnOnce(&mut Graph, &mut Binder, Value) -> Result<Value, AutogradError>,
    ) -> Result<Evaluator, AutogradError> {
        let gpu = data.labels().gpu();
        if ids.is_empty() {
            return Err(AutogradError::Shape {
                op: "evaluator",
                message: "no images to evaluate on".into(),
            });
        }
        let source = BatchSource {
            data: data.clone(),
            order: Tensor::from_u32(gpu, &[ids.len()], ids)?,
            cursor: BatchCursor::new(gpu).map_err(|e| AutogradError::Backward {
                message: e.to_string(),
            })?,
            augment: Augment::NONE,
        };
        let metrics = MetricsTensor::new(gpu)?;
        let mut g = Graph::new(gpu);
        g.set_no_grad(true);
        let mut binder = Binder::new();
        let (images, labels) = gather(&mut g, &source, batch);
        let logits = forward(&mut g, &mut binder, images)?;
        let (losses, _) = softmax_cross_entropy(&mut g, logits, labels)?;
        accumulate_metrics(&mut g, losses, logits, labels, metrics.tensor());
        let plan = Plan::compile(&g, &[])?;
        Ok(Evaluator {
            source,
            count: ids.len(),
            batch,
            metrics,
            plan,
        })
    }

    /// Loss and accuracy over all the images (the last batch is padded and the padding ignored).
    pub fn evaluate(&self) -> Result<Metrics, DeviceError> {
        self.metrics.reset();
        for offset in (0..self.count).step_by(self.batch) {
            self.source
                .cursor
                .set(offset as u32, self.batch.min(self.count - offset) as u32, 0);
            self.plan.run(&[Phase::Forward])?;
        }
        self.metrics.read()
    }

    /// Images evaluated per call.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}
