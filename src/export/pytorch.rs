//! PyTorch export: one self-contained `.py` file defining an `nn.Module` for the lowered graph,
//! with a loader that reads nasgpu's safetensors weights (pure Python: `struct` + `json`, no
//! `safetensors` package needed) and maps their names onto the module's. One function per op
//! writes its `__init__` lines, its `forward` line and its weight names.

use std::fmt::Write as _;

use super::Model;
use super::graph::{Lowered, Node, Op};

/// What one op contributes to the module.
#[derive(Default)]
struct Emitted {
    /// Lines of `__init__` (submodules, buffers).
    init: Vec<String>,
    /// The right-hand side of `forward`'s assignment to this node's value.
    expr: String,
    /// `(nasgpu tensor name, module state name, transpose)`.
    tensors: Vec<(String, String, bool)>,
}

/// A Python float literal that parses back to exactly `v` once rounded to f32.
fn float(v: f32) -> String {
    let s = format!("{v:?}");
    if s.contains("inf") || s.contains("NaN") {
        format!("float('{s}')")
    } else {
        s
    }
}

fn floats(v: &[f32]) -> String {
    let items: Vec<String> = v.iter().map(|&x| float(x)).collect();
    format!("[{}]", items.join(", "))
}

/// `F.pad(x, (left, right, top, bottom))`, or `x` when there is nothing to pad.
fn pad(x: &str, pads: &[usize; 4]) -> String {
    let [top, left, bottom, right] = *pads;
    if pads.iter().all(|&p| p == 0) {
        x.to_string()
    } else {
        format!("F.pad({x}, ({left}, {right}, {top}, {bottom}))")
    }
}

/// Python attribute name of a node's submodule.
fn attr(node: &Node) -> String {
    node.name.replace('.', "_")
}

