//! Inline SVG plots for the HTML report: scatter and line series on linear or log axes, box
//! plots over categories. Every plot is an `<svg class="plot">` with a `viewBox` (it scales to
//! the page width) and `data-points` = the marks it draws, which the browser test checks.

use std::fmt::Write as _;

/// Plot size in viewBox units; the page scales it to the column width.
const W: f64 = 640.0;
const H: f64 = 360.0;
const LEFT: f64 = 62.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 46.0;

/// Colours of the series, in order: readable on white and in grey print.
pub const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A dot per point.
    Dots,
    /// A polyline through the points, in order.
    Line,
    /// Larger hollow rings (to mark points drawn as dots by another series).
    Rings,
}

/// One series of a plot.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub mark: Mark,
    pub points: Vec<(f64, f64)>,
}

/// An axis: label, range and scale.
#[derive(Debug, Clone)]
pub struct Axis {
    pub label: String,
    pub log: bool,
    pub min: f64,
    pub max: f64,
}

impl Axis {
    /// An axis covering `values` (log scales skip values <= 0), padded a little.
    pub fn fit(label: &str, log: bool, values: impl Iterator<Item = f64>) -> Axis {
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
            min = min.min(v);
            max = max.max(v);
        }
        if !min.is_finite() {
            (min, max) = if log { (1.0, 10.0) } else { (0.0, 1.0) };
        }
        if log {
            let (lo, hi) = (
                min.log10().floor(),
                max.log10().ceil().max(min.log10().floor() + 1.0),
            );
            (min, max) = (10f64.powf(lo), 10f64.powf(hi));
        } else {
            if max - min < 1e-12 {
                (min, max) = (min - 0.5, max + 0.5);
            }
            let pad = (max - min) * 0.04;
            (min, max) = (min - pad, max + pad);
        }
        Axis {
            label: label.to_string(),
            log,
            min,
            max,
        }
    }

    /// Position of `v` in [0, 1] along the axis.
    fn unit(&self, v: f64) -> f64 {
        if self.log {
            let v = v.max(self.min);
            (v.log10() - self.min.log10()) / (self.max.log10() - self.min.log10())
        } else {
            (v - self.min) / (self.max - self.min)
        }
    }

    /// Tick values: decades for log axes, 1/2/5 steps for linear ones.
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let (lo, hi) = (
                self.min.log10().round() as i32,
                self.max.log10().round() as i32,
            );
            return (lo..=hi).map(|e| 10f64.powi(e)).collect();
        }
        let span = self.max - self.min;
        let raw = span / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| span / s <= 6.0)
            .unwrap_or(10.0 * mag);
        let mut t = (self.min / step).ceil() * step;
        let mut ticks = Vec::new();
        while t <= self.max + step * 1e-9 {
            ticks.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
            t += step;
        }
        ticks
    }
}

/// A tick label: compact, with k/M/G for large values.
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{}G", trim(v / 1e9))
    } else if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

fn px(v: f64) -> String {
    format!("{:.1}", v)
}

/// The frame, grid, ticks and axis labels shared by every plot.
fn frame(out: &mut String, x: &Axis, x_ticks: bool, y: &Axis, title: &str) {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let _ = write!(
        out,
        "<text class=\"title\" x=\"{LEFT}\" y=\"18\">{}</text>",
        esc(title)
    );
    for t in x.ticks().into_iter().filter(|_| x_ticks) {
        let sx = LEFT + x.unit(t) * pw;
        let _ = write!(
            out,
            "<line class=\"gl\" x1=\"{0}\" x2=\"{0}\" y1=\"{TOP}\" y2=\"{1}\"/><text class=\"tick\" x=\"{0}\" y=\"{2}\" text-anchor=\"middle\">{3}</text>",
            px(sx),
            px(TOP + ph),
            px(TOP + ph + 15.0),
            short(t)
        );
    }
    for t in y.ticks() {
        let sy = TOP + (1.0 - y.unit(t)) * ph;
        let _ = write!(
            out,
            "<line class=\"gl\" x1=\"{LEFT}\" x2=\"{0}\" y1=\"{1}\" y2=\"{1}\"/><text class=\"tick\" x=\"{2}\" y=\"{3}\" text-anchor=\"end\">{4}</text>",
            px(LEFT + pw),
            px(sy),
            px(LEFT - 5.0),
            px(sy + 4.0),
            short(t)
        );
    }
    let _ = write!(
        out,
        "<rect class=\"axes\" x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"/>\
         <text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
         <text class=\"label\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        px(pw),
        px(ph),
        px(LEFT + pw / 2.0),
        px(H - 8.0),
        esc(&x.label),
        px(TOP + ph / 2.0),
        esc(&y.label)
    );
}

