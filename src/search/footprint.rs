//! What a search will need, estimated from its configuration before any part is built: the
//! controller (parameters with Adam state and its sampling plan at the deepest schema the
//! budget reaches) and the smallest child of the space (if even that cannot be trained, no
//! child can). Children are estimated again one by one, with the same `nn::footprint`, by the
//! scratch evaluator before it builds them.

use crate::device::{Gpu, MemoryBudget};
use crate::nn::darts_cell::{DARTS_NODES, DartsCellGenotype};
use crate::nn::footprint::Footprint;
use crate::nn::{
    Architecture, DartsGenotype, DartsNetwork, DartsOp, EnasLayer, EnasMacroNetwork, EnasOp,
    EnasOpName, LayerSpec, Nb201Genotype, Nb201Network, Nb201Op,
};
use crate::search::config::{ConfigError, EvaluatorKind, SearchConfig, SpaceKind, StrategyKind};
use crate::search::space::{self, Schema};

/// Host bytes per recorded controller node (node, values, launches, bind groups).
const HOST_BYTES_PER_NODE: f64 = 4096.0;

/// Refuses a search whose controller or smallest child cannot fit `budget`, naming the field.
/// `gpu` is None for a search that opens no device; `input`/`classes` are the data's (None for
/// a table search, which trains nothing).
pub fn check_search(
    config: &SearchConfig,
    gpu: Option<&Gpu>,
    data: Option<([usize; 3], usize)>,
) -> Result<(), ConfigError> {
    let budget = gpu.map_or_else(MemoryBudget::host_only, MemoryBudget::of);
    if matches!(
        config.run.strategy,
        StrategyKind::Reinforce | StrategyKind::Ppo
    ) {
        let space = space::build(config);
        if let Some(schema) = space.schema(config.run.budget) {
            check_controller(config, &schema, &budget)?;
        }
    }
    if let (Some(gpu), Some((input, classes))) = (gpu, data) {
        if config.run.evaluator == EvaluatorKind::Supernet {
            check_supernet(config, gpu, input, classes)?;
            return Ok(());
        }
        let arch = smallest_child(config, input, classes);
        Footprint::training(gpu, &arch, config.child.batch_size)
            .check(&budget)
            .map_err(|r| {
                let field = match (config.run.space, r.field.as_str()) {
                    (_, "classes") => "classes of the data".to_string(),
                    (SpaceKind::Macro, f) if f.starts_with("layers[") => {
                        "space.filter_counts".to_string()
                    }
                    (SpaceKind::Macro, _) => "space.layers".to_string(),
                    (SpaceKind::Nb201, f) => f.to_string(),
                    (SpaceKind::Darts, f) => f.replace("darts.", "darts_space."),
                    (SpaceKind::Enas, f) => f.replace("enas.", "enas_space."),
                };
                ConfigError::field(
                    field,
                    format!(
                        "even the smallest child of the space ({}) {} (child.batch_size {})",
                        arch.describe(),
                        r.reason,
                        config.child.batch_size
                    ),
                )
            })?;
    }
    Ok(())
}

/// Mixed edges of a DARTS cell (14) per edge of a path through it (8).
const EDGES_PER_PATH_EDGE: f64 = 14.0 / 8.0;

/// What a weight-sharing search holds on the device: the shared weights with their gradients
/// and momentum, up to `supernet.plan_cache` compiled path steps (each with its activations,
/// gradients and kernel scratch) and the validation pass of one path.
#[derive(Debug, Clone, PartialEq)]
pub struct SupernetFootprint {
    pub shared_parameters: f64,
    /// Shared weights, their gradients and momentum, batch-norm statistics.
    pub parameter_bytes: f64,
    /// The costliest path's step (every edge `nor_conv_3x3`): activations, gradients, scratch.
    pub path_bytes: f64,
    /// Path steps kept compiled.
    pub plans: usize,
    pub host_bytes: f64,
    /// The costliest path's own estimate, for refusals naming its field.
    pub path: Footprint,
}

