//! The forward and backward-to-input passes: both are a convolution of an NHWC4-packed source
//! with packed weights into an NCHW destination (the backward one "transposed", split into
//! stride phases), run by the direct, the subgroup or the tiled kernel.

use crate::device::{Access, Binding, Gpu, KernelDef, Launch, grid_1d};
use crate::kernels::checks::fits_u32;
use crate::kernels::error::{KernelError, argument_error};
use crate::tensor::Tensor;

use super::geometry::Conv2dShape;
use super::pack::{self, WeightLayout};

/// Subgroup operations are enabled and every subgroup is 8 lanes wide (lavapipe on AVX2): the
/// condition for the subgroup variants.
pub fn has_subgroups_of_8(gpu: &Gpu) -> bool {
    gpu.device.features().contains(wgpu::Features::SUBGROUP)
        && gpu.info.subgroup_min_size == 8
        && gpu.info.subgroup_max_size == 8
}

const BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
];
static DIRECT: KernelDef = KernelDef {
    name: "conv2d_direct",
    source: concat!(
        include_str!("../../../shaders/conv2d_common.wgsl"),
        include_str!("../../../shaders/conv2d_vec4.wgsl"),
        include_str!("../../../shaders/conv2d_direct.wgsl")
    ),
    entry: "conv2d_direct",
    bindings: BINDINGS,
};
static SUBGROUP: KernelDef = KernelDef {
    name: "conv2d_subgroup",
    source: concat!(
        include_str!("../../../shaders/conv2d_common.wgsl"),
        include_str!("../../../shaders/conv2d_vec4.wgsl"),
        include_str!("../../../shaders/conv2d_subgroup_tile.wgsl"),
        include_str!("../../../shaders/conv2d_subgroup.wgsl")
    ),
    entry: "conv2d_subgroup",
    bindings: BINDINGS,
};
static SUBGROUP64: KernelDef = KernelDef {
    name: "conv2d_subgroup64",
    source: concat!(
        include_str!("../../../shaders/conv2d_common.wgsl"),
        include_str!("../../../shaders/conv2d_subgroup_tile.wgsl"),
        include_str!("../../../shaders/conv2d_subgroup64.wgsl")
    ),
    entry: "conv2d_subgroup64",
    bindings: BINDINGS,
};
static TILED: KernelDef = KernelDef {
    name: "conv2d_tiled",
    source: concat!(
        include_str!("../../../shaders/conv2d_common.wgsl"),
        include_str!("../../../shaders/conv2d_vec4.wgsl"),
        include_str!("../../../shaders/conv2d_tiled.wgsl")
    ),
    entry: "conv2d_tiled",
    bindings: BINDINGS,
};

/// FNV-1a of the spatial kernels' sources: measured choices are only reused for the kernels
/// they were measured on.
pub(super) fn sources_hash() -> u64 {
    [&DIRECT, &SUBGROUP, &SUBGROUP64, &TILED]
        .iter()
        .flat_map(|k| k.source.bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        })
}

/// How a forward or backward-to-input pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpatialAlgo {
    /// Register-blocked direct conv: each invocation computes `px` pixels of one row for `rc`
    /// channels, no workgroup memory (lavapipe without subgroups; narrow layers on GPUs).
    Direct { px: u32, rc: u32 },
    /// Direct conv for 8-wide subgroups (lavapipe): each subgroup computes `px` flattened pixels
    /// for `8 * rc` channels, `rc` per lane, loading the pixels cooperatively.
    Subgroup { px: u32, rc: u32 },
    /// `Subgroup` reading 8 channels per load as 64-bit integers (lavapipe with 64-bit
    /// integers), for sources whose channels fill an even number of vec4 groups.
    Subgroup64 { px: u32, rc: u32 },
    /// Workgroup-tiled implicit GEMM: `bm` pixels x `bn` channels per workgroup staged in
    /// workgroup memory `bk4` vec4 channel groups at a time, `tm` x `tn` per invocation.
    Tiled {
        bm: u32,
        bn: u32,
        tm: u32,
        tn: u32,
        bk4: u32,
    },
}

