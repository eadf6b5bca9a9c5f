//! Grouped 2-D convolution with dilation, NCHW, weights `[Cout, Cin / groups, KH, KW]`: the
//! depthwise convs (groups = channels) of the ENAS/DARTS separable and dilated convolutions, and
//! dense dilated convs (groups = 1). Forward, backward to the input, the weights (split
//! reduction summed in a fixed order) and the bias (`conv2d_backward_bias`).
//!
//! Padding is TF "same" for the effective filter `(k - 1) * d + 1`: out = ceil(in / stride),
//! pad_total = max((out - 1) * stride + (k - 1) * d + 1 - in, 0), pad_before = pad_total / 2.
//! An optional `shift` moves the sampling grid by whole pixels (source = same-padded position +
//! shift, zeros beyond the image): the second path of a factorized reduction reads x[2i+1, 2j+1].

use std::sync::Arc;

use crate::device::{Access, Binding, Gpu, KernelDef, Launch, Specialisation, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype};
use super::error::{KernelError, argument_error, shape_error};

pub use super::conv2d::conv2d_backward_bias as grouped_conv2d_backward_bias;

/// Largest filter side.
pub const MAX_KERNEL: usize = 7;
/// Largest stride.
pub const MAX_STRIDE: usize = 3;
/// Largest dilation.
pub const MAX_DILATION: usize = 4;

const BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
];
const SOURCE: &str = concat!(
    include_str!("../../shaders/conv2d_grouped_common.wgsl"),
    include_str!("../../shaders/conv2d_grouped.wgsl")
);
const WG: u32 = 64;
/// Output columns per invocation (`PX` in the shader).
const PX: usize = 8;
/// The weight gradient aims at about this many invocations when splitting the rows.
const WGRAD_LANES: usize = 8192;

/// Forward pass, and backward-to-input at stride 1 (template slots SW, DW).
static WINDOW: KernelDef = KernelDef {
    name: "conv2d_grouped_window",
    source: concat!(
        include_str!("../../shaders/conv2d_grouped_common.wgsl"),
        include_str!("../../shaders/conv2d_grouped_window.wgsl")
    ),
    entry: "grouped_window",
    bindings: BINDINGS,
};
/// Backward to the input at strides above 1 (template slots SH, SW).
static BACKWARD_DATA: KernelDef = KernelDef {
    name: "conv2d_grouped_backward_data",
    source: concat!(
        include_str!("../../shaders/conv2d_grouped_common.wgsl"),
        include_str!("../../shaders/conv2d_grouped_backward_data.wgsl")
    ),
    entry: "grouped_backward_data",
    bindings: BINDINGS,
};
/// Weight-gradient partials (template slots SW, DW).
static WGRAD: KernelDef = KernelDef {
    name: "conv2d_grouped_wgrad",
    source: concat!(
        include_str!("../../shaders/conv2d_grouped_common.wgsl"),
        include_str!("../../shaders/conv2d_grouped_window.wgsl")
    ),
    entry: "grouped_wgrad_window",
    bindings: BINDINGS,
};
static WGRAD_REDUCE: KernelDef = KernelDef {
    name: "conv2d_grouped_wgrad_reduce",
    source: SOURCE,
    entry: "grouped_wgrad_reduce",
    bindings: BINDINGS,
};

/// Filter, stride, dilation (each per axis), channel groups and grid shift of a grouped conv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupedConvSpec {
    /// Filter `[kh, kw]`, each 1..=7.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]`, each 1..=3.
    pub stride: [usize; 2],
    /// Dilation `[dh, dw]`, each 1..=4.
    pub dilation: [usize; 2],
    /// Channel groups: 1 is a dense conv, `channels` a depthwise one. Divides Cin and Cout.
    pub groups: usize,
    /// Grid shift in pixels, each 0..=stride (0 for ordinary convs).
    pub shift: [usize; 2],
}

impl GroupedConvSpec {
    /// Depthwise conv of `channels` channels (one filter per channel, channel multiplier 1).
    pub fn depthwise(
        channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
    ) -> GroupedConvSpec {
        GroupedConvSpec {
            kernel,
            stride,
            dilation,
            groups: channels,
            shift: [0, 0],
        }
    }

