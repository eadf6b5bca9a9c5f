//! The search space: which tokens the controller emits per layer, and how a token sequence
//! becomes an architecture. Defaults reproduce Zoph & Le's CIFAR-10 space.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::nn::arch::{Architecture, LayerSpec, MAX_FILTER, MAX_STRIDE};

/// Choice lists and the depth schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchSpace {
    /// Depth of the first sampled architectures.
    pub layers: usize,
    /// Layers added at each depth increase (the paper: 2).
    pub depth_increment: usize,
    /// Sampled architectures between depth increases (the paper: 1,600; 0 disables).
    pub depth_increment_every: usize,
    /// Depth never exceeds this (the paper's final networks have 15 layers).
    pub max_layers: usize,
    pub filter_heights: Vec<usize>,
    pub filter_widths: Vec<usize>,
    pub filter_counts: Vec<usize>,
    /// `[1]` in the paper's main space; `[1, 2, 3]` when strides are searched.
    pub strides: Vec<usize>,
    /// Anchor points: each layer picks its inputs among earlier layers.
    pub skip_connections: bool,
}

impl Default for SearchSpace {
    fn default() -> Self {
        SearchSpace {
            layers: 6,
            depth_increment: 2,
            depth_increment_every: 1600,
            max_layers: 15,
            filter_heights: vec![1, 3, 5, 7],
            filter_widths: vec![1, 3, 5, 7],
            filter_counts: vec![24, 36, 48, 64],
            strides: vec![1],
            skip_connections: true,
        }
    }
}

/// The kind of a categorical token; each has its own embedding and softmax head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenKind {
    FilterHeight,
    FilterWidth,
    FilterCount,
    Stride,
}

/// One sampled architecture as the controller sees it: a choice index per categorical token
/// and, per layer, which earlier layers feed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decisions {
    /// `tokens[layer][k]` indexes the choice list of `SearchSpace::token_kinds()[k]`.
    pub tokens: Vec<Vec<usize>>,
    /// `skips[layer][j]` for `j < layer`: layer j is an input of this layer.
    pub skips: Vec<Vec<bool>>,
}

impl SearchSpace {
    /// Token kinds emitted per layer, in order (stride only when there is a choice).
    pub fn token_kinds(&self) -> Vec<TokenKind> {
        let mut kinds = vec![
            TokenKind::FilterHeight,
            TokenKind::FilterWidth,
            TokenKind::FilterCount,
        ];
        if self.strides.len() > 1 {
            kinds.push(TokenKind::Stride);
        }
        kinds
    }

    /// The choice list of a token kind.
    pub fn choices(&self, kind: TokenKind) -> &[usize] {
        match kind {
            TokenKind::FilterHeight => &self.filter_heights,
            TokenKind::FilterWidth => &self.filter_widths,
            TokenKind::FilterCount => &self.filter_counts,
            TokenKind::Stride => &self.strides,
        }
    }

    /// Depth of the architectures sampled after `sampled` earlier ones.
    pub fn depth_after(&self, sampled: usize) -> usize {
        let increases = sampled.checked_div(self.depth_increment_every).unwrap_or(0);
        (self.layers + increases * self.depth_increment).min(self.max_layers)
    }

    /// Checks every field; errors name the field (`space.filter_heights[2]`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: &str, message: String| {
            Err(ConfigError::field(format!("space.{field}"), message))
        };
        if self.layers == 0 {
            return err("layers", "0 (need at least 1)".into());
        }
        if self.max_layers < self.layers {
            return err(
                "max_layers",
                format!("{} is below layers = {}", self.max_layers, self.layers),
            );
        }
        let lists: [(&str, &Vec<usize>, usize, usize); 4] = [
            ("filter_heights", &self.filter_heights, 1, MAX_FILTER),
            ("filter_widths", &self.filter_widths, 1, MAX_FILTER),
            ("filter_counts", &self.filter_counts, 1, 4096),
            ("strides", &self.strides, 1, MAX_STRIDE),
        ];
        for (name, list, lo, hi) in lists {
            if list.is_empty() {
                return err(name, "empty choice list".into());
            }
            for (i, &v) in list.iter().enumerate() {
                if !(lo..=hi).contains(&v) {
                    return err(
                        &format!("{name}[{i}]"),
                        format!("{v} is not in {lo}..={hi}"),
                    );
                }
                if list[..i].contains(&v) {
                    return err(&format!("{name}[{i}]"), format!("{v} is listed twice"));
                }
            }
        }
        Ok(())
    }

    /// Checks that `d` is a decision sequence of `depth` layers in this space: one token per
    /// kind and layer, each a valid choice index, and one skip flag per earlier layer. Decisions
    /// read back from a run directory pass this before they are decoded.
    pub fn check_decisions(&self, d: &Decisions, depth: usize) -> Result<(), String> {
        if d.tokens.len() != depth || d.skips.len() != depth {
            return Err(format!(
                "{} token layers and {} skip layers, expected {depth} (the depth the space samples here)",
                d.tokens.len(),
                d.skips.len()
            ));
        }
        let kinds = self.token_kinds();
        for (i, (tokens, skips)) in d.tokens.iter().zip(&d.skips).enumerate() {
            if tokens.len() != kinds.len() {
                return Err(format!(
                    "tokens[{i}]: {} tokens, expected {}",
                    tokens.len(),
                    kinds.len()
                ));
            }
            for (k, (&token, &kind)) in tokens.iter().zip(&kinds).enumerate() {
                let n = self.choices(kind).len();
                if token >= n {
                    return Err(format!(
                        "tokens[{i}][{k}]: {token} is not one of the {n} {kind:?} choices"
                    ));
                }
            }
            if skips.len() != i {
                return Err(format!("skips[{i}]: {} flags, expected {i}", skips.len()));
            }
        }
        Ok(())
    }

    /// The architecture a decision sequence stands for. Without skip connections each layer
    /// reads the previous one (the first reads the image); with them, the sampled set (an empty
    /// set means the image).
    pub fn decode(&self, d: &Decisions, input: [usize; 3], classes: usize) -> Architecture {
        let kinds = self.token_kinds();
        let layers = d
            .tokens
            .iter()
            .enumerate()
            .map(|(i, tokens)| {
                let pick = |kind: TokenKind| {
                    let k = kinds.iter().position(|&x| x == kind);
                    k.map(|k| self.choices(kind)[tokens[k]])
                };
                let inputs = if self.skip_connections {
                    (0..i).filter(|&j| d.skips[i][j]).collect()
                } else if i == 0 {
                    Vec::new()
                } else {
                    vec![i - 1]
                };
                LayerSpec {
                    filter_height: pick(TokenKind::FilterHeight).expect("always a token"),
                    filter_width: pick(TokenKind::FilterWidth).expect("always a token"),
                    filters: pick(TokenKind::FilterCount).expect("always a token"),
                    stride: pick(TokenKind::Stride).unwrap_or(self.strides[0]),
                    inputs,
                }
            })
            .collect();
        Architecture {
            input,
            classes,
            layers,
            nb201: None,
        }
    }
}
