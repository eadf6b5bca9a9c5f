//! f64 references of the pool kernels.