fn emit_normalize(node: &Node, x: &str, scale: &[f32], bias: &[f32]) -> Emitted {
    let a = attr(node);
    Emitted {
        init: vec![
            format!(
                "self.register_buffer(\"{a}_scale\", torch.tensor({}).reshape(1, -1, 1, 1))",
                floats(scale)
            ),
            format!(
                "self.register_buffer(\"{a}_bias\", torch.tensor({}).reshape(1, -1, 1, 1))",
                floats(bias)
            ),
        ],
        expr: format!("{x} * self.{a}_scale + self.{a}_bias"),
        tensors: Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn emit_conv(
    node: &Node,
    x: &str,
    weight: &str,
    cin: usize,
    cout: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
    pads: &[usize; 4],
) -> Emitted {
    let a = attr(node);
    // Symmetric padding goes into the conv itself (PyTorch's fastest path: no padded copy);
    // only asymmetric "same" padding needs an explicit F.pad.
    let (padding, input) = match symmetric(pads) {
        Some([0, 0]) => (String::new(), x.to_string()),
        Some([ph, pw]) => (format!(", padding=({ph}, {pw})"), x.to_string()),
        None => (String::new(), pad(x, pads)),
    };
    Emitted {
        init: vec![format!(
            "self.{a} = nn.Conv2d({cin}, {cout}, kernel_size=({}, {}), stride=({}, {}){padding}, \
             dilation=({}, {}), groups={groups}, bias=False)",
            kernel[0], kernel[1], stride[0], stride[1], dilation[0], dilation[1]
        )],
        expr: format!("self.{a}({input})"),
        tensors: vec![(weight.to_string(), format!("{a}.weight"), false)],
    }
}

/// `[rows, columns]` of padding on each side when `pads` (`[top, left, bottom, right]`) is
/// the same before and after on both axes.
fn symmetric(pads: &[usize; 4]) -> Option<[usize; 2]> {
    let [top, left, bottom, right] = *pads;
    (top == bottom && left == right).then_some([top, left])
}

/// Average pooling that divides by the real pixels of each window: PyTorch's own
/// `count_include_pad=False` where the padding is symmetric and at most half the window (all
/// it accepts), else `avg_pool_real` over an explicit pad. Returns the expression and whether
/// it calls `avg_pool_real`.
fn avg_pool_expr(
    x: &str,
    kernel: [usize; 2],
    stride: [usize; 2],
    pads: &[usize; 4],
) -> (String, bool) {
    let [kh, kw] = kernel;
    let [sh, sw] = stride;
    match symmetric(pads) {
        Some([ph, pw]) if 2 * ph <= kh && 2 * pw <= kw => (
            format!(
                "F.avg_pool2d({x}, ({kh}, {kw}), ({sh}, {sw}), ({ph}, {pw}), count_include_pad=False)"
            ),
            false,
        ),
        _ => {
            let [top, left, bottom, right] = *pads;
            (
                format!(
                    "avg_pool_real({x}, ({kh}, {kw}), ({sh}, {sw}), ({left}, {right}, {top}, {bottom}))"
                ),
                true,
            )
        }
    }
}

fn emit_batchnorm(node: &Node, x: &str, prefix: &str, channels: usize, eps: f32) -> Emitted {
    let a = attr(node);
    Emitted {
        init: vec![format!(
            "self.{a} = nn.BatchNorm2d({channels}, eps={})",
            float(eps)
        )],
        expr: format!("self.{a}({x})"),
        tensors: [
            ("gamma", "weight"),
            ("beta", "bias"),
            ("running_mean", "running_mean"),
            ("running_var", "running_var"),
        ]
        .iter()
        .map(|(ours, theirs)| (format!("{prefix}.{ours}"), format!("{a}.{theirs}"), false))
        .collect(),
    }
}

fn emit_concat_padded(inputs: &[String], pads: &[[usize; 4]]) -> Emitted {
    let parts: Vec<String> = inputs.iter().zip(pads).map(|(x, p)| pad(x, p)).collect();
    Emitted {
        expr: format!("torch.cat([{}], dim=1)", parts.join(", ")),
        ..Emitted::default()
    }
}

fn emit_linear(node: &Node, x: &str, prefix: &str, inputs: usize, outputs: usize) -> Emitted {
    let a = attr(node);
    Emitted {
        init: vec![format!("self.{a} = nn.Linear({inputs}, {outputs})")],
        expr: format!("self.{a}({x})"),
        // nasgpu stores linear weights [in, out]; nn.Linear holds [out, in].
        tensors: vec![
            (format!("{prefix}.weight"), format!("{a}.weight"), true),
            (format!("{prefix}.bias"), format!("{a}.bias"), false),
        ],
    }
}

fn emit(node: &Node, inputs: &[String]) -> Emitted {
    let x = inputs[0].as_str();
    match &node.op {
        Op::Normalize { scale, bias } => emit_normalize(node, x, scale, bias),
        Op::Conv {
            weight,
            cin,
            cout,
            kernel,
            stride,
            dilation,
            groups,
            pads,
        } => emit_conv(
            node, x, weight, *cin, *cout, *kernel, *stride, *dilation, *groups, pads,
        ),
        Op::BatchNorm {
            prefix,
            channels,
            eps,
        } => emit_batchnorm(node, x, prefix, *channels, *eps),
        Op::Relu => Emitted {
            expr: format!("F.relu({x})"),
            ..Emitted::default()
        },
        Op::ConcatPadded { pads } => emit_concat_padded(inputs, pads),
        Op::GlobalAvgPool => Emitted {
            expr: format!("{x}.mean(dim=(2, 3))"),
            ..Emitted::default()
        },
        Op::AvgPool {
            kernel,
            stride,
            pads,
        } => Emitted {
            expr: avg_pool_expr(x, *kernel, *stride, pads).0,
            ..Emitted::default()
        },
        Op::MaxPool {
            kernel,
            stride,
            pads,
        } => {
            let [top, left, bottom, right] = *pads;
            Emitted {
                // Padding of -inf never wins a window, as nasgpu's kernel ignores padding.
                expr: format!(
                    "F.max_pool2d(F.pad({x}, ({left}, {right}, {top}, {bottom}), value=float('-inf')), ({}, {}), ({}, {}))",
                    kernel[0], kernel[1], stride[0], stride[1]
                ),
                ..Emitted::default()
            }
        }
        Op::Crop { top, left } => Emitted {
            expr: format!("{x}[:, :, {top}:, {left}:]"),
            ..Emitted::default()
        },
        Op::Sum => Emitted {
            expr: inputs.join(" + "),
            ..Emitted::default()
        },
        Op::Zero => Emitted {
            expr: format!("{x} * 0.0"),
            ..Emitted::default()
        },
        Op::Linear {
            prefix,
            inputs: n_in,
            outputs,
        } => emit_linear(node, x, prefix, *n_in, *outputs),
    }
}

fn var(v: usize) -> String {
    if v == 0 { "x".into() } else { format!("v{v}") }
}

/// A Python string literal (JSON's escaping is valid Python for these strings).
fn py_str(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}

/// Average pooling over zero-padded input that divides by the real pixels of each window
/// (PyTorch's `count_include_pad=False` takes symmetric padding only): the padded window mean
/// over the padded mean of ones.
const AVG_POOL_REAL: &str = r#"

def avg_pool_real(x, kernel, stride, pads):
    """Mean of the real (non-padding) pixels of each window; pads = (left, right, top, bottom)."""
    ones = torch.ones_like(x[:1, :1])
    total = F.avg_pool2d(F.pad(x, pads), kernel, stride)
    count = F.avg_pool2d(F.pad(ones, pads), kernel, stride)
    return total / count
"#;

const LOADER: &str = r#"

def read_safetensors(path):
    """Tensors and metadata of a safetensors file (F32 tensors, as nasgpu writes them)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes is too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(data[8 : 8 + n])
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name!r} has dtype {entry['dtype']}, not F32")
        start, end = entry["data_offsets"]
        raw = bytearray(data[8 + n + start : 8 + n + end])
        tensors[name] = torch.frombuffer(raw, dtype=torch.float32).reshape(entry["shape"])
    return tensors, metadata


def load_weights(model, path):
    """Loads nasgpu's safetensors weights into `model`; every tensor must be there."""
    tensors, metadata = read_safetensors(path)
    if "architecture" in metadata and json.loads(metadata["architecture"]) != ARCHITECTURE:
        raise ValueError(f"{path}: its architecture differs from the one this file was made for")
    state = model.state_dict()
    for ours, (theirs, transpose) in TENSORS.items():
        if ours not in tensors:
            raise ValueError(f"{path}: tensor {ours!r} is missing")
        t = tensors[ours].t() if transpose else tensors[ours]
        if tuple(t.shape) != tuple(state[theirs].shape):
            raise ValueError(
                f"{path}: tensor {ours!r} has shape {tuple(tensors[ours].shape)}, "
                f"expected {tuple(state[theirs].shape)}"
            )
        state[theirs] = t.clone()
    model.load_state_dict(state)
    return model


def load(path, device="cpu"):
    """The network with the weights of `path`, in evaluation mode."""
    return load_weights(Net(), path).to(device).eval()


if __name__ == "__main__":
    import sys

    net = load(sys.argv[1]) if len(sys.argv) > 1 else Net().eval()
    params = sum(p.numel() for p in net.parameters())
    with torch.no_grad():
        out = net(torch.zeros((2,) + INPUT_SHAPE))
    print(f"{params} parameters; input {INPUT_SHAPE} -> logits {tuple(out.shape[1:])}")
"#;

/// The Python source of `model`.
pub fn to_pytorch(model: &Model) -> String {
    let lowered: Lowered = model.lowered();
    let mut init = Vec::new();
    let mut forward = Vec::new();
    let mut tensors = Vec::new();
    for (k, node) in lowered.nodes.iter().enumerate() {
        let inputs: Vec<String> = node.inputs.iter().map(|&v| var(v)).collect();
        let e = emit(node, &inputs);
        init.extend(e.init);
        forward.push(format!("{} = {}  # {}", var(k + 1), e.expr, node.name));
        tensors.extend(e.tensors);
    }
    let arch_json = serde_json::to_string(&model.arch).expect("architecture serialises");
    let meta = model.meta.as_ref();
    let mut py = String::new();
    let _ = writeln!(
        py,
        "\"\"\"{}\n\nGenerated by nasgpu {} (`nasgpu export --format pytorch`); needs only PyTorch.\n",
        model.describe(),
        crate::nn::meta::NASGPU_VERSION
    );
    let _ = writeln!(py, "Input: {}\n", model.input_doc(&lowered));
    py.push_str(
        "    import model                      # this file\n    net = model.load(\"weights.safetensors\")\n    logits = net(pixels)              # float32 [N, C, H, W]\n\n\
         `Net()` alone is the untrained network (to train it in PyTorch).\n\"\"\"\n\n\
         import json\nimport struct\n\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n",
    );
    let _ = writeln!(py, "ARCHITECTURE = json.loads({})", py_str(&arch_json));
    let [c, h, w] = lowered.input;
    let _ = writeln!(py, "INPUT_SHAPE = ({c}, {h}, {w})");
    let _ = writeln!(py, "CLASSES = {}", model.arch.classes);
    match meta.and_then(|m| m.class_names.as_ref()) {
        Some(names) => {
            let quoted: Vec<String> = names.iter().map(|n| py_str(n)).collect();
            let _ = writeln!(py, "CLASS_NAMES = [{}]", quoted.join(", "));
        }
        None => py.push_str("CLASS_NAMES = None\n"),
    }
    match meta {
        Some(m) => {
            let n = &m.normalization;
            let _ = writeln!(
                py,
                "# Normalisation applied inside forward(): x = (pixel / PIXEL_SCALE - MEAN[c]) / STD[c].\nPIXEL_SCALE = {}\nMEAN = {}\nSTD = {}",
                float(n.pixel_scale),
                floats(&n.mean),
                floats(&n.std)
            );
        }
        None => py.push_str(
            "# No normalisation was recorded: forward() expects inputs already normalised.\nPIXEL_SCALE = MEAN = STD = None\n",
        ),
    }
    py.push_str("# nasgpu tensor name: (state_dict name, stored transposed)\nTENSORS = {\n");
    for (ours, theirs, t) in &tensors {
        let _ = writeln!(
            py,
            "    {}: ({}, {}),",
            py_str(ours),
            py_str(theirs),
            if *t { "True" } else { "False" }
        );
    }
    py.push_str("}\n");
    if lowered.nodes.iter().any(|n| match &n.op {
        Op::AvgPool {
            kernel,
            stride,
            pads,
        } => avg_pool_expr("x", *kernel, *stride, pads).1,
        _ => false,
    }) {
        py.push_str(AVG_POOL_REAL);
    }
    py.push_str("\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n");
    for line in &init {
        let _ = writeln!(py, "        {line}");
    }
    py.push_str("\n    def forward(self, x):\n");
    for line in &forward {
        let _ = writeln!(py, "        {line}");
    }
    let _ = writeln!(py, "        return {}", var(lowered.output()));
    py.push_str(LOADER);
    py
}
