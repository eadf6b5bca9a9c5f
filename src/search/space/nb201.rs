//! The NAS-Bench-201 cell space (Dong & Yang 2020): one of 5 operations on each of the 6 edges
//! of a 4-node cell, 15,625 architectures in all. The rollout is the 6 operation ids in the
//! canonical edge order; the canonical name is the published string, so tables of the
//! benchmark can be looked up directly.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::macro_space::mutate_one;
use super::{Block, Rollout, Schema, Space, TokenGroup};
use crate::nn::{Architecture, Nb201Genotype, Nb201Network, Nb201Op};
use crate::search::ConfigError;
use crate::util::SeededRng;

/// The network around the cell (the configuration's `nb201` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Nb201SpaceConfig {
    /// N: cells per stage (the benchmark: 5).
    pub cells_per_stage: usize,
    /// C: channels of the first stage (the benchmark: 16).
    pub channels: usize,
}

impl Default for Nb201SpaceConfig {
    fn default() -> Self {
        Nb201SpaceConfig {
            cells_per_stage: 5,
            channels: 16,
        }
    }
}

impl Nb201SpaceConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=32).contains(&self.cells_per_stage) {
            return Err(ConfigError::field(
                "nb201.cells_per_stage",
                format!("{} is not in 1..=32", self.cells_per_stage),
            ));
        }
        if !(1..=1024).contains(&self.channels) {
            return Err(ConfigError::field(
                "nb201.channels",
                format!("{} is not in 1..=1024", self.channels),
            ));
        }
        Ok(())
    }
}

/// The space: every genotype, built into networks of the configured N and C.
#[derive(Debug, Clone, PartialEq)]
pub struct Nb201Space {
    pub config: Nb201SpaceConfig,
}

const EDGES: usize = 6;
const OPS: usize = Nb201Op::ALL.len();

fn genotype(r: &Rollout) -> Nb201Genotype {
    let ops: [Nb201Op; EDGES] = std::array::from_fn(|k| Nb201Op::ALL[r.0[k]]);
    Nb201Genotype(ops)
}

impl Space for Nb201Space {
    fn name(&self) -> &'static str {
        "nb201"
    }

    /// Six tokens of one operation group (the operation embedding and head are shared by every
    /// edge, as in ENAS's controller; the LSTM state tells the edges apart).
    fn schema(&self, _sampled: usize) -> Option<Schema> {
        Some(Schema {
            groups: vec![TokenGroup {
                name: "nb201_op".into(),
                options: OPS,
            }],
            blocks: vec![Block {
                tokens: vec![0; EDGES],
                anchor: false,
            }],
        })
    }

    fn sample(&self, _sampled: usize, rng: &mut SeededRng) -> Rollout {
        Rollout((0..EDGES).map(|_| rng.random_range(0..OPS)).collect())
    }

    /// One edge's operation changed to another (NAS-Bench-201's evolution baseline).
    fn mutate(&self, parent: &Rollout, rng: &mut SeededRng) -> Rollout {
        mutate_one(parent, &[OPS; EDGES], rng)
    }

    fn check(&self, r: &Rollout) -> Result<(), String> {
        self.schema(0).expect("always").check(r)
    }

    fn canonical(&self, r: &Rollout) -> String {
        genotype(r).to_string()
    }

    fn parse(&self, name: &str) -> Result<Rollout, String> {
        let g: Nb201Genotype = name.parse()?;
        Ok(Rollout(g.0.iter().map(|op| op.id()).collect()))
    }

    fn architecture(&self, r: &Rollout, input: [usize; 3], classes: usize) -> Architecture {
        Architecture::cell(
            input,
            classes,
            Nb201Network {
                genotype: genotype(r),
                cells_per_stage: self.config.cells_per_stage,
                channels: self.config.channels,
            },
        )
    }
}
