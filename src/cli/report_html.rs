//! `nasgpu report RUN... --html FILE`: one self-contained HTML page (inline SVG and CSS, no
//! script, no network fetch) showing the searches: reward and validation accuracy per child with
//! the running best, reward distribution per quarter of the run, accuracy against parameters,
//! FLOPs and latency with the Pareto front, learning curves of the top children, drawings of
//! the best architectures, and the cost table. Readable on a phone (one column) and in print.
//!
//! Runs are read through `RunDir::inspect`, which changes nothing and tolerates a half-written
//! last history line, so a running search can be reported on (`--refresh N` reloads the page).
//! Everything the page reads of a child goes through `child_view`.

mod arch;
mod cell;
mod darts_cells;
mod svg;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::CliError;
use crate::nn::Architecture;
use crate::search::{ChildRecord, RunDir, SearchCost};
use svg::{Axis, Mark, PALETTE, Series, esc};

/// What the report uses of one child.
#[derive(Debug, Clone)]
pub struct ChildView {
    pub index: usize,
    pub reward: f64,
    /// Validation accuracy per epoch.
    pub val_accuracy: Vec<f64>,
    /// Best validation accuracy over the epochs.
    pub accuracy: f64,
    pub parameters: f64,
    pub flops: f64,
    /// Measured latency in milliseconds, where the run recorded one.
    pub latency_ms: Option<f64>,
    pub train_seconds: f64,
    /// Trained and validated (not failed).
    pub ok: bool,
    pub architecture: Architecture,
}

/// The one place that reads `ChildRecord` fields (extend it when the record gains fields).
pub fn child_view(r: &ChildRecord) -> ChildView {
    ChildView {
        index: r.index,
        reward: r.reward,
        accuracy: r.val_accuracy.iter().copied().fold(0.0, f64::max),
        val_accuracy: r.val_accuracy.clone(),
        parameters: r.parameters as f64,
        flops: r.flops,
        latency_ms: r.latency.map(|l| l.batch1_ms),
        train_seconds: r.train_seconds,
        ok: !r.status.is_failure(),
        architecture: r.architecture.clone(),
    }
}

/// One run as the report shows it.
struct RunView {
    name: String,
    /// The group a run is pooled in: its strategy, with its space and evaluator when the runs
    /// reported differ in them (random search with a supernet is not random search from
    /// scratch).
    strategy: String,
    /// `space/evaluator`.
    setup: String,
    seed: u64,
    budget: usize,
    /// Its budget or time limit is spent (`SearchState::finished`).
    finished: bool,
    children: Vec<ChildView>,
    cost: SearchCost,
    /// History lines left out (not valid records), with their line numbers and faults.
    invalid: Vec<crate::search::run_dir::InvalidLine>,
}

fn run_view(dir: &Path) -> Result<RunView, CliError> {
    let (run, config, state) = RunDir::inspect(dir).map_err(|e| CliError(e.to_string()))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    Ok(RunView {
        name,
        strategy: format!("{:?}", config.run.strategy),
        setup: format!(
            "{}/{}",
            config.run.space.name(),
            config.run.evaluator.name()
        ),
        seed: config.run.seed,
        budget: config.run.budget,
        finished: state.finished(&config.run),
        children: run.history().iter().map(child_view).collect(),
        cost: state.cost,
        invalid: run.invalid().to_vec(),
    })
}

/// Figures of a written report.
#[derive(Debug, Clone, Copy)]
pub struct HtmlStats {
    pub bytes: usize,
    pub plots: usize,
    pub children: usize,
    pub seconds: f64,
    /// History lines left out of the page (warned about on it and on stderr).
    pub invalid: usize,
}