impl SupernetFootprint {
    /// The estimate for the supernet of `config`'s space on images `input` with `classes`.
    pub fn of(
        gpu: &Gpu,
        config: &SearchConfig,
        input: [usize; 3],
        classes: usize,
    ) -> SupernetFootprint {
        let mut estimate = match config.run.space {
            SpaceKind::Darts => Self::of_darts(gpu, config, input, classes),
            SpaceKind::Enas => Self::of_enas(gpu, config, input, classes),
            SpaceKind::Nb201 | SpaceKind::Macro => Self::of_nb201(gpu, config, input, classes),
        };
        if config.run.strategy == StrategyKind::Darts {
            estimate.mix(gpu, config, input, classes);
        }
        estimate
    }

    /// DARTS's mixed steps instead of path steps: every edge computes every operation, so a
    /// mixed step holds about the sum, over the operations, of the network with that operation
    /// everywhere (an upper figure: it counts the stem and preprocessing once per operation),
    /// the DARTS cells' 14 edges a cell against a path's 8. DARTS keeps its weight step and its
    /// architecture step compiled (second order: three more).
    fn mix(&mut self, gpu: &Gpu, config: &SearchConfig, input: [usize; 3], classes: usize) {
        let batch = config.supernet.batch_size;
        let step = |arch: &Architecture| {
            let f = Footprint::training(gpu, arch, batch);
            f.activation_bytes + f.scratch_bytes
        };
        // The network with `op` everywhere, by operation.
        let nets: Vec<f64> = if config.run.space == SpaceKind::Darts {
            DartsOp::ALL
                .iter()
                .map(|&op| {
                    let cell = DartsCellGenotype::new(&[[(op, 0), (op, 1)]; DARTS_NODES])
                        .expect("valid cell");
                    let net = DartsNetwork {
                        genotype: DartsGenotype {
                            normal: cell,
                            reduce: cell,
                        },
                        channels: config.darts_space.channels,
                        cells: config.darts_space.cells,
                    };
                    step(&Architecture::darts_cells(input, classes, net))
                })
                .collect()
        } else {
            Nb201Op::ALL
                .iter()
                .map(|&op| {
                    let net = Nb201Network {
                        genotype: Nb201Genotype([op; 6]),
                        cells_per_stage: config.nb201.cells_per_stage,
                        channels: config.nb201.channels,
                    };
                    step(&Architecture::cell(input, classes, net))
                })
                .collect()
        };
        // The skeleton (stem, preprocessing, head) once, each operation's edges on top of it:
        // the cheapest network stands for the skeleton.
        let skeleton = nets.iter().copied().fold(f64::INFINITY, f64::min);
        let edges = if config.run.space == SpaceKind::Darts {
            EDGES_PER_PATH_EDGE
        } else {
            1.0
        };
        self.path_bytes = skeleton + edges * nets.iter().map(|b| b - skeleton).sum::<f64>();
        self.plans = if config.darts.order == 2 { 4 } else { 2 };
        // The recorded graphs grow with the operations recorded, as the activations do.
        let recorded =
            self.path_bytes / (self.path.activation_bytes + self.path.scratch_bytes).max(1.0);
        self.host_bytes = self.path.host_bytes * recorded.max(1.0) * (self.plans + 1) as f64;
    }

    /// The NAS-Bench-201 supernet: every conv edge's weights, and the step of the all
    /// `nor_conv_3x3` path.
    fn of_nb201(
        gpu: &Gpu,
        config: &SearchConfig,
        input: [usize; 3],
        classes: usize,
    ) -> SupernetFootprint {
        let with = |op: Nb201Op| {
            let net = Nb201Network {
                genotype: Nb201Genotype([op; 6]),
                cells_per_stage: config.nb201.cells_per_stage,
                channels: config.nb201.channels,
            };
            Footprint::training(
                gpu,
                &Architecture::cell(input, classes, net),
                config.supernet.batch_size,
            )
        };
        // Every parametric operation once: each conv edge's weights plus the skeleton, which
        // the identity-only network holds alone.
        let (conv3, conv1, skeleton) = (
            with(Nb201Op::NorConv3x3),
            with(Nb201Op::NorConv1x1),
            with(Nb201Op::SkipConnect),
        );
        let plans = config.supernet.plan_cache;
        SupernetFootprint {
            shared_parameters: conv3.parameters + conv1.parameters - skeleton.parameters,
            parameter_bytes: conv3.parameter_bytes + conv1.parameter_bytes
                - skeleton.parameter_bytes,
            path_bytes: conv3.activation_bytes + conv3.scratch_bytes,
            plans,
            host_bytes: conv3.host_bytes * (plans + 1) as f64,
            path: conv3,
        }
    }