impl SpatialAlgo {
    /// Every variant (each is one pipeline; the set is kept small on purpose: on lavapipe a
    /// 16x16 tile already takes ~2 s of CPU to compile once, and tiles beyond ~256 accumulators
    /// per invocation are no longer unrolled and run 10x slower). The subgroup `rc` values fit
    /// 16, 24, 32, 40, 48 and 64 channels exactly.
    pub const ALL: [SpatialAlgo; 17] = [
        SpatialAlgo::Direct { px: 16, rc: 16 },
        SpatialAlgo::Direct { px: 16, rc: 12 },
        SpatialAlgo::Direct { px: 16, rc: 8 },
        SpatialAlgo::Direct { px: 8, rc: 16 },
        SpatialAlgo::Direct { px: 8, rc: 8 },
        SpatialAlgo::Direct { px: 4, rc: 4 },
        SpatialAlgo::TILED,
        SpatialAlgo::Subgroup { px: 32, rc: 2 },
        SpatialAlgo::Subgroup { px: 32, rc: 3 },
        SpatialAlgo::Subgroup { px: 32, rc: 4 },
        SpatialAlgo::Subgroup { px: 32, rc: 5 },
        SpatialAlgo::Subgroup { px: 32, rc: 6 },
        SpatialAlgo::Subgroup { px: 32, rc: 8 },
        SpatialAlgo::Subgroup64 { px: 32, rc: 2 },
        SpatialAlgo::Subgroup64 { px: 32, rc: 3 },
        SpatialAlgo::Subgroup64 { px: 32, rc: 4 },
        SpatialAlgo::Subgroup64 { px: 32, rc: 6 },
    ];

    /// The tiled variant: 64 x 64 per workgroup of 256, 4 x 4 per invocation.
    pub const TILED: SpatialAlgo = SpatialAlgo::Tiled {
        bm: 64,
        bn: 64,
        tm: 4,
        tn: 4,
        bk4: 4,
    };

    /// Whether `gpu` can run this variant (the subgroup kernels need 8-wide subgroups, the
    /// 64-bit one also 64-bit integers).
    pub fn runs_on(&self, gpu: &Gpu) -> bool {
        match self {
            SpatialAlgo::Subgroup { .. } => has_subgroups_of_8(gpu),
            SpatialAlgo::Subgroup64 { .. } => has_subgroups_of_8(gpu) && gpu.has_int64,
            _ => true,
        }
    }

    /// Whether this variant takes a pass reducing over `src_channels` (the 64-bit one needs
    /// them to fill an even number of vec4 groups).
    pub fn accepts(&self, src_channels: usize) -> bool {
        match self {
            SpatialAlgo::Subgroup64 { .. } => src_channels.div_ceil(4).is_multiple_of(2),
            _ => true,
        }
    }

    /// Destination channels computed together: the padding unit of the packed weights.
    fn channel_block(&self) -> usize {
        match *self {
            SpatialAlgo::Direct { rc, .. } => rc as usize,
            SpatialAlgo::Subgroup { rc, .. } | SpatialAlgo::Subgroup64 { rc, .. } => {
                8 * rc as usize
            }
            SpatialAlgo::Tiled { bn, .. } => bn as usize,
        }
    }
}

/// One spatial pass: a (possibly transposed) conv from `src` channels to `dst` channels.
pub(super) struct SpatialPass {
    kernel: &'static str,
    transposed: bool,
    n: usize,
    src_c: usize,
    src_hw: [usize; 2],
    dst_c: usize,
    dst_hw: [usize; 2],
    k: [usize; 2],
    s: [usize; 2],
    pad: [usize; 2],
    /// Source strides of a dst channel and of a src channel in `[Cout, Cin, KH, KW]` weights.
    weight_strides: [usize; 2],
}