    /// Dense conv with dilation.
    pub fn dilated(
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
    ) -> GroupedConvSpec {
        GroupedConvSpec {
            kernel,
            stride,
            dilation,
            groups: 1,
            shift: [0, 0],
        }
    }

    /// Extent of the dilated filter: `(k - 1) * d + 1` per axis.
    pub fn effective_kernel(&self) -> [usize; 2] {
        [0, 1].map(|d| (self.kernel[d].max(1) - 1) * self.dilation[d].max(1) + 1)
    }

    /// Output height and width: `ceil(in / stride)`.
    pub fn output_hw(&self, in_hw: [usize; 2]) -> [usize; 2] {
        [0, 1].map(|d| in_hw[d].div_ceil(self.stride[d].max(1)))
    }

    /// Signed padding before the input: the "same" padding of the effective filter minus the shift.
    pub fn pad_before(&self, in_hw: [usize; 2]) -> [i64; 2] {
        let out = self.output_hw(in_hw);
        let eff = self.effective_kernel();
        [0, 1].map(|d| {
            let span = out[d].saturating_sub(1) * self.stride[d].max(1) + eff[d];
            (span.saturating_sub(in_hw[d]) / 2) as i64 - self.shift[d] as i64
        })
    }

    /// Weight shape for `cin` input and `cout` output channels.
    pub fn weight_shape(&self, cin: usize, cout: usize) -> [usize; 4] {
        [
            cout,
            cin / self.groups.max(1),
            self.kernel[0],
            self.kernel[1],
        ]
    }

    fn check(&self, kernel: &'static str) -> Result<(), KernelError> {
        let in_range = |v: &[usize; 2], max: usize| v.iter().all(|&x| (1..=max).contains(&x));
        let shift_ok = (0..2).all(|d| self.shift[d] <= self.stride[d]);
        if !in_range(&self.kernel, MAX_KERNEL)
            || !in_range(&self.stride, MAX_STRIDE)
            || !in_range(&self.dilation, MAX_DILATION)
            || self.groups == 0
            || !shift_ok
        {
            return Err(argument_error(
                kernel,
                format!(
                    "filter {:?}, stride {:?}, dilation {:?}, groups {}, shift {:?} unsupported: \
                     filter sides 1..={MAX_KERNEL}, strides 1..={MAX_STRIDE}, dilations \
                     1..={MAX_DILATION}, groups at least 1, shift at most the stride",
                    self.kernel, self.stride, self.dilation, self.groups, self.shift
                ),
            ));
        }
        Ok(())
    }
}

/// Useful FLOPs of one pass (2 per multiply-add, taps off the image counted too, as conv2d does).
pub fn grouped_conv2d_flops(
    n: usize,
    cin: usize,
    cout: usize,
    in_hw: [usize; 2],
    spec: &GroupedConvSpec,
) -> f64 {
    let [oh, ow] = spec.output_hw(in_hw);
    let per_out = (cin / spec.groups.max(1)) * spec.kernel[0] * spec.kernel[1];
    2.0 * (n * cout * oh * ow) as f64 * per_out as f64
}

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c_in: u32,
    c_out: u32,
    cpg_in: u32,
    cpg_out: u32,
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    k_h: u32,
    k_w: u32,
    s_h: u32,
    s_w: u32,
    d_h: u32,
    d_w: u32,
    pad_h: i32,
    pad_w: i32,
    has_bias: u32,
    items: u32,
    blocks_w: u32,
    rows_per_split: u32,
    weights: u32,
    splits: u32,
    w_a: u32,
    w_b: u32,
    flip: u32,
    blocks_o: u32,
    bpg: u32,
}

/// Sizes of one call.
struct Shape {
    n: usize,
    cin: usize,
    cout: usize,
    in_hw: [usize; 2],
    out_hw: [usize; 2],
}

