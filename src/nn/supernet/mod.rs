//! Supernets: one set of weights shared by every architecture of a search space (ENAS, Pham
//! et al. 2018; single-path one-shot, Guo et al. 2020). A sampled architecture records only its
//! own path through the supernet, so a training step costs about what the architecture costs
//! standalone, and the weights it trains are the ones every later architecture with the same
//! operation there inherits.

pub mod nb201;

pub use nb201::Nb201Supernet;