impl SpatialPass {
    /// x `[N, Cin, H, W]` -> y `[N, Cout, OH, OW]`.
    pub fn forward(s: &Conv2dShape) -> SpatialPass {
        let taps = s.spec.kernel[0] * s.spec.kernel[1];
        SpatialPass {
            kernel: "conv2d_forward",
            transposed: false,
            n: s.n,
            src_c: s.cin,
            src_hw: s.in_hw,
            dst_c: s.cout,
            dst_hw: s.out_hw(),
            k: s.spec.kernel,
            s: s.spec.stride,
            pad: s.pad(),
            weight_strides: [s.cin * taps, taps],
        }
    }

    /// dy `[N, Cout, OH, OW]` -> dx `[N, Cin, H, W]`.
    pub fn backward_data(s: &Conv2dShape) -> SpatialPass {
        let taps = s.spec.kernel[0] * s.spec.kernel[1];
        SpatialPass {
            kernel: "conv2d_backward_data",
            transposed: true,
            n: s.n,
            src_c: s.cout,
            src_hw: s.out_hw(),
            dst_c: s.cin,
            dst_hw: s.in_hw,
            k: s.spec.kernel,
            s: s.spec.stride,
            pad: s.pad(),
            weight_strides: [taps, s.cin * taps],
        }
    }

    /// Stride phases of the destination (one grid layer each).
    fn phases(&self) -> usize {
        if self.transposed {
            self.s[0] * self.s[1]
        } else {
            1
        }
    }

