//! The supernet of the configured space, as every weight-sharing part builds it (the supernet
//! evaluator, DARTS): its shape from the space's section, its weights from their own seed, apart
//! from the search's generator and the children's.

use std::sync::Arc;

use crate::device::{DeviceError, Gpu};
use crate::nn::supernet::{DartsSupernet, EnasSupernet, Nb201Supernet};
use crate::nn::{DartsNetwork, Nb201Genotype, Nb201Network, Nb201Op};
use crate::search::config::SearchConfig;
use crate::search::error::SearchError;
use crate::util::SeededRng;

fn weights_rng(config: &SearchConfig) -> SeededRng {
    crate::util::seeded_rng(config.run.seed ^ 0x5afe_c0de)
}

fn building(e: DeviceError) -> SearchError {
    SearchError::Other(format!("supernet: {e}"))
}

/// The NAS-Bench-201 supernet of `config.nb201` on images `input` with `classes` classes.
pub fn nb201(
    config: &SearchConfig,
    gpu: &Arc<Gpu>,
    input: [usize; 3],
    classes: usize,
) -> Result<Nb201Supernet, SearchError> {
    let shape = Nb201Network {
        genotype: Nb201Genotype([Nb201Op::None; 6]),
        cells_per_stage: config.nb201.cells_per_stage,
        channels: config.nb201.channels,
    };
    Nb201Supernet::new(gpu, &shape, input, classes, &mut weights_rng(config)).map_err(building)
}

/// The DARTS cell supernet of `config.darts_space` on images `input` with `classes` classes.
pub fn darts(
    config: &SearchConfig,
    gpu: &Arc<Gpu>,
    input: [usize; 3],
    classes: usize,
) -> Result<DartsSupernet, SearchError> {
    let shape = DartsNetwork {
        genotype: crate::search::footprint::costliest_darts_genotype(),
        channels: config.darts_space.channels,
        cells: config.darts_space.cells,
    };
    DartsSupernet::new(gpu, &shape, input, classes, &mut weights_rng(config)).map_err(building)
}

/// The ENAS macro supernet of `config.enas_space` on images `input` with `classes` classes.
pub fn enas(
    config: &SearchConfig,
    gpu: &Arc<Gpu>,
    input: [usize; 3],
    classes: usize,
) -> Result<EnasSupernet, SearchError> {
    let s = &config.enas_space;
    EnasSupernet::new(
        gpu,
        s.layers,
        s.channels,
        input,
        classes,
        &mut weights_rng(config),
    )
    .map_err(building)
}
