//! f64 references of the reduce kernels.
