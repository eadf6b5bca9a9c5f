#!/usr/bin/env bash
# The quick demo's promise, measured: `nasgpu search` with no arguments (README's first command)
# finishes in about 5 minutes on a 2-core machine's software Vulkan and its best architecture
# reaches at least 82% validation accuracy on the bundled subset. Then the best is retrained
# from scratch beside the hand-designed small-cnn under one recipe (batch 32, 6 epochs, the
# demo's 500 validation images), and the table of both is printed. Exits non-zero if the demo's
# best is under 82%. Run it on a quiet machine: the wall times are the point.
#
#   scripts/demo-check.sh OUT_DIR          (NASGPU_BIN=BIN to use a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/demo-check.sh OUT_DIR}
BIN=${NASGPU_BIN:-target/release/nasgpu}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
[ -n "${NASGPU_BIN:-}" ] || cargo build --release --quiet
mkdir -p "$OUT"

start=$SECONDS
"$BIN" search --out "$OUT/demo" --force 2>&1 | tee "$OUT/demo.log"
demo_s=$((SECONDS - start))
"$BIN" train --arch "$OUT/demo/best.json" --batch 32 --epochs 6 --validation 500 \
  --out "$OUT/best" --force --json > "$OUT/best.json.out" 2> "$OUT/best.log"
"$BIN" train --preset small-cnn --batch 32 --epochs 6 --validation 500 \
  --out "$OUT/small-cnn" --force --json > "$OUT/small-cnn.json.out" 2> "$OUT/small-cnn.log"

python3 - "$OUT" "$demo_s" <<'PY'
import json, sys
out, demo_s = sys.argv[1], float(sys.argv[2])
summary = json.load(open(f"{out}/demo/summary.json"))
best = summary["best_val_accuracy"]
print(f"\ndemo: {summary['children']} architectures evaluated in {demo_s:.0f} s; "
      f"best validation accuracy {100 * best:.2f}% (goal: at least 82%)")
print("\n| network | parameters | MFLOP/image | validation | test | time |")
print("|---|---|---|---|---|---|")
for name in ["best", "small-cnn"]:
    m = json.load(open(f"{out}/{name}.json.out"))
    val = max(e["val_accuracy"] for e in m["epochs"])
    print(f"| {'demo best' if name == 'best' else name} | {m['parameters']} | "
          f"{m['forward_flops_per_image'] / 1e6:.1f} | {100 * val:.1f}% | "
          f"{100 * m['test']['accuracy']:.1f}% | {m['wall_seconds']:.0f} s |")
sys.exit(0 if best >= 0.82 else 1)
PY
