#!/usr/bin/env python3
"""Best fully trained child of search runs within equal cost, for halving on vs off.

    scripts/halving-compare.py RUN_DIR...

Runs are grouped by their name without the trailing "-SEED". The cost of a run after its k-th
child is the sum of the child-epochs (and of the measured training seconds) of its first k
children in history order. For each group it prints, at the smallest total cost among all the
runs given (so every run is cut at the same cost), the mean, min and max over seeds of the best
final validation accuracy among children that trained all epochs, and the children evaluated.
"""
import json
import re
import statistics
import sys
from pathlib import Path


def load(run):
    lines = Path(run, "history.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def epochs_of(run):
    return json.loads(Path(run, "config.json").read_text())["child"]["epochs"]


def best_within(history, epochs, cost_key, limit):
    best, children, spent = float("nan"), 0, 0.0
    for record in history:
        cost = len(record["val_accuracy"]) if cost_key == "epochs" else record["train_seconds"]
        if spent + cost > limit + 1e-9:
            break
        spent += cost
        children += 1
        curve = record["val_accuracy"]
        if len(curve) == epochs and not (curve[-1] <= best):
            best = curve[-1]
    return best, children


def total(history, cost_key):
    return sum(len(r["val_accuracy"]) if cost_key == "epochs" else r["train_seconds"] for r in history)


def main(runs):
    histories = {run: load(run) for run in runs}
    groups = {}
    for run in runs:
        groups.setdefault(re.sub(r"-\d+$", "", Path(run).name), []).append(run)
    for cost_key, unit in [("epochs", "child-epochs"), ("seconds", "training seconds")]:
        limit = min(total(h, cost_key) for h in histories.values())
        print(f"\n### Equal cost: {limit:.0f} {unit} per run\n")
        print("| setting | runs | best final val acc, mean (min-max) | children evaluated, mean |")
        print("|---|---|---|---|")
        for name, members in sorted(groups.items()):
            found = [best_within(histories[r], epochs_of(r), cost_key, limit) for r in members]
            accs = [a for a, _ in found]
            kids = [k for _, k in found]
            print(f"| {name} | {len(members)} | {statistics.mean(accs):.4f} ({min(accs):.4f}-{max(accs):.4f}) "
                  f"| {statistics.mean(kids):.1f} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
