//! 2-D convolution with "same" padding, and its gradients to input, weights and bias.

use crate::autograd::error::shape_error;
use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::conv2d::{self, Conv2dShape, Conv2dSpec};
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
        // Output 1 is x packed the way the passes read it, kept for the weight gradient.
        conv2d::conv2d_forward_packing(gpu, i[0], i[1], i.get(2).copied(), o[0], o[1], self.0)
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let (x, w, x4) = (ctx.inputs[0], ctx.inputs[1], ctx.outputs[1]);
        let spec = self.0;
        let (xs, ws) = (ctx.graph.shape(x).to_vec(), ctx.graph.shape(w).to_vec());
        let shape = Conv2dShape {
            n: xs[0],
            cin: xs[1],
            cout: ws[0],
            in_hw: [xs[2], xs[3]],
            spec,
        };
        // dy is packed once for both passes; x was packed by the forward pass.
        let shared = conv2d::backward_weights_takes_packed(ctx.graph.gpu(), &shape);
        let (need_dx, need_dw) = (ctx.needs(0), ctx.needs(1));
        let dy4 = (need_dx || (need_dw && shared)).then(|| {
            let packed = conv2d::packed_shape(ctx.graph.shape(dy)).to_vec();
            ctx.graph.push(PackNhwc4, &[dy], &[(packed, DType::F32)])[0]
        });
        let dx = need_dx.then(|| {
            let dy4 = dy4.expect("packed for dx");
            ctx.graph
                .push(ConvGrad::Data(spec), &[dy, dy4, w], &[(xs, DType::F32)])[0]
        });
        let dw = need_dw.then(|| match dy4.filter(|_| shared) {
            Some(dy4) => ctx.graph.push(
                ConvGrad::WeightsPacked(spec),
                &[dy, dy4, x, x4],
                &[(ws, DType::F32)],
            )[0],
            None => ctx
                .graph
                .push(ConvGrad::Weights(spec), &[dy, x], &[(ws, DType::F32)])[0],
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

/// Packs an NCHW gradient for the backward passes that read it (shared by two of them).
struct PackNhwc4;

impl Op for PackNhwc4 {
    fn name(&self) -> &'static str {
        "conv2d_pack"
    }

    fn differentiable(&self) -> bool {
        false
    }

    fn launches(&self, _: &Gpu, i: &[&Tensor], o: &[&Tensor]) -> Result<Vec<Launch>, KernelError> {
        Ok(vec![conv2d::pack_nhwc4(i[0], o[0])?])
    }
}

/// The backward kernels of a convolution.
enum ConvGrad {
    /// Inputs dy, dy packed, w.
    Data(Conv2dSpec),
    /// Inputs dy, x (packed by the pass itself).
    Weights(Conv2dSpec),
    /// Inputs dy, dy packed, x, x packed.
    WeightsPacked(Conv2dSpec),
    Bias,
}

impl Op for ConvGrad {
    fn name(&self) -> &'static str {
        match self {
            ConvGrad::Data(_) => "conv2d_backward_data",
            ConvGrad::Weights(_) | ConvGrad::WeightsPacked(_) => "conv2d_backward_weights",
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
            ConvGrad::Data(spec) => {
                conv2d::conv2d_backward_data_packed(gpu, i[0], i[1], i[2], o[0], *spec)
            }
            ConvGrad::Weights(spec) => {
                conv2d::conv2d_backward_weights(gpu, i[0], i[1], o[0], *spec)
            }
            ConvGrad::WeightsPacked(spec) => {
                conv2d::conv2d_backward_weights_packed(gpu, i[0], i[1], i[2], i[3], o[0], *spec)
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
    let packed = conv2d::packed_shape(&xs).to_vec();
    Ok(g.push(
        Conv2d(spec),
        &inputs,
        &[
            (vec![xs[0], ws[0], oh, ow], DType::F32),
            (packed, DType::F32),
        ],
    )[0])
}
