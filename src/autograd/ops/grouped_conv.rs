//! Grouped convolutions with dilation (depthwise and dense dilated convs) and their gradients.

use crate::autograd::op::{BackwardCtx, Op};
use crate::autograd::{AutogradError, Graph, Value, shape_error};
use crate::device::{Gpu, Launch};
use crate::kernels::KernelError;
use crate::kernels::conv2d_grouped::{
    self as grouped, GroupedConvSpec, grouped_conv2d_backward_bias,
};
use crate::tensor::{DType, Tensor};

struct GroupedConv(GroupedConvSpec);

impl Op for GroupedConv {
    fn name(&self) -> &'static str {
        "conv2d_grouped"
    }

    fn launches(
        &self,
        gpu: &Gpu,
        i: &[&Tensor],
        o: &[&Tensor],
    ) -> Result<Vec<Launch>, KernelError> {
        grouped::grouped_conv2d_forward(gpu, i[0], i[1], i.get(2).copied(), o[0], self.0)
    }

    fn backward(&self, ctx: &mut BackwardCtx<'_>) -> Result<Vec<Option<Value>>, AutogradError> {
        let dy = ctx.grads[0].expect("gradient present");
        let (x, w) = (ctx.inputs[0], ctx.inputs[1]);
        let spec = self.0;
        let dx = ctx.needs(0).then(|| {
            let shape = ctx.graph.shape(x).to_vec();
            ctx.graph
                .push(GroupedGrad::Data(spec), &[dy, w], &[(shape, DType::F32)])[0]
        });
        let dw = ctx.needs(1).then(|| {
            let shape = ctx.graph.shape(w).to_vec();
            ctx.graph
                .push(GroupedGrad::Weights(spec), &[dy, x], &[(shape, DType::F32)])[0]
        });
        let mut grads = vec![dx, dw];
        if ctx.inputs.len() == 3 {
            let db = ctx.needs(2).then(|| {
                let shape = ctx.graph.shape(ctx.inputs[2]).to_vec();
                ctx.graph
                    .push(GroupedGrad::Bias, &[dy], &[(shape, DType::F32)])[0]
            });
            grads.push(db);
        }
        Ok(grads)
    }
}

/// The backward kernels of a grouped convolution.
enum GroupedGrad {
    Data(GroupedConvSpec),
    Weights(GroupedConvSpec),
    Bias,
}

impl Op for GroupedGrad {
    fn name(&self) -> &'static str {
        match self {
            GroupedGrad::Data(_) => "conv2d_grouped_backward_data",
            GroupedGrad::Weights(_) => "conv2d_grouped_backward_weights",
            GroupedGrad::Bias => "conv2d_backward_bias",
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
            GroupedGrad::Data(s) => {
                grouped::grouped_conv2d_backward_data(gpu, i[0], i[1], o[0], *s)
            }
            GroupedGrad::Weights(s) => {
                grouped::grouped_conv2d_backward_weights(gpu, i[0], i[1], o[0], *s)
            }
            GroupedGrad::Bias => grouped_conv2d_backward_bias(gpu, i[0], o[0]),
        }
    }
}

/// `y = conv(x, w) + b` with groups, dilation and "same" padding of the dilated filter:
/// x `[N, Cin, H, W]`, w `[Cout, Cin / groups, KH, KW]`, b `[Cout]`, y `[N, Cout, OH, OW]`.
pub fn grouped_conv2d(
    g: &mut Graph,
    x: Value,
    w: Value,
    b: Option<Value>,
    spec: GroupedConvSpec,
) -> Result<Value, AutogradError> {
    grouped::check_spec(&spec)?;
    let (xs, ws) = (g.shape(x).to_vec(), g.shape(w).to_vec());
    let fits = xs.len() == 4
        && ws.len() == 4
        && spec.groups > 0
        && xs[1].is_multiple_of(spec.groups)
        && ws[0].is_multiple_of(spec.groups)
        && ws == spec.weight_shape(xs[1], ws[0]);
    if !fits {
        return Err(shape_error(
            "conv2d_grouped",
            format!(
                "input {xs:?} and weights {ws:?} do not fit a {:?} filter with {} groups \
                 (weights are [Cout, Cin / groups, KH, KW])",
                spec.kernel, spec.groups
            ),
        ));
    }
    if let Some(b) = b
        && g.shape(b) != [ws[0]]
    {
        return Err(shape_error(
            "conv2d_grouped",
            format!("bias is {:?}, expected [{}]", g.shape(b), ws[0]),
        ));
    }
    let [oh, ow] = spec.output_hw([xs[2], xs[3]]);
    let inputs: Vec<Value> = [x, w].into_iter().chain(b).collect();
    Ok(g.push(
        GroupedConv(spec),
        &inputs,
        &[(vec![xs[0], ws[0], oh, ow], DType::F32)],
    )[0])
}

/// Depthwise conv (one `[KH, KW]` filter per channel): x `[N, C, H, W]`, w `[C, 1, KH, KW]`.
pub fn depthwise_conv2d(
    g: &mut Graph,
    x: Value,
    w: Value,
    b: Option<Value>,
    stride: [usize; 2],
    dilation: [usize; 2],
) -> Result<Value, AutogradError> {
    let (c, ws) = (g.shape(x).get(1).copied().unwrap_or(0), g.shape(w).to_vec());
    let kernel = [
        ws.get(2).copied().unwrap_or(0),
        ws.get(3).copied().unwrap_or(0),
    ];
    let spec = GroupedConvSpec::depthwise(c.max(1), kernel, stride, dilation);
    grouped_conv2d(g, x, w, b, spec)
}

/// Dense conv with dilation: x `[N, Cin, H, W]`, w `[Cout, Cin, KH, KW]`.
pub fn dilated_conv2d(
    g: &mut Graph,
    x: Value,
    w: Value,
    b: Option<Value>,
    stride: [usize; 2],
    dilation: [usize; 2],
) -> Result<Value, AutogradError> {
    let ws = g.shape(w).to_vec();
    let kernel = [
        ws.get(2).copied().unwrap_or(0),
        ws.get(3).copied().unwrap_or(0),
    ];
    grouped_conv2d(
        g,
        x,
        w,
        b,
        GroupedConvSpec::dilated(kernel, stride, dilation),
    )
}