/// A legend in the top-right corner, below the title.
fn legend(out: &mut String, entries: &[(String, &str)]) {
    let mut x = W - RIGHT;
    for (name, color) in entries.iter().rev() {
        let width = 14.0 + 6.2 * name.chars().count() as f64;
        x -= width + 10.0;
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"24\" width=\"10\" height=\"10\" fill=\"{color}\"/><text class=\"tick\" x=\"{}\" y=\"33\">{}</text>",
            px(x),
            px(x + 14.0),
            esc(name)
        );
    }
}

/// An x-y plot of `series`.
pub fn xy(title: &str, x: &Axis, y: &Axis, series: &[Series]) -> String {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let marks: usize = series.iter().map(|s| s.points.len()).sum();
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"plot\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" data-points=\"{marks}\">",
        esc(title)
    );
    frame(&mut out, x, true, y, title);
    let at = |(vx, vy): (f64, f64)| {
        (
            LEFT + x.unit(vx).clamp(0.0, 1.0) * pw,
            TOP + (1.0 - y.unit(vy).clamp(0.0, 1.0)) * ph,
        )
    };
    for s in series {
        if s.points.is_empty() {
            continue;
        }
        let mut d = String::with_capacity(s.points.len() * 14);
        for (i, &p) in s.points.iter().enumerate() {
            let (sx, sy) = at(p);
            match s.mark {
                Mark::Line if i > 0 => {
                    let _ = write!(d, "L{} {}", px(sx), px(sy));
                }
                // A line of one point is drawn as a dot.
                Mark::Line if s.points.len() > 1 => {
                    let _ = write!(d, "M{} {}", px(sx), px(sy));
                }
                // Dots are round caps of tiny segments (not zero-length: those have no extent).
                Mark::Line | Mark::Dots | Mark::Rings => {
                    let _ = write!(d, "M{} {}h0.1", px(sx), px(sy));
                }
            }
        }
        let style = match s.mark {
            Mark::Dots => "stroke-width=\"4\" stroke-linecap=\"round\" stroke-opacity=\"0.55\"",
            Mark::Rings => "stroke-width=\"9\" stroke-linecap=\"round\" stroke-opacity=\"0.9\"",
            Mark::Line => "stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\"",
        };
        let _ = write!(
            out,
            "<path class=\"pts\" data-series=\"{}\" data-n=\"{}\" fill=\"none\" stroke=\"{}\" {style} d=\"{d}\"/>",
            esc(&s.name),
            s.points.len(),
            s.color
        );
    }
    let entries: Vec<(String, &str)> = series
        .iter()
        .filter(|s| !s.name.is_empty())
        .map(|s| (s.name.clone(), s.color))
        .collect();
    legend(&mut out, &entries);
    out.push_str("</svg>");
    out
}

/// Five-number summary of `values` (sorted copy): min, q1, median, q3, max.
pub fn five_numbers(values: &[f64]) -> Option<[f64; 5]> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    Some([v[0], q(0.25), q(0.5), q(0.75), v[v.len() - 1]])
}

