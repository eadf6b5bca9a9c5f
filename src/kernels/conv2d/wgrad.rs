//! The weight gradient: dw[co][ci][kh][kw] = sum over n, oh, ow of dy[n][co][oh][ow] *
//! x[n][ci][oh*s + kh - pad][ow*s + kw - pad], as a split reduction over rows of N * OH into
//! partial slices (register-blocked over dy and x channels), then a fixed-order sum.

use std::sync::Arc;

use crate::device::{Access, Binding, Gpu, KernelDef, Launch, grid_1d};
use crate::kernels::checks::fits_u32;
use crate::kernels::error::{KernelError, argument_error};
use crate::tensor::Tensor;

use super::geometry::Conv2dShape;
use super::pack;
use super::reduce::{Partials, reduce_splits};

const K: &str = "conv2d_backward_weights";
const WG: u32 = 64;

static WGRAD: KernelDef = KernelDef {
    name: "conv2d_wgrad",
    source: include_str!("../../../shaders/conv2d_wgrad.wgsl"),
    entry: "conv2d_wgrad",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
};

/// How the weight gradient runs: each invocation owns `ro` dy channels x `ri` x channels of one
/// tap over one of `splits` slices of the N * OH rows (fewer when there are fewer rows).
/// `ro` and `ri` are each one of `WgradAlgo::SIDES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WgradAlgo {
    pub ro: u32,
    pub ri: u32,
    pub splits: u32,
}

impl WgradAlgo {
    /// Supported sides of the register tile (each `(ro, ri)` pair is one pipeline).
    pub const SIDES: [u32; 4] = [16, 12, 8, 4];
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    h: u32,
    w: u32,
    x_groups: u32,
    oh: u32,
    ow: u32,
    dy_groups: u32,
    k_w: u32,
    s_h: u32,
    s_w: u32,
    pad_h: u32,
    pad_w: u32,
    blocks_o: u32,
    blocks_i: u32,
    taps: u32,
    rows_per_split: u32,
    lanes: u32,
    k_h: u32,
    _pad: [u32; 2],
}

/// Packs dy and x, runs the split partial sums, then reduces them into `dw`.
pub(super) fn launches(
    gpu: &Gpu,
    s: &Conv2dShape,
    dy: &Tensor,
    x: &Tensor,
    dw: &Tensor,
    algo: WgradAlgo,
) -> Result<Vec<Launch>, KernelError> {
    let sides = WgradAlgo::SIDES;
    if !sides.contains(&algo.ro) || !sides.contains(&algo.ri) || algo.splits == 0 {
        return Err(argument_error(
            K,
            format!("unsupported algorithm {algo:?}; ro and ri must be in {sides:?}, splits >= 1"),
        ));
    }
    let (ro, ri) = (algo.ro as usize, algo.ri as usize);
    let [oh, ow] = s.out_hw();
    let [kh, kw] = s.spec.kernel;
    let [pad_h, pad_w] = s.pad();
    let taps = kh * kw;
    let cout_p = s.cout.next_multiple_of(ro);
    let cin_p = s.cin.next_multiple_of(ri);
    let (pack_dy, dy4) = pack::nhwc4(gpu, K, dy, cout_p / 4)?;
    let (pack_x, x4) = pack::nhwc4(gpu, K, x, cin_p / 4)?;

    let rows = s.n * oh;
    let rows_per_split = rows.div_ceil((algo.splits as usize).min(rows));
    let splits = rows.div_ceil(rows_per_split);
    let (blocks_o, blocks_i) = (cout_p / ro, cin_p / ri);
    let lanes = fits_u32(K, "invocations", splits * taps * blocks_i * blocks_o)?;
    let part_len = splits * taps * cout_p * cin_p;
    fits_u32(K, "partial sums", part_len)?;
    let bytes = (part_len * 4) as u64;
    let scratch = Arc::new(gpu.storage(bytes, "conv2d weight-gradient partials")?);
    let part = Binding {
        buffer: scratch.raw(),
        bytes,
    };
    let p = Params {
        n: s.n as u32,
        h: s.in_hw[0] as u32,
        w: s.in_hw[1] as u32,
        x_groups: (cin_p / 4) as u32,
        oh: oh as u32,
        ow: ow as u32,
        dy_groups: (cout_p / 4) as u32,
        k_w: kw as u32,
        s_h: s.spec.stride[0] as u32,
        s_w: s.spec.stride[1] as u32,
        pad_h: pad_h as u32,
        pad_w: pad_w as u32,
        blocks_o: blocks_o as u32,
        blocks_i: blocks_i as u32,
        taps: taps as u32,
        rows_per_split: rows_per_split as u32,
        lanes,
        k_h: kh as u32,
        _pad: [0; 2],
    };
    let spec = vec![("RO", algo.ro.to_string()), ("RI", algo.ri.to_string())];
    let partials = Launch::new(
        gpu,
        &WGRAD,
        &spec,
        bytemuck::bytes_of(&p),
        &[x4.binding(), dy4.binding(), part],
        grid_1d(gpu, lanes as usize, WG),
    )
    .keep_alive(x4.keep())
    .keep_alive(dy4.keep())
    .keep_alive(scratch.clone());
    let parts = Partials {
        binding: part,
        splits,
        taps,
        part_o: cout_p,
        part_i: cin_p,
    };
    let sum = reduce_splits(gpu, &parts, s.cin, dw)?.keep_alive(scratch);
    Ok(vec![pack_dy, pack_x, partials, sum])
}
