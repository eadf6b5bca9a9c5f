//! Drawings of DARTS cells for the HTML report: each cell (normal above, reduction below) as
//! its 6 nodes in a row (0 and 1 the outputs of the two previous cells, 2..5 the intermediate
//! nodes) and its 8 edges, each labelled with its operation. A node's edge from its smaller input
//! arcs above the row, the other below, each as high as its span, so two labels on one side
//! never share a height and midpoint; the cell's output (nodes 2..5 concatenated) is said under
//! it rather than drawn.

use std::fmt::Write as _;

use super::svg::esc;
use crate::nn::darts_cell::{DARTS_NODES, DartsCellGenotype, DartsNetwork, DartsOp};

const W: f64 = 400.0;
const PANEL_H: f64 = 256.0;
const TOP: f64 = 26.0;
const R: f64 = 12.0;
const STEP: f64 = 68.0;
const RISE: f64 = 22.0;
const LABEL_W: f64 = 58.0;
const LABEL_H: f64 = 16.0;

fn node_x(i: usize) -> f64 {
    30.0 + i as f64 * STEP
}

/// Short label and CSS class of an operation.
fn op_style(op: DartsOp) -> (&'static str, &'static str) {
    match op {
        DartsOp::MaxPool3x3 => ("max 3×3", "e-pool"),
        DartsOp::AvgPool3x3 => ("avg 3×3", "e-pool"),
        DartsOp::SkipConnect => ("skip", "e-skip"),
        DartsOp::SepConv3x3 => ("sep 3×3", "e-conv"),
        DartsOp::SepConv5x5 => ("sep 5×5", "e-conv"),
        DartsOp::DilConv3x3 => ("dil 3×3", "e-conv"),
        DartsOp::DilConv5x5 => ("dil 5×5", "e-conv"),
    }
}

/// The cell's edges as (operation, input, node, side): -1 above the row, +1 below.
fn edges(cell: &DartsCellGenotype) -> Vec<(DartsOp, usize, usize, f64)> {
    let mut out = Vec::with_capacity(2 * DARTS_NODES);
    for (j, node) in cell.nodes.iter().enumerate() {
        // A node's two edges are kept in input order, so the first has the smaller input.
        out.push((node[0].op, node[0].input, j + 2, -1.0));
        out.push((node[1].op, node[1].input, j + 2, 1.0));
    }
    out
}

/// One cell's drawing, its row at height `y`.
fn panel(out: &mut String, name: &str, cell: &DartsCellGenotype, y: f64) {
    let _ = write!(
        out,
        "<text class=\"sub\" x=\"8\" y=\"{:.1}\">{}</text>",
        y - 118.0,
        esc(name)
    );
    let edges = edges(cell);
    // Curves first, so that nodes and labels cover their ends.
    for &(op, from, to, side) in &edges {
        let (x0, x1) = (node_x(from), node_x(to));
        let rise = side * RISE * (to - from) as f64;
        let (_, class) = op_style(op);
        // A quadratic curve through (xm, y + rise): its control point lies at twice the rise.
        let _ = write!(
            out,
            "<path class=\"edge {class}\" d=\"M{x0:.1} {y:.1}Q{:.1} {:.1} {x1:.1} {y:.1}\"/>",
            (x0 + x1) / 2.0,
            y + 2.0 * rise
        );
    }
    for &(op, from, to, side) in &edges {
        let (label, class) = op_style(op);
        let xm = (node_x(from) + node_x(to)) / 2.0;
        let top = y + side * RISE * (to - from) as f64 - LABEL_H / 2.0;
        let _ = write!(
            out,
            "<g class=\"node layer op {class}\"><rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{LABEL_W}\" height=\"{LABEL_H}\" rx=\"4\"/>\
             <text x=\"{xm:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            xm - LABEL_W / 2.0,
            top + 12.0,
            esc(label)
        );
    }
    for i in 0..DARTS_NODES + 2 {
        let x = node_x(i);
        let _ = write!(
            out,
            "<g class=\"node layer point\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{R}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{i}</text></g>",
            y + 4.0
        );
    }
}

/// An `<svg class="plot arch cell darts">` of `net`'s two cells titled `title`; `data-points`
/// counts their nodes and edges (the marks a reader must see).
pub fn draw(title: &str, net: &DartsNetwork, input: [usize; 3]) -> String {
    let height = TOP + 2.0 * PANEL_H + 36.0;
    let marks = 2 * (DARTS_NODES + 2 + 2 * DARTS_NODES);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"plot arch cell darts\" viewBox=\"0 0 {W} {height}\" role=\"img\" aria-label=\"{}\" data-points=\"{marks}\">\
         <text class=\"title\" x=\"8\" y=\"18\">{}</text>",
        esc(title),
        esc(title)
    );
    let row = |k: f64| TOP + k * PANEL_H + PANEL_H / 2.0 + 6.0;
    panel(&mut out, "normal cell", &net.genotype.normal, row(0.0));
    panel(&mut out, "reduction cell", &net.genotype.reduce, row(1.0));
    let [c, h, w] = input;
    let _ = write!(
        out,
        "<text class=\"sub\" x=\"8\" y=\"{:.1}\">input {c}×{h}×{w}, {} cells (reductions at {} and {}), C = {}</text>\
         <text class=\"sub\" x=\"8\" y=\"{:.1}\">each cell outputs nodes 2..5 concatenated</text>",
        height - 24.0,
        net.cells,
        net.cells / 3,
        2 * net.cells / 3,
        net.channels,
        height - 8.0
    );
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::darts_cell::DARTS_V2;

    /// DARTS V2's cells: 6 nodes and 8 labelled edges each, every edge with its operation's
    /// label, and the count in `data-points`.
    #[test]
    fn both_cells_are_drawn_with_every_edge_labelled() {
        let net = DartsNetwork::new(DARTS_V2.parse().unwrap());
        let svg = draw("best", &net, [1, 28, 28]);
        assert_eq!(svg.matches("class=\"node layer point\"").count(), 12);
        assert_eq!(svg.matches("<path class=\"edge ").count(), 16);
        assert_eq!(svg.matches("class=\"node layer op ").count(), 16);
        assert!(svg.contains("data-points=\"28\""));
        // DARTS V2: five sep_conv_3x3 and a dil_conv_3x3 in the normal cell, max pools in the
        // reduction cell.
        assert_eq!(svg.matches(">sep 3×3<").count(), 5);
        assert_eq!(svg.matches(">dil 3×3<").count(), 1);
        assert_eq!(svg.matches(">max 3×3<").count(), 5);
        assert_eq!(svg.matches(">skip<").count(), 5);
    }
}
