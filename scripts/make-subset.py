#!/usr/bin/env python3
"""Builds the bundled Fashion-MNIST subset in assets/fashion-mnist-subset/.

Usage: python3 scripts/make-subset.py SRC_DIR [DEST_DIR]

SRC_DIR holds the four original IDX files (raw or .gz), e.g. from `scripts/fetch-data.sh`.
The subset is class-balanced and needs no random numbers: the first TRAIN_PER_CLASS images of
each class from the training file and the first TEST_PER_CLASS of each class from the test
file, kept in their original file order. Output is IDX, gzip level 9 with mtime 0 and no file
name in the header, so a rerun gives byte-identical files. Prints counts and checksums that the
Rust tests (tests/data_readers.rs) check independently.
"""

import gzip
import hashlib
import os
import struct
import sys

CLASSES = 10
TRAIN_PER_CLASS = 200
TEST_PER_CLASS = 100


def read(src, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(src, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    sys.exit(f"make-subset: {stem}[.gz] not found in {src}")


def images(data):
    magic, n, h, w = struct.unpack(">IIII", data[:16])
    assert magic == 0x803, f"bad image magic {magic:#x}"
    size = h * w
    assert len(data) == 16 + n * size, "image file size disagrees with its header"
    return (h, w), [data[16 + i * size : 16 + (i + 1) * size] for i in range(n)]


def labels(data):
    magic, n = struct.unpack(">II", data[:8])
    assert magic == 0x801, f"bad label magic {magic:#x}"
    assert len(data) == 8 + n, "label file size disagrees with its header"
    return list(data[8:])


def pick(label_list, per_class):
    """Indices of the first `per_class` items of every class, in file order."""
    taken = [0] * CLASSES
    chosen = []
    for i, y in enumerate(label_list):
        if taken[y] < per_class:
            taken[y] += 1
            chosen.append(i)
    assert taken == [per_class] * CLASSES, f"not enough images per class: {taken}"
    return chosen


def write_gz(path, payload):
    # gzip.compress with mtime=0 leaves no timestamp and no file name in the header.
    with open(path, "wb") as f:
        f.write(gzip.compress(payload, compresslevel=9, mtime=0))


def subset(src, dest, prefix, per_class):
    (h, w), imgs = images(read(src, f"{prefix}-images-idx3-ubyte"))
    labs = labels(read(src, f"{prefix}-labels-idx1-ubyte"))
    assert len(imgs) == len(labs)
    chosen = pick(labs, per_class)
    n = len(chosen)
    img_bytes = struct.pack(">IIII", 0x803, n, h, w) + b"".join(imgs[i] for i in chosen)
    lab_bytes = struct.pack(">II", 0x801, n) + bytes(labs[i] for i in chosen)
    write_gz(os.path.join(dest, f"{prefix}-images-idx3-ubyte.gz"), img_bytes)
    write_gz(os.path.join(dest, f"{prefix}-labels-idx1-ubyte.gz"), lab_bytes)
    pixels = img_bytes[16:]
    print(
        f"{prefix}: {n} images ({per_class} per class), source indices "
        f"{chosen[0]}..{chosen[-1]}, first labels {[labs[i] for i in chosen[:10]]}, "
        f"pixel sum {sum(pixels)}, pixel sha256 {hashlib.sha256(pixels).hexdigest()}"
    )


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    src = sys.argv[1]
    dest = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "assets", "fashion-mnist-subset"
    )
    os.makedirs(dest, exist_ok=True)
    subset(src, dest, "train", TRAIN_PER_CLASS)
    subset(src, dest, "t10k", TEST_PER_CLASS)
    for name in sorted(os.listdir(dest)):
        if name.endswith(".gz"):
            path = os.path.join(dest, name)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            print(f"{name}: {os.path.getsize(path)} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
