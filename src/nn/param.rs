//! Trainable parameters, and binding them into a graph once each so a weight used at several
//! places (an LSTM unrolled over steps) is one value whose gradients add up.

use std::collections::HashMap;

use crate::autograd::{Graph, Value};
use crate::tensor::Tensor;

/// A named trainable tensor.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// Unique within a network, e.g. `layer3.conv.weight`; used in weight files.
    pub name: String,
    pub tensor: Tensor,
    /// Weight decay applies (conv and linear weights; not biases or batch-norm scale/shift).
    pub decay: bool,
}

/// The parameters bound into one graph, in binding order.
#[derive(Default)]
pub struct Binder {
    values: HashMap<String, Value>,
    bound: Vec<(Parameter, Value)>,
}

impl Binder {
    pub fn new() -> Binder {
        Binder::default()
    }

    /// The graph value of `p`, registering it on first use.
    pub fn bind(&mut self, g: &mut Graph, p: &Parameter) -> Value {
        if let Some(&v) = self.values.get(&p.name) {
            return v;
        }
        let v = g.param(&p.tensor, &p.name);
        self.values.insert(p.name.clone(), v);
        self.bound.push((p.clone(), v));
        v
    }

    /// Binds `p` to an existing value of `g` (gradient checks feed a layer their own inputs).
    pub fn bind_to(&mut self, p: &Parameter, v: Value) {
        self.values.insert(p.name.clone(), v);
        self.bound.push((p.clone(), v));
    }

    /// Every bound parameter with its value.
    pub fn bound(&self) -> &[(Parameter, Value)] {
        &self.bound
    }
}
