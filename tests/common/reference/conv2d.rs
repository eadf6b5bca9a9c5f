//! f64 references of the conv2d kernels.
