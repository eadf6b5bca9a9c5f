//! The weight gradient: dw[co][ci][kh][kw] = sum over n, oh, ow of dy[n][co][oh][ow] *
//! x[n][ci][oh*s + kh - pad][ow*s + kw - pad], as a split reduction over rows of N * OH into
//! partial slices `[split][tap][co][ci]`, then a fixed-order sum of the splits.

use std::sync::Arc;

use crate::device::{Access, Binding, Gpu, KernelDef, Launch, grid_1d};
use crate::kernels::checks::fits_u32;
use crate::kernels::error::{KernelError, argument_error};
use crate::tensor::Tensor;

use super::geometry::Conv2dShape;
use super::pack;
use super::reduce::{Partials, reduce_splits};
use super::spatial::has_subgroups_of_8;

const K: &str = "conv2d_backward_weights";
const BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
];

static BLOCKED: KernelDef = KernelDef {
    name: "conv2d_wgrad",
    source: include_str!("../../../shaders/conv2d_wgrad.wgsl"),
    entry: "conv2d_wgrad",
    bindings: BINDINGS,
};
static SUBGROUP: KernelDef = KernelDef {
    name: "conv2d_wgrad_subgroup",
    source: include_str!("../../../shaders/conv2d_wgrad_subgroup.wgsl"),
    entry: "conv2d_wgrad_subgroup",
    bindings: BINDINGS,
};

/// How the weight gradient runs. Both split the N * OH rows into `splits` slices (fewer when
/// there are fewer rows) whose partial sums are added in order afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WgradAlgo {
    /// Register-blocked: an invocation owns `ro` dy channels x `ri` x channels x `tw`
    /// consecutive taps of one filter row; `ro`, `ri` in `SIDES`, `tw` in `RUNS`.
    Blocked {
        ro: u32,
        ri: u32,
        tw: u32,
        splits: u32,
    },
    /// 8-wide subgroups (lavapipe): a lane owns `cq` (in `COLUMNS`) runs of four x channels of
    /// one tap against `ro` dy channels (a multiple of 4, at most 32), the subgroup sharing its
    /// dy loads.
    Subgroup { ro: u32, cq: u32, splits: u32 },
}

impl WgradAlgo {
    /// Supported sides of the blocked register tile (each `(ro, ri, tw)` is one pipeline).
    pub const SIDES: [u32; 4] = [16, 12, 8, 4];
    /// Supported runs of filter columns per blocked invocation.
    pub const RUNS: [u32; 2] = [1, 3];
    /// Largest dy chunk of the subgroup kernel (one dy vec4 per lane).
    pub const MAX_SUBGROUP_RO: u32 = 32;
    /// Supported im2col columns per lane of the subgroup kernel.
    pub const COLUMNS: [u32; 2] = [1, 2];

    fn check(&self, gpu: &Gpu) -> Result<(), KernelError> {
        let ok = match *self {
            WgradAlgo::Blocked { ro, ri, tw, splits } => {
                Self::SIDES.contains(&ro)
                    && Self::SIDES.contains(&ri)
                    && Self::RUNS.contains(&tw)
                    && splits > 0
            }
            WgradAlgo::Subgroup { ro, cq, splits } => {
                ro % 4 == 0
                    && (4..=Self::MAX_SUBGROUP_RO).contains(&ro)
                    && Self::COLUMNS.contains(&cq)
                    && splits > 0
            }
        };
        if !ok {
            return Err(argument_error(
                K,
                format!(
                    "unsupported algorithm {self:?}: blocked ro and ri must be in {:?} and tw in \
                     {:?}; subgroup ro a multiple of 4 up to {} and cq in {:?}; splits at least 1",
                    Self::SIDES,
                    Self::RUNS,
                    Self::MAX_SUBGROUP_RO,
                    Self::COLUMNS
                ),
            ));
        }
        if matches!(self, WgradAlgo::Subgroup { .. }) && !has_subgroups_of_8(gpu) {
            return Err(argument_error(
                K,
                format!(
                    "{self:?} needs 8-wide subgroups, which {} lacks",
                    gpu.describe()
                ),
            ));
        }
        Ok(())
    }
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
    /// Blocked: dy channel blocks; subgroup: (8 * cq)-column blocks.
    blocks_a: u32,
    /// Blocked: x channel blocks; subgroup: dy channel chunks.
    blocks_b: u32,
    taps: u32,
    rows_per_split: u32,
    items: u32,
    k_h: u32,
    /// Blocked: runs of `tw` filter columns.
    col_runs: u32,
    _pad: u32,
}

