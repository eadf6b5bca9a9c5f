//! Drawings of architectures for the HTML report: NAS-RL conv stacks as a column of layer boxes
//! (filter size, count, stride, output size) with their skip connections as arcs beside it;
//! ENAS macro networks the same way; cell networks as their cell (`cell.rs`, `darts_cells.rs`).

use std::fmt::Write as _;

use super::svg::esc;
use crate::nn::{Architecture, EnasMacroNetwork};

const W: f64 = 360.0;
const ROW: f64 = 38.0;
const BOX_W: f64 = 200.0;
const BOX_H: f64 = 26.0;
const X0: f64 = (W - BOX_W) / 2.0;

fn row_y(row: usize) -> f64 {
    34.0 + row as f64 * ROW
}

fn node(out: &mut String, row: usize, class: &str, text: &str, sub: &str) {
    let y = row_y(row);
    let _ = write!(
        out,
        "<g class=\"{class}\"><rect x=\"{X0}\" y=\"{y:.1}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"5\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}<tspan class=\"sub\"> {}</tspan></text></g>",
        W / 2.0,
        y + 17.0,
        esc(text),
        esc(sub)
    );
}

/// An arc on the `side` (+1 right, -1 left) from the bottom of row `a` to the top of row `b`,
/// or a straight line between adjacent rows.
fn edge(out: &mut String, a: usize, b: usize, side: f64, class: &str) {
    let (ya, yb) = (row_y(a) + BOX_H, row_y(b));
    if b == a + 1 {
        let _ = write!(
            out,
            "<path class=\"{class}\" d=\"M{0:.1} {ya:.1}V{yb:.1}\"/>",
            W / 2.0
        );
        return;
    }
    let xe = if side > 0.0 { X0 + BOX_W } else { X0 };
    let bulge = 14.0 + 9.0 * (b - a).min(8) as f64;
    let (y1, y2) = (row_y(a) + BOX_H / 2.0, row_y(b) + BOX_H / 2.0);
    let xc = xe + side * bulge;
    let _ = write!(
        out,
        "<path class=\"{class}\" d=\"M{xe:.1} {y1:.1}C{xc:.1} {y1:.1} {xc:.1} {y2:.1} {xe:.1} {y2:.1}\"/>"
    );
}

/// An `<svg class="plot arch">` of `arch` titled `title`; `data-points` counts the layers.
pub fn draw(title: &str, arch: &Architecture) -> String {
    if let Some(net) = &arch.nb201 {
        return super::cell::draw(title, net, arch);
    }
    if let Some(net) = &arch.darts {
        return super::darts_cells::draw(title, net, arch.input);
    }
    if let Some(net) = &arch.enas {
        return draw_enas(title, net, arch);
    }
    let n = arch.layers.len();
    let sizes = arch.spatial_sizes();
    let mut out = column_svg(title, n);
    // Edges first, so boxes cover their ends.
    for (i, layer) in arch.layers.iter().enumerate() {
        if layer.inputs.is_empty() {
            edge(&mut out, 0, i + 1, 1.0, "edge");
        }
        for &j in &layer.inputs {
            edge(
                &mut out,
                j + 1,
                i + 1,
                1.0,
                if j + 1 == i { "edge" } else { "edge skip" },
            );
        }
    }
    for i in arch.output_layers() {
        edge(&mut out, i + 1, n + 1, -1.0, "edge out");
    }
    let [c, h, w] = arch.input;
    node(&mut out, 0, "node input", "input", &format!("{c}×{h}×{w}"));
    for (i, l) in arch.layers.iter().enumerate() {
        let [oh, ow] = sizes[i];
        let stride = if l.stride > 1 {
            format!(" /{}", l.stride)
        } else {
            String::new()
        };
        node(
            &mut out,
            i + 1,
            "node layer",
            &format!(
                "{}×{} conv {}{stride}",
                l.filter_height, l.filter_width, l.filters
            ),
            &format!("→ {oh}×{ow}"),
        );
    }
    node(
        &mut out,
        n + 1,
        "node head",
        &format!("concat · avg pool · linear {}", arch.classes),
        "",
    );
    out.push_str("</svg>");
    out
}

/// The opening of a column drawing of `n` layers between an input row and a head row.
fn column_svg(title: &str, n: usize) -> String {
    let height = row_y(n + 2) + BOX_H + 8.0;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"plot arch\" viewBox=\"0 0 {W} {height:.1}\" role=\"img\" aria-label=\"{}\" data-points=\"{n}\">\
         <text class=\"title\" x=\"8\" y=\"18\">{}</text>",
        esc(title),
        esc(title)
    );
    out
}

/// The ENAS macro network as a column: stem, each layer's operation and width (with its
/// output size and whether a reduction follows), its skips as arcs, the head.
fn draw_enas(title: &str, net: &EnasMacroNetwork, arch: &Architecture) -> String {
    let n = net.layers.len();
    let shape = net.shape();
    let mut out = column_svg(title, n);
    for (l, layer) in net.layers.iter().enumerate() {
        edge(&mut out, l, l + 1, 1.0, "edge");
        for &i in &layer.skips {
            edge(&mut out, i + 1, l + 1, 1.0, "edge skip");
        }
    }
    edge(&mut out, n, n + 1, 1.0, "edge");
    let [c, mut h, mut w] = arch.input;
    node(
        &mut out,
        0,
        "node input",
        &format!("3×3 conv {} (stem)", net.channels),
        &format!("{c}×{h}×{w}"),
    );
    for (l, layer) in net.layers.iter().enumerate() {
        let mut sub = format!("{h}×{w}");
        if shape.reduce_after.contains(&l) {
            (h, w) = (h.div_ceil(2), w.div_ceil(2));
            sub = format!("{sub}, reduce → {h}×{w}");
        }
        node(
            &mut out,
            l + 1,
            "node layer",
            &format!("{} {}", layer.op.0.name(), shape.channels[l]),
            &sub,
        );
    }
    node(
        &mut out,
        n + 1,
        "node head",
        &format!("avg pool · linear {}", arch.classes),
        "",
    );
    out.push_str("</svg>");
    out
}

/// How to read the drawing of `arch`, for its caption.
pub fn legend(arch: &Architecture) -> &'static str {
    if arch.enas.is_some() {
        return "The ENAS macro layers: each reads the layer above; red arcs: skip connections, added to the layer's output before its batch norm; a reduction halves the size and doubles the channels of every output still used.";
    }
    if arch.darts.is_some() {
        return "The DARTS cells: node j (2..5) sums its two edges from earlier nodes (0 and 1 are the outputs of the two previous cells), one drawn above the row and one below; a cell outputs nodes 2..5 concatenated.";
    }
    if arch.nb201.is_some() {
        "The cell: node 0 is its input, node 3 its output, each node the sum of its incoming edges (none edges left out)."
    } else {
        "Red arcs: skip connections; orange: into the classifier."
    }
}
