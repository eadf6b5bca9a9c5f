//! ONNX export (opset 17, IR version 8): the lowered graph as a `ModelProto` with the weights
//! as initializers, normalisation as the first two nodes (`Mul`, `Add`) when the input is raw
//! pixels, and the metadata in `metadata_props`. Input `image` is float32 `[N, C, H, W]` with a
//! free batch dimension `N`; output `logits` is `[N, classes]`.
//!
//! Encoded by `protobuf::Message` (field numbers from onnx/onnx.proto). One function per op.

use super::ExportError;
use super::Model;
use super::graph::{Lowered, Node, Op};
use super::protobuf::Message;

/// ONNX opset the nodes are written for.
pub const OPSET: i64 = 17;
/// IR version matching opset 17 (ONNX 1.12).
const IR_VERSION: i64 = 8;

/// TensorProto.DataType values.
const FLOAT: i64 = 1;
const INT64: i64 = 7;

/// AttributeProto.AttributeType values.
const ATTR_FLOAT: i64 = 1;
const ATTR_INT: i64 = 2;
const ATTR_INTS: i64 = 7;

/// Nodes and initializers being collected.
struct Graph<'a> {
    model: &'a Model,
    nodes: Vec<Message>,
    initializers: Vec<Message>,
}

/// A `TensorProto` holding `data` (f32) as raw little-endian bytes.
fn tensor_f32(name: &str, dims: &[usize], data: &[f32]) -> Message {
    let mut t = Message::new();
    t.ints(1, &dims.iter().map(|&d| d as i64).collect::<Vec<_>>())
        .int(2, FLOAT)
        .string(8, name);
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.bytes(9, &raw);
    t
}

fn tensor_i64(name: &str, data: &[i64]) -> Message {
    let mut t = Message::new();
    t.int(1, data.len() as i64).int(2, INT64).string(8, name);
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.bytes(9, &raw);
    t
}

/// An attribute.
enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
}

fn attribute(name: &str, value: &Attr) -> Message {
    let mut a = Message::new();
    a.string(1, name);
    match value {
        Attr::Float(f) => a.float(2, *f).int(20, ATTR_FLOAT),
        Attr::Int(i) => a.int(3, *i).int(20, ATTR_INT),
        Attr::Ints(v) => a.ints(8, v).int(20, ATTR_INTS),
    };
    a
}

/// `ValueInfoProto` of a float tensor `[N, dims...]` with a symbolic batch `N`.
fn value_info(name: &str, dims: &[usize]) -> Message {
    let mut shape = Message::new();
    let mut batch = Message::new();
    batch.string(2, "N");
    shape.message(1, &batch);
    for &d in dims {
        let mut dim = Message::new();
        dim.int(1, d as i64);
        shape.message(1, &dim);
    }
    let mut tensor = Message::new();
    tensor.int(1, FLOAT).message(2, &shape);
    let mut ty = Message::new();
    ty.message(1, &tensor);
    let mut v = Message::new();
    v.string(1, name).message(2, &ty);
    v
}

/// Name of value `v` in the ONNX graph.
fn value_name(lowered: &Lowered, v: usize) -> String {
    if v == 0 {
        "image".into()
    } else if v == lowered.output() {
        "logits".into()
    } else {
        lowered.nodes[v - 1].name.clone()
    }
}

fn usizes(v: &[usize]) -> Attr {
    Attr::Ints(v.iter().map(|&x| x as i64).collect())
}

