//! Drawings of NAS-Bench-201 cells for the HTML report: the cell's 4 nodes in a row (0 the
//! cell's input, 3 its output) and its 6 edges, each labelled with its operation; adjacent
//! nodes are joined straight, longer edges arc above or below so that no two labels meet.
//! `none` edges are left out (they add nothing); the network's N, C and stage sizes go under it.

use std::fmt::Write as _;

use super::svg::esc;
use crate::nn::Architecture;
use crate::nn::nb201::{NB201_EDGES, Nb201Network, Nb201Op};

const W: f64 = 380.0;
const Y: f64 = 130.0;
const R: f64 = 13.0;
const LABEL_W: f64 = 80.0;
const LABEL_H: f64 = 18.0;

fn node_x(i: usize) -> f64 {
    32.0 + i as f64 * 106.0
}

/// Short label and CSS class of an operation.
fn op_style(op: Nb201Op) -> (&'static str, &'static str) {
    match op {
        Nb201Op::None => ("none", "e-none"),
        Nb201Op::SkipConnect => ("skip", "e-skip"),
        Nb201Op::NorConv1x1 => ("conv 1×1", "e-conv"),
        Nb201Op::NorConv3x3 => ("conv 3×3", "e-conv"),
        Nb201Op::AvgPool3x3 => ("avg pool 3×3", "e-pool"),
    }
}

/// Vertical offset of the curve (and its label) of edge `from -> to`: 0 for adjacent nodes,
/// span 2 above (the 0->2 edge) or below (1->3), span 3 further above.
fn bend(from: usize, to: usize) -> f64 {
    match (from, to) {
        (0, 2) => -62.0,
        (1, 3) => 62.0,
        (0, 3) => -104.0,
        _ => 0.0,
    }
}

/// An `<svg class="plot arch cell">` of `net`'s cell titled `title`; `data-points` counts its
/// nodes and drawn edges (the marks a reader must see).
pub fn draw(title: &str, net: &Nb201Network, arch: &Architecture) -> String {
    let ops: Vec<(Nb201Op, (usize, usize))> = net
        .genotype
        .0
        .iter()
        .copied()
        .zip(NB201_EDGES)
        .filter(|(op, _)| *op != Nb201Op::None)
        .collect();
    let height = 276.0;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"plot arch cell\" viewBox=\"0 0 {W} {height}\" role=\"img\" aria-label=\"{}\" data-points=\"{}\">\
         <text class=\"title\" x=\"8\" y=\"18\">{}</text>",
        esc(title),
        4 + ops.len(),
        esc(title)
    );
    // Curves first, so that nodes and labels cover their ends.
    for &(op, (from, to)) in &ops {
        let (x0, x1) = (node_x(from), node_x(to));
        let dy = bend(from, to);
        let (_, class) = op_style(op);
        let xm = (x0 + x1) / 2.0;
        // A quadratic curve through (xm, Y + dy): its control point lies at twice the offset.
        let _ = write!(
            out,
            "<path class=\"edge {class}\" d=\"M{x0:.1} {Y:.1}Q{xm:.1} {:.1} {x1:.1} {Y:.1}\"/>",
            Y + 2.0 * dy
        );
    }
    for &(op, (from, to)) in &ops {
        let (label, class) = op_style(op);
        let xm = (node_x(from) + node_x(to)) / 2.0;
        let y = Y + bend(from, to) - LABEL_H / 2.0;
        let _ = write!(
            out,
            "<g class=\"node layer op {class}\"><rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{LABEL_W}\" height=\"{LABEL_H}\" rx=\"4\"/>\
             <text x=\"{xm:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            xm - LABEL_W / 2.0,
            y + 13.0,
            esc(label)
        );
    }
    for i in 0..4 {
        let x = node_x(i);
        let _ = write!(
            out,
            "<g class=\"node layer point\"><circle cx=\"{x:.1}\" cy=\"{Y:.1}\" r=\"{R}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{i}</text></g>",
            Y + 4.0
        );
    }
    let [c, h, w] = arch.input;
    let sizes = Nb201Network::stage_sizes([h, w]);
    let channels = net.stage_channels();
    let stages: Vec<String> = (0..3)
        .map(|s| format!("{}×{}×{}", channels[s], sizes[s][0], sizes[s][1]))
        .collect();
    let _ = write!(
        out,
        "<text class=\"sub\" x=\"8\" y=\"{:.1}\">input {c}×{h}×{w}, {} cells per stage</text>\
         <text class=\"sub\" x=\"8\" y=\"{:.1}\">stages {}</text>",
        height - 24.0,
        net.cells_per_stage,
        height - 8.0,
        esc(&stages.join(" · "))
    );
    out.push_str("</svg>");
    out
}
