//! One benchmark case: the launches of one run of a kernel at one shape, and what that run is worth.

use crate::device::Launch;
use crate::tensor::Tensor;

/// A kernel at one shape. One "run" is `launches` encoded in order into one compute pass.
pub struct BenchCase {
    /// Kernel (or kernel group) name, e.g. `conv2d_forward`; `--filter` matches on it.
    pub kernel: String,
    /// Human-readable shape, e.g. `n64 c48->48 32x32 k3x3 s1`.
    pub shape: String,
    /// Useful floating-point operations of one run (2 per multiply-add); 0 for pure data movement.
    pub flops: f64,
    /// Minimal bytes one run must read and write (each operand once).
    pub bytes: f64,
    /// The dispatches of one run.
    pub launches: Vec<Launch>,
    /// Tensors the launches use; kept alive for the duration of the benchmark.
    pub keep: Vec<Tensor>,
}
