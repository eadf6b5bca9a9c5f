//! What training a network will need, estimated from its architecture alone, before any buffer
//! is allocated: parameters with their gradients and momentum, activations with their
//! gradients and packed copies (the values a compiled `Plan` places, counted without reuse, so
//! an upper bound of its `planned_bytes`), kernel scratch (asked of the conv launchers' own
//! rules), and the host's copies. Every size is f64 so that no file value can overflow it.
//!
//! `train`, the search's check of its space and the scratch evaluator's per-child planning all
//! use this one estimate, and refuse naming the field that asks for too much.

use crate::device::{Gpu, MemoryBudget, estimated_bytes};
use crate::kernels::conv2d::{Conv2dShape, Conv2dSpec, training_scratch_bytes};
use crate::nn::arch::Architecture;
use crate::nn::darts_cell::{DARTS_NODES, DartsNetwork, DartsOp, STEM_MULTIPLIER};
use crate::nn::enas_macro::EnasMacroNetwork;
use crate::nn::nb201::{NB201_EDGES, Nb201Network, Nb201Op};

/// Host bytes per recorded node (the node, its values, launches and bind groups), a generous
/// round figure: it only matters for networks of many thousands of layers.
const HOST_BYTES_PER_NODE: f64 = 4096.0;
/// Recorded nodes per conv block in a training step (forward, backward, update), roughly.
const NODES_PER_CONV: f64 = 24.0;
/// Beyond this a buffer is refused anyway; kernel rules are not asked about absurd shapes
/// (their usize arithmetic is sized for real ones).
const SANE_BYTES: f64 = (1u64 << 40) as f64;

/// One buffer of the estimate: what it is and the field that sizes it.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimatedBuffer {
    pub what: String,
    pub field: String,
    /// The field's value as the message shows it.
    pub value: String,
    pub bytes: f64,
}

/// The estimate for one network at one batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    pub batch: usize,
    /// Trainable values.
    pub parameters: f64,
    /// Parameters, their gradients and momentum, batch-norm running statistics.
    pub parameter_bytes: f64,
    /// Activations and their gradients, packed copies, without buffer reuse.
    pub activation_bytes: f64,
    /// Kernel scratch (packed weights, weight-gradient partial sums).
    pub scratch_bytes: f64,
    /// Host memory: initial values, read-back weights, the recorded graph.
    pub host_bytes: f64,
    /// The largest single buffer.
    pub largest: EstimatedBuffer,
    /// The field whose layers account for the most bytes, and how to describe it.
    pub main_field: (String, String),
}

/// A network the device or host cannot hold: the field to blame, its value, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub field: String,
    pub value: String,
    pub reason: String,
}

impl Refusal {
    /// `value reason`, as it follows the field in a message.
    pub fn message(&self) -> String {
        format!("{} {}", self.value, self.reason)
    }
}

/// Accumulates a network's buffers, attributing bytes to fields.
struct Tally<'a> {
    gpu: &'a Gpu,
    n: f64,
    batch: usize,
    footprint: Footprint,
    by_field: Vec<(String, String, f64)>,
    nodes: f64,
}