impl Graph<'_> {
    fn node(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: &[String],
        output: &str,
        attrs: &[(&str, Attr)],
    ) {
        let mut n = Message::new();
        for i in inputs {
            n.string(1, i);
        }
        n.string(2, output).string(3, name).string(4, op_type);
        for (k, v) in attrs {
            n.message(5, &attribute(k, v));
        }
        self.nodes.push(n);
    }

    /// Adds weight tensor `name` (checked against `shape`) as an initializer; returns its name.
    fn weight(&mut self, name: &str, shape: &[usize]) -> Result<String, ExportError> {
        let data = self.model.tensor(name, shape)?;
        self.initializers.push(tensor_f32(name, shape, data));
        Ok(name.to_string())
    }

    fn constant(&mut self, name: &str, shape: &[usize], data: &[f32]) -> String {
        self.initializers.push(tensor_f32(name, shape, data));
        name.to_string()
    }

    fn emit(&mut self, node: &Node, inputs: &[String], output: &str) -> Result<(), ExportError> {
        let name = node.name.as_str();
        match &node.op {
            Op::Normalize { scale, bias } => {
                emit_normalize(self, name, inputs, output, scale, bias)
            }
            Op::Conv {
                weight,
                cin,
                cout,
                kernel,
                stride,
                dilation,
                groups,
                pads,
            } => {
                let w = self.weight(weight, &[*cout, cin / groups, kernel[0], kernel[1]])?;
                emit_conv(
                    self,
                    name,
                    &inputs[0],
                    &w,
                    output,
                    (kernel, stride, dilation, *groups, pads),
                );
            }
            Op::BatchNorm {
                prefix,
                channels,
                eps,
            } => emit_batchnorm(self, name, &inputs[0], output, prefix, *channels, *eps)?,
            Op::Relu => self.node("Relu", name, inputs, output, &[]),
            Op::ConcatPadded { pads } => emit_concat_padded(self, name, inputs, output, pads),
            Op::GlobalAvgPool => emit_global_avg_pool(self, name, &inputs[0], output),
            Op::AvgPool {
                kernel,
                stride,
                pads,
            } => self.node(
                "AveragePool",
                name,
                inputs,
                output,
                &[
                    ("kernel_shape", usizes(kernel)),
                    ("strides", usizes(stride)),
                    ("pads", usizes(pads)),
                    // Divide by the real pixels of a window, as nasgpu's kernel does.
                    ("count_include_pad", Attr::Int(0)),
                ],
            ),
            Op::MaxPool {
                kernel,
                stride,
                pads,
            } => self.node(
                "MaxPool",
                name,
                inputs,
                output,
                // ONNX's max pooling ignores its padding, as nasgpu's kernel does.
                &[
                    ("kernel_shape", usizes(kernel)),
                    ("strides", usizes(stride)),
                    ("pads", usizes(pads)),
                ],
            ),
            Op::Crop { top, left } => {
                // Negative padding removes pixels.
                let pads_name = format!("{name}.pads");
                let (t, l) = (*top as i64, *left as i64);
                self.initializers
                    .push(tensor_i64(&pads_name, &[0, 0, -t, -l, 0, 0, 0, 0]));
                self.node("Pad", name, &[inputs[0].clone(), pads_name], output, &[]);
            }
            Op::Sum => self.node("Sum", name, inputs, output, &[]),
            Op::Zero => {
                let zero = self.constant(&format!("{name}.zero"), &[], &[0.0]);
                self.node("Mul", name, &[inputs[0].clone(), zero], output, &[]);
            }
            Op::Linear {
                prefix,
                inputs: n_in,
                outputs,
            } => emit_linear(self, name, &inputs[0], output, prefix, *n_in, *outputs)?,
        }
        Ok(())
    }
}

/// `x * scale + bias` per channel, as two broadcasting nodes.
fn emit_normalize(
    g: &mut Graph,
    name: &str,
    inputs: &[String],
    output: &str,
    scale: &[f32],
    bias: &[f32],
) {
    let c = scale.len();
    let s = g.constant(&format!("{name}.scale"), &[1, c, 1, 1], scale);
    let b = g.constant(&format!("{name}.bias"), &[1, c, 1, 1], bias);
    let scaled = format!("{name}.scaled");
    g.node(
        "Mul",
        &format!("{name}.mul"),
        &[inputs[0].clone(), s],
        &scaled,
        &[],
    );
    g.node("Add", &format!("{name}.add"), &[scaled, b], output, &[]);
}

type ConvGeometry<'a> = (
    &'a [usize; 2],
    &'a [usize; 2],
    &'a [usize; 2],
    usize,
    &'a [usize; 4],
);

fn emit_conv(g: &mut Graph, name: &str, x: &str, w: &str, output: &str, geo: ConvGeometry) {
    let (kernel, stride, dilation, groups, pads) = geo;
    let [top, left, bottom, right] = *pads;
    g.node(
        "Conv",
        name,
        &[x.to_string(), w.to_string()],
        output,
        &[
            ("kernel_shape", usizes(kernel)),
            ("strides", usizes(stride)),
            ("dilations", usizes(dilation)),
            ("group", Attr::Int(groups as i64)),
            // ONNX order: all begins, then all ends.
            ("pads", usizes(&[top, left, bottom, right])),
        ],
    );
}

