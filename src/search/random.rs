//! Random search: decisions drawn uniformly from the space (each skip connection with
//! probability 1/2), sharing everything else with the controller-driven search.

use rand::RngExt;

use super::space::{Decisions, SearchSpace};
use crate::util::SeededRng;

/// One uniformly random architecture of `depth` layers.
pub fn sample(space: &SearchSpace, depth: usize, rng: &mut SeededRng) -> Decisions {
    let kinds = space.token_kinds();
    let tokens = (0..depth)
        .map(|_| {
            kinds
                .iter()
                .map(|&k| rng.random_range(0..space.choices(k).len()))
                .collect()
        })
        .collect();
    let skips = (0..depth)
        .map(|i| {
            (0..i)
                .map(|_| space.skip_connections && rng.random_bool(0.5))
                .collect()
        })
        .collect();
    Decisions { tokens, skips }
}
