//! 2-D convolution with "same" padding, and its gradients to input, weights and bias.

use crate::autograd::error::shape_error;
use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::conv2d::{self, Conv2dSpec};
use crate::tensor::{DType, Tensor};

struct Conv2d(Conv2dSpec);

impl Op for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        conv2d::conv2d_forward(gpu, i[0], i[1], i.get(2).copied(), o[0], self.0)
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let (x, w) = (ctx.inputs[0], ctx.inputs[1]);
        let spec = self.0;
        let dx = ctx.needs(0).then(|| {
            let shape = ctx.graph.shape(x).to_vec();
            ctx.graph
                .push(ConvGrad::Data(spec), &[dy, w], &[(shape, DType::F32)])[0]
        });
        let dw = ctx.needs(1).then(|| {
            let shape = ctx.graph.shape(w).to_vec();
            ctx.graph
                .push(ConvGrad::Weights(spec), &[dy, x], &[(shape, DType::F32)])[0]
        });
        let mut grads = vec![dx, dw];
        if ctx.inputs.len() == 3 {
            let db = ctx.needs(2).then(|| {
                let shape = ctx.graph.shape(ctx.inputs[2]).to_vec();
                ctx.graph
                    .push(ConvGrad::Bias, &[dy], &[(shape, DType::F32)])[0]
            });
            grads.push(db);
        }
        Ok(grads)
    }
}

/// The three backward kernels of a convolution.
enum ConvGrad {
    Data(Conv2dSpec),
    Weights(Conv2dSpec),
    Bias,
}

impl Op for ConvGrad {
    fn name(&self) -> &'static str {
        match self {
            ConvGrad::Data(_) => "conv2d_backward_data",
            ConvGrad::Weights(_) => "conv2d_backward_weights",
            ConvGrad::Bias => "conv2d_backward_bias",
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
        match self {
            ConvGrad::Data(spec) => conv2d::conv2d_backward_data(gpu, i[0], i[1], o[0], *spec),
            ConvGrad::Weights(spec) => {
                conv2d::conv2d_backward_weights(gpu, i[0], i[1], o[0], *spec)
            }
            ConvGrad::Bias => conv2d::conv2d_backward_bias(gpu, i[0], o[0]),
        }
    }
}

/// `y = conv2d(x, w) + b` with "same" padding: x `[N,Cin,H,W]`, w `[Cout,Cin,KH,KW]`, b `[Cout]`.
pub fn conv2d(
    g: &mut Graph,
    x: Value,
    w: Value,
    b: Option<Value>,
    spec: Conv2dSpec,
) -> Result<Value, AutogradError> {
    let (xs, ws) = (g.shape(x).to_vec(), g.shape(w).to_vec());
    if xs.len() != 4 || ws.len() != 4 || xs[1] != ws[1] || [ws[2], ws[3]] != spec.kernel {
        return Err(shape_error(
            "conv2d",
            format!(
                "input {xs:?} and weights {ws:?} do not fit a {:?} filter (weights are [Cout, Cin, KH, KW])",
                spec.kernel
            ),
        ));
    }
    if let Some(b) = b
        && g.shape(b) != [ws[0]]
    {
        return Err(shape_error(
            "conv2d",
            format!("bias is {:?}, expected [{}]", g.shape(b), ws[0]),
        ));
    }
    let [oh, ow] = spec.output_hw([xs[2], xs[3]]);
    let inputs: Vec<Value> = [x, w].into_iter().chain(b).collect();
    Ok(g.push(
        Conv2d(spec),
        &inputs,
        &[(vec![xs[0], ws[0], oh, ow], DType::F32)],
    )[0])
}
