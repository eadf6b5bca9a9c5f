#!/usr/bin/env bash
# DARTS with and without its skip-collapse remedy (DARTS-, Chu et al., ICLR 2021: an auxiliary
# skip connection beta * x on every mixed edge, beta 1 -> 0 over the search) at equal steps, on
# the same data, split and seeds; only `darts.remedy` differs. Prints a markdown table: seed,
# remedy, skip_connect / none edges of the derived cell, its canonical string, its path
# accuracy on the shared weights and, with RETRAIN_EPOCHS > 0, its test accuracy after
# `nasgpu train --arch` from scratch (one recipe for all).
#
#   scripts/darts-remedy.sh OUT_DIR [DATA_OPTION...]     (default: the bundled subset)
#   NASGPU_BIN=BIN SEEDS="1 2" N=1 C=8 BATCH=32 BUDGET=4 STEPS=12 ARCH_LR=3e-3 RETRAIN_EPOCHS=1
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/darts-remedy.sh OUT_DIR [DATA_OPTION...]}
shift
DATA=("$@")
BIN=${NASGPU_BIN:-target/release/nasgpu}
SEEDS=${SEEDS:-1 2}
N=${N:-1}
C=${C:-8}
BATCH=${BATCH:-32}
BUDGET=${BUDGET:-4}
STEPS=${STEPS:-12}
ARCH_LR=${ARCH_LR:-3e-3}
RETRAIN_EPOCHS=${RETRAIN_EPOCHS:-1}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
[ -n "${NASGPU_BIN:-}" ] || cargo build --release --quiet
mkdir -p "$OUT"

for seed in $SEEDS; do
  for remedy in none darts-minus; do
    run="$OUT/seed$seed-$remedy"
    python3 - "$run.json" "$seed" "$remedy" "$N" "$C" "$BATCH" "$BUDGET" "$STEPS" "$ARCH_LR" <<'PY'
import json, sys
path, seed, remedy, n, c, batch, budget, steps, lr = sys.argv[1:]
json.dump({
    "nb201": {"cells_per_stage": int(n), "channels": int(c)},
    "child": {"train_images": 1000, "validation_images": 500},
    "supernet": {"batch_size": int(batch), "learning_rate": 0.025, "eval_images": 128},
    "darts": {"steps_per_derivation": int(steps), "learning_rate": float(lr), "remedy": remedy},
    "run": {"space": "nb201", "strategy": "darts", "evaluator": "supernet",
            "budget": int(budget), "seed": int(seed)},
}, open(path, "w"))
PY
    if [ ! -f "$run/summary.json" ] || ! grep -q '"finished"' "$run/summary.json"; then
      rm -rf "$run"
      "$BIN" search --config "$run.json" --out "$run" "${DATA[@]}" 2> "$run.log"
    fi
    if [ "$RETRAIN_EPOCHS" -gt 0 ] && [ ! -f "$run.train.log" ]; then
      "$BIN" train --arch "$run/best.json" --epochs "$RETRAIN_EPOCHS" --seed 0 \
        --out "$run-trained" --force "${DATA[@]}" > "$run.train.log" 2>&1 || true
    fi
  done
done

python3 - "$OUT" "$SEEDS" <<'PY'
import json, os, re, sys
out, seeds = sys.argv[1], sys.argv[2].split()
print("| seed | remedy | skip_connect | none | derived cell | path accuracy | retrained test accuracy |")
print("|---|---|---|---|---|---|---|")
for seed in seeds:
    for remedy in ["none", "darts-minus"]:
        run = os.path.join(out, f"seed{seed}-{remedy}")
        last = [json.loads(l) for l in open(os.path.join(run, "history.jsonl"))][-1]
        cell = last["canonical"]
        ops = re.findall(r"\|([a-z_0-9]+)~\d", cell)
        test = "–"
        log = run + ".train.log"
        if os.path.exists(log):
            m = re.findall(r"test accuracy ([0-9.]+%)", open(log).read())
            test = m[-1] if m else "failed"
        print(f"| {seed} | {remedy} | {ops.count('skip_connect')} | {ops.count('none')} | "
              f"`{cell}` | {last['val_accuracy'][0]:.4f} | {test} |")
PY
