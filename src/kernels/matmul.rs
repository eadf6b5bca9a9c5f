//! Matrix multiply: `C = op(A)·op(B) (+ bias) (+ C)`, unbatched or batched, in one dispatch.
//!
//! Kernel variants (`MatmulAlgo`): a shared-memory tiled kernel for real GPUs and two
//! subgroup-broadcast kernels tuned for llvmpipe (lavapipe), one reading 8 floats per lane per
//! load as 64-bit integers (for rows that are multiples of 8 floats) and one reading vec4<f32>
//! (every shape). `matmul` picks by adapter; the `*_with_algo` form lets tests and benchmarks
//! force one. Backward passes are matmuls with
//! transpose flags (`dA = dC·op(B)ᵀ`, `dB = op(A)ᵀ·dC`, arranged for each `MatmulSpec`).

use crate::device::{Access, Binding, Gpu, KernelDef, Launch, Specialisation};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype};
use super::error::{KernelError, argument_error, shape_error};

const NAME: &str = "matmul";

const BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
];

static TILED: KernelDef = KernelDef {
    name: "matmul_tiled",
    source: concat!(
        include_str!("../../shaders/matmul_params.wgsl"),
        include_str!("../../shaders/matmul_tiled.wgsl")
    ),
    entry: "main",
    bindings: BINDINGS,
};

static SUBGROUP: KernelDef = KernelDef {
    name: "matmul_subgroup",
    source: concat!(
        include_str!("../../shaders/matmul_params.wgsl"),
        include_str!("../../shaders/matmul_subgroup.wgsl")
    ),
    entry: "main",
    // C twice: as f32 and as vec4 (one buffer in two writable bindings is allowed).
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
};

static SUBGROUP64: KernelDef = KernelDef {
    name: "matmul_subgroup64",
    source: concat!(
        include_str!("../../shaders/matmul_params.wgsl"),
        include_str!("../../shaders/matmul_subgroup64.wgsl")
    ),
    entry: "main",
    bindings: &[
        Access::Uniform,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
};

/// Transposes of the operands and whether to add into the existing C.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatmulSpec {
    /// A is stored `[K, M]` (`[batch, K, M]`) and used transposed.
    pub trans_a: bool,
    /// B is stored `[N, K]` (`[batch, N, K]`) and used transposed.
    pub trans_b: bool,
    /// Add the product to C's previous contents instead of overwriting them.
    pub accumulate: bool,
}

/// Tile sizes of the shared-memory kernel: a workgroup computes `bm x bn` of C in steps of `bk`
/// values of k; each of its `(bm / tm) * (bn / tn)` invocations computes `tm x tn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TiledTile {
    pub bm: u32,
    pub bn: u32,
    pub bk: u32,
    pub tm: u32,
    pub tn: u32,
}

/// Tile sizes of the subgroup kernel: each of the 8 lanes of a workgroup computes `tm` rows and
/// `4 * nb` adjacent columns of C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubgroupTile {
    pub tm: u32,
    pub nb: u32,
}

/// Tile size of the 64-bit-load subgroup kernel: each of the 8 lanes of a workgroup computes `tm`
/// rows (a multiple of 8, at most 64) and 8 adjacent columns of C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subgroup64Tile {
    pub tm: u32,
}

/// Which kernel computes the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatmulAlgo {
    /// Workgroup shared-memory tiling: the variant for real GPUs.
    Tiled(TiledTile),
    /// Subgroup broadcasts of A, vec4 reads of B, no shared memory: the variant for llvmpipe,
    /// where every buffer load is a loop over the SIMD lanes. Needs subgroups of at least 8.
    Subgroup(SubgroupTile),
    /// As `Subgroup`, loading 8 floats per lane as a `vec4<u64>` (llvmpipe's per-lane load loop
    /// costs the same for 32 and 64-bit components): needs 64-bit shader integers, and rows of
    /// A, B and C that are multiples of 8 floats (K and N, and M when A is transposed). Other
    /// shapes run `Subgroup` with `MatmulAlgo::SUBGROUP`'s tiles.
    Subgroup64(Subgroup64Tile),
}

