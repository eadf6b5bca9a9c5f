//! Neural-network layers built on the autograd tape, child networks from architecture files,
//! weight files, and training.

pub mod arch;
pub mod cell_net;
pub mod darts_cell;
pub mod darts_net;
pub mod enas_macro;
pub mod enas_net;
pub mod footprint;
pub mod infer;
pub mod init;
pub mod layered_net;
pub mod layers;
pub mod meta;
pub mod nb201;
pub mod network;
pub mod param;
pub mod preset;
pub mod supernet;
pub mod train;
pub mod weights;

pub use arch::{ArchError, Architecture, LayerSpec};
pub use darts_cell::{DartsGenotype, DartsNetwork, DartsOp};
pub use enas_macro::{EnasLayer, EnasLayers, EnasMacroNetwork, EnasOp, EnasOpName};
pub use meta::{ModelMeta, Normalization};
pub use nb201::{NB201_EDGES, Nb201Genotype, Nb201Network, Nb201Op};
pub use network::{Body, Network};
pub use param::{Binder, Parameter};
