//! NAS-RL's macro space (Zoph & Le 2017): a stack of conv layers, each with a filter height,
//! width and count (and stride when searched), and skip connections from any earlier layer
//! chosen through anchor points. The depth grows during a search. Defaults reproduce the
//! paper's CIFAR-10 space; the configuration's `space` section holds these fields.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Block, Rollout, Schema, Space, TokenGroup};
use crate::nn::arch::{Architecture, LayerSpec, MAX_FILTER, MAX_STRIDE};
use crate::search::ConfigError;
use crate::util::SeededRng;

/// Deepest macro space a configuration may describe (NAS-RL grows to 15 layers; tens of
/// thousands of layers was a 40 GB abort before this bound).
pub const MAX_SPACE_LAYERS: usize = 2048;

/// Choice lists and the depth schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MacroSpace {
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

impl Default for MacroSpace {
    fn default() -> Self {
        MacroSpace {
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

/// A macro rollout as layers: a choice index per categorical token and, per layer, which
/// earlier layers feed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decisions {
    /// `tokens[layer][k]` indexes the choice list of `MacroSpace::token_kinds()[k]`.
    pub tokens: Vec<Vec<usize>>,
    /// `skips[layer][j]` for `j < layer`: layer j is an input of this layer.
    pub skips: Vec<Vec<bool>>,
}

impl MacroSpace {
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
        self.layers
            .saturating_add(increases.saturating_mul(self.depth_increment))
            .min(self.max_layers)
    }

    /// Checks every field; errors name the field (`space.filter_heights[2]`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: &str, message: String| {
            Err(ConfigError::field(format!("space.{field}"), message))
        };
        if self.layers == 0 {
            return err("layers", "0 (need at least 1)".into());
        }
        // Schemas and architectures are built per depth; beyond this their size alone (the
        // skip decisions grow with depth squared) exhausts the host before any estimate.
        for (name, value) in [("layers", self.layers), ("max_layers", self.max_layers)] {
            if value > MAX_SPACE_LAYERS {
                return err(
                    name,
                    format!("{value} is more than the limit of {MAX_SPACE_LAYERS} layers"),
                );
            }
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

    /// The depth a rollout of `n` decisions stands for, if any.
    fn depth_of(&self, n: usize) -> Option<usize> {
        (1..=self.max_layers).find(|&depth| self.decisions_per_depth(depth) == n)
    }

    /// Decisions of one architecture of `depth` layers.
    fn decisions_per_depth(&self, depth: usize) -> usize {
        let skips = if self.skip_connections {
            depth * depth.saturating_sub(1) / 2
        } else {
            0
        };
        depth * self.token_kinds().len() + skips
    }

    /// The schema of `depth` layers: per layer its tokens, then its anchor point.
    fn schema_of(&self, depth: usize) -> Schema {
        let kinds = self.token_kinds();
        let groups = kinds
            .iter()
            .map(|&k| TokenGroup {
                name: format!("{k:?}").to_lowercase(),
                options: self.choices(k).len(),
            })
            .collect();
        let block = Block {
            tokens: (0..kinds.len()).collect(),
            anchor: self.skip_connections,
        };
        Schema {
            groups,
            blocks: vec![block; depth],
        }
    }

    /// The rollout as layers (the order the controller emits: per layer its tokens, then one
    /// skip flag per earlier layer when skip connections are searched).
    pub fn decisions(&self, r: &Rollout) -> Decisions {
        let kinds = self.token_kinds().len();
        let depth = self.depth_of(r.0.len()).unwrap_or(0);
        let mut ids = r.0.iter().copied();
        let mut d = Decisions {
            tokens: Vec::with_capacity(depth),
            skips: Vec::with_capacity(depth),
        };
        for layer in 0..depth {
            d.tokens.push(ids.by_ref().take(kinds).collect());
            d.skips.push(if self.skip_connections {
                ids.by_ref().take(layer).map(|id| id != 0).collect()
            } else {
                vec![false; layer]
            });
        }
        d
    }

    /// The rollout of layered decisions (the inverse of `decisions`).
    pub fn rollout(&self, d: &Decisions) -> Rollout {
        let mut out = Vec::new();
        for (tokens, skips) in d.tokens.iter().zip(&d.skips) {
            out.extend(tokens);
            if self.skip_connections {
                out.extend(skips.iter().map(|&s| s as usize));
            }
        }
        Rollout(out)
    }

    /// The architecture layered decisions stand for. Without skip connections each layer
    /// reads the previous one (the first reads the image); with them, the sampled set (an
    /// empty set means the image).
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
        Architecture::layered(input, classes, layers)
    }
}