    /// Destination rows and columns of the largest phase.
    fn phase_hw(&self) -> [usize; 2] {
        if self.transposed {
            [0, 1].map(|d| self.dst_hw[d].div_ceil(self.s[d]))
        } else {
            self.dst_hw
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    src_h: u32,
    src_w: u32,
    red4: u32,
    dst_h: u32,
    dst_w: u32,
    dst_c: u32,
    dst_cp: u32,
    k_h: u32,
    k_w: u32,
    s_h: u32,
    s_w: u32,
    pad_h: u32,
    pad_w: u32,
    transposed: u32,
    has_bias: u32,
    rows: u32,
    cols: u32,
    blocks_c: u32,
    items: u32,
}

/// Where a pass's NHWC4-packed source comes from.
#[derive(Clone, Copy)]
pub(super) enum Packing<'a> {
    /// Packed by the pass into scratch of its own.
    Scratch,
    /// Packed by the pass into this tensor (`pack::shared_shape`), which later passes read.
    Into(&'a Tensor),
    /// Already packed into this tensor by an earlier launch.
    Ready(&'a Tensor),
}

/// Packs the source (unless `packing` says it is ready) and the weights, then runs `algo`: the
/// launches of one pass, in order.
#[allow(clippy::too_many_arguments)]
pub(super) fn launches(
    gpu: &Gpu,
    pass: &SpatialPass,
    src: &Tensor,
    packing: Packing<'_>,
    w: &Tensor,
    bias: Option<&Tensor>,
    dst: &Tensor,
    algo: SpatialAlgo,
) -> Result<Vec<Launch>, KernelError> {
    if !SpatialAlgo::ALL.contains(&algo) {
        return Err(argument_error(
            pass.kernel,
            format!(
                "unsupported algorithm {algo:?}; choose one of {:?}",
                SpatialAlgo::ALL
            ),
        ));
    }
    if !algo.runs_on(gpu) {
        return Err(argument_error(
            pass.kernel,
            format!(
                "{algo:?} needs 8-wide subgroups, which {} lacks",
                gpu.describe()
            ),
        ));
    }
    if !algo.accepts(pass.src_c) {
        return Err(argument_error(
            pass.kernel,
            format!(
                "{algo:?} needs the reduced channels to fill an even number of vec4 groups; \
                 {} channels fill {}",
                pass.src_c,
                pass.src_c.div_ceil(4)
            ),
        ));
    }
    let red4 = pass.src_c.div_ceil(4);
    let block = algo.channel_block();
    let dst_cp = pass.dst_c.next_multiple_of(block);
    let scratch_src;
    let (pack_src, src4): (Option<Launch>, Binding<'_>) = match packing {
        Packing::Scratch => {
            let (launch, packed) = pack::nhwc4(gpu, pass.kernel, src, red4)?;
            scratch_src = packed;
            (Some(launch), scratch_src.binding())
        }
        Packing::Into(t) | Packing::Ready(t) => {
            let want = pack::shared_shape(src.shape());
            if t.shape() != want {
                return Err(crate::kernels::error::shape_error(
                    pass.kernel,
                    format!(
                        "packed source is {:?}; a source {:?} packs to {want:?}",
                        t.shape(),
                        src.shape()
                    ),
                ));
            }
            let launch = matches!(packing, Packing::Into(_)).then(|| pack::nhwc4_into(src, t));
            (launch, t.binding())
        }
    };
    let layout = WeightLayout {
        out_real: pass.dst_c,
        out_pad: dst_cp,
        red_real: pass.src_c,
        red4,
        strides: pass.weight_strides,
        pairs: matches!(algo, SpatialAlgo::Subgroup64 { .. }),
    };
    let (pack_w, w4) = pack::weights(gpu, pass.kernel, w, &layout)?;

    let [rows, cols] = pass.phase_hw();
    let blocks_c = dst_cp / block;
    let (def, spec, items, per_group) = match algo {
        SpatialAlgo::Direct { px, rc } => {
            let lanes = pass.n * rows * cols.div_ceil(px as usize) * blocks_c;
            let spec = vec![("PX", px.to_string()), ("RC", rc.to_string())];
            (&DIRECT, spec, lanes, 64)
        }
        SpatialAlgo::Subgroup { px, rc } | SpatialAlgo::Subgroup64 { px, rc } => {
            let tasks = (pass.n * rows * cols).div_ceil(px as usize) * blocks_c;
            let spec = vec![("PX", px.to_string()), ("RC", rc.to_string())];
            let def = match algo {
                SpatialAlgo::Subgroup64 { .. } => &SUBGROUP64,
                _ => &SUBGROUP,
            };
            (def, spec, tasks, 8)
        }
        SpatialAlgo::Tiled {
            bm,
            bn,
            tm,
            tn,
            bk4,
        } => {
            let tiles = (pass.n * rows * cols).div_ceil(bm as usize) * blocks_c;
            let spec = vec![
                ("BM", bm.to_string()),
                ("BN", bn.to_string()),
                ("TM", tm.to_string()),
                ("TN", tn.to_string()),
                ("BK4", bk4.to_string()),
            ];
            (&TILED, spec, tiles, 1)
        }
    };
    let items = fits_u32(pass.kernel, "invocations per phase", items)?;
    let p = Params {
        n: pass.n as u32,
        src_h: pass.src_hw[0] as u32,
        src_w: pass.src_hw[1] as u32,
        red4: red4 as u32,
        dst_h: pass.dst_hw[0] as u32,
        dst_w: pass.dst_hw[1] as u32,
        dst_c: pass.dst_c as u32,
        dst_cp: dst_cp as u32,
        k_h: pass.k[0] as u32,
        k_w: pass.k[1] as u32,
        s_h: pass.s[0] as u32,
        s_w: pass.s[1] as u32,
        pad_h: pass.pad[0] as u32,
        pad_w: pass.pad[1] as u32,
        transposed: pass.transposed as u32,
        has_bias: bias.is_some() as u32,
        rows: rows as u32,
        cols: cols as u32,
        blocks_c: blocks_c as u32,
        items,
    };
    let [gx, gy, _] = grid_1d(gpu, items as usize, per_group);
    // Without a bias the packed weights stand in for the (unread) bias binding.
    let bias_binding = match bias {
        Some(b) => b.binding(),
        None => w4.binding(),
    };
    let conv = Launch::new(
        gpu,
        def,
        &spec,
        bytemuck::bytes_of(&p),
        &[src4, w4.binding(), bias_binding, dst.binding()],
        [gx, gy, pass.phases() as u32],
    );
    Ok(pack_src.into_iter().chain([pack_w, conv]).collect())
}