    /// The DARTS cell space's supernet: its exact parameter count, and the step of the path
    /// `costliest_darts_genotype` (every node two sep_conv_5x5 on the cell's inputs).
    fn of_darts(
        gpu: &Gpu,
        config: &SearchConfig,
        input: [usize; 3],
        classes: usize,
    ) -> SupernetFootprint {
        let net = DartsNetwork {
            genotype: costliest_darts_genotype(),
            channels: config.darts_space.channels,
            cells: config.darts_space.cells,
        };
        let path = Footprint::training(
            gpu,
            &Architecture::darts_cells(input, classes, net.clone()),
            config.supernet.batch_size,
        );
        let shared = net.supernet_parameter_count(input[0], classes) as f64;
        Self::scaled(path, shared, config.supernet.plan_cache)
    }

    /// The ENAS macro supernet: its exact parameter count, and the step of the costliest path
    /// (`costliest_enas_network`).
    fn of_enas(
        gpu: &Gpu,
        config: &SearchConfig,
        input: [usize; 3],
        classes: usize,
    ) -> SupernetFootprint {
        let net = costliest_enas_network(config);
        let shared = net.supernet_parameter_count(input[0], classes) as f64;
        let path = Footprint::training(
            gpu,
            &Architecture::enas_macro(input, classes, net),
            config.supernet.batch_size,
        );
        Self::scaled(path, shared, config.supernet.plan_cache)
    }

    /// The estimate of a supernet of `shared` parameters whose costliest path is `path`: the
    /// path's share of batch-norm statistics scaled up with the parameters (a round upper
    /// figure for the supernet's), `plans` path steps kept compiled.
    fn scaled(path: Footprint, shared: f64, plans: usize) -> SupernetFootprint {
        let parameter_bytes = path.parameter_bytes * shared / path.parameters.max(1.0);
        SupernetFootprint {
            shared_parameters: shared,
            parameter_bytes,
            path_bytes: path.activation_bytes + path.scratch_bytes,
            plans,
            host_bytes: path.host_bytes * (plans + 1) as f64,
            path,
        }
    }

    /// Bytes on the device: the shared weights, the cached path (DARTS: mixed) steps and the
    /// validation pass of one path (counted as a path's whole step, an upper figure).
    pub fn device_bytes(&self) -> f64 {
        // The validation pass runs one path (DARTS included), whatever the compiled steps are.
        let validation = self.path.activation_bytes + self.path.scratch_bytes;
        self.parameter_bytes + self.plans as f64 * self.path_bytes + validation
    }
}

/// The DARTS path with the most work and memory: every node sums two `sep_conv_5x5` of the
/// cell's two inputs (stride 2 in reduction cells, four units per node).
pub fn costliest_darts_genotype() -> DartsGenotype {
    let cell = DartsCellGenotype::new(
        &[[(DartsOp::SepConv5x5, 0), (DartsOp::SepConv5x5, 1)]; DARTS_NODES],
    )
    .expect("valid cell");
    DartsGenotype {
        normal: cell,
        reduce: cell,
    }
}

/// The ENAS macro path with the most work and memory: every layer `conv_5x5`, skipping from
/// every earlier layer (so every factorized reduction runs).
pub fn costliest_enas_network(config: &SearchConfig) -> EnasMacroNetwork {
    EnasMacroNetwork {
        layers: (0..config.enas_space.layers)
            .map(|l| EnasLayer {
                op: EnasOpName(EnasOp::Conv5x5),
                skips: (0..l).collect(),
            })
            .collect(),
        channels: config.enas_space.channels,
    }
}

