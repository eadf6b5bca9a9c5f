//! `nasgpu report RUN_DIR...`: compares finished (or running) searches: best and top-5 rewards,
//! reward over time, failures and cost, one row per run and one per strategy (mean over seeds).

use std::path::{Path, PathBuf};

use super::CliError;
use crate::search::run_dir::InvalidLine;
use crate::search::{ChildRecord, RunDir, SearchCost, StrategyKind};

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Run directories written by `nasgpu search`.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Children per window of the reward-over-time columns.
    #[arg(long, default_value_t = 25, allow_negative_numbers = true,
          value_parser = super::options::count(1, 1_000_000))]
    pub window: usize,
    /// Print only the path of the best architecture (best.json) over all the runs.
    #[arg(long)]
    pub best: bool,
    /// Write a self-contained HTML report (inline SVG plots) to FILE instead of the tables.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// With --html: the page reloads itself every SECONDS (to watch a running search).
    #[arg(long, value_name = "SECONDS", requires = "html", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub refresh: Option<u32>,
    /// Print the runs' figures as JSON on stdout instead of the tables.
    #[arg(long, conflicts_with_all = ["html", "best"])]
    pub json: bool,
    /// With --html: replace FILE even if it is not an earlier nasgpu report.
    #[arg(long, requires = "html")]
    pub force: bool,
}

/// Warns on stderr about each history line of `dir` that the figures leave out (not a valid
/// record of its run), naming file, line and field; returns how many.
pub fn flag_invalid(dir: &Path, invalid: &[InvalidLine]) -> usize {
    let file = dir.join(crate::search::run_dir::HISTORY_FILE);
    for l in invalid {
        eprintln!(
            "warning: {}: line {}: {}; left out of the report",
            file.display(),
            l.line,
            l.message
        );
    }
    invalid.len()
}

/// The command's outcome after its output: a failure when lines were left out, so that a
/// script notices the figures are not the whole run.
pub fn invalid_outcome(left_out: usize) -> Result<(), CliError> {
    if left_out == 0 {
        return Ok(());
    }
    Err(CliError(format!(
        "{left_out} invalid history line(s) were left out of the report (named above)"
    )))
}

/// One run's figures.
struct RunFigures {
    name: String,
    strategy: StrategyKind,
    /// `space/evaluator`: runs are compared per strategy within one setup.
    setup: String,
    seed: u64,
    children: usize,
    best: f64,
    best_accuracy: f64,
    top5: f64,
    /// Mean reward of each window of children, in order.
    windows: Vec<f64>,
    failed: usize,
    /// Cost of the run over all its sessions, as of its last state write.
    cost: SearchCost,
    /// History lines left out (flagged on stderr).
    invalid: usize,
}

fn best_accuracy(r: &ChildRecord) -> f64 {
    r.best_accuracy()
}

fn figures(dir: &Path, window: usize) -> Result<RunFigures, CliError> {
    let (run, config, state) = RunDir::inspect(dir).map_err(|e| CliError(e.to_string()))?;
    let invalid = flag_invalid(dir, run.invalid());
    let h = run.history();
    let mut rewards: Vec<f64> = h.iter().map(|r| r.reward).collect();
    let windows = rewards
        .chunks(window.max(1))
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    rewards.sort_by(|a, b| b.total_cmp(a));
    let top = &rewards[..rewards.len().min(5)];
    let best = run.best();
    Ok(RunFigures {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        strategy: config.run.strategy,
        setup: format!(
            "{}/{}",
            format!("{:?}", config.run.space).to_lowercase(),
            format!("{:?}", config.run.evaluator).to_lowercase()
        ),
        seed: config.run.seed,
        children: h.len(),
        best: best.map_or(0.0, |b| b.reward),
        best_accuracy: best.map_or(0.0, best_accuracy),
        top5: top.iter().sum::<f64>() / top.len().max(1) as f64,
        windows,
        failed: h.iter().filter(|r| r.status.is_failure()).count(),
        cost: if state.cost.total_seconds > 0.0 {
            state.cost
        } else {
            summary_cost(dir).unwrap_or_default()
        },
        invalid,
    })
}

/// The cost a run's summary.json recorded, for runs whose state.json predates keeping it there
/// (their summary covers their last session only, which is the whole run unless resumed).
fn summary_cost(dir: &Path) -> Option<SearchCost> {
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    let summary: serde_json::Value = serde_json::from_str(&text).ok()?;
    ["cost_total", "cost_this_session"]
        .iter()
        .find_map(|key| serde_json::from_value(summary.get(*key)?.clone()).ok())
}

/// Whole-run milliseconds per child: for a table search, the host time of a query.
fn ms_per_child(r: &RunFigures) -> String {
    if r.cost.total_seconds > 0.0 && r.children > 0 {
        format!("{:.2}", r.cost.total_seconds * 1e3 / r.children as f64)
    } else {
        "-".into()
    }
}

/// `median (min–max)` of some values.
fn median_range(values: &[f64]) -> String {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return "-".into();
    }
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    format!("{median:.2} ({:.2}–{:.2})", v[0], v[n - 1])
}

/// Mean and sample standard deviation (0 for a single value).
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

