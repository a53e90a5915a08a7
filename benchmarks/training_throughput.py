"""Training throughput of `fit()`: images/s per model and dtype policy.

Three inputs, side by side in one run, same model and batch size:
- `synthetic`: one batch that already lives on the device, reused every
  step — the compute bound of the same train step (augmentation is part of
  the model, so it runs here too; `synthetic_noaug` drops it, for the first
  model and policy, to show what augmenting on the device costs).
- `pipeline`: keras_tl's input path — decoded images cached as uint8 on the
  device (`ArrayDataset(on_device=True)`), reshuffled every epoch and
  gathered there, with `ImageDataGeneratorAugmentation` inside the model so
  it is compiled into the train step.
- `pipeline_host`: the same, but every batch copied from host memory (what
  a plain `model.fit(numpy_array)` does).

Full fine-tuning (every layer trains, BatchNorm included). Warm-up epoch
(compilation) excluded; each timed epoch is one repeat; median and spread
reported. Needs no TensorFlow.

    python -m benchmarks.training_throughput --quick
    KERAS_BACKEND=jax python -m benchmarks.training_throughput \
        --models resnet50 --image-size 224 --batch-size 256
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

from benchmarks import common

AUGMENT = dict(
    rotation_range=15,
    width_shift_range=0.1,
    height_shift_range=0.1,
    zoom_range=0.1,
    horizontal_flip=True,
    fill_mode="nearest",
)


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny CPU run (<1 min)")
    p.add_argument("--models", default="resnet50,mobilenet_v2,efficientnet_b0")
    p.add_argument("--policies", default="float32,mixed_float16,mixed_bfloat16")
    p.add_argument("--inputs", default="synthetic,pipeline,pipeline_host")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--steps", type=int, default=20, help="steps per timed epoch")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--pool", type=int, default=1024, help="decoded images cached")
    p.add_argument("--steps-per-execution", type=int, default=1)
    p.add_argument("--deadline", type=float, default=0, help="seconds; skip the rest after")
    p.add_argument("--out", default=None, help="results folder")
    p.add_argument(
        "--devices",
        default="1",
        type=_device_counts,
        help="comma-separated device counts to compare, e.g. 1,4 or 1,all: "
        "data-parallel with --batch-size per device (weak scaling)",
    )
    p.add_argument(
        "--baseline",
        action="store_true",
        help="also time the hand-written recipe: keras.applications model + "
        "head, model.fit(float32 NumPy array), no keras_tl",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.models = args.models if "--models" in (argv or []) else "mobilenet_v2"
        args.policies = "float32"
        args.image_size, args.batch_size = 32, 8
        args.steps, args.repeats, args.pool = 3, 2, 32
    return args


def _device_counts(text):
    counts = []
    for part in text.split(","):
        part = part.strip().lower()
        if part != "all" and not (part.isdigit() and int(part) >= 1):
            raise argparse.ArgumentTypeError(f"expected counts >= 1 or 'all', got {text!r}")
        counts.append(part if part == "all" else int(part))
    return counts


def jpeg_pool(n, size, seed=0):
    """Write `n` JPEGs in two class folders and read them back through
    keras_tl's TF-free loader: the decode is part of the input path."""
    from PIL import Image

    from keras_tl.data import load_image_folder

    rng = np.random.default_rng(seed)
    root = tempfile.mkdtemp(prefix="keras_tl_bench_")
    for c in ("a", "b"):
        os.makedirs(os.path.join(root, c))
    base = rng.uniform(0, 255, (8, 8, 3))
    for i in range(n):
        tile = np.kron(base + rng.normal(0, 20, base.shape), np.ones((size // 8 + 1,) * 2 + (1,)))
        img = Image.fromarray(np.clip(tile[:size, :size], 0, 255).astype("uint8"))
        img.save(os.path.join(root, "ab"[i % 2], f"{i}.jpg"), quality=90)
    start = time.perf_counter()
    images, labels, _ = load_image_folder(root, (size, size))
    decode_s = time.perf_counter() - start
    return images.astype("uint8"), labels, decode_s


class RepeatBatch:
    """A PyDataset that returns the same device-resident batch."""

    def __new__(cls, x, y, steps):
        import keras

        class _Repeat(keras.utils.PyDataset):
            def __len__(self):
                return steps

            def __getitem__(self, index):
                return x, y

        return _Repeat()


def sync(model):
    import keras

    keras.ops.convert_to_numpy(model.trainable_weights[-1])


def time_fit(model, data, repeats, **fit_kwargs):
    """Seconds per epoch for `repeats` epochs after one warm-up epoch."""
    import keras

    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            sync(self.model)
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            sync(self.model)
            times.append(time.perf_counter() - self.start)

    model.fit(data, epochs=repeats + 1, verbose=0, callbacks=[Timer()], **fit_kwargs)
    return times[1:], times[0]


def build(name, policy, args, augmentation):
    import keras

    import keras_tl

    keras.mixed_precision.set_global_policy(policy)
    model = keras_tl.TransferClassifier(
        name,
        num_classes=10,
        weights=None,
        input_shape=(args.image_size, args.image_size, 3),
        augmentation=augmentation,
        train_batchnorm=True,
    )
    model.unfreeze("all")
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        steps_per_execution=args.steps_per_execution,
        jit_compile=True,
    )
    return model


def run(args):
    import keras

    import keras_tl
    from keras_tl.data import ArrayDataset

    result = common.environment("training_throughput")
    began = time.perf_counter()
    pool, labels, decode_s = jpeg_pool(args.pool, args.image_size)
    result["pool"] = {"images": len(pool), "decode_seconds": decode_s}
    inputs = args.inputs.split(",")
    result["devices"] = common.device_names()
    skipped = []
    for devices, (name, policy, augmented) in (
        (d, step) for d in args.devices for step in plan(args)
    ):
        if args.deadline and time.perf_counter() - began > args.deadline:
            skipped.append(f"{name}/{policy}/{'aug' if augmented else 'noaug'}/{devices}")
            continue
        # Weak scaling: the per-device batch stays, the global batch grows.
        # The distribution is opened per model: clear_session() drops it.
        with keras_tl.distribution.data_parallel(devices) as used:
            batch = args.batch_size * used
            rng = np.random.default_rng(1)
            size = (batch, args.image_size, args.image_size, 3)
            x_dev = keras.ops.convert_to_tensor(rng.integers(0, 256, size, dtype="uint8"))
            y_dev = keras.ops.convert_to_tensor(rng.integers(0, 10, (batch,)))
            augmentation = None
            if augmented:
                augmentation = keras_tl.layers.ImageDataGeneratorAugmentation(seed=0, **AUGMENT)
            model = build(name, policy, args, augmentation)
            # One compiled train step serves every input below (same shapes).
            kinds = inputs if augmented else ["synthetic"]
            for kind in kinds:
                if kind == "synthetic":
                    data = RepeatBatch(x_dev, y_dev, args.steps)
                else:
                    rows = np.resize(np.arange(len(pool)), args.steps * batch)
                    data = ArrayDataset(
                        pool[rows],
                        labels[rows] % 10,
                        batch_size=batch,
                        seed=0,
                        on_device=kind == "pipeline",
                    )
                times, warmup = time_fit(model, data, args.repeats)
                stats = common.summarize([args.steps * batch / t for t in times])
                label = kind if augmented else "synthetic_noaug"
                record = {
                    "model": name,
                    "policy": policy,
                    "input": label,
                    "augmentation": augmented,
                    "batch_size": batch,
                    "devices": used,
                    # BatchNorm in training mode (batch statistics, moving
                    # averages updated): what full fine-tuning really costs.
                    "train_batchnorm": model.train_batchnorm,
                    "image_size": args.image_size,
                    "images_per_second": stats["median"],
                    "images_per_second_per_device": stats["median"] / used,
                    "images_per_second_min": stats["min"],
                    "images_per_second_max": stats["max"],
                    "step_ms": 1000 * batch / stats["median"],
                    "repeats": stats["repeats"],
                    "warmup_seconds": warmup,
                }
                result["records"].append(record)
                print(
                    f"{name:16s} {policy:15s} {label:16s} x{used} "
                    f"{stats['median']:9.1f} img/s "
                    f"[{stats['min']:.1f}-{stats['max']:.1f}] "
                    f"warm-up {warmup:.1f}s",
                    flush=True,
                )
                common.write(result, args.out)
            del model
        keras.backend.clear_session()
    if args.baseline:
        for policy in args.policies.split(","):
            baseline(args, policy, pool, labels, result)
    keras.mixed_precision.set_global_policy("float32")
    result["skipped_for_deadline"] = skipped
    derive(result)
    path = common.write(result, args.out)
    print_report(result)
    print(f"\nwrote {path}")
    return result


def baseline(args, policy, pool, labels, result):
    """The Keras transfer-learning guide's code, fed the way most users do:
    `model.fit(x_float32_numpy, y)`. Same backbone, batch and policy."""
    import keras

    from keras_tl.backbones import get_spec

    keras.mixed_precision.set_global_policy(policy)
    spec = get_spec(args.models.split(",")[0])
    size = args.image_size
    inputs = keras.Input((size, size, 3))
    backbone = getattr(keras.applications, spec.constructor)(
        include_top=False, weights=None, input_shape=(size, size, 3)
    )
    x = backbone(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax", dtype="float32")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy"
    )
    rows = np.resize(np.arange(len(pool)), args.steps * args.batch_size)
    x_np = pool[rows].astype("float32")
    times, warmup = time_fit(
        model, x_np, args.repeats, y=labels[rows] % 10, batch_size=args.batch_size
    )
    stats = common.summarize([len(x_np) / t for t in times])
    record = {
        "model": spec.name,
        "policy": policy,
        "input": "plain_keras_fit",
        "augmentation": False,
        "batch_size": args.batch_size,
        "image_size": size,
        "images_per_second": stats["median"],
        "images_per_second_min": stats["min"],
        "images_per_second_max": stats["max"],
        "step_ms": 1000 * args.batch_size / stats["median"],
        "repeats": stats["repeats"],
        "warmup_seconds": warmup,
    }
    result["records"].append(record)
    print(f"{spec.name:16s} {policy:15s} plain_keras_fit  {stats['median']:9.1f} img/s", flush=True)
    common.write(result, args.out)
    del model
    keras.backend.clear_session()


def plan(args):
    """(model, policy, augmented) in priority order, so a deadline cuts the
    least important: the first model under every policy, then its
    compute bound without augmentation, then the other models."""
    models, policies = args.models.split(","), args.policies.split(",")
    order = [(models[0], p, True) for p in policies]
    if "synthetic" in args.inputs.split(","):
        order.append((models[0], policies[0], False))
    order += [(m, p, True) for m in models[1:] for p in policies]
    return order


def derive(result):
    """Pipeline share of the compute bound and mixed-precision speed-up."""
    one_device = {
        (r["model"], r["policy"], r["input"]): r["images_per_second"]
        for r in result["records"]
        if r.get("devices", 1) == 1
    }
    for r in result["records"]:
        single = one_device.get((r["model"], r["policy"], r["input"]))
        if single and r.get("devices", 1) > 1:
            # Weak scaling: N devices ideally give N times one device.
            r["scaling_efficiency"] = r["images_per_second"] / (r["devices"] * single)
    table = {
        (r["model"], r["policy"], r["input"]): r["images_per_second"]
        for r in result["records"]
        if r.get("devices", 1) == 1
    }
    for r in result["records"]:
        if r.get("devices", 1) > 1:
            continue
        bound = table.get((r["model"], r["policy"], "synthetic"))
        if bound and r["input"] != "synthetic":
            r["share_of_compute_bound"] = r["images_per_second"] / bound
        plain = table.get((r["model"], r["policy"], "plain_keras_fit"))
        if plain and r["input"] == "pipeline":
            r["speedup_vs_plain_keras_fit"] = r["images_per_second"] / plain
        base = table.get((r["model"], "float32", r["input"]))
        if base and r["policy"] != "float32":
            r["speedup_vs_float32"] = r["images_per_second"] / base


def print_report(result):
    print(f"\n### training_throughput — {result['device']}, {result['backend']} backend\n")
    rows = []
    for r in result["records"]:
        row = dict(r)
        row["share"] = f"{r['share_of_compute_bound']:.0%}" if "share_of_compute_bound" in r else ""
        row["mp speed-up"] = f"{r['speedup_vs_float32']:.2f}x" if "speedup_vs_float32" in r else ""
        row["vs plain fit"] = (
            f"{r['speedup_vs_plain_keras_fit']:.2f}x" if "speedup_vs_plain_keras_fit" in r else ""
        )
        row["spread"] = f"{r['images_per_second_min']:.0f}-{r['images_per_second_max']:.0f}"
        row["devices"] = r.get("devices", 1)
        row["scaling"] = f"{r['scaling_efficiency']:.0%}" if "scaling_efficiency" in r else ""
        rows.append(row)
    print(
        common.markdown_table(
            rows,
            [
                "model",
                "policy",
                "input",
                "devices",
                "batch_size",
                "images_per_second",
                "spread",
                "step_ms",
                "share",
                "mp speed-up",
                "vs plain fit",
                "scaling",
            ],
        )
    )
    if result.get("skipped_for_deadline"):
        print("\nskipped (deadline):", ", ".join(result["skipped_for_deadline"]))


def main(argv=None):
    run(parse(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
