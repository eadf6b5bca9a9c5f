//! f64 references of the embedding kernels.
