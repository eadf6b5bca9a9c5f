#!/usr/bin/env bash
# Equal-budget strategy benchmark on a table: every strategy, every budget, many seeds, then
# one `nasgpu report` table per budget (mean ± sd of the best metric, host ms per query).
# Usage: scripts/strategy-benchmark.sh OUT [SEEDS=20] [BUDGETS="50 100 300"] [CONFIG]
# CONFIG defaults to assets/configs/nb201-table.json (the synthetic NAS-Bench-201 table;
# a published table in the same CSV form works with --table-* options in a config of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/strategy-benchmark.sh OUT [SEEDS] [BUDGETS] [CONFIG]}
seeds=${2:-20}
budgets=${3:-50 100 300}
config=${4:-assets/configs/nb201-table.json}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo build --release -q
bin=target/release/nasgpu
mkdir -p "$out"
for budget in $budgets; do
  mkdir -p "$out/b$budget"
  for strategy in random evolution reinforce ppo; do
    for seed in $(seq 1 "$seeds"); do
      dir="$out/b$budget/$strategy-$seed"
      [ -f "$dir/summary.json" ] && continue # resumable: finished runs are kept
      rm -rf "$dir"
      "$bin" search --config "$config" --strategy "$strategy" --budget "$budget" \
        --seed "$seed" --out "$dir" >/dev/null 2>"$dir.log" || { cat "$dir.log" >&2; exit 1; }
      rm -f "$dir.log"
    done
  done
  "$bin" report "$out/b$budget"/* --window "$budget" >"$out/report-b$budget.md"
  echo "== budget $budget"
  sed -n '/^| strategy/,$p' "$out/report-b$budget.md"
done
