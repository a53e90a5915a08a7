"""Augmented images per second from a folder of JPEGs, three ways, side by
side in one run, same images, same augmentation arguments:

1. `ImageDataGenerator(...).flow_from_directory(...)` (Keras's legacy copy);
2. the idiomatic Keras 3 recipe: `keras.utils.image_dataset_from_directory`
   + a chain of `RandomRotation`, `RandomTranslation`, `RandomShear`,
   `RandomZoom`, `RandomFlip` mapped over batches;
3. `keras_tl.data.image_dataset_from_directory(augment=...)`.

"cold" is a full pass with no dataset cache (the OS file cache is warm for
all three); "cached" is keras_tl with `cache=True` after its first pass.

    python -m benchmarks.input_pipeline            # 1,000 JPEGs
    python -m benchmarks.input_pipeline --quick    # 64 JPEGs, < 1 minute
"""

import argparse
import os
import sys
import tempfile

import numpy as np

from benchmarks import common

AUGMENT = common.TUTORIAL_AUGMENT


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--images", type=int, default=1000)
    p.add_argument("--source-size", default="500x375", help="JPEG width x height")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.images, args.source_size, args.image_size, args.repeats = 64, "160x120", 64, 1
    return args


def make_jpegs(n, size, seed=0):
    from PIL import Image

    width, height = (int(v) for v in size.split("x"))
    rng = np.random.default_rng(seed)
    root = tempfile.mkdtemp(prefix="keras_tl_jpegs_")
    for c in ("cats", "dogs"):
        os.makedirs(os.path.join(root, c))
    for i in range(n):
        base = rng.uniform(0, 255, (height // 25 + 1, width // 25 + 1, 3))
        img = np.kron(base, np.ones((25, 25, 1)))[:height, :width]
        img += rng.normal(0, 8, img.shape)
        Image.fromarray(np.clip(img, 0, 255).astype("uint8")).save(
            os.path.join(root, ("cats", "dogs")[i % 2], f"{i}.jpg"), quality=90
        )
    return root


def legacy_pass(root, args):
    from keras_tl import _compat

    flow = (
        _compat.legacy_image_preprocessing()
        .ImageDataGenerator(**AUGMENT)
        .flow_from_directory(
            root,
            target_size=(args.image_size,) * 2,
            batch_size=args.batch_size,
            class_mode="binary",
            seed=0,
        )
    )
    flow_len = len(flow)

    def run():
        for i in range(flow_len):
            flow[i]

    return run


def keras_chain_pass(root, args):
    import keras
    import tensorflow as tf

    # Pipeline (not Sequential) so the chain also runs in tf.data on JAX.
    chain = keras.layers.Pipeline(
        [
            keras.layers.RandomRotation(AUGMENT["rotation_range"] / 360.0, fill_mode="nearest"),
            keras.layers.RandomTranslation(0.2, 0.2, fill_mode="nearest"),
            keras.layers.RandomShear(x_factor=0.2, y_factor=0.2, fill_mode="nearest"),
            keras.layers.RandomZoom(0.2, 0.2, fill_mode="nearest"),
            keras.layers.RandomFlip("horizontal"),
        ]
    )
    ds = keras.utils.image_dataset_from_directory(
        root,
        image_size=(args.image_size,) * 2,
        batch_size=args.batch_size,
        label_mode="binary",
        seed=0,
        verbose=False,
    )
    ds = ds.map(
        lambda x, y: (chain(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE
    ).prefetch(tf.data.AUTOTUNE)
    return lambda: [None for _ in ds]


def keras_tl_pass(root, args, cache=False):
    from keras_tl import data
    from keras_tl.layers import ImageDataGeneratorAugmentation

    ds = data.image_dataset_from_directory(
        root,
        image_size=(args.image_size,) * 2,
        batch_size=args.batch_size,
        label_mode="binary",
        seed=0,
        cache=cache,
        augment=ImageDataGeneratorAugmentation(seed=0, **AUGMENT),
    )
    return lambda: [None for _ in ds]


def run(args):
    result = common.environment("input_pipeline")
    root = make_jpegs(args.images, args.source_size)
    result["setup"] = {
        "images": args.images,
        "source_size": args.source_size,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "augmentation": AUGMENT,
    }
    variants = [
        ("ImageDataGenerator.flow_from_directory", "cold", legacy_pass(root, args), 0),
        ("keras 3 chained Random* layers", "cold", keras_chain_pass(root, args), 1),
        ("keras_tl", "cold", keras_tl_pass(root, args), 1),
        ("keras_tl", "cached", keras_tl_pass(root, args, cache=True), 1),
    ]
    for name, mode, fn, warmup in variants:
        samples = common.timed(fn, args.repeats, warmup=warmup)
        stats = common.summarize([args.images / t for t in samples])
        result["records"].append(
            {
                "pipeline": name,
                "mode": mode,
                "images_per_second": stats["median"],
                "images_per_second_min": stats["min"],
                "images_per_second_max": stats["max"],
                "repeats": stats["repeats"],
            }
        )
        print(f"{name:40s} {mode:6s} {stats['median']:8.1f} img/s", flush=True)
    by = {(r["pipeline"], r["mode"]): r["images_per_second"] for r in result["records"]}
    ours = by[("keras_tl", "cold")]
    result["ratios"] = {
        "keras_tl_vs_ImageDataGenerator": ours
        / by[("ImageDataGenerator.flow_from_directory", "cold")],
        "keras_tl_vs_chained_keras_layers": ours / by[("keras 3 chained Random* layers", "cold")],
    }
    path = common.write(result, args.out)
    print(
        f"\n### input_pipeline — {result['device']}, {args.images} JPEGs "
        f"{args.source_size} -> {args.image_size}x{args.image_size}\n"
    )
    print(
        common.markdown_table(
            result["records"], ["pipeline", "mode", "images_per_second", "repeats"]
        )
    )
    for key, value in result["ratios"].items():
        print(f"{key}: {value:.2f}x")
    print(f"\nwrote {path}")
    return result


def main(argv=None):
    run(parse(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