/// Box plots: one group of boxes per category, one box per group member (`groups[g].1[c]`
/// holds the values of member `g` in category `c`).
pub fn boxes(
    title: &str,
    categories: &[String],
    y_label: &str,
    groups: &[(String, &'static str, Vec<Vec<f64>>)],
) -> String {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let all = groups.iter().flat_map(|g| g.2.iter().flatten().copied());
    let y = Axis::fit(y_label, false, all);
    let mut out = String::new();
    let n_boxes: usize = groups
        .iter()
        .map(|g| g.2.iter().filter(|v| !v.is_empty()).count())
        .sum();
    let _ = write!(
        out,
        "<svg class=\"plot\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" data-points=\"{n_boxes}\">",
        esc(title)
    );
    let x = Axis {
        label: String::new(),
        log: false,
        min: 0.0,
        max: 1.0,
    };
    // Frame with y ticks only: the x "axis" is categorical.
    frame(&mut out, &x, false, &y, title);
    let slot = pw / categories.len().max(1) as f64;
    let width = (slot * 0.8) / groups.len().max(1) as f64;
    let sy = |v: f64| TOP + (1.0 - y.unit(v)) * ph;
    for (c, name) in categories.iter().enumerate() {
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            px(LEFT + slot * (c as f64 + 0.5)),
            px(TOP + ph + 30.0),
            esc(name)
        );
        for (g, (_, color, values)) in groups.iter().enumerate() {
            let Some([lo, q1, med, q3, hi]) = values.get(c).and_then(|v| five_numbers(v)) else {
                continue;
            };
            let x0 = LEFT + slot * c as f64 + slot * 0.1 + width * g as f64;
            let xm = x0 + width / 2.0;
            let _ = write!(
                out,
                "<g class=\"box\" stroke=\"{color}\" stroke-width=\"1.5\">\
                 <line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\
                 <rect x=\"{3}\" y=\"{4}\" width=\"{5}\" height=\"{6}\" fill=\"{color}\" fill-opacity=\"0.35\"/>\
                 <line x1=\"{3}\" x2=\"{7}\" y1=\"{8}\" y2=\"{8}\" stroke-width=\"3\"/></g>",
                px(xm),
                px(sy(hi)),
                px(sy(lo)),
                px(x0 + 2.0),
                px(sy(q3)),
                px((width - 4.0).max(1.0)),
                px((sy(q1) - sy(q3)).max(1.0)),
                px(x0 + width - 2.0),
                px(sy(med)),
            );
        }
    }
    let entries: Vec<(String, &str)> = groups.iter().map(|g| (g.0.clone(), g.1)).collect();
    legend(&mut out, &entries);
    out.push_str("</svg>");
    out
}

/// Points of `(cost, accuracy)` on the Pareto front: no other point is at most as costly and
/// more accurate. Sorted by cost.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut sorted: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut front: Vec<(f64, f64)> = Vec::new();
    for p in sorted {
        if front.last().is_none_or(|last| p.1 > last.1) {
            front.push(p);
        }
    }
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_front_keeps_only_undominated_points() {
        let pts = [(1.0, 0.5), (2.0, 0.4), (2.0, 0.7), (3.0, 0.6), (4.0, 0.9)];
        assert_eq!(pareto_front(&pts), vec![(1.0, 0.5), (2.0, 0.7), (4.0, 0.9)]);
    }

    #[test]
    fn ticks_are_round_numbers_inside_the_axis() {
        let a = Axis::fit("x", false, [0.13, 0.87].into_iter());
        let t = a.ticks();
        assert!(
            t.len() >= 3 && t.iter().all(|v| *v >= a.min && *v <= a.max),
            "{t:?}"
        );
        let l = Axis::fit("p", true, [3e3, 2e5].into_iter());
        assert_eq!(l.ticks(), vec![1e3, 1e4, 1e5, 1e6]);
        assert_eq!(
            five_numbers(&[4.0, 1.0, 3.0, 2.0, 5.0]),
            Some([1.0, 2.0, 3.0, 4.0, 5.0])
        );
    }
}