impl MatmulAlgo {
    /// The GPU variant with its default tiles (64x64 per workgroup, 4x4 per invocation).
    pub const TILED: MatmulAlgo = MatmulAlgo::Tiled(TiledTile {
        bm: 64,
        bn: 64,
        bk: 16,
        tm: 4,
        tn: 4,
    });
    /// The llvmpipe variant with the tiles that measured fastest there (24 rows x 8 columns per lane).
    pub const SUBGROUP: MatmulAlgo = MatmulAlgo::Subgroup(SubgroupTile { tm: 24, nb: 2 });
    /// The 64-bit-load llvmpipe variant with the tile that measured fastest there: 24 rows x 8
    /// columns per lane (more rows make the loop body outgrow the CPU's micro-op cache).
    pub const SUBGROUP64: MatmulAlgo = MatmulAlgo::Subgroup64(Subgroup64Tile { tm: 24 });
}

/// The variant `matmul` uses on this device: the llvmpipe-tuned kernels on CPU adapters that
/// have subgroups (the 64-bit-load one where the device has 64-bit integers), the
/// shared-memory kernel everywhere else.
pub fn default_algo(gpu: &Gpu) -> MatmulAlgo {
    if gpu.info.device_type == wgpu::DeviceType::Cpu && subgroups_usable(gpu) {
        if gpu.has_int64 {
            MatmulAlgo::SUBGROUP64
        } else {
            MatmulAlgo::SUBGROUP
        }
    } else {
        MatmulAlgo::TILED
    }
}

/// Whether this device can run `algo` (tile sizes aside).
pub fn supports(gpu: &Gpu, algo: MatmulAlgo) -> bool {
    match algo {
        MatmulAlgo::Tiled(_) => true,
        MatmulAlgo::Subgroup(_) => subgroups_usable(gpu),
        MatmulAlgo::Subgroup64(_) => subgroups_usable(gpu) && gpu.has_int64,
    }
}

/// Whether the device has subgroups of at least 8 invocations: the subgroup kernels run one
/// workgroup of 8 invocations as one subgroup.
fn subgroups_usable(gpu: &Gpu) -> bool {
    gpu.has_subgroups && gpu.info.subgroup_min_size >= 8
}

/// Useful floating-point operations of a (batched) matmul: a multiply and an add per term.
pub fn matmul_flops(batch: usize, m: usize, n: usize, k: usize) -> f64 {
    2.0 * batch as f64 * m as f64 * n as f64 * k as f64
}

/// `C = op(A)·op(B) (+ bias broadcast over rows) (+ previous C when accumulating)`.
/// Unbatched: A `[M, K]` (`[K, M]` if `trans_a`), B `[K, N]` (`[N, K]` if `trans_b`), C `[M, N]`,
/// bias `[N]`. Batched: A, B and C have one more leading dimension, the same batch; bias is
/// shared. C must not share a buffer with A, B or the bias.
pub fn matmul(
    gpu: &Gpu,
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    c: &Tensor,
    spec: MatmulSpec,
) -> Result<Launch, KernelError> {
    matmul_with_algo(gpu, a, b, bias, c, spec, default_algo(gpu))
}

/// As `matmul`, computed by the given variant.
pub fn matmul_with_algo(
    gpu: &Gpu,
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    c: &Tensor,
    spec: MatmulSpec,
    algo: MatmulAlgo,
) -> Result<Launch, KernelError> {
    let dims = check_shapes(a, b, bias, c, spec)?;
    for (name, t) in [("a", a), ("b", b), ("c", c)] {
        has_dtype(NAME, name, t, DType::F32)?;
    }
    let mut inputs = vec![("a", a), ("b", b)];
    if let Some(bias) = bias {
        has_dtype(NAME, "bias", bias, DType::F32)?;
        inputs.push(("bias", bias));
    }
    distinct(NAME, ("c", c), &inputs)?;
    let params = params(&dims, spec, bias.is_some())?;
    let (kernel, specialisation, tile_rows, tile_cols) = variant(gpu, algo, &dims, spec)?;
    let grid = [
        dims.n.div_ceil(tile_cols as usize),
        dims.m.div_ceil(tile_rows as usize),
        dims.batch,
    ];
    let max = gpu.limits.max_compute_workgroups_per_dimension as usize;
    if grid.iter().any(|&g| g > max) {
        return Err(argument_error(
            NAME,
            format!("{dims:?} needs workgroup grid {grid:?}, above the device limit {max}"),
        ));
    }
    let bias_binding = match bias {
        Some(t) => t.binding(),
        // The kernel reads the bias only when flagged; bind any readable buffer.
        None => a.binding(),
    };
    let buffers = if std::ptr::eq(kernel, &SUBGROUP64) {
        // Every tensor here holds a multiple of 8 floats: whole vec4<u64> elements.
        vec![a.binding(), b.binding(), bias_binding, c.binding()]
    } else if std::ptr::eq(kernel, &SUBGROUP) {
        vec![
            vec4_binding(a),
            vec4_binding(b),
            bias_binding,
            c.binding(),
            vec4_binding(c),
        ]
    } else {
        vec![vec4_binding(a), vec4_binding(b), bias_binding, c.binding()]
    };
    Ok(Launch::new(
        gpu,
        kernel,
        &specialisation,
        bytemuck::bytes_of(&params),
        &buffers,
        grid.map(|g| g as u32),
    ))
}

