//! Algorithm choice per shape and device class, remembered per shape key. Where the device
//! autotunes, the spatial passes are measured instead (`autotune`); what follows is the
//! estimate used otherwise and for the weight gradient.
//!
//! On lavapipe (device type Cpu) loads cost far more than FMAs (every storage load is a per-lane
//! loop), so the choice minimises estimated loads per FMA, padding waste included: the subgroup
//! kernels where 8-wide subgroups exist, else the register-blocked direct kernel with the
//! largest tile the shape fills; workgroup memory and barriers only add cost there. On GPUs
//! narrow layers (< 32 channels) run as direct convs with small tiles and wide ones as the tiled
//! implicit GEMM.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::device::Gpu;

use super::geometry::Conv2dShape;
use super::spatial::{SpatialAlgo, has_subgroups_of_8};
use super::wgrad::WgradAlgo;

/// The pass a spatial algorithm is chosen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pass {
    Forward,
    BackwardData,
}

/// What the choice depends on besides the shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct DeviceClass {
    cpu: bool,
    subgroups_of_8: bool,
}

impl DeviceClass {
    fn of(gpu: &Gpu) -> DeviceClass {
        DeviceClass {
            cpu: gpu.info.device_type == wgpu::DeviceType::Cpu,
            subgroups_of_8: has_subgroups_of_8(gpu),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Spatial(DeviceClass, Pass, Conv2dShape),
    Wgrad(DeviceClass, Conv2dShape),
}

#[derive(Debug, Clone, Copy)]
enum Choice {
    Spatial(SpatialAlgo),
    Wgrad(WgradAlgo),
}

fn remembered(key: Key, choose: impl FnOnce() -> Choice) -> Choice {
    static CHOICES: OnceLock<Mutex<HashMap<Key, Choice>>> = OnceLock::new();
    let cache = CHOICES.get_or_init(Mutex::default);
    *cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_insert_with(choose)
}

/// The forward or backward-to-input algorithm for `shape` on `gpu`: measured where the device
/// autotunes (`autotune`), else estimated.
pub fn spatial_algo(gpu: &Arc<Gpu>, pass: Pass, shape: &Conv2dShape) -> SpatialAlgo {
    if gpu.autotune
        && let Some(algo) = super::autotune::measured_spatial(gpu, pass, shape)
    {
        return algo;
    }
    estimated_spatial_algo(gpu, pass, shape)
}

/// The forward or backward-to-input algorithm the cost estimate picks for `shape` on `gpu`.
fn estimated_spatial_algo(gpu: &Gpu, pass: Pass, shape: &Conv2dShape) -> SpatialAlgo {
    let class = DeviceClass::of(gpu);
    match remembered(Key::Spatial(class, pass, *shape), || {
        Choice::Spatial(choose_spatial(class, pass, shape))
    }) {
        Choice::Spatial(a) => a,
        Choice::Wgrad(_) => unreachable!("spatial key holds a spatial choice"),
    }
}

/// The weight-gradient algorithm for `shape` on `gpu`.
pub fn backward_weights_algo(gpu: &Gpu, shape: &Conv2dShape) -> WgradAlgo {
    let class = DeviceClass::of(gpu);
    match remembered(Key::Wgrad(class, *shape), || {
        Choice::Wgrad(choose_wgrad(class, shape))
    }) {
        Choice::Wgrad(a) => a,
        Choice::Spatial(_) => unreachable!("wgrad key holds a wgrad choice"),
    }
}

/// Relative lavapipe costs, fitted to measured tile sweeps: a vec4 storage load ~55 cycles per
/// 8 lanes (a per-lane loop, whatever the address), the four FMAs of one output per vec4
/// reduction step ~4.4 (accumulators spilled), a subgroup broadcast of a vec4 ~4.
const LOAD: f64 = 55.0;
const FMA4: f64 = 4.4;
const BROADCAST: f64 = 4.0;

/// Estimated lavapipe time of a register tile `a x b` over `len_a x len_b` outputs, counting the
/// padding waste of both sides.
fn tile_cost(a: usize, len_a: usize, b: usize, len_b: usize) -> f64 {
    let padded = (len_a.next_multiple_of(a) * len_b.next_multiple_of(b)) as f64;
    padded * (LOAD / a as f64 + LOAD / b as f64 + FMA4)
}

/// Estimated lavapipe time of `algo` for `rows` rows of `cols` dst pixels and `c` dst channels.
fn spatial_cost(algo: &SpatialAlgo, rows: usize, cols: usize, c: usize) -> f64 {
    match *algo {
        SpatialAlgo::Direct { px, rc } => {
            rows as f64 * tile_cost(px as usize, cols, rc as usize, c)
        }
        SpatialAlgo::Subgroup { px, rc } => {
            let (px, rc) = (px as usize, rc as usize);
            let padded = ((rows * cols).next_multiple_of(px) * c.next_multiple_of(8 * rc)) as f64;
            let per_output = LOAD / px as f64 + LOAD / (8 * rc) as f64 + FMA4;
            padded * (per_output + BROADCAST / rc as f64)
        }
        // Not fitted: on Mesa 22.3 the 64-bit variant is within noise of the 32-bit one, and
        // where it is faster (Mesa 25.0) the measured choice picks it.
        SpatialAlgo::Subgroup64 { .. } | SpatialAlgo::Tiled { .. } => f64::INFINITY,
    }
}

fn choose_spatial(class: DeviceClass, pass: Pass, s: &Conv2dShape) -> SpatialAlgo {
    let (src_c, dst_c, [rows, cols]) = match pass {
        Pass::Forward => (s.cin, s.cout, s.out_hw()),
        Pass::BackwardData => (s.cout, s.cin, s.in_hw),
    };
    if !class.cpu {
        return if src_c.min(dst_c) < 32 {
            SpatialAlgo::Direct { px: 4, rc: 4 }
        } else {
            SpatialAlgo::TILED
        };
    }
    let cost = |a: &SpatialAlgo| spatial_cost(a, s.n * rows, cols, dst_c);
    *SpatialAlgo::ALL
        .iter()
        .filter(|a| class.subgroups_of_8 || !matches!(a, SpatialAlgo::Subgroup { .. }))
        .min_by(|a, b| cost(a).total_cmp(&cost(b)))
        .expect("the direct variants run everywhere")
}

fn choose_wgrad(class: DeviceClass, s: &Conv2dShape) -> WgradAlgo {
    let taps = s.spec.kernel[0] * s.spec.kernel[1];
    if class.cpu && class.subgroups_of_8 {
        // Even dy chunks of at most 32 channels, two im2col columns per lane; about 512
        // subgroup tasks (64 workgroups), so lavapipe's two threads stay balanced when another
        // process takes a core.
        let chunks = s.cout.div_ceil(WgradAlgo::MAX_SUBGROUP_RO as usize);
        let ro = s.cout.div_ceil(chunks).next_multiple_of(4);
        let cq = 2;
        let per_split = (taps * s.cin.div_ceil(4)).div_ceil(8 * cq) * chunks;
        let splits = 512usize.div_ceil(per_split).clamp(1, 1024) as u32;
        return WgradAlgo::Subgroup {
            ro: ro as u32,
            cq: cq as u32,
            splits,
        };
    }
    let side = |c: usize| {
        *WgradAlgo::SIDES
            .iter()
            .min_by(|&&a, &&b| {
                let cost = |t: u32| tile_cost(t as usize, c, 16, 16);
                cost(a).total_cmp(&cost(b))
            })
            .expect("sides exist")
    };
    let (ro, ri) = if class.cpu {
        (side(s.cout), side(s.cin))
    } else {
        (4, 4)
    };
    // Three filter columns per invocation share each dy load among three taps (and slide the x
    // columns at stride 1); only small tiles stay within what the compiler fully unrolls.
    let tw = if s.spec.kernel[1] >= 3 && ro * ri <= 64 {
        3
    } else {
        1
    };
    let per_split = s.spec.kernel[0]
        * s.spec.kernel[1].div_ceil(tw as usize)
        * s.cout.div_ceil(ro as usize)
        * s.cin.div_ceil(ri as usize);
    // Enough invocations: ~64 workgroups on lavapipe, tens of thousands on a GPU.
    let want: usize = if class.cpu { 4096 } else { 32768 };
    let splits = want.div_ceil(per_split.max(1)).clamp(1, 1024) as u32;
    WgradAlgo::Blocked { ro, ri, tw, splits }
}