fn describe(named: &[(&str, Option<&Tensor>)]) -> String {
    named
        .iter()
        .map(|(name, t)| match t {
            Some(t) => format!("{name} {:?}", t.shape()),
            None => format!("{name} none"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the shapes of any pass: `image` is x or dx `[N, Cin, H, W]`, `filters` w or dw, `dst`
/// y or dy `[N, Cout, OH, OW]`; `written` names the output, which must not alias the others.
fn check(
    kernel: &'static str,
    spec: &GroupedConvSpec,
    image: (&str, &Tensor),
    filters: (&str, &Tensor),
    dst: (&str, &Tensor),
    bias: Option<&Tensor>,
    written: &str,
) -> Result<Shape, KernelError> {
    spec.check(kernel)?;
    let named = [
        (image.0, Some(image.1)),
        (filters.0, Some(filters.1)),
        ("bias", bias),
        (dst.0, Some(dst.1)),
    ];
    let all = describe(&named);
    for (name, t) in &named {
        let Some(t) = t else { continue };
        has_dtype(kernel, name, t, DType::F32)?;
        fits_u32(kernel, &format!("{name} elements"), t.numel())?;
        let rank = if *name == "bias" { 1 } else { 4 };
        if t.shape().len() != rank || t.shape().contains(&0) {
            return Err(shape_error(
                kernel,
                format!("{name} must have {rank} positive dimensions: {all}"),
            ));
        }
    }
    let s = image.1.shape();
    let (n, cin, in_hw) = (s[0], s[1], [s[2], s[3]]);
    let cout = filters.1.shape()[0];
    if !cin.is_multiple_of(spec.groups) || !cout.is_multiple_of(spec.groups) {
        return Err(shape_error(
            kernel,
            format!(
                "{} groups must divide the {cin} input and {cout} output channels: {all}",
                spec.groups
            ),
        ));
    }
    let out_hw = spec.output_hw(in_hw);
    let want_w = spec.weight_shape(cin, cout);
    let want_dst = [n, cout, out_hw[0], out_hw[1]];
    let mut wants: Vec<(&str, &Tensor, Vec<usize>)> = vec![
        (filters.0, filters.1, want_w.to_vec()),
        (dst.0, dst.1, want_dst.to_vec()),
    ];
    if let Some(b) = bias {
        wants.push(("bias", b, vec![cout]));
    }
    for (name, t, want) in wants {
        if t.shape() != want.as_slice() {
            return Err(shape_error(
                kernel,
                format!(
                    "{name} should be {want:?} (filter {:?}, stride {:?}, dilation {:?}, groups {}); \
                     got {all}",
                    spec.kernel, spec.stride, spec.dilation, spec.groups
                ),
            ));
        }
    }
    let mut tensors = vec![image, filters, dst];
    tensors.extend(bias.map(|b| ("bias", b)));
    let out = *tensors
        .iter()
        .find(|t| t.0 == written)
        .expect("output named");
    let inputs: Vec<(&str, &Tensor)> = tensors.into_iter().filter(|t| t.0 != written).collect();
    distinct(kernel, out, &inputs)?;
    Ok(Shape {
        n,
        cin,
        cout,
        in_hw,
        out_hw,
    })
}

fn params(s: &Shape, spec: &GroupedConvSpec) -> Params {
    let pad = spec.pad_before(s.in_hw);
    Params {
        n: s.n as u32,
        c_in: s.cin as u32,
        c_out: s.cout as u32,
        cpg_in: (s.cin / spec.groups) as u32,
        cpg_out: (s.cout / spec.groups) as u32,
        h: s.in_hw[0] as u32,
        w: s.in_hw[1] as u32,
        oh: s.out_hw[0] as u32,
        ow: s.out_hw[1] as u32,
        k_h: spec.kernel[0] as u32,
        k_w: spec.kernel[1] as u32,
        s_h: spec.stride[0] as u32,
        s_w: spec.stride[1] as u32,
        d_h: spec.dilation[0] as u32,
        d_w: spec.dilation[1] as u32,
        pad_h: pad[0] as i32,
        pad_w: pad[1] as i32,
        w_a: (s.cin / spec.groups) as u32,
        w_b: 1,
        ..Default::default()
    }
}

/// `y = conv(x, w) + bias`: x `[N, Cin, H, W]`, w `[Cout, Cin / groups, KH, KW]`, bias `[Cout]`,
/// y `[N, Cout, OH, OW]` with `[OH, OW] = spec.output_hw([H, W])`.
pub fn grouped_conv2d_forward(
    gpu: &Gpu,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    y: &Tensor,
    spec: GroupedConvSpec,
) -> Result<Vec<Launch>, KernelError> {
    const K: &str = "conv2d_grouped_forward";
    let s = check(K, &spec, ("x", x), ("w", w), ("y", y), bias, "y")?;
    let mut p = params(&s, &spec);
    let blocks_w = s.out_hw[1].div_ceil(PX);
    let rc = channel_block(s.cout / spec.groups);
    let bpg = (s.cout / spec.groups).div_ceil(rc);
    let blocks_o = spec.groups * bpg;
    let items = fits_u32(K, "invocations", s.n * blocks_o * s.out_hw[0] * blocks_w)?;
    p.items = items;
    p.blocks_w = blocks_w as u32;
    p.blocks_o = blocks_o as u32;
    p.bpg = bpg as u32;
    p.has_bias = bias.is_some() as u32;
    let c = bias.unwrap_or(w).binding();
    Ok(vec![Launch::new(
        gpu,
        &WINDOW,
        &window_spec(spec.stride[1], spec.dilation[1], rc),
        bytemuck::bytes_of(&p),
        &[x.binding(), w.binding(), c, y.binding()],
        grid_1d(gpu, items as usize, WG),
    )])
}

/// Gradient to the input: `dx` `[N, Cin, H, W]` (overwritten) from `dy` and `w`.
pub fn grouped_conv2d_backward_data(
    gpu: &Gpu,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
    spec: GroupedConvSpec,
) -> Result<Vec<Launch>, KernelError> {
    const K: &str = "conv2d_grouped_backward_data";
    let s = check(K, &spec, ("dx", dx), ("w", w), ("dy", dy), None, "dx")?;
    if spec.stride == [1, 1] {
        return Ok(vec![data_as_forward(gpu, dy, w, dx, &s, &spec)?]);
    }
    let mut p = params(&s, &spec);
    let phase_cols = s.in_hw[1].div_ceil(spec.stride[1]);
    let blocks_w = phase_cols.div_ceil(PX);
    let lanes = s.n * s.cin * s.in_hw[0] * spec.stride[1] * blocks_w;
    let items = fits_u32(K, "invocations", lanes)?;
    p.items = items;
    p.blocks_w = blocks_w as u32;
    let strides = vec![
        ("SH", spec.stride[0].to_string()),
        ("SW", spec.stride[1].to_string()),
    ];
    Ok(vec![Launch::new(
        gpu,
        &BACKWARD_DATA,
        &strides,
        bytemuck::bytes_of(&p),
        &[dy.binding(), w.binding(), w.binding(), dx.binding()],
        grid_1d(gpu, items as usize, WG),
    )])
}

/// Template values of the window kernels: column stride, dilation, destination channels per
/// invocation.
fn window_spec(stride: usize, dilation: usize, rc: usize) -> Specialisation {
    vec![
        ("SW", stride.to_string()),
        ("DW", dilation.to_string()),
        ("RC", rc.to_string()),
    ]
}

/// Destination channels per window invocation for `per_group` destination channels per group:
/// 8 or 4 share the source window in dense convs, 1 in depthwise ones.
fn channel_block(per_group: usize) -> usize {
    match per_group {
        8.. => 8,
        4.. => 4,
        _ => 1,
    }
}

/// Backward to the input at stride 1 as a forward conv of dy: taps reversed, padding
/// `(k - 1) * d - pad`, source and destination channels swapped in the weight indexing.
fn data_as_forward(
    gpu: &Gpu,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
    s: &Shape,
    spec: &GroupedConvSpec,
) -> Result<Launch, KernelError> {
    const K: &str = "conv2d_grouped_backward_data";
    let pad = spec.pad_before(s.in_hw);
    let eff = spec.effective_kernel();
    let blocks_w = s.in_hw[1].div_ceil(PX);
    let rc = channel_block(s.cin / spec.groups);
    let bpg = (s.cin / spec.groups).div_ceil(rc);
    let blocks_o = spec.groups * bpg;
    let items = fits_u32(K, "invocations", s.n * blocks_o * s.in_hw[0] * blocks_w)?;
    let p = Params {
        n: s.n as u32,
        c_in: s.cout as u32,
        c_out: s.cin as u32,
        cpg_in: (s.cout / spec.groups) as u32,
        cpg_out: (s.cin / spec.groups) as u32,
        h: s.out_hw[0] as u32,
        w: s.out_hw[1] as u32,
        oh: s.in_hw[0] as u32,
        ow: s.in_hw[1] as u32,
        k_h: spec.kernel[0] as u32,
        k_w: spec.kernel[1] as u32,
        s_h: 1,
        s_w: 1,
        d_h: spec.dilation[0] as u32,
        d_w: spec.dilation[1] as u32,
        pad_h: (eff[0] as i64 - 1 - pad[0]) as i32,
        pad_w: (eff[1] as i64 - 1 - pad[1]) as i32,
        items,
        blocks_w: blocks_w as u32,
        w_a: 1,
        w_b: (s.cin / spec.groups) as u32,
        flip: 1,
        blocks_o: blocks_o as u32,
        bpg: bpg as u32,
        ..Default::default()
    };
    Ok(Launch::new(
        gpu,
        &WINDOW,
        &window_spec(1, spec.dilation[1], rc),
        bytemuck::bytes_of(&p),
        &[dy.binding(), w.binding(), w.binding(), dx.binding()],
        grid_1d(gpu, items as usize, WG),
    ))
}

/// Gradient to the weights: `dw` `[Cout, Cin / groups, KH, KW]` (overwritten) from `dy` and `x`:
/// split partial sums over rows of N * OH, then their sum in split order.
pub fn grouped_conv2d_backward_weights(
    gpu: &Gpu,
    dy: &Tensor,
    x: &Tensor,
    dw: &Tensor,
    spec: GroupedConvSpec,
) -> Result<Vec<Launch>, KernelError> {
    const K: &str = "conv2d_grouped_backward_weights";
    let s = check(K, &spec, ("x", x), ("dw", dw), ("dy", dy), None, "dw")?;
    let mut p = params(&s, &spec);
    let rows = s.n * s.out_hw[0];
    let per_split = s.cout * (s.cin / spec.groups) * spec.kernel[0];
    let wanted = WGRAD_LANES.div_ceil(per_split).clamp(1, rows);
    let rows_per_split = rows.div_ceil(wanted);
    let splits = rows.div_ceil(rows_per_split);
    let weights = dw.numel();
    let part_len = splits * weights;
    fits_u32(K, "partial sums", part_len)?;
    p.items = fits_u32(K, "invocations", splits * per_split)?;
    p.rows_per_split = rows_per_split as u32;
    p.weights = weights as u32;
    p.splits = splits as u32;
    let bytes = (part_len * 4) as u64;
    let scratch = Arc::new(gpu.storage(bytes, "grouped conv weight-gradient partials")?);
    let part = Binding {
        buffer: scratch.raw(),
        bytes,
        owner: Some(&scratch),
    };
    let partials = Launch::new(
        gpu,
        &WGRAD,
        &window_spec(spec.stride[1], spec.dilation[1], 1),
        bytemuck::bytes_of(&p),
        &[dy.binding(), x.binding(), x.binding(), part],
        grid_1d(gpu, splits * per_split, WG),
    );
    let sum = Launch::new(
        gpu,
        &WGRAD_REDUCE,
        &vec![],
        bytemuck::bytes_of(&p),
        &[part, dy.binding(), dy.binding(), dw.binding()],
        grid_1d(gpu, weights, WG),
    );
    Ok(vec![partials, sum])
}

/// Refuses a spec whose arguments are out of range (for callers that record before launching).
pub fn check_spec(spec: &GroupedConvSpec) -> Result<(), KernelError> {
    spec.check("conv2d_grouped")
}