impl<'a> Tally<'a> {
    fn new(gpu: &'a Gpu, batch: usize) -> Tally<'a> {
        Tally {
            gpu,
            n: batch as f64,
            batch,
            footprint: Footprint {
                batch,
                parameters: 0.0,
                parameter_bytes: 0.0,
                activation_bytes: 0.0,
                scratch_bytes: 0.0,
                host_bytes: 0.0,
                largest: EstimatedBuffer {
                    what: String::new(),
                    field: String::new(),
                    value: String::new(),
                    bytes: 0.0,
                },
                main_field: (String::new(), String::new()),
            },
            by_field: Vec::new(),
            nodes: 0.0,
        }
    }

    fn buffer(&mut self, field: &str, value: &str, what: String, bytes: f64) {
        if bytes > self.footprint.largest.bytes {
            self.footprint.largest = EstimatedBuffer {
                what,
                field: field.to_string(),
                value: value.to_string(),
                bytes,
            };
        }
    }

    fn attribute(&mut self, field: &str, describe: &str, bytes: f64) {
        match self.by_field.iter_mut().find(|(f, _, _)| f == field) {
            Some(entry) => entry.2 += bytes,
            None => self
                .by_field
                .push((field.to_string(), describe.to_string(), bytes)),
        }
    }

    /// `count` activations of `floats` each per image, with their gradients.
    fn activations(&mut self, field: &str, describe: &str, what: String, floats: f64, count: f64) {
        let bytes = 4.0 * self.n * floats;
        self.buffer(field, describe, what, bytes);
        self.footprint.activation_bytes += 2.0 * count * bytes;
        self.attribute(field, describe, 2.0 * count * bytes);
    }

    /// A parameter tensor of `values` (with its gradient and momentum).
    fn parameter(&mut self, field: &str, describe: &str, what: String, values: f64) {
        self.buffer(field, describe, what, 4.0 * values);
        self.footprint.parameters += values;
        self.footprint.parameter_bytes += 3.0 * 4.0 * values;
        self.attribute(field, describe, 12.0 * values);
    }

    /// A conv whose block keeps `outputs` activations of the output's size (conv, then batch
    /// norm and relu when more than one), with the packed copies and scratch of its training
    /// step; a block of more than one output has a batch norm.
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        field: &str,
        describe: &str,
        name: &str,
        [cin, cout]: [f64; 2],
        [kh, kw]: [usize; 2],
        stride: usize,
        [h, w]: [f64; 2],
        outputs: f64,
    ) {
        let (oh, ow) = (
            (h / stride as f64).ceil().max(1.0),
            (w / stride as f64).ceil().max(1.0),
        );
        let taps = (kh * kw) as f64;
        self.parameter(
            field,
            describe,
            format!("{name}'s weights [{cout}, {cin}, {kh}, {kw}]"),
            cout * cin * taps,
        );
        if outputs > 1.0 {
            self.norm(field, describe, name, cout);
        }
        self.activations(
            field,
            describe,
            format!(
                "{name}'s output [{}, {cout}, {oh}, {ow}] at batch {}",
                self.batch, self.batch
            ),
            cout * oh * ow,
            outputs,
        );
        let ceil4 = |c: f64| (c / 4.0).ceil() * 4.0;
        let packed = 4.0 * self.n * (ceil4(cin) * h * w + ceil4(cout) * oh * ow);
        self.footprint.activation_bytes += packed;
        self.attribute(field, describe, packed);
        let weights = 4.0 * cout * cin * taps;
        let out = 4.0 * self.n * cout * oh * ow;
        if weights < SANE_BYTES && out < SANE_BYTES {
            let shape = Conv2dShape {
                n: self.batch,
                cin: cin as usize,
                cout: cout as usize,
                in_hw: [h as usize, w as usize],
                spec: Conv2dSpec {
                    kernel: [kh, kw],
                    stride: [stride; 2],
                },
            };
            let scratch = training_scratch_bytes(self.gpu, &shape);
            self.footprint.scratch_bytes += scratch;
            self.attribute(field, describe, scratch);
        } else {
            self.footprint.scratch_bytes += 2.0 * weights;
            self.attribute(field, describe, 2.0 * weights);
        }
        self.nodes += NODES_PER_CONV;
    }

    /// The footprint, blaming the field with the most bytes; a `layers[i]` field that holds
    /// less than half of them is blamed as `many` instead (many similar layers together).
    /// A batch norm over `channels`: scale and shift (trained), running mean and variance.
    fn norm(&mut self, field: &str, describe: &str, name: &str, channels: f64) {
        self.parameter(
            field,
            describe,
            format!("{name}'s batch norm"),
            2.0 * channels,
        );
        self.footprint.parameter_bytes += 2.0 * 4.0 * channels;
    }

