//! f64 references of the matmul kernels.