pub fn run(args: &ReportArgs) -> Result<(), CliError> {
    if let Some(file) = &args.html {
        return super::report_html::run(&args.runs, file, args.refresh, args.force);
    }
    if args.json {
        return super::report_json::run(&args.runs, args.window);
    }
    let runs = args
        .runs
        .iter()
        .map(|d| figures(d, args.window))
        .collect::<Result<Vec<_>, _>>()?;
    if args.best {
        let (dir, _) = args
            .runs
            .iter()
            .zip(&runs)
            .max_by(|a, b| a.1.best.total_cmp(&b.1.best))
            .expect("clap requires at least one run");
        println!("{}", dir.join(crate::search::run_dir::BEST_FILE).display());
        return invalid_outcome(runs.iter().map(|r| r.invalid).sum());
    }
    let windows = runs.iter().map(|r| r.windows.len()).max().unwrap_or(0);
    let window_heads: String = (0..windows)
        .map(|w| format!(" {}-{} |", w * args.window + 1, (w + 1) * args.window))
        .collect();
    println!(
        "| run | strategy | setup | seed | children | best reward | best val acc | mean top-5 reward | failed | controller s/update | outside child training | ms/child |{window_heads}"
    );
    println!(
        "|---|---|---|---|---|---|---|---|---|---|---|---|{}",
        "---|".repeat(windows)
    );
    for r in &runs {
        let per_update = r
            .cost
            .controller_seconds_per_update()
            .map_or("-".into(), |v| format!("{v:.3}"));
        // Runs with neither a cost in state.json nor a summary have none to show.
        let outside = if r.cost.total_seconds > 0.0 {
            format!("{:.1}%", 100.0 * r.cost.outside_share())
        } else {
            "-".into()
        };
        let cells: String = (0..windows)
            .map(|w| {
                r.windows
                    .get(w)
                    .map_or(" |".into(), |v| format!(" {v:.4} |"))
            })
            .collect();
        println!(
            "| {} | {} | {} | {} | {} | {:.4} | {:.4} | {:.4} | {} | {per_update} | {outside} | {} |{cells}",
            r.name,
            r.strategy.name(),
            r.setup,
            r.seed,
            r.children,
            r.best,
            r.best_accuracy,
            r.top5,
            r.failed,
            ms_per_child(r)
        );
    }
    println!();
    println!(
        "| strategy | setup | runs | best reward (mean ± sd) | mean top-5 reward (mean ± sd) | best val acc (mean ± sd) | ms/child (median, min–max) |{window_heads}"
    );
    println!("|---|---|---|---|---|---|---|{}", "---|".repeat(windows));
    let mut groups: Vec<(StrategyKind, String)> = Vec::new();
    for r in &runs {
        if !groups
            .iter()
            .any(|(s, g)| *s == r.strategy && *g == r.setup)
        {
            groups.push((r.strategy, r.setup.clone()));
        }
    }
    for (strategy, setup) in groups {
        let group: Vec<&RunFigures> = runs
            .iter()
            .filter(|r| r.strategy == strategy && r.setup == setup)
            .collect();
        let (b, bs) = mean_std(&group.iter().map(|r| r.best).collect::<Vec<_>>());
        let (t, ts) = mean_std(&group.iter().map(|r| r.top5).collect::<Vec<_>>());
        let (a, as_) = mean_std(&group.iter().map(|r| r.best_accuracy).collect::<Vec<_>>());
        let cells: String = (0..windows)
            .map(|w| {
                let vals: Vec<f64> = group
                    .iter()
                    .filter_map(|r| r.windows.get(w).copied())
                    .collect();
                if vals.is_empty() {
                    " |".into()
                } else {
                    format!(" {:.4} |", mean_std(&vals).0)
                }
            })
            .collect();
        println!(
            "| {} | {setup} | {} | {b:.4} ± {bs:.4} | {t:.4} ± {ts:.4} | {a:.4} ± {as_:.4} | {} |{cells}",
            strategy.name(),
            group.len(),
            median_range(
                &group
                    .iter()
                    .map(|r| r.cost.total_seconds * 1e3 / r.children.max(1) as f64)
                    .collect::<Vec<_>>()
            )
        );
    }
    for dir in &args.runs {
        print_alpha(dir);
    }
    invalid_outcome(runs.iter().map(|r| r.invalid).sum())
}

/// For a DARTS run: softmax(alpha) of its last derivation, one row per edge, from `darts.json`.
fn print_alpha(dir: &std::path::Path) {
    use crate::search::strategy::darts::{ALPHA_FILE, AlphaLog};
    let Ok(text) = std::fs::read_to_string(dir.join(ALPHA_FILE)) else {
        return;
    };
    let Ok(log) = serde_json::from_str::<AlphaLog>(&text) else {
        eprintln!("{}: not a DARTS alpha log", dir.join(ALPHA_FILE).display());
        return;
    };
    let Some(last) = log.derivations.last() else {
        return;
    };
    println!();
    println!(
        "DARTS {} (remedy {}): softmax(alpha) after {} steps, derived `{}`",
        dir.display(),
        log.remedy,
        last.steps,
        last.derived
    );
    println!();
    println!("| edge | {} |", log.operations.join(" | "));
    println!("|---|{}", "---|".repeat(log.operations.len()));
    for (row, edge) in last.softmax.iter().zip(edge_labels(last.softmax.len())) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:.3}")).collect();
        println!("| {edge} | {} |", cells.join(" | "));
    }
}

/// The edge of each row of alpha: NAS-Bench-201's six edges `i->j`, or the DARTS cells' 14
/// edges of the normal cell and then of the reduction cell (`normal i->j`).
fn edge_labels(rows: usize) -> Vec<String> {
    use crate::nn::darts_cell::DARTS_NODES;
    if rows == crate::nn::NB201_EDGES.len() {
        return crate::nn::NB201_EDGES
            .iter()
            .map(|(from, to)| format!("{from}->{to}"))
            .collect();
    }
    let mut labels = Vec::with_capacity(rows);
    for cell in ["normal", "reduce"] {
        for j in 0..DARTS_NODES {
            for i in 0..j + 2 {
                labels.push(format!("{cell} {i}->{}", j + 2));
            }
        }
    }
    labels.resize_with(rows, || "?".into());
    labels
}
