//! reduce kernels (to be written).