/// Refuses a supernet whose costliest path, or whose cached path steps together, cannot fit
/// the device, naming the field and both sizes; else returns the estimate.
pub fn check_supernet(
    config: &SearchConfig,
    gpu: &Gpu,
    input: [usize; 3],
    classes: usize,
) -> Result<SupernetFootprint, ConfigError> {
    let budget = MemoryBudget::of(gpu);
    let estimate = SupernetFootprint::of(gpu, config, input, classes);
    let batch = config.supernet.batch_size;
    estimate.path.check(&budget).map_err(|r| {
        let field = match r.field.as_str() {
            "classes" => "classes of the data".to_string(),
            // The architecture's field, as the configuration names it.
            f => f
                .replace("darts.", "darts_space.")
                .replace("enas.", "enas_space."),
        };
        ConfigError::field(
            field,
            format!(
                "{}: the supernet's costliest path ({}) {} (supernet.batch_size {batch})",
                r.value,
                match config.run.space {
                    SpaceKind::Darts => "every node two sep_conv_5x5",
                    SpaceKind::Enas => "every layer conv_5x5 with every skip",
                    SpaceKind::Nb201 | SpaceKind::Macro => "every edge nor_conv_3x3",
                },
                r.reason
            ),
        )
    })?;
    let host = estimate.host_bytes;
    if let Some(why) = budget.refuse_total(estimate.device_bytes(), host) {
        // Would one cached step (and the validation pass) fit? Then the cache is too large.
        let one_plan = estimate.parameter_bytes + 2.0 * estimate.path_bytes;
        let one_host = 2.0 * estimate.path.host_bytes;
        let darts = config.run.strategy == StrategyKind::Darts;
        let field =
            if !darts && estimate.plans > 1 && budget.refuse_total(one_plan, one_host).is_none() {
                "supernet.plan_cache"
            } else {
                match config.run.space {
                    SpaceKind::Darts => "darts_space.channels",
                    SpaceKind::Enas => "enas_space.channels",
                    SpaceKind::Nb201 | SpaceKind::Macro => "nb201.channels",
                }
            };
        return Err(ConfigError::field(
            field,
            format!(
                "{}: the supernet ({} shared parameters, weights with gradients and momentum {}, {} {} of up to {} each, supernet.batch_size {batch}) {why}",
                if field == "supernet.plan_cache" {
                    estimate.plans
                } else {
                    match config.run.space {
                        SpaceKind::Darts => config.darts_space.channels,
                        SpaceKind::Enas => config.enas_space.channels,
                        SpaceKind::Nb201 | SpaceKind::Macro => config.nb201.channels,
                    }
                },
                estimate.shared_parameters as u64,
                crate::device::estimated_bytes(estimate.parameter_bytes),
                estimate.plans,
                if darts {
                    "compiled DARTS steps, every edge mixed,"
                } else {
                    "cached path steps"
                },
                crate::device::estimated_bytes(estimate.path_bytes)
            ),
        ));
    }
    Ok(estimate)
}

/// The cheapest network of the space: its first depth, fewest filters, smallest filters,
/// largest stride, no skip connections (macro); only identity edges (cells).
fn smallest_child(config: &SearchConfig, input: [usize; 3], classes: usize) -> Architecture {
    match config.run.space {
        SpaceKind::Macro => {
            let s = &config.space;
            let min = |v: &[usize]| v.iter().copied().min().unwrap_or(1);
            let layers = (0..s.layers)
                .map(|i| LayerSpec {
                    filter_height: min(&s.filter_heights),
                    filter_width: min(&s.filter_widths),
                    filters: min(&s.filter_counts),
                    stride: s.strides.iter().copied().max().unwrap_or(1),
                    inputs: if i == 0 { Vec::new() } else { vec![i - 1] },
                })
                .collect();
            Architecture::layered(input, classes, layers)
        }
        SpaceKind::Nb201 => Architecture::cell(
            input,
            classes,
            Nb201Network {
                genotype: Nb201Genotype([Nb201Op::SkipConnect; 6]),
                cells_per_stage: config.nb201.cells_per_stage,
                channels: config.nb201.channels,
            },
        ),
        // Identity edges in the normal cell, parameter-free pooling in the reduction cell.
        SpaceKind::Darts => {
            let cell = |op| {
                DartsCellGenotype::new(&[[(op, 0), (op, 1)]; DARTS_NODES]).expect("valid cell")
            };
            Architecture::darts_cells(
                input,
                classes,
                DartsNetwork {
                    genotype: DartsGenotype {
                        normal: cell(DartsOp::SkipConnect),
                        reduce: cell(DartsOp::MaxPool3x3),
                    },
                    channels: config.darts_space.channels,
                    cells: config.darts_space.cells,
                },
            )
        }
        // 3x3 max pools without skips: no factorized reduction beyond the next layer's input.
        SpaceKind::Enas => Architecture::enas_macro(
            input,
            classes,
            EnasMacroNetwork {
                layers: (0..config.enas_space.layers)
                    .map(|_| EnasLayer {
                        op: EnasOpName(EnasOp::MaxPool3x3),
                        skips: Vec::new(),
                    })
                    .collect(),
                channels: config.enas_space.channels,
            },
        ),
    }
}