impl WgradAlgo {
    /// Whether this variant reads dy and x in the layout the other passes pack them in
    /// (`pack::shared_shape`: ceil(C / 4) groups), so packs can be shared with them.
    pub fn takes_shared_packing(&self) -> bool {
        match *self {
            WgradAlgo::Blocked { ro, ri, .. } => ro == 4 && ri == 4,
            WgradAlgo::Subgroup { .. } => true,
        }
    }
}

/// Packs dy and x (unless `packed` holds them, in the shared layout), runs the split partial
/// sums, then reduces them into `dw`.
pub(super) fn launches(
    gpu: &Gpu,
    s: &Conv2dShape,
    dy: &Tensor,
    x: &Tensor,
    packed: Option<(&Tensor, &Tensor)>,
    dw: &Tensor,
    algo: WgradAlgo,
) -> Result<Vec<Launch>, KernelError> {
    algo.check(gpu)?;
    if let Some((dy4, x4)) = packed {
        let (want_dy, want_x) = (
            pack::shared_shape(dy.shape()),
            pack::shared_shape(x.shape()),
        );
        if !algo.takes_shared_packing() || dy4.shape() != want_dy || x4.shape() != want_x {
            return Err(argument_error(
                K,
                format!(
                    "{algo:?} with packed dy {:?} and x {:?}: needs a variant that takes the \
                     shared packing and shapes {want_dy:?}, {want_x:?}",
                    dy4.shape(),
                    x4.shape()
                ),
            ));
        }
    }
    let [oh, ow] = s.out_hw();
    let [kh, kw] = s.spec.kernel;
    let [pad_h, pad_w] = s.pad();
    let taps = kh * kw;
    // Channel padding: the packed dy and x hold whole tiles, so the kernels need no checks.
    let (ro, ri, requested) = match algo {
        WgradAlgo::Blocked { ro, ri, splits, .. } => (ro as usize, ri as usize, splits),
        WgradAlgo::Subgroup { ro, splits, .. } => (ro as usize, 4, splits),
    };
    let cout_p = s.cout.next_multiple_of(ro);
    let cin_p = s.cin.next_multiple_of(ri);
    // The subgroup kernel reads dy groups past the real ones as zero: dy packed with
    // ceil(Cout / 4) groups, as everywhere else.
    let dy_groups = match algo {
        WgradAlgo::Blocked { .. } => cout_p / 4,
        WgradAlgo::Subgroup { .. } => s.cout.div_ceil(4),
    };
    let mut launches = Vec::with_capacity(4);
    let (scratch_dy, scratch_x);
    let (dy4, x4) = match packed {
        Some((dy4, x4)) => (dy4.binding(), x4.binding()),
        None => {
            let (pack_dy, p_dy) = pack::nhwc4(gpu, K, dy, dy_groups)?;
            let (pack_x, p_x) = pack::nhwc4(gpu, K, x, cin_p / 4)?;
            launches.extend([pack_dy, pack_x]);
            (scratch_dy, scratch_x) = (p_dy, p_x);
            (scratch_dy.binding(), scratch_x.binding())
        }
    };

    let rows = s.n * oh;
    let rows_per_split = rows.div_ceil((requested as usize).min(rows));
    let splits = rows.div_ceil(rows_per_split);
    let mut p = Params {
        n: s.n as u32,
        h: s.in_hw[0] as u32,
        w: s.in_hw[1] as u32,
        x_groups: (cin_p / 4) as u32,
        oh: oh as u32,
        ow: ow as u32,
        dy_groups: dy_groups as u32,
        k_w: kw as u32,
        s_h: s.spec.stride[0] as u32,
        s_w: s.spec.stride[1] as u32,
        pad_h: pad_h as u32,
        pad_w: pad_w as u32,
        blocks_a: 0,
        blocks_b: 0,
        taps: taps as u32,
        rows_per_split: rows_per_split as u32,
        items: 0,
        k_h: kh as u32,
        col_runs: 0,
        _pad: 0,
    };
    let (def, spec, items, per_group) = match algo {
        WgradAlgo::Blocked { ro, ri, tw, .. } => {
            let runs = kw.div_ceil(tw as usize);
            let (blocks_o, blocks_i) = (cout_p / ro as usize, cin_p / ri as usize);
            p.blocks_a = blocks_o as u32;
            p.blocks_b = blocks_i as u32;
            p.col_runs = runs as u32;
            let spec = vec![
                ("RO", ro.to_string()),
                ("RI", ri.to_string()),
                ("TW", tw.to_string()),
            ];
            let lanes = splits * kh * runs * blocks_i * blocks_o;
            (&BLOCKED, spec, lanes, 64)
        }
        WgradAlgo::Subgroup { ro, cq, .. } => {
            let col_blocks = (taps * cin_p / 4).div_ceil(8 * cq as usize);
            let chunks = cout_p / ro as usize;
            p.blocks_a = col_blocks as u32;
            p.blocks_b = chunks as u32;
            let spec = vec![("RO", ro.to_string()), ("CQ", cq.to_string())];
            (&SUBGROUP, spec, splits * chunks * col_blocks, 8)
        }
    };
    p.items = fits_u32(K, "invocations", items * per_group)? / per_group as u32;
    let part_len = partial_sums_len(algo, s);
    debug_assert_eq!(part_len, splits * taps * cout_p * cin_p);
    fits_u32(K, "partial sums", part_len)?;
    let bytes = (part_len * 4) as u64;
    let scratch = Arc::new(gpu.storage(bytes, "conv2d weight-gradient partials")?);
    let part = Binding {
        buffer: scratch.raw(),
        bytes,
        owner: Some(&scratch),
    };
    let partials = Launch::new(
        gpu,
        def,
        &spec,
        bytemuck::bytes_of(&p),
        &[x4, dy4, part],
        grid_1d(gpu, items, per_group as u32),
    );
    let parts = Partials {
        binding: part,
        splits,
        taps,
        part_o: cout_p,
        part_i: cin_p,
    };
    let sum = reduce_splits(gpu, &parts, s.cin, dw)?;
    launches.extend([partials, sum]);
    Ok(launches)
}

/// Length in f32s of the partial sums `algo` writes for `s`: one `[tap][co][ci]` slice per
/// split of the N * OH rows, channels padded to the tile. The launcher allocates exactly this
/// as scratch; memory estimates (`nn::footprint`) ask here instead of repeating the rule.
pub fn partial_sums_len(algo: WgradAlgo, s: &Conv2dShape) -> usize {
    let (ro, ri, requested) = match algo {
        WgradAlgo::Blocked { ro, ri, splits, .. } => (ro as usize, ri as usize, splits),
        WgradAlgo::Subgroup { ro, splits, .. } => (ro as usize, 4, splits),
    };
    let rows = (s.n * s.out_hw()[0]).max(1);
    let rows_per_split = rows.div_ceil((requested as usize).clamp(1, rows));
    let splits = rows.div_ceil(rows_per_split);
    splits
        * s.spec.kernel[0]
        * s.spec.kernel[1]
        * s.cin.next_multiple_of(ri)
        * s.cout.next_multiple_of(ro)
}
