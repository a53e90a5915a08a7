"""One of two JAX processes on this machine, 2 simulated CPU devices each,
training together under `keras.distribution` (gloo collectives): the
multi-host path (`keras.distribution.initialize`, the Keras wrapper of
`jax.distributed.initialize`) on one machine.

    python -m tests.multi_host_run PROCESS_ID PORT OUT_JSON
"""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
)

import jax  # noqa: E402

jax.config.update("jax_cpu_collectives_implementation", "gloo")

import keras  # noqa: E402
import numpy as np  # noqa: E402


def main(process_id, port, out):
    keras.distribution.initialize(f"localhost:{port}", num_processes=2, process_id=process_id)
    import keras_tl
    from tests.conftest import tiny_backbone

    with keras_tl.distribution.data_parallel("all") as devices:
        keras.utils.set_random_seed(0)
        model = keras_tl.TransferClassifier(tiny_backbone(), 3, preprocessing="tf")
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        kernel = model.backbone.get_layer("conv0").kernel
        initial = np.asarray(kernel.value.addressable_data(0))
        # Every process builds the same dataset; Keras shards it per process.
        rng = np.random.default_rng(0)
        x = rng.uniform(0, 255, (32, 32, 32, 3)).astype("float32")
        y = rng.integers(0, 3, 32)
        train = keras_tl.data.from_arrays(x, y, batch_size=8, shuffle=False)
        model.fit(
            train,
            epochs=2,
            verbose=0,
            callbacks=[keras_tl.callbacks.FreezeSchedule({0: "head", 1: "all"}, verbose=0)],
        )
        final = [np.asarray(w.value.addressable_data(0)) for w in model.weights]
    with open(out, "w") as f:
        json.dump(
            {
                "processes": jax.process_count(),
                "devices": devices,
                "local_devices": jax.local_device_count(),
                "checksum": float(sum(float(np.sum(w)) for w in final)),
                "backbone_moved": not np.array_equal(
                    initial, np.asarray(kernel.value.addressable_data(0))
                ),
            },
            f,
        )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