/// Problem size of one matmul.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dims {
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
}

/// Checks ranks and sizes; errors name every shape involved.
fn check_shapes(
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    c: &Tensor,
    spec: MatmulSpec,
) -> Result<Dims, KernelError> {
    let fail = |why: &str| {
        let bias = bias.map_or("none".to_string(), |t| format!("{:?}", t.shape()));
        shape_error(
            NAME,
            format!(
                "a {:?}{}, b {:?}{}, bias {bias}, c {:?}: {why}",
                a.shape(),
                if spec.trans_a { " (transposed)" } else { "" },
                b.shape(),
                if spec.trans_b { " (transposed)" } else { "" },
                c.shape(),
            ),
        )
    };
    let rank = a.shape().len();
    if !(rank == 2 || rank == 3) || b.shape().len() != rank || c.shape().len() != rank {
        return Err(fail(
            "a, b and c must all be matrices or all be batches of matrices",
        ));
    }
    let (batch, sa, sb) = if rank == 3 {
        if b.shape()[0] != a.shape()[0] || c.shape()[0] != a.shape()[0] {
            return Err(fail("batch sizes differ"));
        }
        (a.shape()[0], &a.shape()[1..], &b.shape()[1..])
    } else {
        (1, a.shape(), b.shape())
    };
    let (m, k) = if spec.trans_a {
        (sa[1], sa[0])
    } else {
        (sa[0], sa[1])
    };
    let (kb, n) = if spec.trans_b {
        (sb[1], sb[0])
    } else {
        (sb[0], sb[1])
    };
    if k != kb {
        return Err(fail(&format!("inner dimensions {k} and {kb} differ")));
    }
    if c.shape()[rank - 2..] != [m, n] {
        return Err(fail(&format!("c must be {m} x {n}")));
    }
    if let Some(bias) = bias
        && bias.shape() != [n]
    {
        return Err(fail(&format!("bias must be [{n}]")));
    }
    for (name, t) in [("a", a), ("b", b), ("c", c)] {
        fits_u32(NAME, &format!("elements of {name}"), t.numel())?;
    }
    Ok(Dims { batch, m, n, k })
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,
    a_rs: u32,
    a_cs: u32,
    b_rs: u32,
    b_cs: u32,
    a_bs: u32,
    b_bs: u32,
    c_bs: u32,
    _pad: u32,
}

/// Shapes and element strides of op(A) and op(B) (sizes were checked to fit u32).
fn params(d: &Dims, spec: MatmulSpec, has_bias: bool) -> Result<Params, KernelError> {
    let u = |what: &str, v: usize| fits_u32(NAME, what, v);
    let (m, n, k) = (u("m", d.m)?, u("n", d.n)?, u("k", d.k)?);
    let (a_rs, a_cs) = if spec.trans_a { (1, m) } else { (k, 1) };
    let (b_rs, b_cs) = if spec.trans_b { (1, k) } else { (n, 1) };
    Ok(Params {
        m,
        n,
        k,
        flags: has_bias as u32 | (spec.accumulate as u32) << 1,
        a_rs,
        a_cs,
        b_rs,
        b_cs,
        a_bs: u("batch stride of a", d.m * d.k)?,
        b_bs: u("batch stride of b", d.k * d.n)?,
        c_bs: u("batch stride of c", d.m * d.n)?,
        _pad: 0,
    })
}

