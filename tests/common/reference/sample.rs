//! f64 references of the sample kernels.
