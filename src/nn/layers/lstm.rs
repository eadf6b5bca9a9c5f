//! Multi-layer LSTM, stepped one token at a time (the controller samples autoregressively).

use std::sync::Arc;

use crate::autograd::{AutogradError, Graph, Value, ops};
use crate::device::{DeviceError, Gpu};
use crate::nn::init::{self, Init};
use crate::nn::param::{Binder, Parameter};
use crate::util::SeededRng;

/// One layer's weights: input `[in, 4H]`, recurrent `[H, 4H]`, bias `[4H]` (gates i, f, g, o).
pub struct LstmLayer {
    pub w_input: Parameter,
    pub w_hidden: Parameter,
    pub bias: Parameter,
}

pub struct Lstm {
    pub layers: Vec<LstmLayer>,
    pub hidden: usize,
}

/// Hidden and cell state of every layer, each `[B, H]`.
#[derive(Debug, Clone)]
pub struct LstmState {
    pub h: Vec<Value>,
    pub c: Vec<Value>,
}

impl Lstm {
    /// `layers` stacked cells of `hidden` units over inputs of `input` features.
    pub fn new(
        gpu: &Arc<Gpu>,
        name: &str,
        input: usize,
        hidden: usize,
        layers: usize,
        weight_init: Init,
        rng: &mut SeededRng,
    ) -> Result<Lstm, DeviceError> {
        let mut out = Vec::with_capacity(layers);
        for l in 0..layers {
            let fan_in = if l == 0 { input } else { hidden };
            let p = |suffix: &str,
                     shape: &[usize],
                     rng: &mut SeededRng|
             -> Result<Parameter, DeviceError> {
                Ok(Parameter {
                    name: format!("{name}.{l}.{suffix}"),
                    tensor: init::tensor(gpu, shape, weight_init, rng)?,
                    decay: false,
                })
            };
            out.push(LstmLayer {
                w_input: p("w_input", &[fan_in, 4 * hidden], rng)?,
                w_hidden: p("w_hidden", &[hidden, 4 * hidden], rng)?,
                bias: p("bias", &[4 * hidden], rng)?,
            });
        }
        Ok(Lstm {
            layers: out,
            hidden,
        })
    }

    /// Zero state for a batch of `batch`.
    pub fn zero_state(&self, g: &mut Graph, batch: usize) -> Result<LstmState, AutogradError> {
        let zero = g.constant(&[batch, self.hidden], 0.0, "lstm zero state")?;
        Ok(LstmState {
            h: vec![zero; self.layers.len()],
            c: vec![zero; self.layers.len()],
        })
    }

    /// One time step: `x` `[B, in]` -> top hidden `[B, H]` and the new state.
    pub fn step(
        &self,
        g: &mut Graph,
        b: &mut Binder,
        x: Value,
        state: &LstmState,
    ) -> Result<(Value, LstmState), AutogradError> {
        let mut input = x;
        let mut next = LstmState {
            h: Vec::new(),
            c: Vec::new(),
        };
        for (l, layer) in self.layers.iter().enumerate() {
            let wx = b.bind(g, &layer.w_input);
            let wh = b.bind(g, &layer.w_hidden);
            let bias = b.bind(g, &layer.bias);
            let from_input = ops::linear(g, input, wx, Some(bias))?;
            let from_hidden = ops::matmul(g, state.h[l], wh, false, false)?;
            let gates = ops::add(g, from_input, from_hidden)?;
            let (h, c) = ops::lstm_cell(g, gates, state.c[l])?;
            next.h.push(h);
            next.c.push(c);
            input = h;
        }
        Ok((input, next))
    }

    pub fn parameters(&self) -> Vec<&Parameter> {
        self.layers
            .iter()
            .flat_map(|l| [&l.w_input, &l.w_hidden, &l.bias])
            .collect()
    }
}
