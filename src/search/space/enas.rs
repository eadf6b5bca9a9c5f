//! The ENAS macro space (Pham et al. 2018): L layers, each one of six operations
//! (`EnasOp::ALL`) with skip connections from any earlier layers, at the configured C, built
//! into the network of `nn/enas_macro.rs`.
//!
//! The rollout lists, layer by layer, the operation and then one skip flag per earlier layer
//! (1 = skip from it), as the released controller emits them: layer l contributes 1 + l
//! decisions. In the schema each layer is an anchored block, so a controller samples the
//! flags by NAS-RL's anchor-point attention, as ENAS does. Every rollout is a network and
//! every network one rollout. The canonical name is `EnasLayers`'s string
//! (`conv_3x3|sep_conv_5x5+0|max_pool_3x3+0+1`).

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::macro_space::mutate_one;
use super::{Block, Rollout, Schema, Space, TokenGroup};
use crate::nn::{Architecture, EnasLayer, EnasLayers, EnasMacroNetwork, EnasOp, EnasOpName};
use crate::search::ConfigError;
use crate::util::SeededRng;

/// The network's shape (the configuration's `enas_space` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnasSpaceConfig {
    /// L, layers (the paper's search: 12).
    pub layers: usize,
    /// C, channels of the first stage (the paper's search: 36; doubled at each reduction).
    pub channels: usize,
}

impl Default for EnasSpaceConfig {
    fn default() -> Self {
        EnasSpaceConfig {
            layers: 12,
            channels: 16,
        }
    }
}

impl EnasSpaceConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let max_layers = crate::nn::arch::MAX_ENAS_LAYERS;
        if !(1..=max_layers).contains(&self.layers) {
            return Err(ConfigError::field(
                "enas_space.layers",
                format!("{} is not in 1..={max_layers}", self.layers),
            ));
        }
        let max_channels = crate::nn::arch::MAX_CELL_CHANNELS;
        if !(1..=max_channels).contains(&self.channels) {
            return Err(ConfigError::field(
                "enas_space.channels",
                format!("{} is not in 1..={max_channels}", self.channels),
            ));
        }
        Ok(())
    }
}

/// The space: every ENAS macro network of L layers at C channels.
#[derive(Debug, Clone, PartialEq)]
pub struct EnasSpace {
    pub config: EnasSpaceConfig,
}

const OPS: usize = EnasOp::ALL.len();

/// The layers a rollout stands for.
pub fn layers_of(r: &Rollout) -> EnasLayers {
    let mut layers = Vec::new();
    let mut k = 0;
    while k < r.0.len() {
        let l = layers.len();
        let op = EnasOp::ALL[r.0[k]];
        let flags = &r.0[k + 1..(k + 1 + l).min(r.0.len())];
        let skips = (0..flags.len()).filter(|&i| flags[i] == 1).collect();
        layers.push(EnasLayer {
            op: EnasOpName(op),
            skips,
        });
        k += 1 + l;
    }
    EnasLayers(layers)
}

fn rollout_of(layers: &EnasLayers) -> Rollout {
    let mut d = Vec::new();
    for (l, layer) in layers.0.iter().enumerate() {
        d.push(layer.op.0.id());
        d.extend((0..l).map(|i| usize::from(layer.skips.contains(&i))));
    }
    Rollout(d)
}

impl EnasSpace {
    /// Options of each decision, in rollout order.
    fn options(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for l in 0..self.config.layers {
            out.push(OPS);
            out.extend(std::iter::repeat_n(2, l));
        }
        out
    }

    /// The network a rollout stands for at the configured C.
    pub fn network(&self, r: &Rollout) -> EnasMacroNetwork {
        EnasMacroNetwork {
            layers: layers_of(r).0,
            channels: self.config.channels,
        }
    }
}

impl Space for EnasSpace {
    fn name(&self) -> &'static str {
        "enas"
    }

    /// One anchored block per layer: its operation, then (by anchor-point attention) its skip
    /// flags, the operation group shared by every layer as in the released controller.
    fn schema(&self, _sampled: usize) -> Option<Schema> {
        Some(Schema {
            groups: vec![TokenGroup {
                name: "enas_op".into(),
                options: OPS,
            }],
            blocks: (0..self.config.layers)
                .map(|_| Block {
                    tokens: vec![0],
                    anchor: true,
                })
                .collect(),
        })
    }

    /// Each operation uniformly, each skip with probability 1/2.
    fn sample(&self, _sampled: usize, rng: &mut SeededRng) -> Rollout {
        Rollout(
            self.options()
                .iter()
                .map(|&n| rng.random_range(0..n))
                .collect(),
        )
    }

    /// One layer's operation changed, or one skip added or removed.
    fn mutate(&self, parent: &Rollout, rng: &mut SeededRng) -> Rollout {
        mutate_one(parent, &self.options(), rng)
    }

    fn check(&self, r: &Rollout) -> Result<(), String> {
        self.schema(0).expect("always").check(r)
    }

    fn canonical(&self, r: &Rollout) -> String {
        layers_of(r).to_string()
    }

    fn parse(&self, name: &str) -> Result<Rollout, String> {
        let layers: EnasLayers = name.parse()?;
        if layers.0.len() != self.config.layers {
            return Err(format!(
                "'{name}': {} layers, this space has {} (enas_space.layers)",
                layers.0.len(),
                self.config.layers
            ));
        }
        Ok(rollout_of(&layers))
    }

    fn architecture(&self, r: &Rollout, input: [usize; 3], classes: usize) -> Architecture {
        Architecture::enas_macro(input, classes, self.network(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollouts_and_layers_convert_both_ways() {
        let space = EnasSpace {
            config: EnasSpaceConfig {
                layers: 4,
                channels: 8,
            },
        };
        let name = "conv_3x3|sep_conv_5x5+0|max_pool_3x3|avg_pool_3x3+0+2";
        let r = space.parse(name).unwrap();
        assert_eq!(r.0, vec![0, 3, 1, 4, 0, 0, 5, 1, 0, 1]);
        assert_eq!(space.canonical(&r), name);
        space.check(&r).unwrap();
        assert_eq!(space.schema(0).unwrap().decisions(), r.0.len());
        assert!(
            space
                .parse("conv_3x3|conv_5x5")
                .unwrap_err()
                .contains("2 layers")
        );
    }
}
