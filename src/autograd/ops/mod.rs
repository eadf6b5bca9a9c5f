//! The ops a graph can record, one file per kernel family. Each file holds the op structs (how to
//! launch, how to differentiate) and the recording functions (`relu(&mut g, x)`).

pub mod elementwise;
pub mod shape;

pub use elementwise::{add, mul, relu, scale, sigmoid, tanh};
