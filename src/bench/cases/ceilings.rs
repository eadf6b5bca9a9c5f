//! Launchers of the ceiling kernels: peak FMA (GFLOPS), copy (GB/s) and a no-op dispatch.

use crate::device::{Access, Gpu, KernelDef, Launch, Specialisation, grid_1d};
use crate::kernels::{KernelError, argument_error};
use crate::tensor::Tensor;

/// Invocations per workgroup of the ceiling kernels (matches the WGSL).
const WG: u32 = 256;
/// Independent vec4 FMA chains per invocation. Four fill AVX2's 16 registers on lavapipe (one
/// vec4 is four 8-lane registers there) and beat 2, 3, 5, 6 and 8 in a sweep; on a GPU they are
/// 16 independent FMAs per thread, ample to hide latency.
pub const FMA_CHAINS: usize = 4;
/// FMA steps per chain per loop trip: 4 beat 1, 2 and 8 on lavapipe (loop overhead vs code size).
pub const FMA_UNROLL: usize = 4;
/// vec4 elements each copy invocation moves (4 matched or beat 1, 2, 8, 16 on lavapipe).
const COPY_PER_THREAD: u32 = 4;

static PEAK_FMA: KernelDef = KernelDef {
    name: "peak_fma",
    source: include_str!("../../../shaders/bench_fma.wgsl"),
    entry: "peak_fma",
    bindings: &[Access::Uniform, Access::ReadWrite],
};

static COPY: KernelDef = KernelDef {
    name: "copy",
    source: include_str!("../../../shaders/bench_copy.wgsl"),
    entry: "copy",
    bindings: &[Access::Uniform, Access::Read, Access::ReadWrite],
};

static NOOP: KernelDef = KernelDef {
    name: "noop",
    source: include_str!("../../../shaders/bench_noop.wgsl"),
    entry: "noop",
    bindings: &[Access::ReadWrite],
};

/// Each FMA step is `x <- x * FMA_MUL + FMA_ADD`: converges to 1, so values stay normal.
pub const FMA_MUL: f32 = 0.999;
/// See `FMA_MUL`.
pub const FMA_ADD: f32 = 0.001;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FmaParams {
    iterations: u32,
    _pad: u32,
    mul: f32,
    add: f32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CopyParams {
    n4: u32,
    stride: u32,
    _pad: [u32; 2],
}

/// The unrolled chain code substituted into `bench_fma.wgsl`.
fn fma_spec() -> Specialisation {
    let declare: String = (0..FMA_CHAINS)
        .map(|j| format!("    var x{j} = seed + vec4<f32>(f32({j}) * 0.015625);\n"))
        .collect();
    let step: String = (0..FMA_UNROLL)
        .flat_map(|_| (0..FMA_CHAINS).map(|j| format!("        x{j} = fma(x{j}, m, c);\n")))
        .collect();
    let sum = (0..FMA_CHAINS)
        .map(|j| format!("x{j}"))
        .collect::<Vec<_>>()
        .join(" + ");
    vec![
        ("CHAINS", FMA_CHAINS.to_string()),
        ("UNROLL", FMA_UNROLL.to_string()),
        ("DECLARE", declare),
        ("STEP", step),
        ("SUM", sum),
    ]
}

/// Invocations a peak-FMA launch over `out` runs: one per vec4 of `out`.
pub fn fma_invocations(out: &Tensor) -> usize {
    out.numel() / 4
}

/// Useful FLOPs of one peak-FMA launch: 2 per FMA, 4 lanes, every chain, every step.
pub fn fma_flops(invocations: usize, iterations: u32) -> f64 {
    invocations as f64 * iterations as f64 * (FMA_UNROLL * FMA_CHAINS * 4 * 2) as f64
}

/// A peak-FMA launch: one invocation per vec4 of `out` (its length a multiple of 4 * 256),
/// `iterations` loop trips each.
pub fn peak_fma(gpu: &Gpu, out: &Tensor, iterations: u32) -> Result<Launch, KernelError> {
    if out.numel() == 0 || !out.numel().is_multiple_of(4 * WG as usize) {
        return Err(argument_error(
            "peak_fma",
            format!(
                "output of {} elements is not a positive multiple of {}",
                out.numel(),
                4 * WG
            ),
        ));
    }
    let params = FmaParams {
        iterations,
        _pad: 0,
        mul: FMA_MUL,
        add: FMA_ADD,
    };
    let grid = grid_1d(gpu, fma_invocations(out), WG);
    Ok(Launch::new(
        gpu,
        &PEAK_FMA,
        &fma_spec(),
        bytemuck::bytes_of(&params),
        &[out.binding()],
        grid,
    ))
}

/// A copy launch `dst <- src` with vec4 loads and stores (lengths equal, multiples of 4).
pub fn copy(gpu: &Gpu, src: &Tensor, dst: &Tensor) -> Result<Launch, KernelError> {
    if src.numel() != dst.numel() || !src.numel().is_multiple_of(4) || src.same_buffer(dst) {
        return Err(argument_error(
            "copy",
            format!(
                "src {:?} and dst {:?} must be distinct, of equal length, a multiple of 4",
                src.shape(),
                dst.shape()
            ),
        ));
    }
    let n4 = src.numel() / 4;
    let invocations = n4.div_ceil(COPY_PER_THREAD as usize);
    let grid = grid_1d(gpu, invocations, WG);
    let stride = grid[0] as usize * grid[1] as usize * WG as usize;
    let params = CopyParams {
        n4: u32::try_from(n4).map_err(|_| argument_error("copy", "more than 2^32 vec4s"))?,
        stride: stride as u32,
        _pad: [0; 2],
    };
    let spec = vec![("PER_THREAD", COPY_PER_THREAD.to_string())];
    Ok(Launch::new(
        gpu,
        &COPY,
        &spec,
        bytemuck::bytes_of(&params),
        &[src.binding(), dst.binding()],
        grid,
    ))
}

/// A no-op launch of one workgroup of one invocation, bound to `sink` (never written).
pub fn noop(gpu: &Gpu, sink: &Tensor) -> Launch {
    Launch::new(gpu, &NOOP, &Vec::new(), &[], &[sink.binding()], [1, 1, 1])
}
