//! Search spaces: what one architecture is (a *rollout*: one choice id per decision, in the
//! order a controller emits them), how to sample one uniformly, mutate one locally, check one,
//! name one canonically, and build one as a trainable network. Strategies and evaluators only
//! ever see a space through the `Space` trait, so a new space is one new file here plus one
//! line in `build`.

mod darts;
mod enas;
mod macro_space;
mod nb201;

use serde::{Deserialize, Serialize};

pub use darts::{DartsSpace, DartsSpaceConfig};
pub use enas::{EnasSpace, EnasSpaceConfig};
pub use macro_space::{Decisions, MacroSpace, TokenKind};
pub use nb201::{Nb201Space, Nb201SpaceConfig};

use crate::nn::Architecture;
use crate::util::SeededRng;

/// One architecture of a space: a choice id per decision, in the space's schema order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rollout(pub Vec<usize>);

/// A family of categorical decisions sharing one embedding and softmax head in a controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGroup {
    /// Names the controller's parameters (`controller.<name>.head`).
    pub name: String,
    pub options: usize,
}

/// A run of decisions a controller emits from one "go" input: tokens (indices into the
/// schema's groups), then, with `anchor`, one skip flag for every earlier anchored block
/// (NAS-RL's anchor-point attention).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub tokens: Vec<usize>,
    pub anchor: bool,
}

/// The decision sequence of the next architecture, as a controller emits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub groups: Vec<TokenGroup>,
    pub blocks: Vec<Block>,
}

impl Schema {
    /// Decisions of one architecture (= the length of its rollout).
    pub fn decisions(&self) -> usize {
        let mut anchors = 0;
        let mut n = 0;
        for b in &self.blocks {
            n += b.tokens.len();
            if b.anchor {
                n += anchors;
                anchors += 1;
            }
        }
        n
    }

    /// Number of options of each decision, in rollout order (2 for a skip flag).
    pub fn options(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.decisions());
        let mut anchors = 0;
        for b in &self.blocks {
            out.extend(b.tokens.iter().map(|&g| self.groups[g].options));
            if b.anchor {
                out.extend(std::iter::repeat_n(2, anchors));
                anchors += 1;
            }
        }
        out
    }

    /// Checks a rollout's length and every choice id against this schema.
    pub fn check(&self, r: &Rollout) -> Result<(), String> {
        let options = self.options();
        if r.0.len() != options.len() {
            return Err(format!(
                "{} decisions, expected {} for this space",
                r.0.len(),
                options.len()
            ));
        }
        for (k, (&id, &n)) in r.0.iter().zip(&options).enumerate() {
            if id >= n {
                return Err(format!("decision {k}: {id} is not one of its {n} choices"));
            }
        }
        Ok(())
    }
}

/// A search space. `sampled` is the number of architectures sampled before this one, for
/// spaces whose shape changes during a search (NAS-RL's growing depth).
pub trait Space: Send + Sync {
    /// The name used on the command line and in run directories (`macro`, `nb201`, `darts`,
    /// `enas`).
    fn name(&self) -> &'static str;
    /// The decisions of the architecture sampled after `sampled` others, as a controller
    /// emits them. Every space here has one; a space without a discrete sequence (a
    /// continuous relaxation) would return None and could not be used with a controller.
    fn schema(&self, sampled: usize) -> Option<Schema>;
    /// One architecture drawn uniformly.
    fn sample(&self, sampled: usize, rng: &mut SeededRng) -> Rollout;
    /// One random local change of `parent` (a different architecture of the same shape).
    fn mutate(&self, parent: &Rollout, rng: &mut SeededRng) -> Rollout;
    /// Whether `r` is an architecture of this space; the message says what is wrong.
    fn check(&self, r: &Rollout) -> Result<(), String>;
    /// A unique name of the architecture (de-duplication, tables, reports).
    fn canonical(&self, r: &Rollout) -> String;
    /// The rollout a canonical name stands for.
    fn parse(&self, name: &str) -> Result<Rollout, String>;
    /// The trainable network, as an architecture file describes it.
    fn architecture(&self, r: &Rollout, input: [usize; 3], classes: usize) -> Architecture;
}

/// Spaces by name, for `--space` and the configuration's `run.space`.
pub const SPACES: &[&str] = &["macro", "nb201", "darts", "enas"];

/// The space a configuration names.
pub fn build(config: &crate::search::SearchConfig) -> Box<dyn Space> {
    use crate::search::config::SpaceKind;
    match config.run.space {
        SpaceKind::Macro => Box::new(config.space.clone()),
        SpaceKind::Nb201 => Box::new(Nb201Space {
            config: config.nb201.clone(),
        }),
        SpaceKind::Darts => Box::new(DartsSpace {
            config: config.darts_space.clone(),
        }),
        SpaceKind::Enas => Box::new(EnasSpace {
            config: config.enas_space.clone(),
        }),
    }
}
