//! f64 references of the concat kernels.
