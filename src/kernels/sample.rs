//! sample kernels (to be written).
