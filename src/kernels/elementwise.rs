//! Elementwise kernels: relu, sigmoid, tanh, scale, add, mul, accumulate, fill, and the
//! backward kernels of the activations. (Backward of add is the identity, of mul is a mul, and of
//! scale is a scale, so those reuse the forward kernels.) Each kernel is built for vec4 units
//! (element count a multiple of 4) or scalar units (any other count).

use crate::device::{Access, Binding, Gpu, KernelDef, Launch, Specialisation, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, same_shape};
use super::error::KernelError;

const WG: u32 = 256;
/// Invocations per run and units per invocation (`ROW`, `PER` in the shaders).
const ROW: usize = 8;
const PER: usize = 8;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    alpha: f32,
    _pad: [u32; 2],
}

const UNARY_BINDINGS: &[Access] = &[Access::Uniform, Access::Read, Access::ReadWrite];
const BINARY_BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
];
const UNARY_SRC: &str = include_str!("../../shaders/elementwise_unary.wgsl");
const BINARY_SRC: &str = include_str!("../../shaders/elementwise.wgsl");

macro_rules! kernel {
    ($id:ident, $name:literal, $src:expr, $entry:literal, $bind:expr) => {
        static $id: KernelDef = KernelDef {
            name: $name,
            source: $src,
            entry: $entry,
            bindings: $bind,
        };
    };
}

kernel!(RELU, "relu", UNARY_SRC, "relu", UNARY_BINDINGS);
kernel!(SIGMOID, "sigmoid", UNARY_SRC, "sigmoid", UNARY_BINDINGS);
kernel!(TANH, "tanh", UNARY_SRC, "tanh_forward", UNARY_BINDINGS);
kernel!(SCALE, "scale", UNARY_SRC, "scale", UNARY_BINDINGS);
kernel!(
    ACCUMULATE,
    "accumulate",
    UNARY_SRC,
    "accumulate",
    UNARY_BINDINGS
);
kernel!(ADD, "add", BINARY_SRC, "add", BINARY_BINDINGS);
kernel!(MUL, "mul", BINARY_SRC, "mul", BINARY_BINDINGS);
kernel!(
    RELU_BACKWARD,
    "relu_backward",
    BINARY_SRC,
    "relu_backward",
    BINARY_BINDINGS
);
kernel!(
    SIGMOID_BACKWARD,
    "sigmoid_backward",
    BINARY_SRC,
    "sigmoid_backward",
    BINARY_BINDINGS
);
kernel!(
    TANH_BACKWARD,
    "tanh_backward",
    BINARY_SRC,
    "tanh_backward",
    BINARY_BINDINGS
);
static FILL: KernelDef = KernelDef {
    name: "fill",
    source: include_str!("../../shaders/fill.wgsl"),
    entry: "fill",
    bindings: &[Access::Uniform, Access::ReadWrite],
};

/// A one-input elementwise function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unary {
    Relu,
    Sigmoid,
    Tanh,
    /// y = alpha * x
    Scale(f32),
}

/// A two-input elementwise function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Add,
    Mul,
}

/// Launch of `kernel` over `n` elements: vec4 units when `n % 4 == 0`, else scalar units.
fn launch(
    gpu: &Gpu,
    kernel: &'static KernelDef,
    n: u32,
    alpha: f32,
    bindings: &[Binding<'_>],
) -> Launch {
    let (width, unit) = if n.is_multiple_of(4) {
        (4, "vec4<f32>")
    } else {
        (1, "f32")
    };
    let units = n / width;
    let spec: Specialisation = vec![("UNIT", unit.to_string())];
    let p = Params {
        n: units,
        alpha,
        _pad: [0; 2],
    };
    let runs = (units as usize).div_ceil(ROW * PER);
    Launch::new(
        gpu,
        kernel,
        &spec,
        bytemuck::bytes_of(&p),
        bindings,
        grid_1d(gpu, runs * ROW, WG),
    )
}

/// `y = op(x)`.
pub fn unary(gpu: &Gpu, op: Unary, x: &Tensor, y: &Tensor) -> Result<Launch, KernelError> {
    let (kernel, alpha) = match op {
        Unary::Relu => (&RELU, 0.0),
        Unary::Sigmoid => (&SIGMOID, 0.0),
        Unary::Tanh => (&TANH, 0.0),
        Unary::Scale(alpha) => (&SCALE, alpha),
    };
    same_shape(kernel.name, ["x", "y"], x, y)?;
    has_dtype(kernel.name, "x", x, DType::F32)?;
    distinct(kernel.name, ("y", y), &[("x", x)])?;
    let n = fits_u32(kernel.name, "elements", x.numel())?;
    Ok(launch(gpu, kernel, n, alpha, &[x.binding(), y.binding()]))
}

/// Gradient of a unary op: `dx = dy * op'(.)`. `saved` is the forward input `x` for relu and the
/// forward output `y` for sigmoid and tanh (what each derivative is cheapest from).
/// For `Scale(alpha)` `saved` is ignored and `dx = alpha * dy`.
pub fn unary_backward(
    gpu: &Gpu,
    op: Unary,
    saved: &Tensor,
    dy: &Tensor,
    dx: &Tensor,
) -> Result<Launch, KernelError> {
    let kernel = match op {
        Unary::Relu => &RELU_BACKWARD,
        Unary::Sigmoid => &SIGMOID_BACKWARD,
        Unary::Tanh => &TANH_BACKWARD,
        Unary::Scale(alpha) => return unary(gpu, Unary::Scale(alpha), dy, dx),
    };
    same_shape(kernel.name, ["saved", "dy"], saved, dy)?;
    same_shape(kernel.name, ["dy", "dx"], dy, dx)?;
    distinct(kernel.name, ("dx", dx), &[("saved", saved), ("dy", dy)])?;
    let n = fits_u32(kernel.name, "elements", dy.numel())?;
    let bindings = [saved.binding(), dy.binding(), dx.binding()];
    Ok(launch(gpu, kernel, n, 0.0, &bindings))
}

/// `c = a op b`, elementwise over identical shapes.
pub fn binary(
    gpu: &Gpu,
    op: Binary,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
) -> Result<Launch, KernelError> {
    let kernel = match op {
        Binary::Add => &ADD,
        Binary::Mul => &MUL,
    };
    same_shape(kernel.name, ["a", "b"], a, b)?;
    same_shape(kernel.name, ["a", "c"], a, c)?;
    distinct(kernel.name, ("c", c), &[("a", a), ("b", b)])?;
    let n = fits_u32(kernel.name, "elements", a.numel())?;
    let bindings = [a.binding(), b.binding(), c.binding()];
    Ok(launch(gpu, kernel, n, 0.0, &bindings))
}

/// `acc += alpha * x` (gradient accumulation).
pub fn accumulate(gpu: &Gpu, x: &Tensor, acc: &Tensor, alpha: f32) -> Result<Launch, KernelError> {
    same_shape(ACCUMULATE.name, ["x", "acc"], x, acc)?;
    distinct(ACCUMULATE.name, ("acc", acc), &[("x", x)])?;
    let n = fits_u32(ACCUMULATE.name, "elements", x.numel())?;
    Ok(launch(
        gpu,
        &ACCUMULATE,
        n,
        alpha,
        &[x.binding(), acc.binding()],
    ))
}

/// Sets every element of `t` to `value` (works for u32 tensors too when `value` is 0.0).
pub fn fill(gpu: &Gpu, t: &Tensor, value: f32) -> Result<Launch, KernelError> {
    let n = fits_u32(FILL.name, "elements", t.numel())?;
    Ok(launch(gpu, &FILL, n, value, &[t.binding()]))
}
