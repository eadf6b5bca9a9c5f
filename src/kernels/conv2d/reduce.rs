//! Fixed-order reductions of the backward passes: summing split partials (weight gradient) and
//! the bias gradient (per-split partial sums over images, then the same split sum).

use crate::device::{Access, Binding, Gpu, KernelDef, Launch, PooledBuffer, grid_1d};
use crate::kernels::checks::fits_u32;
use crate::kernels::error::KernelError;
use crate::tensor::Tensor;

const SOURCE: &str = include_str!("../../../shaders/conv2d_reduce.wgsl");
const BINDINGS: &[Access] = &[Access::Uniform, Access::Read, Access::ReadWrite];
const WG: u32 = 64;
/// The bias gradient splits the batch into at most this many partial sums.
const MAX_BIAS_SPLITS: usize = 64;

static REDUCE_SPLITS: KernelDef = KernelDef {
    name: "conv2d_reduce_splits",
    source: SOURCE,
    entry: "reduce_splits",
    bindings: BINDINGS,
};
static BIAS_PARTIALS: KernelDef = KernelDef {
    name: "conv2d_bias_partials",
    source: SOURCE,
    entry: "bias_partials",
    bindings: BINDINGS,
};

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    splits: u32,
    taps: u32,
    cin: u32,
    part_o: u32,
    part_i: u32,
    channels: u32,
    plane: u32,
    n: u32,
    per_split: u32,
    cout: u32,
    _pad: u32,
}

/// Partial sums laid out `[splits][taps][part_o][part_i]`, of which the real block is
/// `[cout][cin]` per tap.
pub(super) struct Partials<'a> {
    pub binding: Binding<'a>,
    pub splits: usize,
    pub taps: usize,
    pub part_o: usize,
    pub part_i: usize,
}

/// `out[co][ci][tap] = sum over s (in order) of part[s][tap][co][ci]` for the real channels of
/// `out` `[cout, cin, ...]` (`cout * cin * taps` elements).
pub(super) fn reduce_splits(
    gpu: &Gpu,
    part: &Partials<'_>,
    cin: usize,
    out: &Tensor,
) -> Result<Launch, KernelError> {
    let p = Params {
        total: out.numel() as u32,
        splits: part.splits as u32,
        taps: part.taps as u32,
        cin: cin as u32,
        part_o: part.part_o as u32,
        part_i: part.part_i as u32,
        cout: (out.numel() / (cin * part.taps)) as u32,
        ..Default::default()
    };
    Ok(Launch::new(
        gpu,
        &REDUCE_SPLITS,
        &vec![],
        bytemuck::bytes_of(&p),
        &[part.binding, out.binding()],
        grid_1d(gpu, out.numel(), WG),
    ))
}

/// Bias gradient: per-split sums over images of each channel of `dy`, then their ordered sum.
pub(super) fn bias_launches(
    gpu: &Gpu,
    dy: &Tensor,
    db: &Tensor,
) -> Result<Vec<Launch>, KernelError> {
    const K: &str = "conv2d_backward_bias";
    let [n, c, oh, ow] = [dy.shape()[0], dy.shape()[1], dy.shape()[2], dy.shape()[3]];
    let per_split = n.div_ceil(n.min(MAX_BIAS_SPLITS));
    let splits = n.div_ceil(per_split);
    let total = fits_u32(K, "bias partial sums", splits * c)?;
    let bytes = (splits * c * 4) as u64;
    let scratch: std::sync::Arc<PooledBuffer> =
        std::sync::Arc::new(gpu.storage(bytes, "conv2d bias partials")?);
    let part = Binding {
        buffer: scratch.raw(),
        bytes,
        owner: Some(&scratch),
    };
    let p = Params {
        total,
        channels: c as u32,
        plane: (oh * ow) as u32,
        n: n as u32,
        per_split: per_split as u32,
        ..Default::default()
    };
    let partials = Launch::new(
        gpu,
        &BIAS_PARTIALS,
        &vec![],
        bytemuck::bytes_of(&p),
        &[dy.binding(), part],
        grid_1d(gpu, splits * c, WG),
    );
    let parts = Partials {
        binding: part,
        splits,
        taps: 1,
        part_o: c,
        part_i: 1,
    };
    let sum = reduce_splits(gpu, &parts, 1, db)?;
    Ok(vec![partials, sum])
}