/// Kernel, template values and the C tile one workgroup covers (rows, columns).
fn variant(
    gpu: &Gpu,
    algo: MatmulAlgo,
    d: &Dims,
    spec: MatmulSpec,
) -> Result<(&'static KernelDef, Specialisation, u32, u32), KernelError> {
    match algo {
        MatmulAlgo::Tiled(t) => {
            let threads = (t.bm / t.tm.max(1)) * (t.bn / t.tn.max(1));
            let shared = 4 * t.bk * (t.bm + t.bn);
            let ok = t.tm > 0
                && t.tn > 0
                && t.bk > 0
                && t.bm % t.tm == 0
                && t.bn % t.tn == 0
                && threads > 0
                && threads <= gpu.limits.max_compute_invocations_per_workgroup
                && t.bn / t.tn <= gpu.limits.max_compute_workgroup_size_x
                && t.bm / t.tm <= gpu.limits.max_compute_workgroup_size_y
                && shared <= gpu.limits.max_compute_workgroup_storage_size;
            if !ok {
                return Err(argument_error(
                    NAME,
                    format!("tiles {t:?} do not fit this device's workgroup limits"),
                ));
            }
            let spec = vec![
                ("BM", t.bm.to_string()),
                ("BN", t.bn.to_string()),
                ("BK", t.bk.to_string()),
                ("TM", t.tm.to_string()),
                ("TN", t.tn.to_string()),
            ];
            Ok((&TILED, spec, t.bm, t.bn))
        }
        MatmulAlgo::Subgroup64(t) => {
            if !gpu.has_int64 {
                return Err(argument_error(
                    NAME,
                    format!(
                        "the 64-bit-load kernel needs 64-bit shader integers; {} has none",
                        gpu.describe()
                    ),
                ));
            }
            if t.tm == 0 || t.tm % 8 != 0 || t.tm > 64 {
                return Err(argument_error(
                    NAME,
                    format!("tiles {t:?}: tm must be a positive multiple of 8, at most 64"),
                ));
            }
            if !rows_of_8(d, spec) {
                return variant(gpu, MatmulAlgo::SUBGROUP, d, spec);
            }
            subgroups_needed(gpu)?;
            let spec = vec![
                ("TM", t.tm.to_string()),
                ("TRANS_A", spec.trans_a.to_string()),
                ("TRANS_B", spec.trans_b.to_string()),
            ];
            Ok((&SUBGROUP64, spec, t.tm, 64))
        }
        MatmulAlgo::Subgroup(t) => {
            subgroups_needed(gpu)?;
            if t.tm == 0 || t.tm % 4 != 0 || t.nb == 0 {
                return Err(argument_error(
                    NAME,
                    format!("tiles {t:?}: tm must be a positive multiple of 4 and nb positive"),
                ));
            }
            // Every vec4 access starts on a 16-byte boundary when the rows it walks along have a
            // multiple of 4 elements (batch strides then are multiples of 4 too).
            let a_row = if spec.trans_a { d.m } else { d.k };
            let b_row = if spec.trans_b { d.k } else { d.n };
            let aligned =
                a_row.is_multiple_of(4) && b_row.is_multiple_of(4) && d.n.is_multiple_of(4);
            let spec = vec![
                ("TM", t.tm.to_string()),
                ("NB", t.nb.to_string()),
                ("TRANS_A", spec.trans_a.to_string()),
                ("TRANS_B", spec.trans_b.to_string()),
                ("ALIGNED", aligned.to_string()),
            ];
            Ok((&SUBGROUP, spec, t.tm, 8 * 4 * t.nb))
        }
    }
}

/// An error naming the device when the subgroup kernels cannot run on it.
fn subgroups_needed(gpu: &Gpu) -> Result<(), KernelError> {
    if subgroups_usable(gpu) {
        return Ok(());
    }
    Err(argument_error(
        NAME,
        format!(
            "the subgroup kernels need subgroups of at least 8 invocations; {} has {}",
            gpu.describe(),
            if gpu.has_subgroups {
                "smaller ones"
            } else {
                "none"
            }
        ),
    ))
}

/// Whether every row the 64-bit-load kernel reads or writes is a whole number of 8-float
/// loads: K and N (and M when A is stored transposed) multiples of 8, none of them zero.
fn rows_of_8(d: &Dims, spec: MatmulSpec) -> bool {
    let m_ok = !spec.trans_a || d.m.is_multiple_of(8);
    d.m > 0 && d.n > 0 && d.k > 0 && d.k.is_multiple_of(8) && d.n.is_multiple_of(8) && m_ok
}

/// Binds a tensor for `array<vec4<f32>>` reads: its size rounded up to whole vec4s (pooled
/// buffers are multiples of 16 bytes, so the rounding stays inside the buffer).
fn vec4_binding(t: &Tensor) -> Binding<'_> {
    Binding {
        bytes: t.bytes().max(16).next_multiple_of(16).min(t.raw().size()),
        ..t.binding()
    }
}