impl Space for MacroSpace {
    fn name(&self) -> &'static str {
        "macro"
    }

    fn schema(&self, sampled: usize) -> Option<Schema> {
        Some(self.schema_of(self.depth_after(sampled)))
    }

    /// Tokens of every layer first, then the skip flags (probability 1/2 each): the draw
    /// order of the random search before the search was split into parts, kept so that a
    /// seed gives the same architectures.
    fn sample(&self, sampled: usize, rng: &mut SeededRng) -> Rollout {
        let depth = self.depth_after(sampled);
        let kinds = self.token_kinds();
        let tokens = (0..depth)
            .map(|_| {
                kinds
                    .iter()
                    .map(|&k| rng.random_range(0..self.choices(k).len()))
                    .collect()
            })
            .collect();
        let skips = (0..depth)
            .map(|i| {
                (0..i)
                    .map(|_| self.skip_connections && rng.random_bool(0.5))
                    .collect()
            })
            .collect();
        self.rollout(&Decisions { tokens, skips })
    }

    /// One decision (a token or a skip flag) changed to another of its choices.
    fn mutate(&self, parent: &Rollout, rng: &mut SeededRng) -> Rollout {
        let options = self
            .depth_of(parent.0.len())
            .map(|d| self.schema_of(d).options())
            .unwrap_or_default();
        mutate_one(parent, &options, rng)
    }

    fn check(&self, r: &Rollout) -> Result<(), String> {
        let depth = self.depth_of(r.0.len()).ok_or_else(|| {
            format!(
                "{} decisions is no depth of this space (depth 1..={} layers)",
                r.0.len(),
                self.max_layers
            )
        })?;
        self.schema_of(depth).check(r)
    }

    /// `k3x5-c24-s1-i[0,2]` per layer, joined by `/`.
    fn canonical(&self, r: &Rollout) -> String {
        let arch = self.architecture(r, [1, 1, 1], 2);
        arch.layers
            .iter()
            .map(|l| {
                let inputs: Vec<String> = l.inputs.iter().map(|i| i.to_string()).collect();
                format!(
                    "k{}x{}-c{}-s{}-i[{}]",
                    l.filter_height,
                    l.filter_width,
                    l.filters,
                    l.stride,
                    inputs.join(",")
                )
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    fn parse(&self, name: &str) -> Result<Rollout, String> {
        let kinds = self.token_kinds();
        let layers: Vec<&str> = name.split('/').collect();
        let mut d = Decisions {
            tokens: Vec::new(),
            skips: Vec::new(),
        };
        for (i, text) in layers.iter().enumerate() {
            let bad = || format!("'{name}': layer {i} '{text}' is not k<h>x<w>-c<n>-s<s>-i[..]");
            let parts: Vec<&str> = text.split('-').collect();
            let [k, c, st, inputs] = parts[..] else {
                return Err(bad());
            };
            let (h, w) = k
                .strip_prefix('k')
                .and_then(|k| k.split_once('x'))
                .ok_or_else(bad)?;
            let num = |t: &str| t.parse::<usize>().map_err(|_| bad());
            let values = [
                (TokenKind::FilterHeight, num(h)?),
                (TokenKind::FilterWidth, num(w)?),
                (
                    TokenKind::FilterCount,
                    num(c.strip_prefix('c').ok_or_else(bad)?)?,
                ),
                (
                    TokenKind::Stride,
                    num(st.strip_prefix('s').ok_or_else(bad)?)?,
                ),
            ];
            let mut tokens = Vec::new();
            for (kind, value) in values {
                let pos = self.choices(kind).iter().position(|&v| v == value);
                match (kinds.contains(&kind), pos) {
                    (true, Some(p)) => tokens.push(p),
                    (false, _) if value == self.strides[0] => {}
                    _ => {
                        return Err(format!(
                            "'{name}': layer {i}: {kind:?} {value} is not a choice of this space"
                        ));
                    }
                }
            }
            let list = inputs
                .strip_prefix("i[")
                .and_then(|t| t.strip_suffix(']'))
                .ok_or_else(bad)?;
            let ins: Vec<usize> = if list.is_empty() {
                Vec::new()
            } else {
                list.split(',').map(num).collect::<Result<_, _>>()?
            };
            let skips: Vec<bool> = (0..i).map(|j| ins.contains(&j)).collect();
            if ins.iter().any(|&j| j >= i)
                || (!self.skip_connections && !ins.is_empty() && ins != [i - 1])
            {
                return Err(format!(
                    "'{name}': layer {i}: inputs {ins:?} are not possible here"
                ));
            }
            d.tokens.push(tokens);
            d.skips.push(if self.skip_connections {
                skips
            } else {
                vec![false; i]
            });
        }
        let r = self.rollout(&d);
        self.check(&r).map_err(|m| format!("'{name}': {m}"))?;
        Ok(r)
    }

    fn architecture(&self, r: &Rollout, input: [usize; 3], classes: usize) -> Architecture {
        self.decode(&self.decisions(r), input, classes)
    }
}

/// `parent` with one decision, chosen uniformly among those with more than one option, set to
/// a different choice (uniform). Unchanged when no decision has a choice.
pub(super) fn mutate_one(parent: &Rollout, options: &[usize], rng: &mut SeededRng) -> Rollout {
    let mut child = parent.clone();
    let free: Vec<usize> = (0..options.len()).filter(|&k| options[k] > 1).collect();
    if free.is_empty() || options.len() != parent.0.len() {
        return child;
    }
    let k = free[rng.random_range(0..free.len())];
    let other = rng.random_range(0..options[k] - 1);
    child.0[k] = if other >= parent.0[k] {
        other + 1
    } else {
        other
    };
    child
}
