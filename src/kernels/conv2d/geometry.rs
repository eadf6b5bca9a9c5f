//! Conv2d geometry: the spec (filter, stride, "same" padding), the shape of one call, and the
//! host-side checks that turn every bad argument into a `KernelError` naming all shapes.

use crate::kernels::checks::{distinct, fits_u32, has_dtype};
use crate::kernels::error::{KernelError, argument_error, shape_error};
use crate::tensor::{DType, Tensor};

/// Largest filter side; larger filters are refused.
pub const MAX_KERNEL: usize = 7;
/// Largest stride; larger strides are refused.
pub const MAX_STRIDE: usize = 3;

/// Filter `[kh, kw]` (each 1..=7, non-square allowed) and stride `[sh, sw]` (each 1..=3);
/// padding is always "same" (TF rule: out = ceil(in / stride),
/// pad_total = max((out - 1) * stride + k - in, 0), pad_before = pad_total / 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2dSpec {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
}

impl Conv2dSpec {
    /// Output height and width for an input of `in_hw` (a stride of 0 is treated as 1 here;
    /// the launchers refuse it).
    pub fn output_hw(&self, in_hw: [usize; 2]) -> [usize; 2] {
        [0, 1].map(|d| in_hw[d].div_ceil(self.stride[d].max(1)))
    }

    /// Zero rows/columns padded before the input (after it: the rest of pad_total).
    pub fn pad_before(&self, in_hw: [usize; 2]) -> [usize; 2] {
        let out = self.output_hw(in_hw);
        [0, 1].map(|d| {
            let span = out[d].saturating_sub(1) * self.stride[d].max(1) + self.kernel[d];
            span.saturating_sub(in_hw[d]) / 2
        })
    }

    fn check(&self, kernel: &'static str) -> Result<(), KernelError> {
        let bad_k = self.kernel.iter().any(|&k| k == 0 || k > MAX_KERNEL);
        let bad_s = self.stride.iter().any(|&s| s == 0 || s > MAX_STRIDE);
        if bad_k || bad_s {
            return Err(argument_error(
                kernel,
                format!(
                    "filter {:?} and stride {:?} unsupported: filter sides must be 1..={MAX_KERNEL}, \
                     strides 1..={MAX_STRIDE}",
                    self.kernel, self.stride
                ),
            ));
        }
        Ok(())
    }
}

/// The sizes of one conv2d call; also the key under which its algorithm choice is remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2dShape {
    pub n: usize,
    pub cin: usize,
    pub cout: usize,
    pub in_hw: [usize; 2],
    pub spec: Conv2dSpec,
}

impl Conv2dShape {
    /// Output height and width.
    pub fn out_hw(&self) -> [usize; 2] {
        self.spec.output_hw(self.in_hw)
    }

    /// Padding before the input.
    pub fn pad(&self) -> [usize; 2] {
        self.spec.pad_before(self.in_hw)
    }

    /// FLOPs of one pass (forward, backward-data and backward-weights each do this many).
    pub fn flops(&self) -> f64 {
        conv2d_flops(self.n, self.cin, self.cout, self.out_hw(), self.spec.kernel)
    }
}

/// FLOPs of one conv2d pass, 2 per multiply-add.
pub fn conv2d_flops(
    n: usize,
    cin: usize,
    cout: usize,
    out_hw: [usize; 2],
    kernel: [usize; 2],
) -> f64 {
    2.0 * (n * cin * cout) as f64 * (out_hw[0] * out_hw[1] * kernel[0] * kernel[1]) as f64
}