    fn finish(mut self, many: Option<(&str, String)>) -> Footprint {
        let f = &mut self.footprint;
        // The host builds each parameter's initial values before uploading it, reads the
        // weights back to save them, and holds the recorded graph.
        f.host_bytes = 4.0 * f.parameters
            + f.largest.bytes.min(4.0 * f.parameters)
            + HOST_BYTES_PER_NODE * self.nodes;
        let total: f64 = self.by_field.iter().map(|e| e.2).sum();
        self.by_field.sort_by(|a, b| b.2.total_cmp(&a.2));
        if let Some((field, describe, bytes)) = self.by_field.into_iter().next() {
            f.main_field = match many {
                Some((all, label)) if field.starts_with("layers[") && 2.0 * bytes < total => {
                    (all.to_string(), label)
                }
                _ => (field, describe),
            };
        }
        self.footprint
    }
}

impl Footprint {
    /// The estimate for training `arch` at `batch` images per step on `gpu`.
    pub fn training(gpu: &Gpu, arch: &Architecture, batch: usize) -> Footprint {
        if let Some(net) = &arch.enas {
            return enas_macro(gpu, arch, net, batch);
        }
        match (&arch.nb201, &arch.darts) {
            (Some(net), _) => cells(gpu, arch, net, batch),
            (None, Some(net)) => darts_cells(gpu, arch, net, batch),
            (None, None) => layers(gpu, arch, batch),
        }
    }

    /// Bytes on the device.
    pub fn device_bytes(&self) -> f64 {
        self.parameter_bytes + self.activation_bytes + self.scratch_bytes
    }

    /// Whether the estimate fits `budget`; else the field to blame and a message with both sizes.
    pub fn check(&self, budget: &MemoryBudget) -> Result<(), Refusal> {
        if let Some(why) = budget.refuse_buffer(self.largest.bytes) {
            return Err(Refusal {
                field: self.largest.field.clone(),
                value: self.largest.value.clone(),
                reason: format!("makes {} {why}", self.largest.what),
            });
        }
        if let Some(why) = budget.refuse_total(self.device_bytes(), self.host_bytes) {
            let (field, describe) = &self.main_field;
            return Err(Refusal {
                field: field.clone(),
                value: describe.clone(),
                reason: format!(
                    "is too much: training at batch {} {why} (parameters with gradients and momentum {}, activations and gradients {}, kernel scratch {})",
                    self.batch,
                    estimated_bytes(self.parameter_bytes),
                    estimated_bytes(self.activation_bytes),
                    estimated_bytes(self.scratch_bytes)
                ),
            });
        }
        Ok(())
    }
}

