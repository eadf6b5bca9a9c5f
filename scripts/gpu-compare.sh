#!/usr/bin/env bash
# Side-by-side on one GPU machine: nasgpu (Vulkan) against PyTorch eager CUDA and CUDA graphs.
#
#   scripts/gpu-compare.sh OUTDIR
#
# Prints and writes into OUTDIR: `nasgpu devices`, the ceilings and the matmul (sgemm) sweep of
# `nasgpu bench`, and per network (small-cnn, assets/architectures/nasrl-child.json at batch 64
# and 128; the NAS-Bench-201 cell network assets/architectures/nb201-cell.json at batch 64) the
# training step of both on equal work (losses checked to 1e-4), in images/s.
# Needs the release binary built beforehand (NASGPU_BIN, default target/release/nasgpu) and a
# python3 with torch (NASGPU_PYTHON; default python3, else target/pytorch-venv). Vulkan loader
# debs carried in .gl/ are unpacked when the system has no libvulkan. Without CUDA it runs the
# same on the CPU with fewer samples (a rehearsal on lavapipe). Fits in 8 minutes: every stage
# has its own timeout (480 s in all) and a failed stage does not stop the others.
# Carrying it there: `cargo build --release && mkdir -p target/gpu && strip -o target/gpu/nasgpu
# target/release/nasgpu` (~10 MB instead of ~50), the loader debs in .gl/, then run
# `NASGPU_BIN=target/gpu/nasgpu scripts/gpu-compare.sh $OUT/gpu-compare` carrying target/gpu
# and .gl.
set -uo pipefail
[ $# -eq 1 ] || { sed -n '2,18p' "$0"; exit 2; }
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${NASGPU_BIN:-$root/target/release/nasgpu}
log="$out/gpu-compare.txt"
: >"$log"
say() { echo "$*" | tee -a "$log"; }
start=$(date +%s)
stage() { # stage NAME SECONDS COMMAND...: runs with a timeout, output to the log and NAME.txt
    local name=$1 limit=$2
    shift 2
    say "=== $name (limit ${limit}s, at $(($(date +%s) - start))s)"
    timeout --kill-after=5 "$limit" "$@" 2>&1 | tee "$out/$name.txt" >>"$log"
    local rc=${PIPESTATUS[0]}
    tail -n 40 "$out/$name.txt"
    [ "$rc" -eq 0 ] || say "--- $name exited $rc"
}

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
export PYTHONUNBUFFERED=1
if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 && ls "$root"/.gl/*.deb >/dev/null 2>&1; then
    say "no Vulkan loader on the system: unpacking $root/.gl/*.deb"
    for f in "$root"/.gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then
    export VK_DRIVER_FILES=$icd
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
python=${NASGPU_PYTHON:-}
if [ -z "$python" ]; then
    if python3 -c "import torch" >/dev/null 2>&1; then python=python3
    else python=$root/target/pytorch-venv/bin/python; fi
fi
[ -x "$bin" ] || { say "no binary at $bin: build it first (cargo build --release)"; exit 1; }
cuda=$("$python" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
say "host: $(hostname), $(nproc) cores; $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
say "python: $python; torch $("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null); CUDA: $cuda"
if [ "$cuda" = 1 ]; then
    device=cuda; samples=15; warmup=3; per_sample=20; graphs=(--graphs); bench_samples=15
else
    # Rehearsal on the CPU (lavapipe + PyTorch CPU): the same stages, fewer and shorter samples
    # (the NAS-RL child and the cell network take seconds per step there: one sample).
    device=cpu; samples=${NASGPU_REHEARSAL_SAMPLES:-3}; warmup=1; per_sample=1; graphs=(); bench_samples=3
fi

stage devices 30 "$bin" devices
stage bench-matmul 100 "$bin" bench --filter matmul --samples "$bench_samples" --json "$out/bench-matmul.json"
for net in small-cnn "$root/assets/architectures/nasrl-child.json" \
    "$root/assets/architectures/nb201-cell.json"; do
    for batch in 64 128; do
        name=step-$(basename "$net" .json)-b$batch
        # The cell network at batch 64 only: a seventh 70 s stage would not fit the 8 minutes.
        case "$net" in *nb201*) [ "$batch" = 64 ] || continue ;; esac
        n=$samples
        if [ "$device" = cpu ] && [ "$net" != small-cnn ]; then
            [ "$batch" = 64 ] || continue
            n=1
        fi
        stage "$name" 70 "$python" "$root/scripts/torch_step.py" --nasgpu "$bin" --net "$net" \
            --batch "$batch" --samples "$n" --warmup "$warmup" --steps-per-sample "$per_sample" \
            --device "$device" "${graphs[@]}" --out "$out"
    done
done

say "=== summary (images/s, median of alternating samples)"
"$python" - "$out" <<'PY' 2>&1 | tee -a "$log"
import glob, json, os, sys
rows = []
results = [json.load(open(f)) for f in glob.glob(os.path.join(sys.argv[1], "result-*.json"))]
for r in sorted(results, key=lambda r: (r["network"] != "small-cnn", r["network"], r["batch"])):
    ips = {k: r["batch"] / v["median"] for k, v in r["times"].items()}
    rows.append((r["network"], r["batch"], ips, r["equal_work"], r["torch_device"], r["adapter"]))
names = ["nasgpu", "PyTorch eager", "PyTorch CUDA graphs"]
print(f"{'network':<14}{'batch':>6}" + "".join(f"{n:>22}" for n in names) + "  ours/eager  equal work")
for net, b, ips, ok, dev, adapter in rows:
    cells = "".join(f"{ips[n]:>22.0f}" if n in ips else f"{'-':>22}" for n in names)
    print(f"{net:<14}{b:>6}{cells}  {ips['nasgpu'] / ips['PyTorch eager']:>9.2f}x  {ok}")
if rows:
    print(f"nasgpu on {rows[0][5]}; PyTorch on {rows[0][4]}")
PY
say "total $(($(date +%s) - start)) s; everything is in $out"
