//! Algorithm choice per shape and device class, remembered per shape key.
//!
//! On lavapipe (device type Cpu) loads cost far more than FMAs (every storage load is a per-lane
//! loop), so the register-blocked direct kernel with the largest tile that the shape fills wins;
//! workgroup memory and barriers only add cost there. On GPUs narrow layers (< 32 channels) run
//! as direct convs with small tiles and wide ones as the tiled implicit GEMM.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::device::Gpu;

use super::geometry::Conv2dShape;
use super::spatial::SpatialAlgo;
use super::wgrad::WgradAlgo;

/// The pass a spatial algorithm is chosen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pass {
    Forward,
    BackwardData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Spatial(bool, Pass, Conv2dShape),
    Wgrad(bool, Conv2dShape),
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

fn is_cpu(gpu: &Gpu) -> bool {
    gpu.info.device_type == wgpu::DeviceType::Cpu
}

/// The forward or backward-to-input algorithm for `shape` on `gpu`.
pub fn spatial_algo(gpu: &Gpu, pass: Pass, shape: &Conv2dShape) -> SpatialAlgo {
    let cpu = is_cpu(gpu);
    match remembered(Key::Spatial(cpu, pass, *shape), || {
        Choice::Spatial(choose_spatial(cpu, pass, shape))
    }) {
        Choice::Spatial(a) => a,
        Choice::Wgrad(_) => unreachable!("spatial key holds a spatial choice"),
    }
}

/// The weight-gradient algorithm for `shape` on `gpu`.
pub fn backward_weights_algo(gpu: &Gpu, shape: &Conv2dShape) -> WgradAlgo {
    let cpu = is_cpu(gpu);
    match remembered(Key::Wgrad(cpu, *shape), || {
        Choice::Wgrad(choose_wgrad(cpu, shape))
    }) {
        Choice::Wgrad(a) => a,
        Choice::Spatial(_) => unreachable!("wgrad key holds a wgrad choice"),
    }
}

/// Relative cost of one load and of the FMAs per output per vec4 reduction step on lavapipe
/// (fitted to measured tile sweeps: a vec4 storage load costs ~55 cycles per 8 lanes, four
/// FMAs with spilled accumulators ~4.4).
const LOAD: f64 = 55.0;
const FMA4: f64 = 4.4;

/// Estimated lavapipe time of a register tile `a x b` over `len_a x len_b` outputs, counting the
/// padding waste of both sides.
fn tile_cost(a: usize, len_a: usize, b: usize, len_b: usize) -> f64 {
    let padded = (len_a.next_multiple_of(a) * len_b.next_multiple_of(b)) as f64;
    padded * (LOAD / a as f64 + LOAD / b as f64 + FMA4)
}

fn choose_spatial(cpu: bool, pass: Pass, s: &Conv2dShape) -> SpatialAlgo {
    let (src_c, dst_c, cols) = match pass {
        Pass::Forward => (s.cin, s.cout, s.out_hw()[1]),
        Pass::BackwardData => (s.cout, s.cin, s.in_hw[1].div_ceil(s.spec.stride[1])),
    };
    if !cpu {
        return if src_c.min(dst_c) < 32 {
            SpatialAlgo::Direct { px: 4, rc: 4 }
        } else {
            SpatialAlgo::TILED
        };
    }
    let cost = |a: &SpatialAlgo| match *a {
        SpatialAlgo::Direct { px, rc } => tile_cost(px as usize, cols, rc as usize, dst_c),
        SpatialAlgo::Tiled { .. } => f64::INFINITY,
    };
    *SpatialAlgo::ALL
        .iter()
        .min_by(|a, b| cost(a).total_cmp(&cost(b)))
        .expect("variants exist")
}

fn choose_wgrad(cpu: bool, s: &Conv2dShape) -> WgradAlgo {
    let side = |c: usize| {
        *WgradAlgo::SIDES
            .iter()
            .min_by(|&&a, &&b| {
                let cost = |t: u32| tile_cost(t as usize, c, 16, 16);
                cost(a).total_cmp(&cost(b))
            })
            .expect("sides exist")
    };
    let (ro, ri) = if cpu {
        (side(s.cout), side(s.cin))
    } else {
        (4, 4)
    };
    let per_split = s.spec.kernel[0]
        * s.spec.kernel[1]
        * s.cout.div_ceil(ro as usize)
        * s.cin.div_ceil(ri as usize);
    // Enough invocations to fill the device: on lavapipe ~64 workgroups, so that its two
    // threads stay balanced when another process takes a core; thousands on a GPU.
    let want: usize = if cpu { 4096 } else { 32768 };
    let splits = want.div_ceil(per_split.max(1)).clamp(1, 1024) as u32;
    WgradAlgo { ro, ri, splits }
}