/// A NAS-RL macro network: conv -> batch norm -> relu per layer, concatenated inputs.
fn layers(gpu: &Gpu, arch: &Architecture, batch: usize) -> Footprint {
    let mut t = Tally::new(gpu, batch);
    let n_layers = arch.layers.len();
    // One layer that dominates is named; many similar layers are blamed together.
    let all = format!("{n_layers} layers");
    let [c0, h0, w0] = arch.input.map(|d| d as f64);
    let mut sizes: Vec<[f64; 2]> = Vec::with_capacity(n_layers);
    let mut used = vec![false; n_layers];
    for (i, layer) in arch.layers.iter().enumerate() {
        let field = format!("layers[{i}].filters");
        let describe = format!("{}", layer.filters);
        let (cin, [h, w]) = if layer.inputs.is_empty() {
            (c0, [h0, w0])
        } else {
            let mut cin = 0.0;
            let mut hw = [0.0f64; 2];
            for &j in &layer.inputs {
                used[j] = true;
                cin += arch.layers[j].filters as f64;
                hw = [hw[0].max(sizes[j][0]), hw[1].max(sizes[j][1])];
            }
            t.activations(
                &field,
                &describe,
                format!(
                    "layer {i}'s concatenated input [{batch}, {cin}, {}, {}] at batch {batch}",
                    hw[0], hw[1]
                ),
                cin * hw[0] * hw[1],
                1.0,
            );
            (cin, hw)
        };
        t.conv(
            &field,
            &describe,
            &format!("layer{i}.conv"),
            [cin, layer.filters as f64],
            [layer.filter_height, layer.filter_width],
            layer.stride,
            [h, w],
            3.0,
        );
        let s = layer.stride.max(1) as f64;
        sizes.push([(h / s).ceil().max(1.0), (w / s).ceil().max(1.0)]);
    }
    let finals: Vec<usize> = (0..n_layers).filter(|&i| !used[i]).collect();
    let features: f64 = finals.iter().map(|&i| arch.layers[i].filters as f64).sum();
    let [fh, fw] = finals.iter().fold([0.0f64; 2], |a, &i| {
        [a[0].max(sizes[i][0]), a[1].max(sizes[i][1])]
    });
    t.activations(
        "layers",
        &all,
        format!("the final feature map [{batch}, {features}, {fh}, {fw}] at batch {batch}"),
        features * fh * fw,
        1.0,
    );
    t.parameter(
        "classes",
        &format!("{}", arch.classes),
        format!("the classifier's weights [{features}, {}]", arch.classes),
        (features + 1.0) * arch.classes as f64,
    );
    t.finish(Some(("layers", all)))
}

/// A NAS-Bench-201 cell network: stem, three stages of cells, two reduction blocks.
fn cells(gpu: &Gpu, arch: &Architecture, net: &Nb201Network, batch: usize) -> Footprint {
    let mut t = Tally::new(gpu, batch);
    let field = "nb201.channels";
    let describe = format!(
        "{} (with {} cells per stage)",
        net.channels, net.cells_per_stage
    );
    let [cin, h, w] = arch.input;
    let channels = net.stage_channels().map(|c| c as f64);
    let sizes = Nb201Network::stage_sizes([h, w]).map(|s| s.map(|d| d as f64));
    t.conv(
        field,
        &describe,
        "stem",
        [cin as f64, channels[0]],
        [3, 3],
        1,
        sizes[0],
        2.0,
    );
    for stage in 0..3 {
        let c = channels[stage];
        let [sh, sw] = sizes[stage];
        if stage > 0 {
            let (a, hw) = (channels[stage - 1], sizes[stage - 1]);
            let name = format!("reduction{stage}");
            t.conv(field, &describe, &name, [a, c], [3, 3], 2, hw, 3.0);
            t.conv(field, &describe, &name, [c, c], [3, 3], 1, [sh, sw], 3.0);
            // The 1x1 shortcut conv has no batch norm; its pooled input and the sum follow.
            t.conv(field, &describe, &name, [a, c], [1, 1], 1, [sh, sw], 1.0);
            t.activations(
                field,
                &describe,
                name.clone(),
                a * sh * sw + c * sh * sw,
                1.0,
            );
        }
        for cell in 0..net.cells_per_stage {
            for (edge, op) in NB201_EDGES.iter().zip(net.genotype.0) {
                let name = format!("stage{stage}.cell{cell}.edge{}-{}", edge.0, edge.1);
                match op {
                    Nb201Op::NorConv1x1 | Nb201Op::NorConv3x3 => {
                        let k = if op == Nb201Op::NorConv1x1 { 1 } else { 3 };
                        t.conv(field, &describe, &name, [c, c], [k, k], 1, [sh, sw], 3.0)
                    }
                    Nb201Op::AvgPool3x3 => t.activations(field, &describe, name, c * sh * sw, 1.0),
                    Nb201Op::SkipConnect | Nb201Op::None => {}
                }
            }
            // Each of the three inner nodes sums its edges.
            t.activations(field, &describe, "a node sum".into(), c * sh * sw, 3.0);
        }
    }
    let [fh, fw] = sizes[2];
    t.norm(field, &describe, "the final", channels[2]);
    t.activations(
        field,
        &describe,
        "the final feature map".into(),
        channels[2] * fh * fw,
        2.0,
    );
    t.parameter(
        "classes",
        &format!("{}", arch.classes),
        format!(
            "the classifier's weights [{}, {}]",
            channels[2], arch.classes
        ),
        (channels[2] + 1.0) * arch.classes as f64,
    );
    t.finish(None)
}

