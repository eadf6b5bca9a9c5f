"""Runs exported nasgpu models in the real runtimes and compares them with nasgpu's logits.

    python check_export.py DIR [--onnx model.onnx] [--pytorch model.py --weights w.safetensors]

DIR holds what the Rust test wrote: images.u8 (raw pixels, [N, C, H, W]), labels.u32,
logits.f32 (nasgpu's, [N, classes]) and shape.json ({"images": [N, C, H, W], "classes": K}).
Prints one JSON object: per format, the max |logit difference| and the correct counts.
With --probe, only checks that onnx, onnxruntime and torch import.
"""

import argparse
import importlib.util
import json
import os
import sys


def probe():
    missing = []
    for name in ("numpy", "onnx", "onnxruntime", "torch"):
        try:
            __import__(name)
        except Exception as e:  # an import can fail in many ways (missing libraries too)
            missing.append(f"{name} ({type(e).__name__}: {e})")
    print(json.dumps({"missing": missing}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir", nargs="?")
    p.add_argument("--onnx")
    p.add_argument("--pytorch")
    p.add_argument("--weights")
    p.add_argument("--probe", action="store_true")
    a = p.parse_args()
    if a.probe:
        return probe()
    import numpy as np

    shape = json.load(open(os.path.join(a.dir, "shape.json")))
    n, c, h, w = shape["images"]
    classes = shape["classes"]
    pixels = np.fromfile(os.path.join(a.dir, "images.u8"), dtype=np.uint8)
    pixels = pixels.reshape(n, c, h, w).astype(np.float32)
    labels = np.fromfile(os.path.join(a.dir, "labels.u32"), dtype="<u4").astype(np.int64)
    ours = np.fromfile(os.path.join(a.dir, "logits.f32"), dtype="<f4").reshape(n, classes)
    result = {"images": n, "nasgpu_correct": int((ours.argmax(1) == labels).sum())}

    def compare(name, logits):
        logits = np.asarray(logits, dtype=np.float32).reshape(n, classes)
        result[name] = {
            "max_abs_diff": float(np.abs(logits - ours).max()),
            "correct": int((logits.argmax(1) == labels).sum()),
            "same_predictions": int((logits.argmax(1) == ours.argmax(1)).sum()),
        }

    if a.onnx:
        import onnx
        import onnxruntime as ort

        model = onnx.load(a.onnx)
        onnx.checker.check_model(model, full_check=True)
        opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
        session = ort.InferenceSession(a.onnx, providers=["CPUExecutionProvider"])
        (out,) = session.run(["logits"], {"image": pixels})
        compare("onnx", out)
        result["onnx"]["opset"] = opset[0] if opset else None
        result["onnx"]["metadata"] = {p.key: p.value for p in model.metadata_props}

    if a.pytorch:
        import torch

        spec = importlib.util.spec_from_file_location("nasgpu_exported", a.pytorch)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        net = module.load(a.weights)
        with torch.no_grad():
            out = net(torch.from_numpy(pixels)).numpy()
        compare("pytorch", out)
        result["pytorch"]["class_names"] = module.CLASS_NAMES

    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
