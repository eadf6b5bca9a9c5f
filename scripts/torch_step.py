#!/usr/bin/env python3
"""One network's training step in nasgpu and in PyTorch, on equal work, timed alternately.

Starts `nasgpu bench-step --serve` (which exports its initial weights, first batches and their
losses), rebuilds the same network in PyTorch, checks that PyTorch computes the same loss on
every exported step (1e-4 relative), then alternates timed samples: our k steps, PyTorch's k
steps, ... and prints medians with min/max and the ratio. Used by scripts/compare-pytorch.sh and
scripts/gpu-compare.sh.

Networks: a NAS-RL macro network (a preset or an architecture file with `layers`), built here:
conv without bias -> batch norm -> relu per layer with TensorFlow "same" padding, skip inputs
zero-padded (centred) and concatenated, global average pooling, linear classifier. A
NAS-Bench-201 cell network (an architecture file with `nb201`): the module that
`nasgpu export --format pytorch` writes for it, imported, with nasgpu's weights and batch-norm
momentum. Both: batch norm in training mode, mean cross-entropy, SGD with Nesterov momentum and
weight decay on the weights nasgpu decays (conv and classifier weights; not batch norm or
biases), fp32.
"""

import argparse
import importlib.util
import json
import os
import struct
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore", message=".*NumPy.*")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

LOSS_RTOL = 1e-4


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (head_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + head_len])
    base = 8 + head_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{path}: {name} is {info['dtype']}"
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + a : base + b]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"])
    return out


def same_pad(size, k, s):
    """TensorFlow "same" rule: (pad_before, pad_after) of one axis."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def concat_padded(ts):
    if len(ts) == 1:
        return ts[0]
    h = max(t.shape[2] for t in ts)
    w = max(t.shape[3] for t in ts)
    padded = []
    for t in ts:
        dh, dw = h - t.shape[2], w - t.shape[3]
        if dh or dw:
            t = F.pad(t, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
        padded.append(t)
    return torch.cat(padded, dim=1)


class Child(nn.Module):
    """A network of the architecture-file format, as nasgpu builds it (src/nn/network.rs)."""

    def __init__(self, arch, eps, momentum):
        super().__init__()
        self.arch = arch
        layers = arch["layers"]
        cin = [
            arch["input"][0] if not l["inputs"] else sum(layers[j]["filters"] for j in l["inputs"])
            for l in layers
        ]
        used = {j for l in layers for j in l["inputs"]}
        self.outputs = [i for i in range(len(layers)) if i not in used]
        self.convs = nn.ModuleList()
        self.pads = []
        size = arch["input"][1:]
        sizes = []
        for i, l in enumerate(layers):
            k = (l["filter_height"], l["filter_width"])
            s = l["stride"]
            src = size if not l["inputs"] else [
                max(sizes[j][0] for j in l["inputs"]),
                max(sizes[j][1] for j in l["inputs"]),
            ]
            ph = same_pad(src[0], k[0], s)
            pw = same_pad(src[1], k[1], s)
            if ph[0] == ph[1] and pw[0] == pw[1]:
                # Symmetric padding: let the conv pad (PyTorch's fastest path).
                conv = nn.Conv2d(cin[i], l["filters"], k, stride=s, padding=(ph[0], pw[0]), bias=False)
                self.pads.append(None)
            else:
                conv = nn.Conv2d(cin[i], l["filters"], k, stride=s, padding=0, bias=False)
                self.pads.append((pw[0], pw[1], ph[0], ph[1]))
            self.convs.append(conv)
            sizes.append([-(-src[0] // s), -(-src[1] // s)])
        self.norms = nn.ModuleList(
            nn.BatchNorm2d(l["filters"], eps=eps, momentum=momentum) for l in layers
        )
        features = sum(layers[i]["filters"] for i in self.outputs)
        self.classifier = nn.Linear(features, arch["classes"])

    def forward(self, x):
        outs = []
        for i, l in enumerate(self.arch["layers"]):
            y = x if not l["inputs"] else concat_padded([outs[j] for j in l["inputs"]])
            if self.pads[i] is not None:
                y = F.pad(y, self.pads[i])
            y = self.convs[i](y)
            outs.append(F.relu(self.norms[i](y)))
        f = concat_padded([outs[i] for i in self.outputs])
        return self.classifier(f.mean(dim=(2, 3)))

    def load_nasgpu(self, w):
        """Copies nasgpu's state (names of src/nn/network.rs) into the modules."""
        with torch.no_grad():
            for i in range(len(self.convs)):
                self.convs[i].weight.copy_(w[f"layer{i}.conv.weight"])
                bn = self.norms[i]
                bn.weight.copy_(w[f"layer{i}.bn.gamma"])
                bn.bias.copy_(w[f"layer{i}.bn.beta"])
                bn.running_mean.copy_(w[f"layer{i}.bn.running_mean"])
                bn.running_var.copy_(w[f"layer{i}.bn.running_var"])
            # nasgpu's linear weights are [in, out] (y = x W + b).
            self.classifier.weight.copy_(w["classifier.weight"].t())
            self.classifier.bias.copy_(w["classifier.bias"])

    def decayed(self):
        """Parameters that take weight decay in nasgpu: conv and classifier weights."""
        return [c.weight for c in self.convs] + [self.classifier.weight]