/// A DARTS cell network: stem, cells (preprocessing, two operations per node, node sums, the
/// concatenated output), classifier. A depthwise conv counts as its weights plus its ReLU input
/// and output; each pointwise conv as a 1x1 conv block with batch norm.
fn darts_cells(gpu: &Gpu, arch: &Architecture, net: &DartsNetwork, batch: usize) -> Footprint {
    let mut t = Tally::new(gpu, batch);
    let field = "darts.channels";
    let describe = format!("{} (with {} cells)", net.channels, net.cells);
    let [cin, h, w] = arch.input;
    let size = |s: [usize; 2]| s.map(|d| d as f64);
    let stem = (STEM_MULTIPLIER * net.channels) as f64;
    t.conv(
        field,
        &describe,
        "stem",
        [cin as f64, stem],
        [3, 3],
        1,
        size([h, w]),
        2.0,
    );
    let mut s0_size = [h, w];
    for (i, p) in net.places([h, w]).iter().enumerate() {
        let name = format!("cell{i}");
        let c = p.c as f64;
        let [oh, ow] = size(p.size_out);
        let pre0_stride = if p.reduction_prev { 2 } else { 1 };
        let (cpp, cp) = (p.c_prev_prev as f64, p.c_prev as f64);
        t.conv(
            field,
            &describe,
            &name,
            [cpp, c],
            [1, 1],
            pre0_stride,
            size(s0_size),
            3.0,
        );
        t.conv(
            field,
            &describe,
            &name,
            [cp, c],
            [1, 1],
            1,
            size(p.size_in),
            3.0,
        );
        let genotype = if p.reduction {
            &net.genotype.reduce
        } else {
            &net.genotype.normal
        };
        for (_, e) in genotype.edges() {
            let stride = if p.reduction && e.input < 2 { 2 } else { 1 };
            let at = if e.input < 2 {
                size(p.size_in)
            } else {
                [oh, ow]
            };
            let op = format!("{name}'s {}", e.op.name());
            let units = match e.op {
                DartsOp::SepConv3x3 | DartsOp::SepConv5x5 => 2,
                DartsOp::DilConv3x3 | DartsOp::DilConv5x5 => 1,
                DartsOp::SkipConnect if stride == 2 => {
                    t.conv(field, &describe, &op, [c, c], [1, 1], 2, at, 3.0);
                    0
                }
                DartsOp::MaxPool3x3 | DartsOp::AvgPool3x3 => {
                    t.activations(field, &describe, op.clone(), c * oh * ow, 1.0);
                    0
                }
                DartsOp::SkipConnect => 0,
            };
            let k = e.op.conv_kernel().unwrap_or(0) as f64;
            for _ in 0..units {
                t.parameter(
                    field,
                    &describe,
                    format!("{op}'s depthwise weights"),
                    c * k * k,
                );
                t.activations(field, &describe, op.clone(), c * at[0] * at[1], 1.0);
                t.activations(field, &describe, op.clone(), c * oh * ow, 1.0);
                t.conv(field, &describe, &op, [c, c], [1, 1], 1, [oh, ow], 2.0);
            }
        }
        let nodes = DARTS_NODES as f64;
        t.activations(
            field,
            &describe,
            format!("{name}'s node sums"),
            c * oh * ow,
            nodes,
        );
        t.activations(
            field,
            &describe,
            format!(
                "{name}'s output [{batch}, {}, {oh}, {ow}] at batch {batch}",
                nodes * c
            ),
            nodes * c * oh * ow,
            1.0,
        );
        s0_size = p.size_in;
    }
    let features = net.features() as f64;
    t.parameter(
        "classes",
        &format!("{}", arch.classes),
        format!("the classifier's weights [{features}, {}]", arch.classes),
        (features + 1.0) * arch.classes as f64,
    );
    t.finish(None)
}