fn emit_batchnorm(
    g: &mut Graph,
    name: &str,
    x: &str,
    output: &str,
    prefix: &str,
    channels: usize,
    eps: f32,
) -> Result<(), ExportError> {
    let mut inputs = vec![x.to_string()];
    for t in ["gamma", "beta", "running_mean", "running_var"] {
        inputs.push(g.weight(&format!("{prefix}.{t}"), &[channels])?);
    }
    g.node(
        "BatchNormalization",
        name,
        &inputs,
        output,
        &[("epsilon", Attr::Float(eps))],
    );
    Ok(())
}

/// A `Pad` per input that needs one (pads as an int64 initializer: opset 11+), then `Concat`.
fn emit_concat_padded(
    g: &mut Graph,
    name: &str,
    inputs: &[String],
    output: &str,
    pads: &[[usize; 4]],
) {
    let mut parts = Vec::with_capacity(inputs.len());
    for (i, (x, p)) in inputs.iter().zip(pads).enumerate() {
        if p.iter().all(|&v| v == 0) {
            parts.push(x.clone());
            continue;
        }
        let [top, left, bottom, right] = p.map(|v| v as i64);
        let pads_name = format!("{name}.pads{i}");
        g.initializers.push(tensor_i64(
            &pads_name,
            &[0, 0, top, left, 0, 0, bottom, right],
        ));
        let padded = format!("{name}.padded{i}");
        g.node(
            "Pad",
            &format!("{name}.pad{i}"),
            &[x.clone(), pads_name],
            &padded,
            &[],
        );
        parts.push(padded);
    }
    g.node("Concat", name, &parts, output, &[("axis", Attr::Int(1))]);
}

/// `GlobalAveragePool` (`[N, C, 1, 1]`) then `Flatten` to `[N, C]`.
fn emit_global_avg_pool(g: &mut Graph, name: &str, x: &str, output: &str) {
    let pooled = format!("{name}.nchw");
    g.node("GlobalAveragePool", name, &[x.to_string()], &pooled, &[]);
    g.node(
        "Flatten",
        &format!("{name}.flatten"),
        &[pooled],
        output,
        &[("axis", Attr::Int(1))],
    );
}

/// `Gemm` with the weight as stored (`[in, out]`, so no transpose).
fn emit_linear(
    g: &mut Graph,
    name: &str,
    x: &str,
    output: &str,
    prefix: &str,
    inputs: usize,
    outputs: usize,
) -> Result<(), ExportError> {
    let w = g.weight(&format!("{prefix}.weight"), &[inputs, outputs])?;
    let b = g.weight(&format!("{prefix}.bias"), &[outputs])?;
    g.node("Gemm", name, &[x.to_string(), w, b], output, &[]);
    Ok(())
}

/// The ONNX file of `model`.
pub fn to_onnx(model: &Model) -> Result<Vec<u8>, ExportError> {
    let lowered = model.lowered();
    let mut g = Graph {
        model,
        nodes: Vec::new(),
        initializers: Vec::new(),
    };
    for (k, node) in lowered.nodes.iter().enumerate() {
        let inputs: Vec<String> = node
            .inputs
            .iter()
            .map(|&v| value_name(&lowered, v))
            .collect();
        g.emit(node, &inputs, &value_name(&lowered, k + 1))?;
    }
    let mut graph = Message::new();
    for n in &g.nodes {
        graph.message(1, n);
    }
    graph.string(2, "nasgpu");
    for t in &g.initializers {
        graph.message(5, t);
    }
    graph.string(10, &model.input_doc(&lowered));
    graph.message(11, &value_info("image", &lowered.input));
    graph.message(12, &value_info("logits", &lowered.shape(lowered.output())));
    let mut opset = Message::new();
    opset.string(1, "").int(2, OPSET);
    let mut m = Message::new();
    m.int(1, IR_VERSION)
        .string(2, "nasgpu")
        .string(3, crate::nn::meta::NASGPU_VERSION)
        .string(6, &model.describe())
        .message(7, &graph)
        .message(8, &opset);
    for (k, v) in model.metadata() {
        let mut entry = Message::new();
        entry.string(1, &k).string(2, &v);
        m.message(14, &entry);
    }
    Ok(m.finish())
}
