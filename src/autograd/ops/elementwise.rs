//! Elementwise ops: relu, sigmoid, tanh, scale, add, mul.

use crate::autograd::error::shape_error;
use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::elementwise::{self, Binary, Unary};
use crate::tensor::{DType, Tensor};

/// `y = f(x)` for an activation or a scale.
struct UnaryOp(Unary);

impl Op for UnaryOp {
    fn name(&self) -> &'static str {
        match self.0 {
            Unary::Relu => "relu",
            Unary::Sigmoid => "sigmoid",
            Unary::Tanh => "tanh",
            Unary::Scale(_) => "scale",
        }
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![elementwise::unary(gpu, self.0, i[0], o[0])?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        // relu's derivative is read from its input, sigmoid's and tanh's from their output.
        let saved = match self.0 {
            Unary::Relu | Unary::Scale(_) => ctx.inputs[0],
            Unary::Sigmoid | Unary::Tanh => ctx.outputs[0],
        };
        let shape = ctx.graph.shape(dy).to_vec();
        let dx = ctx
            .graph
            .push(UnaryBackward(self.0), &[saved, dy], &[(shape, DType::F32)]);
        Ok(vec![Some(dx[0])])
    }
}

/// `dx = dy * f'(saved)`.
struct UnaryBackward(Unary);

impl Op for UnaryBackward {
    fn name(&self) -> &'static str {
        match self.0 {
            Unary::Relu => "relu_backward",
            Unary::Sigmoid => "sigmoid_backward",
            Unary::Tanh => "tanh_backward",
            Unary::Scale(_) => "scale",
        }
    }

    fn differentiable(&self) -> bool {
        false
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![elementwise::unary_backward(
            gpu, self.0, i[0], i[1], o[0],
        )?])
    }
}

/// `c = a + b` or `c = a * b`.
struct BinaryOp(Binary);

impl Op for BinaryOp {
    fn name(&self) -> &'static str {
        match self.0 {
            Binary::Add => "add",
            Binary::Mul => "mul",
        }
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![elementwise::binary(gpu, self.0, i[0], i[1], o[0])?])
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dc = ctx.grads[0].expect("gradient present");
        match self.0 {
            // The gradient passes through unchanged: share the value, no kernel.
            Binary::Add => Ok(vec![Some(dc), Some(dc)]),
            Binary::Mul => {
                let (a, b) = (ctx.inputs[0], ctx.inputs[1]);
                let da = if ctx.needs(0) {
                    Some(mul(ctx.graph, dc, b)?)
                } else {
                    None
                };
                let db = if ctx.needs(1) {
                    Some(mul(ctx.graph, dc, a)?)
                } else {
                    None
                };
                Ok(vec![da, db])
            }
        }
    }
}

fn unary(g: &mut Graph, op: Unary, x: Value) -> Value {
    let shape = g.shape(x).to_vec();
    g.push(UnaryOp(op), &[x], &[(shape, DType::F32)])[0]
}

fn binary(g: &mut Graph, op: Binary, a: Value, b: Value) -> Result<Value, AutogradError> {
    if g.shape(a) != g.shape(b) {
        let name = if op == Binary::Add { "add" } else { "mul" };
        return Err(shape_error(
            name,
            format!("operands are {:?} and {:?}", g.shape(a), g.shape(b)),
        ));
    }
    let shape = g.shape(a).to_vec();
    Ok(g.push(BinaryOp(op), &[a, b], &[(shape, DType::F32)])[0])
}

/// max(x, 0).
pub fn relu(g: &mut Graph, x: Value) -> Value {
    unary(g, Unary::Relu, x)
}

/// 1 / (1 + e^-x).
pub fn sigmoid(g: &mut Graph, x: Value) -> Value {
    unary(g, Unary::Sigmoid, x)
}

/// tanh(x).
pub fn tanh(g: &mut Graph, x: Value) -> Value {
    unary(g, Unary::Tanh, x)
}

/// alpha * x.
pub fn scale(g: &mut Graph, x: Value, alpha: f32) -> Value {
    unary(g, Unary::Scale(alpha), x)
}

/// a + b (same shapes).
pub fn add(g: &mut Graph, a: Value, b: Value) -> Result<Value, AutogradError> {
    binary(g, Binary::Add, a, b)
}

/// a * b elementwise (same shapes).
pub fn mul(g: &mut Graph, a: Value, b: Value) -> Result<Value, AutogradError> {
    binary(g, Binary::Mul, a, b)
}
