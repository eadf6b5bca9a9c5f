//! Embedding lookup (forward) and its deterministic gradient (backward), for the controller's
//! token embeddings. Ids are U32 on the device, so their range cannot be checked on the host:
//! an out-of-range id reads as a zero row and contributes no gradient.

use crate::device::{Access, Gpu, KernelDef, Launch, grid_1d};
use crate::tensor::{DType, Tensor};

use super::checks::{distinct, fits_u32, has_dtype, has_rank};
use super::error::{KernelError, argument_error, shape_error};

const WG: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    d: u32,
    v: u32,
    _pad: u32,
}

const SRC: &str = include_str!("../../shaders/embedding.wgsl");
const BINDINGS: &[Access] = &[
    Access::Uniform,
    Access::Read,
    Access::Read,
    Access::ReadWrite,
];
static FORWARD: KernelDef = KernelDef {
    name: "embedding_forward",
    source: SRC,
    entry: "embedding_forward",
    bindings: BINDINGS,
};
static BACKWARD: KernelDef = KernelDef {
    name: "embedding_backward",
    source: SRC,
    entry: "embedding_backward",
    bindings: BINDINGS,
};

/// Checks table `[V, D]` (V, D >= 1), ids U32 `[N]` and rows `[N, D]`; returns the params.
fn check(
    kernel: &'static str,
    table: (&str, &Tensor),
    ids: &Tensor,
    rows: (&str, &Tensor),
) -> Result<Params, KernelError> {
    let ((table_name, table), (rows_name, rows)) = (table, rows);
    has_rank(kernel, table_name, table, 2)?;
    has_dtype(kernel, table_name, table, DType::F32)?;
    has_rank(kernel, "ids", ids, 1)?;
    has_dtype(kernel, "ids", ids, DType::U32)?;
    has_dtype(kernel, rows_name, rows, DType::F32)?;
    let (v, d, n) = (table.shape()[0], table.shape()[1], ids.numel());
    if v == 0 || d == 0 {
        return Err(argument_error(
            kernel,
            format!(
                "{table_name} is {:?}: it needs at least one row and column",
                table.shape()
            ),
        ));
    }
    if rows.shape() != [n, d] {
        return Err(shape_error(
            kernel,
            format!(
                "{rows_name} is {:?} but ids is {:?} and {table_name} is {:?}: expected [{n}, {d}]",
                rows.shape(),
                ids.shape(),
                table.shape()
            ),
        ));
    }
    fits_u32(kernel, "elements", rows.numel().max(table.numel()))?;
    Ok(Params {
        n: n as u32,
        d: d as u32,
        v: v as u32,
        _pad: 0,
    })
}

/// `out[n, :] = table[ids[n], :]`; out-of-range ids give a zero row.
pub fn embedding_forward(
    gpu: &Gpu,
    table: &Tensor,
    ids: &Tensor,
    out: &Tensor,
) -> Result<Launch, KernelError> {
    let p = check(FORWARD.name, ("table", table), ids, ("out", out))?;
    distinct(
        FORWARD.name,
        ("out", out),
        &[("table", table), ("ids", ids)],
    )?;
    Ok(Launch::new(
        gpu,
        &FORWARD,
        &vec![],
        bytemuck::bytes_of(&p),
        &[table.binding(), ids.binding(), out.binding()],
        grid_1d(gpu, out.numel(), WG),
    ))
}

/// `dtable[v, :]` = sum of `dout[n, :]` over n with `ids[n] == v`, in index order (overwritten;
/// no atomics, so bit-identical reruns). Out-of-range ids are skipped.
pub fn embedding_backward(
    gpu: &Gpu,
    dout: &Tensor,
    ids: &Tensor,
    dtable: &Tensor,
) -> Result<Launch, KernelError> {
    let p = check(BACKWARD.name, ("dtable", dtable), ids, ("dout", dout))?;
    distinct(
        BACKWARD.name,
        ("dtable", dtable),
        &[("dout", dout), ("ids", ids)],
    )?;
    Ok(Launch::new(
        gpu,
        &BACKWARD,
        &vec![],
        bytemuck::bytes_of(&p),
        &[dout.binding(), ids.binding(), dtable.binding()],
        grid_1d(gpu, dtable.numel(), WG),
    ))
}