/// Formats the named tensors' shapes for an error message.
fn shapes(named: &[(&str, Option<&Tensor>)]) -> String {
    named
        .iter()
        .map(|(name, t)| match t {
            Some(t) => format!("{name} {:?}", t.shape()),
            None => format!("{name} none"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Spec, dtype, positivity and u32 checks common to every pass.
fn common(
    kernel: &'static str,
    spec: Conv2dSpec,
    named: &[(&str, Option<&Tensor>)],
) -> Result<(), KernelError> {
    spec.check(kernel)?;
    for (name, t) in named {
        let Some(t) = t else { continue };
        has_dtype(kernel, name, t, DType::F32)?;
        fits_u32(kernel, &format!("{name} elements"), t.numel())?;
        if t.shape().contains(&0) {
            return Err(shape_error(
                kernel,
                format!("every dimension must be positive: {}", shapes(named)),
            ));
        }
    }
    Ok(())
}

fn rank4(kernel: &'static str, named: &[(&str, Option<&Tensor>)]) -> Result<(), KernelError> {
    for (name, t) in named {
        if let Some(t) = t
            && *name != "bias"
            && *name != "db"
            && t.shape().len() != 4
        {
            return Err(shape_error(
                kernel,
                format!("{name} must have 4 dimensions: {}", shapes(named)),
            ));
        }
    }
    Ok(())
}

fn dims4(t: &Tensor) -> [usize; 4] {
    [t.shape()[0], t.shape()[1], t.shape()[2], t.shape()[3]]
}

/// Checks a forward call and returns its shape.
pub(super) fn check_forward(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    y: &Tensor,
    spec: Conv2dSpec,
) -> Result<Conv2dShape, KernelError> {
    const K: &str = "conv2d_forward";
    let named = [
        ("x", Some(x)),
        ("w", Some(w)),
        ("bias", bias),
        ("y", Some(y)),
    ];
    rank4(K, &named)?;
    common(K, spec, &named)?;
    let [n, cin, h, wd] = dims4(x);
    let cout = w.shape()[0];
    let shape = Conv2dShape {
        n,
        cin,
        cout,
        in_hw: [h, wd],
        spec,
    };
    let [oh, ow] = shape.out_hw();
    let [kh, kw] = spec.kernel;
    expect(K, &named, spec, "w", w, &[cout, cin, kh, kw])?;
    if let Some(b) = bias {
        expect(K, &named, spec, "bias", b, &[cout])?;
    }
    expect(K, &named, spec, "y", y, &[n, cout, oh, ow])?;
    let mut inputs = vec![("x", x), ("w", w)];
    inputs.extend(bias.map(|b| ("bias", b)));
    distinct(K, ("y", y), &inputs)?;
    Ok(shape)
}

/// Checks a backward-to-input call and returns its shape.
pub(super) fn check_data_grad(
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
    spec: Conv2dSpec,
) -> Result<Conv2dShape, KernelError> {
    check_backward("conv2d_backward_data", dy, ("dx", dx), ("w", w), "dx", spec)
}

/// Checks a backward-to-weights call and returns its shape.
pub(super) fn check_weight_grad(
    dy: &Tensor,
    x: &Tensor,
    dw: &Tensor,
    spec: Conv2dSpec,
) -> Result<Conv2dShape, KernelError> {
    check_backward(
        "conv2d_backward_weights",
        dy,
        ("x", x),
        ("dw", dw),
        "dw",
        spec,
    )
}

/// Both backward passes take `dy`, an image-shaped tensor (`x` or `dx`) and a filter-shaped one
/// (`w` or `dw`); `output` names the one written, which must not alias the other two.
fn check_backward(
    kernel: &'static str,
    dy: &Tensor,
    image: (&str, &Tensor),
    filters: (&str, &Tensor),
    output: &str,
    spec: Conv2dSpec,
) -> Result<Conv2dShape, KernelError> {
    let named = [
        ("dy", Some(dy)),
        (image.0, Some(image.1)),
        (filters.0, Some(filters.1)),
    ];
    rank4(kernel, &named)?;
    common(kernel, spec, &named)?;
    let [n, cin, h, wd] = dims4(image.1);
    let cout = filters.1.shape()[0];
    let shape = Conv2dShape {
        n,
        cin,
        cout,
        in_hw: [h, wd],
        spec,
    };
    let [oh, ow] = shape.out_hw();
    let [kh, kw] = spec.kernel;
    expect(
        kernel,
        &named,
        spec,
        filters.0,
        filters.1,
        &[cout, cin, kh, kw],
    )?;
    expect(kernel, &named, spec, "dy", dy, &[n, cout, oh, ow])?;
    let (written, read) = if output == image.0 {
        (image, filters)
    } else {
        (filters, image)
    };
    distinct(kernel, written, &[("dy", dy), read])?;
    Ok(shape)
}

/// Checks a backward-to-bias call.
pub(super) fn check_bias_grad(dy: &Tensor, db: &Tensor) -> Result<(), KernelError> {
    const K: &str = "conv2d_backward_bias";
    let named = [("dy", Some(dy)), ("db", Some(db))];
    rank4(K, &named)?;
    common(K, Conv2dSpec::IDENTITY, &named)?;
    expect(K, &named, Conv2dSpec::IDENTITY, "db", db, &[dy.shape()[1]])?;
    distinct(K, ("db", db), &[("dy", dy)])
}

impl Conv2dSpec {
    /// 1x1 filter, stride 1 (used where a check needs some valid spec).
    const IDENTITY: Conv2dSpec = Conv2dSpec {
        kernel: [1, 1],
        stride: [1, 1],
    };
}

/// `t` has shape `want`, else an error naming every tensor's shape and the spec.
fn expect(
    kernel: &'static str,
    named: &[(&str, Option<&Tensor>)],
    spec: Conv2dSpec,
    name: &str,
    t: &Tensor,
    want: &[usize],
) -> Result<(), KernelError> {
    if t.shape() != want {
        return Err(shape_error(
            kernel,
            format!(
                "{name} should be {want:?} (filter {:?}, stride {:?}); got {}",
                spec.kernel,
                spec.stride,
                shapes(named)
            ),
        ));
    }
    Ok(())
}