/// Reads `runs`, renders the page and writes it atomically to `out`.
/// An existing `out` that is not an earlier nasgpu report is replaced only with `force`.
pub fn write(
    runs: &[PathBuf],
    out: &Path,
    refresh: Option<u32>,
    force: bool,
) -> Result<HtmlStats, CliError> {
    let started = Instant::now();
    let earlier_report = std::fs::read_to_string(out).is_ok_and(|t| is_report(&t));
    crate::util::output::check_file(out, "--html", force || earlier_report).map_err(CliError)?;
    let mut views = runs
        .iter()
        .map(|d| run_view(d))
        .collect::<Result<Vec<_>, _>>()?;
    if views.iter().any(|v| v.setup != views[0].setup) {
        for v in &mut views {
            v.strategy = format!("{} ({})", v.strategy, v.setup);
        }
    }
    let invalid = runs
        .iter()
        .zip(&views)
        .map(|(d, v)| super::report::flag_invalid(d, &v.invalid))
        .sum();
    let page = render(&views, refresh);
    crate::util::atomic_write(out, page.as_bytes())
        .map_err(|e| CliError(format!("{}: cannot write: {e}", out.display())))?;
    Ok(HtmlStats {
        bytes: page.len(),
        plots: page.matches("<svg class=\"plot").count(),
        children: views.iter().map(|v| v.children.len()).sum(),
        seconds: started.elapsed().as_secs_f64(),
        invalid,
    })
}

/// The heading every page `render` writes.
const HEADING: &str = "<h1>nasgpu search report</h1>";

/// Whether `text` is a page this command wrote (which a new report may replace).
fn is_report(text: &str) -> bool {
    text.starts_with("<!DOCTYPE html>") && text.contains(HEADING)
}

/// `nasgpu report --html FILE`: writes the page and says where, how big and how fast.
pub fn run(
    runs: &[PathBuf],
    file: &Path,
    refresh: Option<u32>,
    force: bool,
) -> Result<(), CliError> {
    let stats = write(runs, file, refresh, force)?;
    println!(
        "wrote {} ({}, {} plots, {} children) in {:.2} s",
        file.display(),
        crate::util::human_bytes(stats.bytes as u64),
        stats.plots,
        stats.children,
        stats.seconds
    );
    super::report::invalid_outcome(stats.invalid)
}

const CSS: &str = "\
:root{color-scheme:light}\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d1d1f;background:#fff;margin:0 auto;max-width:1280px;padding:12px 14px}\
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.15em;margin:1.4em 0 .5em;border-bottom:1px solid #ddd}\
p.note{color:#555;margin:.3em 0}\
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,520px),1fr));gap:12px}\
.plots.small{grid-template-columns:repeat(auto-fill,minmax(min(100%,340px),1fr))}\
figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:6px;break-inside:avoid;page-break-inside:avoid}\
figcaption{font-size:.85em;color:#444;padding:2px 4px}\
svg.plot{display:block;width:100%;height:auto}\
svg text{font-family:inherit;fill:#333}svg .title{font-size:14px;font-weight:600}\
svg .tick{font-size:11px;fill:#555}svg .label{font-size:12px}\
svg .gl{stroke:#e6e6e6;stroke-width:1}svg .axes{fill:none;stroke:#888}\
svg.arch rect{fill:#eef4fb;stroke:#1f77b4;stroke-width:1.3}svg.arch .input rect{fill:#f4f4f4;stroke:#777}\
svg.arch .head rect{fill:#fdf0e6;stroke:#ff7f0e}svg.arch text{font-size:12px}svg.arch .sub{fill:#666}\
svg.arch .edge{fill:none;stroke:#888;stroke-width:1.4}svg.arch .skip{stroke:#d62728}svg.arch .out{stroke:#ff7f0e}\
svg.cell circle{fill:#eef4fb;stroke:#1f77b4;stroke-width:1.3}svg.cell .op rect{fill:#fff;stroke:#888}\
svg.cell .edge.e-conv{stroke:#1f77b4}svg.cell .edge.e-pool{stroke:#2ca02c}svg.cell .edge.e-skip{stroke:#d62728}\
svg.cell .op.e-conv rect{stroke:#1f77b4}svg.cell .op.e-pool rect{stroke:#2ca02c}svg.cell .op.e-skip rect{stroke:#d62728}\
svg.cell .op text{font-size:11px}\
.table{overflow-x:auto}table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}\
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right;white-space:nowrap}th{background:#f6f6f6}\
td:first-child,th:first-child{text-align:left}\
@media (max-width:600px){body{padding:8px;font-size:14px}}\
@media print{body{max-width:none;padding:0}.plots,.plots.small{grid-template-columns:1fr 1fr}h2{break-after:avoid}}";

/// The running maximum of `values`, as points `(i, best so far)`.
fn running_best(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut best = f64::NEG_INFINITY;
    points
        .iter()
        .map(|&(x, y)| {
            best = best.max(y);
            (x, best)
        })
        .collect()
}

