#!/usr/bin/env bash
# Every strategy at equal budget on Fashion-MNIST, 3 seeds each, with the proxy of
# assets/configs/fashion-mnist-proxy.json; then the best architecture of each strategy (over
# its seeds) retrained with `nasgpu train` on the full training set and tested.
#
#   scripts/search-benchmark.sh [OUT_DIR] [RETRAIN_EPOCHS]
#   STRATEGIES="reinforce random" scripts/search-benchmark.sh ...   # a subset
#
# Re-running it resumes unfinished searches and skips finished steps, so it can be interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/benchmark}
EPOCHS=${2:-10}
CONFIG=assets/configs/fashion-mnist-proxy.json
STRATEGIES=${STRATEGIES:-reinforce random ppo evolution}
BIN=target/release/nasgpu
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

cargo build --release --quiet
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

$BIN report "$OUT"/reinforce-? "$OUT"/random-? > "$OUT/report.md"
log "search report in $OUT/report.md"

for strategy in $STRATEGIES; do
  best=$($BIN report --best "$OUT/$strategy"-?)
  dir="$OUT/retrain-$strategy"
  if grep -qs '"status": "completed"' "$dir/metrics.json"; then
    log "$dir: trained already"
    continue
  fi
  log "retraining $best for $EPOCHS epochs into $dir"
  $BIN train --arch "$best" "${DATA[@]}" --epochs "$EPOCHS" --out "$dir" 2>>"$OUT/benchmark.log" | tee -a "$OUT/benchmark.log"
done
log "done"
