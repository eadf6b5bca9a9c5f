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

fn choose_spatial(cpu: bool, pass: Pass, s: &Conv2dShape) -> SpatialAlgo {
    let (src_c, dst_c, dst_w) = match pass {
        Pass::Forward => (s.cin, s.cout, s.out_hw()[1]),
        Pass::BackwardData => (s.cout, s.cin, s.in_hw[1].div_ceil(s.spec.stride[1])),
    };
    if !cpu {
        return if src_c.min(dst_c) < 32 {
            SpatialAlgo::Direct { px: 4, rc: 4 }
        } else {
            SpatialAlgo::ALL[4]
        };
    }
    if dst_c <= 4 || dst_w <= 4 {
        SpatialAlgo::Direct { px: 4, rc: 4 }
    } else if dst_w < 12 {
        SpatialAlgo::Direct { px: 8, rc: 8 }
    } else {
        SpatialAlgo::Direct { px: 16, rc: 8 }
    }
}

fn choose_wgrad(cpu: bool, s: &Conv2dShape) -> WgradAlgo {
    let narrow = s.cin.min(s.cout);
    let (ro, ri): (u32, u32) = if !cpu || narrow <= 4 {
        (4, 4)
    } else if narrow < 16 {
        (8, 8)
    } else {
        (16, 16)
    };
    let per_split = s.spec.kernel[0]
        * s.spec.kernel[1]
        * s.cout.div_ceil(ro as usize)
        * s.cin.div_ceil(ri as usize);
    // Enough invocations to fill the device: a few workgroups per lavapipe thread, thousands
    // of invocations on a GPU.
    let want: usize = if cpu { 512 } else { 16384 };
    let splits = want.div_ceil(per_split.max(1)).clamp(1, 1024) as u32;
    WgradAlgo { ro, ri, splits }
}
