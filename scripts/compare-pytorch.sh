#!/usr/bin/env bash
# Training step of nasgpu against PyTorch on the CPU of the same machine, on equal work.
#
#   scripts/compare-pytorch.sh [--samples N] [--batch B] [--out DIR] [--profile] [--baseline BIN]
#                              [NETWORK...]
#
# NETWORK is a preset name or an architecture file: NAS-RL layers, a NAS-Bench-201 or DARTS cell
# network or an ENAS macro network (default: small-cnn, assets/architectures/nasrl-child.json,
# assets/architectures/nb201-cell.json and assets/architectures/enas-child.json). For each,
# `nasgpu bench-step` exports its initial weights, first batches and losses;
# scripts/torch_step.py builds the same network in PyTorch (a cell or ENAS network from
# `nasgpu export --format pytorch`), checks the losses agree to 1e-4
# relative, then times both steps alternately (median, min-max) and prints the ratio and our
# share of the peak-FMA ceiling measured beside every sample.
# --baseline BIN times another nasgpu binary (say, main's) in the same alternation.
# PyTorch comes from PyPI into a throwaway venv (NASGPU_TORCH_VENV, default
# target/pytorch-venv; PyPI's Linux wheel is the CUDA build, ~5 GB with its libraries, and
# runs on the CPU as well). NASGPU_BIN overrides the binary (default: target/release/nasgpu,
# built if missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
samples=15
batch=64
out=""
profile=()
nets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --samples) samples=$2; shift 2 ;;
        --batch) batch=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --profile) profile+=(--profile); shift ;;
        --baseline) profile+=(--baseline "$2"); shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) nets+=("$1"); shift ;;
    esac
done
[ ${#nets[@]} -gt 0 ] || nets=(small-cnn "$root/assets/architectures/nasrl-child.json" \
    "$root/assets/architectures/nb201-cell.json" "$root/assets/architectures/enas-child.json")
out=${out:-$(mktemp -d "${TMPDIR:-/tmp}/nasgpu-compare.XXXXXX")}
mkdir -p "$out"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

venv=${NASGPU_TORCH_VENV:-$root/target/pytorch-venv}
if ! "$venv/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "installing PyTorch (CPU use of PyPI's wheel) into $venv ..."
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet torch numpy
fi
bin=${NASGPU_BIN:-$root/target/release/nasgpu}
if [ ! -x "$bin" ]; then
    (cd "$root" && cargo build --release)
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "results: $out"
status=0
for net in "${nets[@]}"; do
    "$venv/bin/python" "$root/scripts/torch_step.py" --nasgpu "$bin" --net "$net" \
        --batch "$batch" --samples "$samples" --device cpu --out "$out" "${profile[@]}" \
        2>&1 | tee -a "$out/compare.txt" || status=1
done
exit $status
