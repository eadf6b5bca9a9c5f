//! A controller whose numbers stop being finite stops the search with an error instead of
//! sampling garbage to the end of the budget (issue 11: `controller.init_range: 1e30` ran to
//! the end with "mean log P NaN"). The configuration loader refuses such values in a file;
//! this builds the parts directly, so the run-time guard itself is what is tested.

mod common;
mod search_common;

use nasgpu::search::{Parts, RunDir, Search, SearchConfig, SearchState, SpaceKind, StrategyKind};

/// A table search of `strategy` whose controller starts with weights of magnitude `range`.
fn run_with_init_range(
    strategy: StrategyKind,
    range: f32,
) -> (Result<(), String>, std::path::PathBuf) {
    let mut config = SearchConfig::quick();
    config.run.space = SpaceKind::Nb201;
    config.run.evaluator = nasgpu::search::EvaluatorKind::Table;
    config.run.strategy = strategy;
    config.run.budget = 8;
    config.table.file = Some(search_common::shared_table());
    config.table.metric = "acc".into();
    config.controller.init_range = range;
    let dir = search_common::temp_dir(&format!("nonfinite-{strategy:?}-{range}"));
    let gpu = common::gpu();
    let (parts, input, classes) = Parts::build(&config, Some(&gpu), None).unwrap();
    let run = RunDir::create(&dir, &config).unwrap();
    let state = SearchState::new(config.run.seed);
    let mut search = Search::new(config, parts, input, classes, run, state).unwrap();
    let result = search
        .run(&|| false, &mut |_| {})
        .map(|_| ())
        .map_err(|e| e.to_string());
    (result, dir)
}

#[test]
fn a_controller_that_samples_non_finite_log_probabilities_stops_the_search() {
    for strategy in [StrategyKind::Reinforce, StrategyKind::Ppo] {
        let (result, dir) = run_with_init_range(strategy, 1e30);
        let e = result.expect_err("a NaN controller ran to the end");
        assert!(
            e.contains("controller") && e.contains("not finite"),
            "{strategy:?}: {e}"
        );
        // Stopped before its first batch was saved or evaluated: nothing to contradict.
        assert!(
            !dir.join("state.json").exists(),
            "{strategy:?}: state.json written"
        );
        assert!(
            search_common::history(&dir).is_empty(),
            "{strategy:?}: children recorded"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    // The default range runs.
    let (result, dir) = run_with_init_range(StrategyKind::Reinforce, 0.08);
    result.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