/// An ENAS macro network: stem, per layer its branch (1x1 conv block, then a conv block, a
/// depthwise + pointwise pair or a pool), the sum and its batch norm, the factorized
/// reductions its skips use, classifier.
fn enas_macro(gpu: &Gpu, arch: &Architecture, net: &EnasMacroNetwork, batch: usize) -> Footprint {
    let mut t = Tally::new(gpu, batch);
    let field = "enas.channels";
    let describe = format!("{} (with {} layers)", net.channels, net.layers.len());
    let [cin, h, w] = arch.input;
    let shape = net.shape();
    let mut size = [h as f64, w as f64];
    let c0 = net.channels as f64;
    t.conv(
        field,
        &describe,
        "stem",
        [cin as f64, c0],
        [3, 3],
        1,
        size,
        2.0,
    );
    for (l, layer) in net.layers.iter().enumerate() {
        let name = format!("layer{l}");
        let c = shape.channels[l] as f64;
        let pixels = size[0] * size[1];
        t.conv(field, &describe, &name, [c, c], [1, 1], 1, size, 3.0);
        let op = layer.op.0;
        match op.kernel() {
            None => t.activations(field, &describe, name.clone(), c * pixels, 1.0),
            Some(k) if op.separable() => {
                t.parameter(
                    field,
                    &describe,
                    format!("{name}'s depthwise weights"),
                    c * (k * k) as f64,
                );
                t.activations(field, &describe, name.clone(), c * pixels, 1.0);
                t.conv(field, &describe, &name, [c, c], [1, 1], 1, size, 3.0);
            }
            Some(k) => t.conv(field, &describe, &name, [c, c], [k, k], 1, size, 3.0),
        }
        t.norm(field, &describe, &name, c);
        t.activations(field, &describe, format!("{name}'s sum"), c * pixels, 2.0);
        if shape.reduce_after.contains(&l) {
            let half = size.map(|d| (d / 2.0).ceil());
            for i in (0..=l).filter(|&i| net.reduced_needed(l, i)) {
                let fr = format!("layer{i}'s reduction after layer{l}");
                t.activations(field, &describe, fr.clone(), c * pixels, 1.0);
                t.conv(field, &describe, &fr, [c, c], [1, 1], 2, size, 1.0);
                t.conv(field, &describe, &fr, [c, c], [1, 1], 2, size, 1.0);
                t.norm(field, &describe, &fr, 2.0 * c);
                t.activations(field, &describe, fr, 2.0 * c * half[0] * half[1], 2.0);
            }
            size = half;
        }
    }
    // No reduction follows the last layer (`EnasMacroNetwork::shape_of`).
    let features = *shape.channels.last().expect("one layer") as f64;
    t.parameter(
        "classes",
        &format!("{}", arch.classes),
        format!("the classifier's weights [{features}, {}]", arch.classes),
        (features + 1.0) * arch.classes as f64,
    );
    t.finish(None)
}

/// Refuses to train `arch` at `batch` on `gpu` when the estimate does not fit what the device
/// and the host can hold now; `source` names the architecture (its file) in the error.
pub fn check_training(
    gpu: &Gpu,
    arch: &Architecture,
    batch: usize,
    source: &str,
) -> Result<Footprint, crate::nn::ArchError> {
    let footprint = Footprint::training(gpu, arch, batch);
    footprint
        .check(&MemoryBudget::of(gpu))
        .map_err(|r| crate::nn::ArchError {
            source: source.to_string(),
            message: r.message(),
            field: r.field,
        })?;
    Ok(footprint)
}
