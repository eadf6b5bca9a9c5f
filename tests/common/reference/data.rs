//! f64 references of the data kernels.
