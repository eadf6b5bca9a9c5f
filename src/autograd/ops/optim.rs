//! Optimiser updates as effect nodes of the update phase: in place on parameters and state.

use crate::autograd::op::Op;
use crate::autograd::{Graph, Phase, Value};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::optim::{self, AdamSpec, SgdSpec};
use crate::tensor::Tensor;

/// One parameter's update rule and the state it keeps.
#[derive(Clone)]
pub enum Update {
    Sgd {
        velocity: Tensor,
        spec: SgdSpec,
    },
    Adam {
        m: Tensor,
        v: Tensor,
        spec: AdamSpec,
    },
}

struct ApplyUpdate {
    param: Tensor,
    scalars: Tensor,
    update: Update,
}

impl Op for ApplyUpdate {
    fn name(&self) -> &'static str {
        match self.update {
            Update::Sgd { .. } => "sgd_update",
            Update::Adam { .. } => "adam_update",
        }
    }

    fn differentiable(&self) -> bool {
        false
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        _: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        let launch = match &self.update {
            Update::Sgd { velocity, spec } => {
                optim::sgd_update(gpu, &self.param, i[0], velocity, &self.scalars, *spec)?
            }
            Update::Adam { m, v, spec } => {
                optim::adam_update(gpu, &self.param, i[0], m, v, &self.scalars, *spec)?
            }
        };
        Ok(vec![launch])
    }
}

/// Records `param -= update(grad)` in the update phase. `scalars` holds the step's learning rate
/// and step count, written by the host once per step.
pub fn apply_update(g: &mut Graph, param: &Tensor, grad: Value, scalars: &Tensor, update: Update) {
    g.set_phase(Phase::Update);
    g.push_effect(
        ApplyUpdate {
            param: param.clone(),
            scalars: scalars.clone(),
            update,
        },
        &[grad],
    );
}
