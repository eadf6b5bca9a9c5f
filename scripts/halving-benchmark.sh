#!/usr/bin/env bash
# Successive halving on vs off at equal training cost, on the Fashion-MNIST proxy of
# assets/configs/fashion-mnist-proxy.json with children trained 4 epochs instead of 2:
#   off: 32 children x 4 epochs                                   = 128 child-epochs
#   on:  64 children, halving.min_epochs 1, eta 2 (per batch of 8: 4 stop after 1 epoch,
#        2 after 2, 2 train all 4, so 2 epochs a child on average)  = 128 child-epochs
# Random search proposes in both, so only the evaluator differs; 3 seeds each, alternated.
# Then scripts/halving-compare.py prints the best fully trained child found within equal
# child-epochs and within equal measured training seconds.
#
#   scripts/halving-benchmark.sh [OUT_DIR]       (NASGPU_BIN: a frozen binary, as search-benchmark.sh)
#
# Re-running it resumes unfinished searches and skips finished ones.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/halving}
BIN=${NASGPU_BIN:-target/release/nasgpu}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
[ -n "${NASGPU_BIN:-}" ] || cargo build --release --quiet
mkdir -p "$OUT"
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/benchmark.log"; }

# The two configs, derived from the proxy so that they cannot drift from it.
python3 - "$OUT" <<'PY'
import json, sys
base = json.load(open("assets/configs/fashion-mnist-proxy.json"))
base["child"]["epochs"] = 4
base["reinforce"]["children_per_step"] = 8
for name, halving, budget in [("off", {"min_epochs": 0}, 32), ("on", {"min_epochs": 1, "eta": 2}, 64)]:
    c = json.loads(json.dumps(base))
    c["halving"] = halving
    c["run"]["budget"] = budget
    json.dump(c, open(f"{sys.argv[1]}/config-{name}.json", "w"), indent=2)
PY

for seed in 1 2 3; do
  for halving in off on; do
    dir="$OUT/halving-$halving-$seed"
    if grep -qs '"status": "finished"' "$dir/summary.json"; then
      log "$dir: finished already"
    elif [ -d "$dir" ]; then
      log "$dir: resuming"
      $BIN search --resume "$dir" 2>>"$OUT/benchmark.log"
    else
      log "$dir: starting"
      $BIN search --config "$OUT/config-$halving.json" --dataset fashion-mnist --strategy random \
        --seed "$seed" --out "$dir" 2>>"$OUT/benchmark.log"
    fi
  done
done
python3 scripts/halving-compare.py "$OUT"/halving-off-? "$OUT"/halving-on-? | tee "$OUT/compare.md"
log "done"
