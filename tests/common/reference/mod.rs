//! CPU f64 reference implementations of the kernels, written for clarity, not speed.
//! One module per kernel family; the autograd tests compose them for finite differences, and
//! `network` into the layers of the whole-network references.
#![allow(dead_code)]

pub mod batchnorm;
pub mod concat;
pub mod conv2d;
pub mod data;
pub mod elementwise;
pub mod embedding;
pub mod grouped_conv;
pub mod loss;
pub mod lstm;
pub mod matmul;
pub mod network;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod sample;
pub mod weighted_sum;