def exported_module(nasgpu, arch, folder):
    """The PyTorch module file `nasgpu export --format pytorch` writes for `arch`, imported.

    Used for NAS-Bench-201 cell networks: the export lowers them op for op as nasgpu builds them
    (src/export/lower_cells.rs, checked against nasgpu's logits), so this script does not keep a
    second PyTorch implementation of the cell network."""
    arch_path = os.path.join(folder, "architecture.json")
    with open(arch_path, "w") as f:
        json.dump(arch, f)
    path = os.path.join(folder, "model.py")
    done = subprocess.run([nasgpu, "export", "--format", "pytorch", arch_path, "-o", path, "--force"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"nasgpu export --format pytorch failed (exit {done.returncode}):\n{done.stderr}")
    spec = importlib.util.spec_from_file_location("nasgpu_exported_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Exported(nn.Module):
    """The exported module (`Net`) with nasgpu's state loaded, and its batch norms set to
    nasgpu's momentum (the export writes inference modules and leaves PyTorch's default)."""

    def __init__(self, module, weights, meta):
        super().__init__()
        self.net = module.Net()
        self.tensors = module.TENSORS
        state = self.net.state_dict()
        missing = sorted(set(self.tensors) - set(weights))
        extra = sorted(set(weights) - set(self.tensors))
        if missing or extra:
            sys.exit(f"exported module and nasgpu's weights differ: missing {missing[:5]}, extra {extra[:5]}")
        for ours, (theirs, transpose) in self.tensors.items():
            t = weights[ours].t() if transpose else weights[ours]
            assert tuple(t.shape) == tuple(state[theirs].shape), (ours, t.shape, state[theirs].shape)
            state[theirs] = t.clone()
        self.net.load_state_dict(state)
        for m in self.net.modules():
            if isinstance(m, nn.BatchNorm2d):
                assert abs(m.eps - meta["batch_norm_eps"]) <= 1e-12, (m.eps, meta["batch_norm_eps"])
                m.momentum = meta["batch_norm_momentum"]
        self.decayed_names = meta["decayed"]

    def forward(self, x):
        return self.net(x)

    def decayed(self):
        """Parameters that take weight decay in nasgpu (meta.json's `decayed`, by name)."""
        params = dict(self.net.named_parameters())
        return [params[self.tensors[name][0]] for name in self.decayed_names]


def is_cell_network(arch):
    """NAS-Bench-201, DARTS and ENAS networks come from nasgpu's own PyTorch export."""
    return any(arch.get(kind) for kind in ("nb201", "darts", "enas"))


def make(meta, weights, device, exported=None):
    if is_cell_network(meta["architecture"]):
        model = Exported(exported, weights, meta)
    else:
        model = Child(meta["architecture"], meta["batch_norm_eps"], meta["batch_norm_momentum"])
        model.load_nasgpu(weights)
    model.to(device).train()
    assert len(model.decayed()) == len(meta["decayed"]), (len(model.decayed()), meta["decayed"])
    decayed = {id(p) for p in model.decayed()}
    groups = [
        {"params": [p for p in model.parameters() if id(p) in decayed], "weight_decay": meta["weight_decay"]},
        {"params": [p for p in model.parameters() if id(p) not in decayed], "weight_decay": 0.0},
    ]
    opt = torch.optim.SGD(groups, lr=meta["learning_rate"], momentum=meta["momentum"], nesterov=meta["nesterov"])
    return model, opt


def train_step(model, opt, x, y):
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.detach()


class Ours:
    """The nasgpu step server."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                sys.exit(f"nasgpu bench-step ended before it was ready (exit {self.proc.wait()})")
            line = line.rstrip("\n")
            self.lines.append(line)
            if line == "ready":
                break

    def field(self, prefix):
        for line in self.lines:
            if line.startswith(prefix + " "):
                return line[len(prefix) + 1 :]
        return None

    def request(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        out = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                sys.exit(f"nasgpu bench-step died (exit {self.proc.wait()})")
            line = line.rstrip("\n")
            if line.startswith("error"):
                sys.exit(f"nasgpu bench-step: {line}")
            out.append(line)
            if line.startswith("ok") or line == "end":
                return out

    def steps(self, k):
        return float(self.request(f"step {k}")[-1].split()[1])

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait()


def summary(xs):
    s = sorted(xs)
    n = len(s)
    med = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    return {"median": med, "min": s[0], "max": s[-1], "samples": n}


def fmt_ms(t):
    return f"{t['median'] * 1e3:9.2f} ms ({t['min'] * 1e3:.2f}-{t['max'] * 1e3:.2f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nasgpu", required=True, help="the nasgpu binary")
    ap.add_argument("--net", required=True, help="a preset name or an architecture file")
    ap.add_argument("--label", help="name in the tables (default: --net)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--samples", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps-per-sample", type=int, default=1, help="k steps per timed sample")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--graphs", action="store_true", help="also time PyTorch with CUDA graphs (cuda)")
    ap.add_argument("--profile", action="store_true", help="print nasgpu's per-op profile")
    ap.add_argument("--out", required=True, help="folder for the export and results JSON")
    ap.add_argument("--adapter", help="passed to nasgpu --adapter")
    ap.add_argument("--baseline", help="another nasgpu binary (say, before a change) timed in the same alternation")
    args = ap.parse_args()

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    else:
        # fp32 everywhere, as nasgpu computes; cuDNN may pick its fastest fp32 algorithms.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    label = args.label or os.path.basename(args.net).removesuffix(".json")
    export = os.path.join(args.out, f"export-{label}-b{args.batch}")
    cmd = [args.nasgpu]
    if args.adapter:
        cmd += ["--adapter", args.adapter]
    cmd += ["bench-step", "--batch", str(args.batch), "--export", export, "--ceilings", "--serve"]
    cmd += ["--arch", args.net] if args.net.endswith(".json") else ["--preset", args.net]
    ours = Ours(cmd)
    baseline = None
    if args.baseline:
        bcmd = [args.baseline] + cmd[1:]
        bcmd[bcmd.index("--export") + 1] = export + "-baseline"
        baseline = Ours(bcmd)
    adapter = ours.field("adapter")
    ceilings = json.loads(ours.field("ceilings"))
    with open(os.path.join(export, "meta.json")) as f:
        meta = json.load(f)
    weights = read_safetensors(os.path.join(export, "weights.safetensors"))
    batches = read_safetensors(os.path.join(export, "batches.safetensors"))
    k = len(meta["losses"])
    xs = [batches[f"images.{i}"].to(device) for i in range(k)]
    ys = [batches[f"labels.{i}"].long().to(device) for i in range(k)]

    exported = None
    if is_cell_network(meta["architecture"]):
        exported = exported_module(args.nasgpu, meta["architecture"], export)
    # Equal work: the same losses step after step from the same weights and batches.
    model, opt = make(meta, weights, device, exported)
    theirs_losses = [train_step(model, opt, xs[i], ys[i]).item() for i in range(k)]
    rel = [abs(a - b) / abs(b) for a, b in zip(theirs_losses, meta["losses"])]
    ok = max(rel) <= LOSS_RTOL
    print(f"== {label}, batch {args.batch}: {meta['parameters']} parameters, "
          f"{meta['step_flops'] / 1e6:.1f} MFLOP per step")
    print(f"nasgpu:  {adapter}")
    print(f"PyTorch: {torch.__version__} on {device}"
          + (f" ({torch.get_num_threads()} threads)" if device == "cpu" else f" ({torch.cuda.get_device_name()})"))
    print("loss per step  nasgpu " + " ".join(f"{v:.7f}" for v in meta["losses"]))
    print("               PyTorch " + " ".join(f"{v:.7f}" for v in theirs_losses))
    print("               relative difference per step " + " ".join(f"{r:.2e}" for r in rel))
    print(f"               largest relative difference {max(rel):.2e} "
          f"({'equal work' if ok else 'DIFFERENT'}: tolerance {LOSS_RTOL:g})")

    def sync():
        if device != "cpu":
            torch.cuda.synchronize()

    steps_k = args.steps_per_sample
    counter = [0]

    def eager(kk):
        sync()
        t = time.perf_counter()
        for _ in range(kk):
            i = counter[0] % k
            counter[0] += 1
            train_step(model, opt, xs[i], ys[i])
        sync()
        return time.perf_counter() - t

    runners = {"PyTorch eager": eager}
    def capture():
        """The whole step (forward, backward, SGD) captured once as a CUDA graph."""
        gmodel, gopt = make(meta, weights, device, exported)
        sx, sy = xs[0].clone(), ys[0].clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                train_step(gmodel, gopt, sx, sy)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        gopt.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            gloss = F.cross_entropy(gmodel(sx), sy)
            gloss.backward()
            gopt.step()

        def graphed(kk):
            sync()
            t = time.perf_counter()
            for _ in range(kk):
                i = counter[0] % k
                counter[0] += 1
                sx.copy_(xs[i])
                sy.copy_(ys[i])
                graph.replay()
            sync()
            return time.perf_counter() - t

        return graphed

    if args.graphs and device != "cpu":
        try:
            runners["PyTorch CUDA graphs"] = capture()
        except Exception as e:  # report and go on with eager: the other numbers still count
            print(f"CUDA graph capture failed: {e!r}")

    if baseline is not None:
        with open(os.path.join(export + "-baseline", "meta.json")) as f:
            same = json.load(f)["losses"] == meta["losses"]
        print(f"baseline binary: losses {'bit-identical to' if same else 'DIFFERENT from'} nasgpu's")
        runners["nasgpu baseline"] = baseline.steps
    for _ in range(args.warmup):
        ours.steps(steps_k)
        for run in runners.values():
            run(steps_k)
    times = {"nasgpu": []}
    times.update({name: [] for name in runners})
    ratios = []
    peaks = []
    shares = []
    for s in range(args.samples):
        # Alternate which side goes first, so a drift in machine load hits both alike.
        order = ["nasgpu"] + list(runners) if s % 2 == 0 else list(runners) + ["nasgpu"]
        sample = {}
        for name in order:
            t = ours.steps(steps_k) if name == "nasgpu" else runners[name](steps_k)
            sample[name] = t / steps_k
            times[name].append(t / steps_k)
        ratios.append(sample["nasgpu"] / sample["PyTorch eager"])
        # The peak-FMA ceiling, re-measured beside every sample (machine load drifts).
        peaks.append(float(ours.request("peak")[-1].split()[1]))
        shares.append(meta["step_flops"] / sample["nasgpu"] / 1e9 / peaks[-1])
    result = {
        "network": label,
        "batch": args.batch,
        "adapter": adapter,
        "torch": torch.__version__,
        "torch_device": device if device == "cpu" else torch.cuda.get_device_name(),
        "torch_threads": torch.get_num_threads(),
        "ceilings": ceilings,
        "step_flops": meta["step_flops"],
        "losses_nasgpu": meta["losses"],
        "losses_torch": theirs_losses,
        "loss_rel_diff": rel,
        "loss_max_rel_diff": max(rel),
        "equal_work": ok,
        "steps_per_sample": steps_k,
        "times": {name: summary(v) for name, v in times.items()},
        "ratio_per_sample": summary(ratios),
        "peak_gflops_per_sample": summary(peaks),
        "peak_share_per_sample": summary(shares),
    }
    print(f"step time (median, min-max of {args.samples} alternating samples, {steps_k} step(s) each):")
    for name, v in times.items():
        t = result["times"][name]
        print(f"  {name:<20} {fmt_ms(t)} {args.batch / t['median']:9.0f} images/s")
    ours_t = result["times"]["nasgpu"]["median"]
    gflops = meta["step_flops"] / ours_t / 1e9
    result["nasgpu_gflops"] = gflops
    pk, sh = result["peak_gflops_per_sample"], result["peak_share_per_sample"]
    print(f"nasgpu: {gflops:.2f} GFLOPS (median step); peak-FMA ceiling beside each sample "
          f"{pk['median']:.1f} GFLOPS ({pk['min']:.1f}-{pk['max']:.1f}; {ceilings['peak_gflops']:.1f} at start); "
          f"share of it per sample {100 * sh['median']:.1f}% ({100 * sh['min']:.1f}-{100 * sh['max']:.1f})")
    r = result["ratio_per_sample"]
    print(f"nasgpu / PyTorch eager: {ours_t / result['times']['PyTorch eager']['median']:.2f}x of medians; "
          f"per-sample ratio median {r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})")
    if baseline is not None:
        b = result["times"]["nasgpu baseline"]["median"]
        print(f"nasgpu baseline / nasgpu: {b / ours_t:.2f}x; nasgpu baseline / PyTorch eager: "
              f"{b / result['times']['PyTorch eager']['median']:.2f}x")
    if args.profile:
        lines = ours.request("profile")
        result["profile"] = lines[:-1]
        ops = [l.split() for l in lines if l.startswith("op ")]
        total = sum(float(o[3]) for o in ops)
        print("nasgpu per-op profile (each node waited for alone):")
        for o in ops[:10]:
            print(f"  {o[1]:<32} {o[2]:>3} nodes {float(o[3]) * 1e3:9.2f} ms {100 * float(o[3]) / total:5.1f}%")
    ours.close()
    if baseline is not None:
        baseline.close()
    with open(os.path.join(args.out, f"result-{label}-b{args.batch}-{device}.json"), "w") as f:
        json.dump(result, f, indent=2)
    if not ok:
        sys.exit(f"{label}: losses differ by {max(rel):.2e} relative (> {LOSS_RTOL:g}): not equal work")


if __name__ == "__main__":
    main()
