//! `nasgpu report RUN... --json`: the runs' figures as one JSON document on stdout (per run:
//! strategy, seed, children, failures, best and mean top-5 reward, best child, mean reward per
//! window, cost). Children are read through `report_html::child_view`, like the HTML page.

use std::path::PathBuf;

use serde_json::json;

use super::CliError;
use super::report_html::child_view;
use crate::search::RunDir;

/// The JSON document of `runs`, with reward windows of `window` children.
/// Each run carries `invalid_lines` (file, line, message of every history line left out).
pub fn document(runs: &[PathBuf], window: usize) -> Result<serde_json::Value, CliError> {
    let mut out = Vec::new();
    for dir in runs {
        let (run, config, state) = RunDir::inspect(dir).map_err(|e| CliError(e.to_string()))?;
        let history_file = dir.join(crate::search::run_dir::HISTORY_FILE);
        let invalid: Vec<_> = run
            .invalid()
            .iter()
            .map(|l| json!({ "file": history_file, "line": l.line, "message": l.message }))
            .collect();
        let children: Vec<_> = run.history().iter().map(child_view).collect();
        let mut rewards: Vec<f64> = children.iter().map(|c| c.reward).collect();
        let windows: Vec<f64> = rewards
            .chunks(window.max(1))
            .map(|c| c.iter().sum::<f64>() / c.len() as f64)
            .collect();
        rewards.sort_by(|a, b| b.total_cmp(a));
        let top = &rewards[..rewards.len().min(5)];
        let best = run.best().map(child_view);
        out.push(json!({
            "path": dir,
            "strategy": format!("{:?}", config.run.strategy),
            "seed": config.run.seed,
            "budget": config.run.budget,
            "time_limit": config.run.time_limit,
            "finished": state.finished(&config.run),
            "children": children.len(),
            "failed": children.iter().filter(|c| !c.ok).count(),
            "best_reward": best.as_ref().map(|b| b.reward),
            "best_val_accuracy": best.as_ref().map(|b| b.accuracy),
            "mean_top5_reward": top.iter().sum::<f64>() / top.len().max(1) as f64,
            "best": best.as_ref().map(|b| json!({
                "index": b.index, "parameters": b.parameters, "flops": b.flops,
                "architecture": b.architecture,
            })),
            "window": window,
            "window_mean_rewards": windows,
            "cost": state.cost,
            "controller_seconds_per_update": state.cost.controller_seconds_per_update(),
            "outside_share": state.cost.outside_share(),
            "invalid_lines": invalid,
        }));
    }
    Ok(json!({ "runs": out }))
}

/// Prints the document.
pub fn run(runs: &[PathBuf], window: usize) -> Result<(), CliError> {
    let doc = document(runs, window)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("report serialises")
    );
    let mut left_out = 0;
    for dir in runs {
        let (run, _, _) = RunDir::inspect(dir).map_err(|e| CliError(e.to_string()))?;
        left_out += super::report::flag_invalid(dir, run.invalid());
    }
    super::report::invalid_outcome(left_out)
}
