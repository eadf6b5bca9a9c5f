//! Packing launches: NCHW activations to NHWC vec4 groups, conv weights to vec4 tiles. The packed
//! copies live in pooled scratch buffers shared (via `Arc`) by the packing launch and its readers.

use std::sync::Arc;

use crate::device::{Access, Binding, Gpu, KernelDef, Launch, PooledBuffer, grid_1d};
use crate::kernels::checks::fits_u32;
use crate::kernels::error::KernelError;
use crate::tensor::Tensor;

const SOURCE: &str = concat!(
    include_str!("../../../shaders/conv2d_pack_common.wgsl"),
    include_str!("../../../shaders/conv2d_pack.wgsl")
);
const BINDINGS: &[Access] = &[Access::Uniform, Access::Read, Access::ReadWrite];
const WG: u32 = 64;

static PACK_NHWC4: KernelDef = KernelDef {
    name: "conv2d_pack_nhwc4",
    source: SOURCE,
    entry: "pack_nhwc4",
    bindings: BINDINGS,
};
static PACK_NHWC4_QUAD: KernelDef = KernelDef {
    name: "conv2d_pack_nhwc4_quad",
    source: concat!(
        include_str!("../../../shaders/conv2d_pack_common.wgsl"),
        include_str!("../../../shaders/conv2d_pack_quad.wgsl")
    ),
    entry: "pack_nhwc4_quad",
    bindings: BINDINGS,
};
static PACK_WEIGHTS: KernelDef = KernelDef {
    name: "conv2d_pack_weights",
    source: SOURCE,
    entry: "pack_weights",
    bindings: BINDINGS,
};

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    channels: u32,
    plane: u32,
    groups: u32,
    out_real: u32,
    out_pad: u32,
    red_real: u32,
    red4: u32,
    taps: u32,
    stride_out: u32,
    stride_red: u32,
    pairs: u32,
}

/// A packed operand in a scratch buffer.
#[derive(Clone)]
pub(super) struct Packed {
    buffer: Arc<PooledBuffer>,
    bytes: u64,
}

impl Packed {
    /// Binding of the packed data.
    pub fn binding(&self) -> Binding<'_> {
        Binding {
            buffer: self.buffer.raw(),
            bytes: self.bytes,
            owner: Some(&self.buffer),
        }
    }
}

fn scratch(gpu: &Gpu, vec4s: usize, label: &str) -> Result<Packed, KernelError> {
    let bytes = (vec4s.max(1) * 16) as u64;
    Ok(Packed {
        buffer: Arc::new(gpu.storage(bytes, label)?),
        bytes,
    })
}

/// Packs NCHW `t` as NHWC with `groups` vec4 channel groups per pixel (zero beyond the real
/// channels).
pub(super) fn nhwc4(
    gpu: &Gpu,
    kernel: &'static str,
    t: &Tensor,
    groups: usize,
) -> Result<(Launch, Packed), KernelError> {
    let [n, _, h, w] = [t.shape()[0], t.shape()[1], t.shape()[2], t.shape()[3]];
    let pixels = n * h * w;
    fits_u32(kernel, "packed activation vec4s", pixels * groups)?;
    let packed = scratch(gpu, pixels * groups, "conv2d packed activations")?;
    let launch = nhwc4_launch(gpu, t, groups, packed.binding());
    Ok((launch, packed))
}

/// Shape of NCHW `shape` packed as NHWC with ceil(C / 4) vec4 groups: `[N, H, W, 4 * groups]`,
/// the layout every pass reads an activation or gradient in (`conv2d::packed_shape`).
pub(super) fn shared_shape(shape: &[usize]) -> [usize; 4] {
    [shape[0], shape[2], shape[3], 4 * shape[1].div_ceil(4)]
}

/// Packs NCHW `t` into `out` (shape `shared_shape(t)`).
pub(super) fn nhwc4_into(t: &Tensor, out: &Tensor) -> Launch {
    let groups = t.shape()[1].div_ceil(4);
    nhwc4_launch(t.gpu(), t, groups, out.binding())
}

fn nhwc4_launch(gpu: &Gpu, t: &Tensor, groups: usize, out: Binding<'_>) -> Launch {
    let [n, c, h, w] = [t.shape()[0], t.shape()[1], t.shape()[2], t.shape()[3]];
    let pixels = n * h * w;
    let p = Params {
        total: pixels as u32,
        channels: c as u32,
        plane: (h * w) as u32,
        groups: groups as u32,
        ..Default::default()
    };
    // Planes of a multiple of 4 pixels go four pixels at a time (vec4 loads).
    let (def, items) = if (h * w).is_multiple_of(4) {
        (&PACK_NHWC4_QUAD, pixels / 4 * groups)
    } else {
        (&PACK_NHWC4, pixels)
    };
    Launch::new(
        gpu,
        def,
        &vec![],
        bytemuck::bytes_of(&p),
        &[t.binding(), out],
        grid_1d(gpu, items, WG),
    )
}

/// How conv weights `[Cout, Cin, KH, KW]` become `[taps][red4][out_pad]` vec4 tiles: which of
/// Cout/Cin is the output and which the reduction channel, and the padded sizes.
pub(super) struct WeightLayout {
    pub out_real: usize,
    pub out_pad: usize,
    pub red_real: usize,
    pub red4: usize,
    /// Source stride of one output channel and of one reduction channel.
    pub strides: [usize; 2],
    /// Blocks of 8 reduction channels, `[taps][red4 / 2][out_pad]` (red4 even), for the
    /// 64-bit loads of conv2d_subgroup64.
    pub pairs: bool,
}

/// Packs conv weights per `layout`.
pub(super) fn weights(
    gpu: &Gpu,
    kernel: &'static str,
    w: &Tensor,
    layout: &WeightLayout,
) -> Result<(Launch, Packed), KernelError> {
    let taps = w.shape()[2] * w.shape()[3];
    let total = taps * layout.red4 * layout.out_pad;
    fits_u32(kernel, "packed weight vec4s", total)?;
    let packed = scratch(gpu, total, "conv2d packed weights")?;
    let p = Params {
        total: total as u32,
        out_real: layout.out_real as u32,
        out_pad: layout.out_pad as u32,
        red_real: layout.red_real as u32,
        red4: layout.red4 as u32,
        taps: taps as u32,
        stride_out: layout.strides[0] as u32,
        stride_red: layout.strides[1] as u32,
        pairs: layout.pairs as u32,
        ..Default::default()
    };
    let launch = Launch::new(
        gpu,
        &PACK_WEIGHTS,
        &vec![],
        bytemuck::bytes_of(&p),
        &[w.binding(), packed.binding()],
        grid_1d(gpu, total, WG),
    );
    Ok((launch, packed))
}
