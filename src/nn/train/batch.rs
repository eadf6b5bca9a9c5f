//! The batch source of a training or evaluation graph: a gather from the device-resident dataset
//! at the cursor's offset into an order tensor. Not differentiable.

use std::sync::Arc;

use crate::autograd::op::Op;
use crate::autograd::{Graph, Value};
use crate::data::{Augment, BatchCursor, DeviceDataset, gather_batch};
use crate::device::{Gpu, Launch};
use crate::kernels::{KernelError, argument_error};
use crate::tensor::{DType, Tensor};

/// Where a graph's batches come from.
#[derive(Clone)]
pub struct BatchSource {
    pub data: Arc<DeviceDataset>,
    /// U32 indices into `data`, in visiting order (rewritten by the host once per epoch).
    pub order: Tensor,
    pub cursor: BatchCursor,
    pub augment: Augment,
}

struct GatherBatch(BatchSource);

impl Op for GatherBatch {
    fn name(&self) -> &'static str {
        "gather"
    }

    fn differentiable(&self) -> bool {
        false
    }

    fn launches(
        &self,
        gpu: &Gpu,
        _: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        let s = &self.0;
        gather_batch(gpu, &s.data, &s.order, &s.cursor, o[0], o[1], s.augment)
            .map_err(|e| argument_error("gather", e.to_string()))
    }
}

/// Records a gathered batch of `batch` images: `(images [B,C,H,W], labels U32 [B])`.
pub fn gather(g: &mut Graph, source: &BatchSource, batch: usize) -> (Value, Value) {
    let [c, h, w] = source.data.image_shape();
    let out = g.push(
        GatherBatch(source.clone()),
        &[],
        &[
            (vec![batch, c, h, w], DType::F32),
            (vec![batch], DType::U32),
        ],
    );
    (out[0], out[1])
}
