"""Seconds per epoch training a head: through the full frozen model vs on
features cached once with `TransferClassifier.extract_features` (the
"bottleneck features" recipe), side by side in one run.

    python -m benchmarks.bottleneck --quick
"""

import argparse
import sys
import time

import numpy as np

from benchmarks import common


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--images", type=int, default=512)
    p.add_argument("--image-size", type=int, default=160)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.images, args.image_size, args.repeats = 64, 64, 2
    return args


def run(args):
    import keras_tl

    result = common.environment("bottleneck")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (args.images, args.image_size, args.image_size, 3)).astype("float32")
    y = rng.integers(0, 5, args.images)
    model = keras_tl.TransferClassifier(
        args.model, 5, weights=None, input_shape=x.shape[1:], head_units=(64,)
    )
    # Random weights stand in for ImageNet's: freeze as a pretrained model is.
    model.freeze_backbone()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.head.compile(optimizer="adam", loss="sparse_categorical_crossentropy")

    def epoch_full():
        model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)

    start = time.perf_counter()
    features = model.extract_features(x, batch_size=args.batch_size)
    extract_s = time.perf_counter() - start

    def epoch_cached():
        model.head.fit(features, y, batch_size=args.batch_size, epochs=1, verbose=0)

    full = common.summarize(common.timed(epoch_full, args.repeats))
    cached = common.summarize(common.timed(epoch_cached, args.repeats))
    result["records"] = [
        {
            "model": args.model,
            "input": "full frozen model",
            "seconds_per_epoch": full["median"],
            "min": full["min"],
            "max": full["max"],
            "images": args.images,
        },
        {
            "model": args.model,
            "input": "cached features",
            "seconds_per_epoch": cached["median"],
            "min": cached["min"],
            "max": cached["max"],
            "images": args.images,
            "extract_seconds_once": extract_s,
        },
    ]
    result["speedup"] = full["median"] / cached["median"]
    result["break_even_epochs"] = extract_s / max(full["median"] - cached["median"], 1e-9)
    path = common.write(result, args.out)
    print(
        f"\n### bottleneck — {result['device']}, {result['backend']} backend, "
        f"{args.model} {args.image_size}x{args.image_size}, {args.images} images\n"
    )
    print(common.markdown_table(result["records"], ["input", "seconds_per_epoch", "min", "max"]))
    print(
        f"\ncached features: {result['speedup']:.1f}x faster per epoch; "
        f"extraction ({extract_s:.2f}s) pays off after "
        f"{result['break_even_epochs']:.1f} epochs"
    )
    print(f"wrote {path}")
    return result


def main(argv=None):
    run(parse(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
