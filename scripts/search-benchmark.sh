#!/usr/bin/env bash
# Every strategy at equal budget on Fashion-MNIST, 3 seeds each, with the proxy of
# assets/configs/fashion-mnist-proxy.json; then the best architecture of each strategy (over
# its seeds) retrained with `nasgpu train` on the full training set and tested, beside the
# hand-designed `small-cnn` preset under the same recipe (epochs, batch, lr, schedule, seed).
#
#   scripts/search-benchmark.sh [OUT_DIR] [RETRAIN_EPOCHS]
#   STRATEGIES="reinforce random" scripts/search-benchmark.sh ...   # a subset
#   NASGPU_BIN=/tmp/nasgpu-frozen scripts/search-benchmark.sh ...     # a fixed binary
#
# Re-running it resumes unfinished searches and skips finished steps, so it can be interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/benchmark}
EPOCHS=${2:-10}
CONFIG=assets/configs/fashion-mnist-proxy.json
STRATEGIES=${STRATEGIES:-reinforce random ppo evolution}
# NASGPU_BIN: a frozen copy of the binary, so rebuilding the tree mid-benchmark changes nothing
BIN=${NASGPU_BIN:-target/release/nasgpu}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

[ -n "${NASGPU_BIN:-}" ] || cargo build --release --quiet
if ! $BIN train --help >/dev/null; then exit 1; fi
DATA=(--dataset fashion-mnist)
mkdir -p "$OUT"
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/benchmark.log"; }

for seed in 1 2 3; do
  for strategy in $STRATEGIES; do
    dir="$OUT/$strategy-$seed"
    if grep -qs '"status": "finished"' "$dir/summary.json"; then
      log "$dir: finished already"
    elif [ -d "$dir" ]; then
      log "$dir: resuming"
      $BIN search --resume "$dir" 2>>"$OUT/benchmark.log"
    else
      log "$dir: starting"
      $BIN search --config "$CONFIG" "${DATA[@]}" --strategy "$strategy" --seed "$seed" --out "$dir" 2>>"$OUT/benchmark.log"
    fi
  done
done

runs=()
for strategy in $STRATEGIES; do runs+=("$OUT/$strategy"-?); done
$BIN report "${runs[@]}" > "$OUT/report.md"
log "search report in $OUT/report.md"

retrain() { # NAME ARCH_OPTION...
  local dir="$OUT/retrain-$1"
  shift
  if grep -qs '"status": "completed"' "$dir/metrics.json"; then
    log "$dir: trained already"
    return
  fi
  log "retraining $* for $EPOCHS epochs into $dir"
  $BIN train "$@" "${DATA[@]}" --epochs "$EPOCHS" --seed 0 --out "$dir" 2>>"$OUT/benchmark.log" | tee -a "$OUT/benchmark.log"
}
retrain small-cnn --preset small-cnn
for strategy in $STRATEGIES; do
  retrain "$strategy" --arch "$($BIN report --best "$OUT/$strategy"-?)"
done
log "done"
