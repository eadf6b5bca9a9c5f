//! f64 references of the batchnorm kernels.
