//! Host-side argument checks shared by the launchers. They run before anything reaches wgpu, so
//! a bad shape is a `KernelError` naming the shapes rather than a validation panic.

use super::error::{KernelError, argument_error, shape_error};
use crate::tensor::{DType, Tensor};

/// `a` and `b` have identical shapes.
pub fn same_shape(
    kernel: &'static str,
    names: [&str; 2],
    a: &Tensor,
    b: &Tensor,
) -> Result<(), KernelError> {
    if a.shape() != b.shape() {
        return Err(shape_error(
            kernel,
            format!(
                "{} is {:?} but {} is {:?}",
                names[0],
                a.shape(),
                names[1],
                b.shape()
            ),
        ));
    }
    Ok(())
}

/// `t` has exactly this shape.
pub fn has_shape(
    kernel: &'static str,
    name: &str,
    t: &Tensor,
    want: &[usize],
) -> Result<(), KernelError> {
    if t.shape() != want {
        return Err(shape_error(
            kernel,
            format!("{name} is {:?}, expected {want:?}", t.shape()),
        ));
    }
    Ok(())
}

/// `t` has `rank` dimensions.
pub fn has_rank(
    kernel: &'static str,
    name: &str,
    t: &Tensor,
    rank: usize,
) -> Result<(), KernelError> {
    if t.shape().len() != rank {
        return Err(shape_error(
            kernel,
            format!("{name} is {:?}, expected {rank} dimensions", t.shape()),
        ));
    }
    Ok(())
}

/// `t` has element type `dtype`.
pub fn has_dtype(
    kernel: &'static str,
    name: &str,
    t: &Tensor,
    dtype: DType,
) -> Result<(), KernelError> {
    if t.dtype() != dtype {
        return Err(argument_error(
            kernel,
            format!("{name} is {:?}, expected {dtype:?}", t.dtype()),
        ));
    }
    Ok(())
}

/// An output must not share its buffer with an input: wgpu forbids binding one buffer as both
/// read-only and writable storage in a dispatch.
pub fn distinct(
    kernel: &'static str,
    output: (&str, &Tensor),
    inputs: &[(&str, &Tensor)],
) -> Result<(), KernelError> {
    for (name, t) in inputs {
        if output.1.same_buffer(t) {
            return Err(argument_error(
                kernel,
                format!(
                    "output {} shares its buffer with input {name}; use a separate tensor",
                    output.0
                ),
            ));
        }
    }
    Ok(())
}

/// Counts and sizes that go into u32 uniforms must fit.
pub fn fits_u32(kernel: &'static str, what: &str, n: usize) -> Result<u32, KernelError> {
    u32::try_from(n).map_err(|_| argument_error(kernel, format!("{what} = {n} exceeds u32")))
}