/// The controller's estimate against `budget`: its largest weight (one LSTM layer), then its
/// whole footprint, blaming the field furthest above its default.
fn check_controller(
    config: &SearchConfig,
    schema: &Schema,
    budget: &MemoryBudget,
) -> Result<(), ConfigError> {
    let c = &config.controller;
    let (h, layers, a) = (c.hidden as f64, c.layers as f64, c.attention as f64);
    let m = config.reinforce.children_per_step as f64;
    // One LSTM layer's weights [input + hidden, 4 hidden] (the input is an embedding of h).
    let lstm_layer = 4.0 * 8.0 * h * h;
    if let Some(why) = budget.refuse_buffer(lstm_layer) {
        return Err(ConfigError::field(
            "controller.hidden",
            format!(
                "{} makes each LSTM layer's weights [{}, {}] {why}",
                c.hidden,
                2 * c.hidden,
                4 * c.hidden
            ),
        ));
    }
    let heads: f64 = schema
        .groups
        .iter()
        .map(|g| 2.0 * g.options as f64 * h + g.options as f64)
        .sum();
    let parameters = layers * (8.0 * h * h + 4.0 * h) + h + heads + 2.0 * (h * a + a) + a + 1.0;
    let tokens: f64 = schema.blocks.iter().map(|b| b.tokens.len() as f64).sum();
    let anchors = schema.decisions() as f64 - tokens;
    let blocks = schema.blocks.len() as f64;
    // Per token and LSTM layer: gates, states and their nonlinearities (~16 m x h values), with
    // gradients; per anchor decision: the attention's projections and score (~6 m x a).
    let plan =
        4.0 * (tokens * layers * 32.0 * m * h + anchors * 12.0 * m * a + blocks * 8.0 * m * a);
    let nodes = tokens * (layers * 12.0 + 10.0) + anchors * 8.0;
    let plans = if config.run.strategy == StrategyKind::Ppo {
        2.0 // the sampling plan and the forced plan of PPO's epochs
    } else {
        1.0
    };
    // Parameters, gradients and Adam's two moments.
    let device = 16.0 * parameters + plans * plan;
    let host = 4.0 * parameters + plans * HOST_BYTES_PER_NODE * nodes;
    let Some(why) = budget.refuse_total(device, host) else {
        return Ok(());
    };
    let defaults = crate::search::config::ControllerConfig::default();
    let mut culprits = vec![
        ("controller.hidden", c.hidden, defaults.hidden),
        ("controller.layers", c.layers, defaults.layers),
        ("controller.attention", c.attention, defaults.attention),
        (
            "reinforce.children_per_step",
            config.reinforce.children_per_step,
            8,
        ),
    ];
    if config.run.space == SpaceKind::Macro {
        culprits.push(("space.max_layers", schema.blocks.len(), 15));
    }
    let (field, value, _) = culprits
        .into_iter()
        .max_by(|x, y| (x.1 as f64 / x.2 as f64).total_cmp(&(y.1 as f64 / y.2 as f64)))
        .expect("culprits listed");
    Err(ConfigError::field(
        field,
        format!(
            "{value}: the controller ({} parameters, {} decisions per architecture, m = {}) {why}",
            parameters as u64,
            schema.decisions(),
            config.reinforce.children_per_step
        ),
    ))
}
