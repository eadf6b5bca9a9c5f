//! conv2d kernels (to be written).