fn figure(out: &mut String, svg: &str, caption: &str) {
    let _ = write!(
        out,
        "<figure>{svg}<figcaption>{}</figcaption></figure>",
        esc(caption)
    );
}

/// Per run: reward and best validation accuracy of each child, with the running best.
fn per_child_section(out: &mut String, runs: &[RunView]) {
    out.push_str("<h2>Reward and validation accuracy per child</h2><div class=\"plots\">");
    for (k, r) in runs.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        for (what, value) in [
            (
                "reward",
                (|c: &ChildView| c.reward) as fn(&ChildView) -> f64,
            ),
            ("best validation accuracy", |c: &ChildView| c.accuracy),
        ] {
            let points: Vec<(f64, f64)> = r
                .children
                .iter()
                .map(|c| (c.index as f64 + 1.0, value(c)))
                .collect();
            let x = Axis::fit("child", false, points.iter().map(|p| p.0));
            let y = Axis::fit(what, false, points.iter().map(|p| p.1));
            let title = format!("{} ({}, seed {}): {what}", r.name, r.strategy, r.seed);
            let series = [
                Series {
                    name: "child".into(),
                    color,
                    mark: Mark::Dots,
                    points: points.clone(),
                },
                Series {
                    name: "running best".into(),
                    color: "#111",
                    mark: Mark::Line,
                    points: running_best(&points),
                },
            ];
            let best = points.iter().map(|p| p.1).fold(0.0, f64::max);
            figure(
                out,
                &svg::xy(&title, &x, &y, &series),
                &format!("{} children; best {what} {best:.4}", points.len()),
            );
        }
    }
    out.push_str("</div>");
}

/// Strategies in order of first appearance, each with its colour.
fn strategies(runs: &[RunView]) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for r in runs {
        if !out.iter().any(|(s, _)| *s == r.strategy) {
            out.push((r.strategy.clone(), PALETTE[out.len() % PALETTE.len()]));
        }
    }
    out
}

