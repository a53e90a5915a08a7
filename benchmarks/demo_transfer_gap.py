"""How much does transfer beat training from scratch in the demo's setting?

`keras-tl demo` pre-trains once and draws the few-shot sets 3 times. This
repeats its protocol (pre-train on digits 0-4, then scratch / feature
extraction / fine-tuning on k labelled images per class of digits 5-9,
test on the rest) with a new pre-training per draw, over more draws and
several variants of backbone depth and image difficulty,
and prints mean, spread and the smallest transfer-minus-scratch gap per
variant. Needs no TensorFlow; the digits come from scikit-learn or from an
`.npz` with `images` (N, 8, 8) and `target` (`--digits`), for machines
without scikit-learn.

    python -m benchmarks.demo_transfer_gap --quick
    KERAS_BACKEND=jax python -m benchmarks.demo_transfer_gap --draws 8
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np

from benchmarks import common
from keras_tl.demo import VARIANTS as METHODS
from keras_tl.demo import render

# name: (backbone kwargs, image-difficulty kwargs). The demo's backbone is
# 9 convolutions; "shallow" is the 3-convolution one of version 0.2.
SHALLOW = dict(filters=(32, 64, 128), convs_per_block=1)
JITTER = dict(noise=0.15, jitter=True)
VARIANTS = {
    "demo": ({}, JITTER),
    "clean": ({}, {}),
    "shallow": (SHALLOW, JITTER),
    "clean_shallow": (SHALLOW, {}),
    "noisy": ({}, dict(noise=0.2, contrast=0.3)),
}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny run (<1 min on CPU)")
    p.add_argument("--draws", type=int, default=8)
    p.add_argument("--labels-per-class", type=int, nargs="+", default=[2, 5])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--pretrain-epochs", type=int, default=8)
    p.add_argument("--digits", help="npz with images and target (else scikit-learn)")
    p.add_argument("--deadline", type=float, default=0, help="seconds; stop after")
    p.add_argument("--out", help="results folder (default benchmarks/results)")
    args = p.parse_args(argv)
    if args.quick:
        args.draws, args.epochs, args.pretrain_epochs = 1, 2, 1
        args.labels_per_class, args.variants = [2], ["demo"]
    return args


def load_digits(path):
    if path:
        with np.load(path) as f:
            return f["images"].astype("float32"), f["target"]
    from sklearn.datasets import load_digits as sk_load

    d = sk_load()
    return d.images.astype("float32"), d.target


def one_draw(images, target, draw, backbone_kw, image_kw, args):
    """The demo's protocol on arrays; returns {k: {method: accuracy}}."""
    from keras_tl import demo

    rng = np.random.default_rng(draw)
    x = render(images, rng, **image_kw)
    source = target < 5
    pretrained = demo.pretrain_backbone(
        x[source],
        target[source],
        epochs=args.pretrain_epochs,
        seed=draw,
        batch_size=64,
        **backbone_kw,
    )

    largest = max(args.labels_per_class)
    order = {c: rng.permutation(np.flatnonzero(target == c)) for c in range(5, 10)}
    test = np.concatenate([order[c][largest:] for c in order])
    out = {}
    for k in args.labels_per_class:
        train = np.concatenate([order[c][:k] for c in order])
        row = {}
        for method in METHODS:
            model = demo.fit_variant(
                method,
                pretrained,
                x[train],
                target[train] - 5,
                epochs=args.epochs,
                seed=draw,
                batch_size=16,
                **backbone_kw,
            )
            pred = model.predict(x[test], batch_size=256, verbose=0).argmax(-1)
            row[method] = float(np.mean(pred == target[test] - 5))
        out[str(k)] = row
    return out


def summarize(draws):
    """Per k: mean/std per method, and the gap best-transfer minus scratch."""
    table = {}
    for k in draws[0]:
        rows = [d[k] for d in draws]
        entry = {}
        for m in METHODS:
            v = [r[m] for r in rows]
            entry[m] = {"mean": statistics.fmean(v), "std": statistics.pstdev(v)}
        gaps = [max(r["feature_extraction"], r["fine_tuning"]) - r["scratch"] for r in rows]
        entry["gap"] = {
            "mean": statistics.fmean(gaps),
            "min": min(gaps),
            "max": max(gaps),
            "draws": len(gaps),
        }
        table[k] = entry
    return table


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    images, target = load_digits(args.digits)
    result = common.environment("demo_transfer_gap")
    result["settings"] = {k: v for k, v in vars(args).items() if k not in ("out", "digits")}
    began = time.perf_counter()
    raw = {v: [] for v in args.variants}
    stopped = False
    # Draws outermost, so a deadline still leaves every variant measured.
    for draw in range(args.draws):
        for name in args.variants:
            if args.deadline and time.perf_counter() - began > args.deadline:
                stopped = True
                break
            start = time.perf_counter()
            backbone_kw, image_kw = VARIANTS[name]
            raw[name].append(one_draw(images, target, draw, backbone_kw, image_kw, args))
            print(
                f"draw {draw} {name:<12} {time.perf_counter() - start:5.1f}s "
                f"{json.dumps(raw[name][-1])}",
                flush=True,
            )
        if stopped:
            break
    result["records"] = [
        {"variant": name, "draw": draw, "labels_per_class": int(k), **row}
        for name, draws in raw.items()
        for draw, table in enumerate(draws)
        for k, row in table.items()
    ]
    result["summary"] = {n: summarize(d) for n, d in raw.items() if d}
    result["seconds"] = round(time.perf_counter() - began, 1)
    rows = []
    for name, table in result["summary"].items():
        for k, e in table.items():
            row = {"variant": name, "labels/class": k, "draws": e["gap"]["draws"]}
            for m in METHODS:
                row[m] = f"{e[m]['mean']:.3f} ± {e[m]['std']:.3f}"
            row["gap mean"] = f"{e['gap']['mean'] * 100:+.1f}"
            row["gap min"] = f"{e['gap']['min'] * 100:+.1f}"
            rows.append(row)
    columns = ["variant", "labels/class", "draws", *METHODS, "gap mean", "gap min"]
    print("\ntest accuracy (mean ± std over draws); gap = best transfer - scratch, points")
    print(common.markdown_table(rows, columns))
    print(f"device: {result['device']}; {result['seconds']:.0f}s")
    if not args.quick or args.out:
        print("wrote", common.write(result, args.out, suffix="quick" if args.quick else ""))
    return result


if __name__ == "__main__":
    main()
