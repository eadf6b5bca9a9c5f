//! embedding kernels (to be written).
