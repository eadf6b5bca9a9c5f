//! concat kernels (to be written).
