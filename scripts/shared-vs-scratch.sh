#!/usr/bin/env bash
# Architectures evaluated per hour with shared weights against training each from scratch, on
# the same NAS-Bench-201 space, data and split (random search proposes in both, so only the
# evaluator differs):
#   scratch:  --evaluator train, every child trained CHILD_EPOCHS epochs on the training split
#   shared:   --evaluator supernet, a warm-up of WARMUP shared-weight steps, then STEPS steps
#             before each batch of m = 8; each child measured on the validation split
# Prints, from each run's state.json, its wall time (total seconds over its sessions),
# children, children per hour, and the ratio (the supernet's warm-up counted in its time).
#
#   scripts/shared-vs-scratch.sh OUT_DIR [DATA_OPTION...]     (default: the bundled subset)
#   NASGPU_BIN=BIN  N=2 C=16 CHILD_EPOCHS=2 SCRATCH_BUDGET=8 SHARED_BUDGET=64 WARMUP=200 STEPS=10
#   SPACE=darts: the DARTS cell space instead, N cells in all (default 5) at C (default 8)
#   SPACE=enas: the ENAS macro space instead, N layers (default 12) at C (default 16)
#   EVAL=256: validation images each child is measured on (64, one batch: ENAS's reward on a
#             single validation minibatch)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/shared-vs-scratch.sh OUT_DIR [DATA_OPTION...]}
shift
DATA=("$@")
BIN=${NASGPU_BIN:-target/release/nasgpu}
SPACE=${SPACE:-nb201}
if [ "$SPACE" = darts ]; then N=${N:-5}; C=${C:-8}; fi
if [ "$SPACE" = enas ]; then N=${N:-12}; fi
N=${N:-2}
C=${C:-16}
CHILD_EPOCHS=${CHILD_EPOCHS:-2}
SCRATCH_BUDGET=${SCRATCH_BUDGET:-8}
SHARED_BUDGET=${SHARED_BUDGET:-64}
WARMUP=${WARMUP:-200}
STEPS=${STEPS:-10}
EVAL=${EVAL:-256}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
[ -n "${NASGPU_BIN:-}" ] || cargo build --release --quiet
mkdir -p "$OUT"

python3 - "$OUT" "$SPACE" "$N" "$C" "$CHILD_EPOCHS" "$SCRATCH_BUDGET" "$SHARED_BUDGET" "$WARMUP" "$STEPS" "$EVAL" <<'PY'
import json, sys
out, space = sys.argv[1], sys.argv[2]
n, c, epochs, scratch, shared, warmup, steps, eval_images = map(int, sys.argv[3:])
shape = {"darts": {"darts_space": {"cells": n, "channels": c}},
         "enas": {"enas_space": {"layers": n, "channels": c}}}.get(
    space, {"nb201": {"cells_per_stage": n, "channels": c}})
base = {
    **shape,
    "reinforce": {"children_per_step": 8},
    "child": {"epochs": epochs, "batch_size": 64, "learning_rate": 0.05,
              "train_images": 1500, "validation_images": 500, "latency": False},
    "supernet": {"warmup_steps": warmup, "steps_per_update": steps, "batch_size": 64,
                 "learning_rate": 0.05, "eval_images": eval_images},
    "run": {"space": space, "strategy": "random", "seed": 1},
}
for name, evaluator, budget in [("scratch", "train", scratch), ("shared", "supernet", shared)]:
    c = json.loads(json.dumps(base))
    c["run"]["evaluator"] = evaluator
    c["run"]["budget"] = budget
    json.dump(c, open(f"{out}/config-{name}.json", "w"), indent=2)
PY

for name in scratch shared; do
    echo "[$(date -u +%H:%M:%S)] $name"
    "$BIN" search --config "$OUT/config-$name.json" "${DATA[@]}" --out "$OUT/$name" --force \
        2>"$OUT/$name.log"
done

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
rows = {}
for name in ["scratch", "shared"]:
    state = json.load(open(f"{out}/{name}/state.json"))
    cost = state["cost"]
    children = state["children_done"]
    rows[name] = (cost["total_seconds"], cost.get("update_seconds", 0.0), children)
    print(f"{name:8} {children:4} children in {cost['total_seconds']:8.1f} s "
          f"(shared-weight training {cost.get('update_seconds', 0.0):.1f} s): "
          f"{3600 * children / cost['total_seconds']:9.1f} per hour")
(ts, _, ns), (tw, uw, nw) = rows["scratch"], rows["shared"]
print(f"ratio    {(nw / tw) / (ns / ts):.1f}x per hour, warm-up included")
PY
