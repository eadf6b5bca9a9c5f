//! batchnorm kernels (to be written).
