"""What a fresh `tf.data` iterator over a dataset that maps
`ImageDataGeneratorAugmentation` costs, before and after the layer's
rewrite, side by side in one run, interleaved.

Keras makes a new iterator every epoch. Each new iterator instantiates the
map function again and runs Grappler over it, at a cost proportional to its
number of nodes (TensorFlow caches XLA compilations per function and shape:
those are not re-paid). The rewrite keeps the geometry in one XLA function
compiled once per process (Grappler skips XLA bodies) and shrinks the graph.

"before" is the layer of git revision `--baseline` (default: the last one
before the rewrite), loaded from git under another module name; "after" is
this checkout. Measured: a fresh iterator (create + pull every batch, what an
epoch costs on top of the work), iterator creation alone, steady-state time
per batch, the first use of a new layer instance (trace + XLA compile), and
`model.fit` over many tiny epochs.

    python -m benchmarks.augment_iterators            # 40 iterators
    python -m benchmarks.augment_iterators --quick    # < 1 minute
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks import common

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = "572ebee"  # ImageDataGeneratorAugmentation before the rewrite
LAYER = "keras_tl/layers/image_data_generator_augmentation.py"
RESAMPLING = "keras_tl/layers/resampling.py"
AUGMENT = common.TUTORIAL_AUGMENT


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--iterators", type=int, default=40)
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--epochs", type=int, default=30, help="tiny epochs of model.fit")
    p.add_argument("--baseline", default=BASELINE, help="git revision of 'before'")
    p.add_argument("--out", default=None)
    p.add_argument("--suffix", default="", help="appended to the JSON name")
    args = p.parse_args(argv)
    if args.quick:
        args.iterators, args.epochs = 6, 4
    return args


def load_baseline(rev):
    """The layer class as of `rev` (imported from files written to a
    temporary folder, so AutoGraph reads their source), or (None, why)."""
    import importlib

    import keras

    def source(path):
        return subprocess.check_output(
            ["git", "-C", ROOT, "show", f"{rev}:{path}"],
            text=True,
            stderr=subprocess.DEVNULL,
        )

    try:
        layer_src, resampling_src = source(LAYER), source(RESAMPLING)
    except (OSError, subprocess.CalledProcessError) as error:
        return None, f"git show {rev} failed: {error}"
    folder = tempfile.mkdtemp(prefix="keras_tl_baseline_")
    names = {
        "resampling": "keras_tl_baseline_resampling",
        "layer": "keras_tl_baseline_augmentation",
    }
    layer_src = layer_src.replace(
        "from keras_tl.layers.resampling import", f"from {names['resampling']} import"
    )
    for key, text in (("resampling", resampling_src), ("layer", layer_src)):
        with open(os.path.join(folder, names[key] + ".py"), "w") as f:
            f.write(text)
    sys.path.insert(0, folder)
    # Not registered for saving: the checkout's class keeps its name.
    register = keras.saving.register_keras_serializable
    keras.saving.register_keras_serializable = lambda **kw: lambda cls: cls
    try:
        module = importlib.import_module(names["layer"])
    finally:
        keras.saving.register_keras_serializable = register
        sys.path.remove(folder)
    return module.ImageDataGeneratorAugmentation, None


def dataset(layer, x, batch_size):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(x).batch(batch_size)
    return ds.map(lambda b: layer(b, training=True))


def interleaved(fns, repeats):
    """{name: [seconds]}, the variants taking turns."""
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return samples


def fresh_iterator(ds):
    def run():
        for _ in ds:
            pass

    return run


def create_only(ds):
    return lambda: iter(ds)


def steady(ds, batches):
    looped = ds.repeat()

    def run():
        it = iter(looped)
        next(it)  # creation is measured apart
        start = time.perf_counter()
        for _ in range(batches):
            next(it)
        return time.perf_counter() - start

    return run


def first_use(cls, x, batch_size):
    """A new layer instance, a new dataset, its first batch: tracing and,
    unless shared, XLA compilation."""

    def run():
        next(iter(dataset(cls(seed=1, **AUGMENT), x, batch_size)))

    return run


def fit_epochs(cls, x, args):
    import keras

    y = np.arange(len(x)) % 2
    import tensorflow as tf

    layer = cls(seed=0, **AUGMENT)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(args.batch_size)
    ds = ds.map(lambda b, t: (layer(b, training=True), t))
    model = keras.Sequential(
        [keras.Input(x.shape[1:]), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(ds, epochs=1, verbose=0)  # warm: compile the train step

    def run():
        model.fit(ds, epochs=args.epochs, verbose=0)

    return run


def warm_up(x, batch_size):
    """The process-wide first costs (tf.data, XLA's client), paid before
    the first variant is timed."""
    import tensorflow as tf

    double = tf.function(lambda b: b * 2.0, jit_compile=True)
    for _ in tf.data.Dataset.from_tensor_slices(x).batch(batch_size).map(double):
        pass


def graph_nodes(ds):
    """Nodes of the map function and of the functions it calls."""
    graph = ds._map_func.function.graph.as_graph_def()
    return len(graph.node) + sum(len(f.node_def) for f in graph.library.function)


def run(args):
    from keras_tl.layers import ImageDataGeneratorAugmentation as After

    result = common.environment("augment_iterators")
    rng = np.random.default_rng(0)
    size = args.image_size
    x = rng.uniform(0, 255, (args.images, size, size, 3)).astype("float32")
    result["setup"] = {
        "images": args.images,
        "image_size": size,
        "batch_size": args.batch_size,
        "iterators": args.iterators,
        "fit_epochs": args.epochs,
        "augmentation": AUGMENT,
        "baseline": args.baseline,
    }
    before, why = load_baseline(args.baseline)
    classes = {"after": After}
    if before is None:
        print(f"no 'before': {why}", flush=True)
        result["setup"]["baseline_unavailable"] = why
    else:
        classes = {"before": before, "after": After}
    warm_up(x, args.batch_size)
    # First uses, each variant's very first: trace + XLA compile.
    first = {name: first_use(cls, x, args.batch_size) for name, cls in classes.items()}
    first_ever = interleaved(first, 1)
    datasets = {
        name: dataset(cls(seed=0, **AUGMENT), x, args.batch_size) for name, cls in classes.items()
    }
    for ds in datasets.values():
        fresh_iterator(ds)()  # warm
    measures = {
        "fresh_iterator_ms": interleaved(
            {n: fresh_iterator(ds) for n, ds in datasets.items()}, args.iterators
        ),
        "iterator_creation_ms": interleaved(
            {n: create_only(ds) for n, ds in datasets.items()}, args.iterators
        ),
        # A second, third ... instance: the process-wide compiled function.
        "new_instance_first_batch_ms": interleaved(first, max(3, args.iterators // 8)),
    }
    batches = 4 * args.iterators
    per_batch = {n: [] for n in datasets}
    for _ in range(3):
        for n, ds in datasets.items():
            per_batch[n].append(steady(ds, batches)() / batches)
    measures["steady_batch_ms"] = per_batch
    fits = {n: fit_epochs(cls, x, args) for n, cls in classes.items()}
    measures["fit_epoch_ms"] = {
        n: [s / args.epochs for s in v] for n, v in interleaved(fits, 2).items()
    }
    nodes = {n: graph_nodes(ds) for n, ds in datasets.items()}
    for name in classes:
        record = {
            "variant": name,
            "graph_nodes": nodes[name],
            "first_use_in_process_ms": 1000 * first_ever[name][0],
        }
        for measure, samples in measures.items():
            stats = common.summarize([1000 * s for s in samples[name]])
            record[measure] = stats["median"]
            record[measure.replace("_ms", "_min_ms")] = stats["min"]
            record[measure.replace("_ms", "_repeats")] = stats["repeats"]
        result["records"].append(record)
    if "before" in classes:
        b, a = result["records"]
        result["ratios"] = {
            m: b[m] / a[m] for m in ["graph_nodes", "first_use_in_process_ms", *measures]
        }
    path = common.write(result, args.out, args.suffix)
    print(
        f"\n### augment_iterators — {result['device']}, {args.images} images "
        f"{size}x{size}, batch {args.batch_size}, {args.iterators} iterators\n"
    )
    columns = [
        "variant",
        "graph_nodes",
        "fresh_iterator_ms",
        "iterator_creation_ms",
        "steady_batch_ms",
        "new_instance_first_batch_ms",
        "first_use_in_process_ms",
        "fit_epoch_ms",
    ]
    print(common.markdown_table(result["records"], columns))
    for key, value in result.get("ratios", {}).items():
        print(f"before/after {key}: {value:.2f}x")
    print(f"\nwrote {path}")
    return result


def main(argv=None):
    run(parse(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
