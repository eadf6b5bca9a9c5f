//! Embedding table `[V, D]` looked up by U32 ids.

use std::sync::Arc;

use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::nn::init::{self, Init};
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

pub struct Embedding {
    pub table: Parameter,
}

impl Embedding {
    pub fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        vocabulary: usize,
        dim: usize,
        table_init: Init,
        rng: &mut SeededRng,
    ) -> Result<Embedding, DeviceError> {
        Ok(Embedding {
            table: Parameter {
                name: format!("{name}.table"),
                tensor: init::tensor(gpu, &[vocabulary, dim], table_init, rng)?,
                decay: false,
            },
        })
    }

    /// Rows for U32 `ids` `[N]`: `[N, D]`.
    pub fn forward(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        ids: Value,
    ) -> Result<Value, AutogradError> {
        let table = b.bind(g, &self.table);
        ops::embedding(g, table, ids)
    }

    pub fn parameters(&self) -> Vec<&Parameter> {
        vec![&self.table]
    }
}