/// Reward distribution per quarter of each run, pooled over the runs of a strategy.
fn quarters_section(out: &mut String, runs: &[RunView]) {
    out.push_str("<h2>Reward distribution per quarter of the run</h2><div class=\"plots\">");
    let groups: Vec<(String, &'static str, Vec<Vec<f64>>)> = strategies(runs)
        .into_iter()
        .map(|(s, color)| {
            let mut q = vec![Vec::new(); 4];
            for r in runs.iter().filter(|r| r.strategy == s) {
                let n = r.children.len().max(1);
                for (i, c) in r.children.iter().enumerate().filter(|(_, c)| c.ok) {
                    q[(4 * i / n).min(3)].push(c.reward);
                }
            }
            (s, color, q)
        })
        .collect();
    let categories: Vec<String> = (1..=4).map(|q| format!("quarter {q}")).collect();
    let counts: Vec<String> = groups
        .iter()
        .map(|(s, _, q)| {
            format!(
                "{s}: {}",
                q.iter()
                    .map(|v| v.len().to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            )
        })
        .collect();
    figure(
        out,
        &svg::boxes(
            "Reward per quarter (trained children)",
            &categories,
            "reward",
            &groups,
        ),
        &format!(
            "Boxes: quartiles, line: median, whiskers: min and max. Children per quarter: {}",
            counts.join("; ")
        ),
    );
    out.push_str("</div>");
}

/// A child's cost on one axis, where recorded.
type Measure = fn(&ChildView) -> Option<f64>;

/// Accuracy against a cost (parameters, FLOPs, latency) per strategy, Pareto front marked.
fn cost_section(out: &mut String, runs: &[RunView]) {
    out.push_str("<h2>Accuracy against cost, with the Pareto front</h2><div class=\"plots\">");
    let all: Vec<(&RunView, &ChildView)> = runs
        .iter()
        .flat_map(|r| r.children.iter().filter(|c| c.ok).map(move |c| (r, c)))
        .collect();
    let costs: [(&str, Measure); 3] = [
        ("parameters", |c| Some(c.parameters)),
        ("forward FLOPs per image", |c| Some(c.flops)),
        ("latency (ms)", |c| c.latency_ms),
    ];
    let mut missing = Vec::new();
    for (label, cost) in costs {
        let points: Vec<(f64, f64)> = all
            .iter()
            .filter_map(|(_, c)| Some((cost(c)?, c.accuracy)))
            .collect();
        if points.is_empty() {
            missing.push(label);
            continue;
        }
        let mut series: Vec<Series> = strategies(runs)
            .into_iter()
            .map(|(s, color)| Series {
                points: all
                    .iter()
                    .filter(|(r, _)| r.strategy == s)
                    .filter_map(|(_, c)| Some((cost(c)?, c.accuracy)))
                    .collect(),
                name: s,
                color,
                mark: Mark::Dots,
            })
            .collect();
        let front = svg::pareto_front(&points);
        series.push(Series {
            name: "Pareto front".into(),
            color: "#111",
            mark: Mark::Line,
            points: front.clone(),
        });
        series.push(Series {
            name: String::new(),
            color: "#111",
            mark: Mark::Rings,
            points: front.clone(),
        });
        let x = Axis::fit(label, true, points.iter().map(|p| p.0));
        let y = Axis::fit(
            "best validation accuracy",
            false,
            points.iter().map(|p| p.1),
        );
        figure(
            out,
            &svg::xy(&format!("Accuracy against {label}"), &x, &y, &series),
            &format!(
                "{} trained children; {} on the Pareto front (no child is at most as costly and more accurate)",
                points.len(),
                front.len()
            ),
        );
    }
    out.push_str("</div>");
    if !missing.is_empty() {
        let _ = write!(
            out,
            "<p class=\"note\">Not plotted: {}: not recorded by these runs.</p>",
            missing.join(", ")
        );
    }
}

/// The trained children of all runs, best reward first.
fn ranked(runs: &[RunView]) -> Vec<(&RunView, &ChildView)> {
    let mut all: Vec<(&RunView, &ChildView)> = runs
        .iter()
        .flat_map(|r| r.children.iter().filter(|c| c.ok).map(move |c| (r, c)))
        .collect();
    all.sort_by(|a, b| b.1.reward.total_cmp(&a.1.reward));
    all
}

fn curves_section(out: &mut String, runs: &[RunView], top: usize) {
    out.push_str("<h2>Learning curves of the top children</h2><div class=\"plots\">");
    let best = ranked(runs);
    let series: Vec<Series> = best
        .iter()
        .take(top)
        .enumerate()
        .map(|(k, (r, c))| Series {
            name: format!("{} #{}", r.name, c.index),
            color: PALETTE[k % PALETTE.len()],
            mark: Mark::Line,
            points: c
                .val_accuracy
                .iter()
                .enumerate()
                .map(|(e, &a)| (e as f64 + 1.0, a))
                .collect(),
        })
        .collect();
    // Curves need two epochs: a table run's children have one metric each, nothing to plot.
    if series.iter().any(|s| s.points.len() > 1) {
        let x = Axis::fit(
            "epoch",
            false,
            series.iter().flat_map(|s| s.points.iter().map(|p| p.0)),
        );
        let y = Axis::fit(
            "validation accuracy",
            false,
            series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
        );
        // Many names do not fit a legend: the caption lists them instead.
        let unnamed: Vec<Series> = series
            .iter()
            .map(|s| Series {
                name: if series.len() > 4 {
                    String::new()
                } else {
                    s.name.clone()
                },
                ..s.clone()
            })
            .collect();
        let svg_text = svg::xy("Validation accuracy per epoch", &x, &y, &unnamed);
        let names: Vec<String> = series
            .iter()
            .zip(&best)
            .map(|(s, (_, c))| format!("{} (reward {:.4})", s.name, c.reward))
            .collect();
        figure(
            out,
            &svg_text,
            &format!(
                "Top {} by reward, colours in order: {}",
                series.len(),
                names.join(", ")
            ),
        );
    } else if !series.is_empty() {
        out.push_str("<p>Not plotted: the children have one measurement each (a table run).</p>");
    }
    out.push_str("</div>");
}

fn architectures_section(out: &mut String, runs: &[RunView], top: usize) {
    out.push_str("<h2>Best architectures</h2><div class=\"plots small\">");
    let mut shown: Vec<&Architecture> = Vec::new();
    for (r, c) in ranked(runs) {
        if shown.len() == top {
            break;
        }
        if shown.contains(&&c.architecture) {
            continue;
        }
        shown.push(&c.architecture);
        let title = format!("#{} of {}", c.index, r.name);
        figure(
            out,
            &arch::draw(&title, &c.architecture),
            &format!(
                "reward {:.4}, validation accuracy {:.4}, {} parameters, {} FLOPs, trained in {:.1} s. {}",
                c.reward,
                c.accuracy,
                svg::short(c.parameters),
                svg::short(c.flops),
                c.train_seconds,
                arch::legend(&c.architecture)
            ),
        );
    }
    out.push_str("</div>");
}

fn cost_table(out: &mut String, runs: &[RunView]) {
    out.push_str(
        "<h2>Runs and their cost</h2><div class=\"table\"><table><tr><th>run</th><th>strategy</th>\
         <th>seed</th><th>children</th><th>failed</th><th>best reward</th><th>best val acc</th>\
         <th>mean top-5 reward</th><th>search time</th><th>child training</th>\
         <th>controller s/update</th><th>outside child training</th></tr>",
    );
    for r in runs {
        let mut rewards: Vec<f64> = r.children.iter().map(|c| c.reward).collect();
        rewards.sort_by(|a, b| b.total_cmp(a));
        let top: Vec<f64> = rewards.iter().take(5).copied().collect();
        let top5 = top.iter().sum::<f64>() / top.len().max(1) as f64;
        let best_acc = r.children.iter().map(|c| c.accuracy).fold(0.0, f64::max);
        let failed = r.children.iter().filter(|c| !c.ok).count();
        let c = &r.cost;
        let time = |s: f64| {
            if c.total_seconds > 0.0 {
                format!("{:.1} min", s / 60.0)
            } else {
                "-".into()
            }
        };
        let per_update = c
            .controller_seconds_per_update()
            .map_or("-".into(), |v| format!("{v:.3}"));
        let outside = if c.total_seconds > 0.0 {
            format!("{:.2}%", 100.0 * c.outside_share())
        } else {
            "-".into()
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{failed}</td><td>{:.4}</td>\
             <td>{best_acc:.4}</td><td>{top5:.4}</td><td>{}</td><td>{}</td><td>{per_update}</td><td>{outside}</td></tr>",
            esc(&r.name),
            esc(&r.strategy),
            r.seed,
            r.children.len(),
            r.budget,
            rewards.first().copied().unwrap_or(0.0),
            time(c.total_seconds),
            time(c.child_seconds),
        );
    }
    out.push_str("</table></div>");
}

/// The whole page.
fn render(runs: &[RunView], refresh: Option<u32>) -> String {
    let mut out = String::with_capacity(1 << 20);
    out.push_str(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
    );
    if let Some(s) = refresh {
        let _ = write!(out, "<meta http-equiv=\"refresh\" content=\"{s}\">");
    }
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    let _ = write!(
        out,
        "<title>nasgpu report: {}</title><style>{CSS}</style></head><body>{HEADING}",
        esc(&names.join(", "))
    );
    for r in runs {
        for l in &r.invalid {
            let _ = write!(
                out,
                "<p class=\"note warning\"><strong>Left out:</strong> {}: history.jsonl line {}: {}</p>",
                esc(&r.name),
                l.line,
                esc(&l.message)
            );
        }
    }
    let children: usize = runs.iter().map(|r| r.children.len()).sum();
    let running = runs.iter().filter(|r| !r.finished).count();
    let _ = write!(
        out,
        "<p class=\"note\">{} run(s), {children} children; written {} by nasgpu {}.{}{}</p>",
        runs.len(),
        crate::util::date::utc_string(std::time::SystemTime::now()),
        crate::nn::meta::NASGPU_VERSION,
        if running > 0 {
            format!(" {running} run(s) not finished (running or interrupted).")
        } else {
            String::new()
        },
        refresh.map_or(String::new(), |s| format!(
            " This page reloads every {s} s."
        ))
    );
    cost_table(&mut out, runs);
    if children == 0 {
        out.push_str("<p class=\"note\">No child has finished yet.</p></body></html>");
        return out;
    }
    per_child_section(&mut out, runs);
    quarters_section(&mut out, runs);
    cost_section(&mut out, runs);
    curves_section(&mut out, runs, 8);
    architectures_section(&mut out, runs, 3);
    out.push_str("</body></html>\n");
    out
}
