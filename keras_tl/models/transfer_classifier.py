import contextlib
import os
import uuid

import numpy as np

import keras
from keras import ops

from keras_tl import backbones as backbones_lib
from keras_tl.backbones.blocks import find_blocks
from keras_tl.layers.backbone_preprocessing import MODES
from keras_tl.layers.backbone_preprocessing import BackbonePreprocessing
from keras_tl.models import freezing
from keras_tl.distribution import check_global_batch
from keras_tl.distribution import check_model_placement
from keras_tl.distribution import model_replicas

POOLINGS = ("avg", "max", "flatten")


@keras.saving.register_keras_serializable(package="keras_tl")
class TransferClassifier(keras.Model):
    """A pretrained backbone with a new classification head.

    The model takes raw `[0, 255]` RGB images: the backbone's own
    `preprocess_input` runs inside it, so a saved model needs no separate
    preprocessing. With pretrained weights the backbone runs in inference
    mode (BatchNorm uses its ImageNet statistics, dropout is off) — the
    Keras transfer-learning guide's rule, enforced here because a plain
    functional model's `base_model(x, training=False)` is overridden by
    `fit()` in Keras 3 — and starts frozen; `unfreeze()` or the callbacks in
    `keras_tl.callbacks` open it up. `train_batchnorm=True` lets BatchNorm
    train in unfrozen blocks.

    Args:
        backbone: A registry name (`keras_tl.backbones.list_backbones()`), or
            any `keras.Model` / `keras.Layer` that maps images to features
            (a user's own pretrained network, a
            `keras_tl.hub.HubFeatureVector`).
        num_classes: Number of classes. `1` makes a binary classifier with one
            sigmoid unit (use `binary_crossentropy`); 2 or more use softmax.
        input_shape: `(height, width, channels)`. `None` means the backbone's
            default size (or a custom backbone's own input shape).
        weights: For a registry name: `None`, `"imagenet"` or a path to a
            weights file. Ignored for a backbone passed as a model. With
            `None` there is nothing to protect: the backbone starts
            trainable (BatchNorm too) and the model trains from scratch.
        pooling: `"avg"`, `"max"` or `"flatten"` over the backbone's feature
            map (ignored when the backbone already returns vectors).
        head_units: Sizes of hidden Dense layers in the head, e.g. `(1024,)`.
        dropout: Dropout rate before each Dense layer of the head.
        head_activation: Activation of the hidden head layers.
        from_logits: Return logits instead of probabilities.
        preprocessing: `"auto"` (the backbone's own mode; `"none"` for a
            custom backbone), or one of `"tf"`, `"caffe"`, `"torch"`,
            `"none"`.
        augmentation: Optional layer applied to the images only when
            `training=True` (e.g. `keras_tl.layers.ImageDataGeneratorAugmentation`).
        train_batchnorm: Let BatchNormalization layers train (update their
            statistics and weights, in training mode inside `fit()`) when
            their block is unfrozen. `None` (default): `True` for a registry
            backbone built with `weights=None` (nothing pretrained to
            protect), else `False`.
        class_names: Optional list of class names, kept in the config and
            used by `predict_labels`.
        block_starts: For a custom backbone: layer names where its blocks
            begin, for `unfreeze(blocks=N)`.
        trainable_backbone_layers: Restores a freeze state on reload; set by
            `get_config`, rarely by hand.
        **kwargs: Base `keras.Model` arguments: `name`, `trainable`, and
            `dtype`, a dtype policy (e.g. `"mixed_bfloat16"`) for every
            layer built here (default: the global policy; a backbone
            passed as a model keeps its own); all three are kept in the
            config. The output stays float32.

    Attributes:
        image_size: `(height, width)` of the input images.
        input_shape: `(None, height, width, channels)`.

    Example:

    ```python
    x = np.random.uniform(0, 255, (8, 32, 32, 3))
    y = np.random.randint(0, 3, 8)
    # weights="imagenet" (the default) for real use; None here: no download.
    model = keras_tl.TransferClassifier(
        "mobilenet_v2", num_classes=3, input_shape=(32, 32, 3), weights=None)
    model.compile()  # Adam, the loss and accuracy for this head
    # One head-only epoch, then 2 with the whole backbone at 0.1x the rate.
    model.fine_tune(x, y, epochs=2, freeze_epochs=1, verbose=0)
    # Or by hand: choose what trains, recompile, fit.
    model.unfreeze(blocks=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-5))
    model.fit(x, y, epochs=1, verbose=0)
    ```
    """

    def __init__(
        self,
        backbone,
        num_classes,
        input_shape=None,
        weights="imagenet",
        pooling="avg",
        head_units=(),
        dropout=0.0,
        head_activation="relu",
        from_logits=False,
        preprocessing="auto",
        augmentation=None,
        train_batchnorm=None,
        class_names=None,
        block_starts=None,
        trainable_backbone_layers=None,
        **kwargs,
    ):
        kwargs.setdefault("name", "transfer_classifier")
        super().__init__(**kwargs)
        # A `dtype` given here (or restored by from_config) covers the layers
        # built inside too, not just this model's own cast.
        explicit = kwargs.get("dtype") is not None
        with _policy_scope(self.dtype_policy if explicit else None):
            _check_args(num_classes, pooling, dropout, preprocessing, class_names)
            head_units = _check_head_units(head_units)
            from_scratch = isinstance(backbone, str) and weights is None
            if train_batchnorm is None:
                train_batchnorm = from_scratch
            if isinstance(backbone, str):
                self.backbone_spec = backbones_lib.get_spec(backbone)
                model, _ = backbones_lib.build_backbone(backbone, input_shape, weights)
                self._backbone_name = self.backbone_spec.name
                input_shape = tuple(model.input_shape[1:])
            elif isinstance(backbone, keras.layers.Layer):
                self.backbone_spec = None
                model = backbone
                self._backbone_name = None
                input_shape = _custom_input_shape(backbone, input_shape)
            else:
                raise ValueError(
                    "`backbone` must be a registry name (see "
                    "keras_tl.backbones.list_backbones()) or a keras.Model / "
                    f"keras.Layer. Received: backbone={backbone!r}"
                )
            self.backbone = model
            self.num_classes = int(num_classes)
            self._input_shape_arg = tuple(input_shape)
            self.pooling = pooling
            self.head_units = head_units
            self.dropout = float(dropout)
            self.head_activation = head_activation
            self.from_logits = bool(from_logits)
            self.preprocessing_mode = _resolve_mode(preprocessing, self.backbone_spec)
            self._preprocessing_arg = preprocessing
            self.augmentation = augmentation
            self.train_batchnorm = bool(train_batchnorm)
            self.class_names = list(class_names) if class_names else None
            self.block_starts = list(block_starts) if block_starts else None

            self.preprocessor = (
                BackbonePreprocessing(self.preprocessing_mode, name="preprocessing")
                if self.preprocessing_mode != "none"
                else None
            )
            self.blocks = (
                find_blocks(model, self.backbone_spec, self.block_starts)
                if hasattr(model, "layers")
                else []
            )
            feature_shape = model.compute_output_shape((None,) + self._input_shape_arg)
            if len(feature_shape) == 4:
                self.pool = {
                    "avg": keras.layers.GlobalAveragePooling2D,
                    "max": keras.layers.GlobalMaxPooling2D,
                    "flatten": keras.layers.Flatten,
                }[pooling](name=f"{pooling}_pool")
                feature_shape = self.pool.compute_output_shape(feature_shape)
            else:
                self.pool = None
            self.head = self._build_head(feature_shape)

            if trainable_backbone_layers is None:
                # Random weights have nothing to protect: train from scratch.
                self.unfreeze("all" if from_scratch else "head")
            else:
                freezing.restore_trainable(self.backbone, trainable_backbone_layers)
            self.build((None,) + self._input_shape_arg)

    @property
    def image_size(self):
        """`(height, width)` of the images the model takes."""
        return self._input_shape_arg[:2]

    @property
    def input_shape(self):
        """`(None, height, width, channels)`, as on a functional model."""
        return (None,) + self._input_shape_arg

    def _build_head(self, feature_shape):
        inputs = keras.Input(shape=feature_shape[1:], name="features")
        x = inputs
        for i, units in enumerate(self.head_units):
            if self.dropout:
                x = keras.layers.Dropout(self.dropout, name=f"dropout_{i}")(x)
            x = keras.layers.Dense(units, activation=self.head_activation, name=f"dense_{i}")(x)
        if self.dropout:
            x = keras.layers.Dropout(self.dropout, name="dropout_out")(x)
        if self.from_logits:
            activation = None
        else:
            activation = "sigmoid" if self.num_classes == 1 else "softmax"
        # float32 output: softmax/sigmoid and the loss stay stable under
        # mixed precision.
        outputs = keras.layers.Dense(
            self.num_classes,
            activation=activation,
            dtype="float32",
            name="predictions",
        )(x)
        return keras.Model(inputs, outputs, name="head")

    def build(self, input_shape):
        if self.augmentation is not None and not self.augmentation.built:
            self.augmentation.build(input_shape)
        self.built = True

    def features(self, images, training=None):
        """Preprocessing → backbone → pooling. The backbone runs in
        inference mode unless `train_batchnorm`, when `training` reaches it."""
        x = images
        if self.preprocessor is not None:
            x = self.preprocessor(x)
        # An explicit training=None does not inherit the outer call's flag in
        # Keras 3: pass the flag itself, or False to pin inference mode.
        x = self.backbone(x, training=bool(training) if self.train_batchnorm else False)
        if self.pool is not None:
            x = self.pool(x)
        return x

    def call(self, images, training=None):
        x = ops.cast(images, self.compute_dtype)
        if self.augmentation is not None:
            x = self.augmentation(x, training=training)
        x = self.features(x, training=training)
        return self.head(x, training=training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    # Training -----------------------------------------------------------------

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto", **kwargs):
        """`keras.Model.compile` with defaults that fit this model's head.

        Any argument other than `"auto"` goes to `keras.Model.compile`
        unchanged, as in keras-hub's `ImageClassifier.compile`.

        Args:
            optimizer: `"auto"`: `keras.optimizers.Adam(1e-3)` (Keras's
                default rate: the new head starts from random weights; with
                `fine_tune`'s `lr_ratio=0.1` the backbone then gets 1e-4).
                Or any optimizer `keras.Model.compile` takes.
            loss: `"auto"`: `SparseCategoricalCrossentropy` (integer labels)
                for 2 or more classes, `BinaryCrossentropy` for
                `num_classes=1`, with `from_logits` matching the model's
                `from_logits`. Or any loss.
            metrics: `"auto"`: accuracy, logged as `"accuracy"` (none when
                `weighted_metrics` is passed, which then holds the
                metrics). Or a list of metrics / `None`.
            **kwargs: Other `keras.Model.compile` arguments
                (`weighted_metrics`, `jit_compile`, `steps_per_execution`,
                ...).

        Example:

        ```python
        model = keras_tl.TransferClassifier(
            "mobilenet_v2", 3, input_shape=(32, 32, 3), weights=None)
        model.compile()  # Adam(1e-3), sparse CE on probabilities, accuracy
        model.compile(optimizer=keras.optimizers.SGD(0.01))  # rest auto
        ```
        """
        binary = self.num_classes == 1
        if _is_auto(optimizer):
            optimizer = keras.optimizers.Adam(1e-3)
        if _is_auto(loss):
            loss_class = (
                keras.losses.BinaryCrossentropy
                if binary
                else keras.losses.SparseCategoricalCrossentropy
            )
            loss = loss_class(from_logits=self.from_logits)
        if _is_auto(metrics):
            if kwargs.get("weighted_metrics") is not None:
                metrics = None
            elif binary:
                # Logits split at 0, probabilities at 0.5.
                threshold = 0.0 if self.from_logits else 0.5
                metrics = [keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold)]
            else:
                # argmax: right for logits and probabilities alike.
                metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        # Keras skips an overridden compile() on load; this one takes the
        # saved (already resolved, never "auto") arguments as they are.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built and getattr(self, "optimizer", None) is not None:
            # Variables now, so the archive's optimizer state loads into them.
            self.optimizer.build(self.trainable_variables)

    # Training under a distribution ---------------------------------------

    def fit(self, *args, **kwargs):
        check_model_placement(self)
        return super().fit(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        check_model_placement(self)
        return super().evaluate(*args, **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        check_model_placement(self)
        replicas = model_replicas(self)
        if replicas == 1 or not hasattr(x, "shape"):
            return super().predict(x, batch_size=batch_size, **kwargs)
        # A keras.distribution needs every batch to split evenly across its
        # devices (and a TF replica given no image fails): pad the arrays,
        # predict, and trim the padding.
        batch = batch_size or 32
        check_global_batch(batch, replicas)
        x = np.asarray(x)
        pad = -(len(x) % batch) % replicas
        padded = np.concatenate([x, np.repeat(x[:1], pad, axis=0)]) if pad else x
        out = super().predict(padded, batch_size=batch, **kwargs)
        return out[: len(x)]

    def fine_tune(
        self,
        x,
        y=None,
        *,
        epochs,
        freeze_epochs=1,
        unfreeze="all",
        lr_ratio=0.1,
        callbacks=None,
        **fit_kwargs,
    ):
        """Train the head alone, then the unfrozen backbone too: one `fit()`.

        fastai's `fine_tune` as a Keras call: `freeze_epochs` epochs with the
        backbone frozen, then `epochs` more with `unfreeze` trainable, the
        backbone at `lr_ratio` times the head's learning rate. It runs one
        `fit(epochs=freeze_epochs + epochs)` with a
        `keras_tl.callbacks.FreezeSchedule` placed before `callbacks`, so
        the optimizer state, metrics and History run across both phases.
        Compile the model first.

        Args:
            x, y: Training data, as for `fit()`.
            epochs: Epochs after the backbone is unfrozen (`0`: head only).
            freeze_epochs: Head-only epochs first (`0`: unfreeze at once).
            unfreeze: What trains after the head-only epochs: `"all"`,
                `{"blocks": N}`, `{"layers": N}` or
                `{"from_layer": name_or_index}` (the forms `unfreeze()`
                takes).
            lr_ratio: The backbone's learning rate as a fraction of the
                head's (a per-block `MultiOptimizer`, see
                `keras_tl.optimizers`), or `None` for one learning rate.
            callbacks: More callbacks for `fit()`; they run after the
                schedule, so they see each epoch's trainable state.
            **fit_kwargs: Other `fit()` arguments (`validation_data`,
                `batch_size`, `class_weight`, `verbose`, ...). With
                `verbose=0` the schedule prints nothing either;
                `initial_epoch=k` resumes with the spec in force at epoch
                `k`.

        Returns:
            The `History` of the single `fit()` call, with
            `freeze_epochs + epochs` entries.

        Example:

        ```python
        model = keras_tl.TransferClassifier(
            "mobilenet_v2", 3, input_shape=(32, 32, 3), weights=None)
        model.compile()
        x = np.random.uniform(0, 255, (8, 32, 32, 3))
        y = np.random.randint(0, 3, 8)
        history = model.fine_tune(x, y, epochs=1, verbose=0)
        assert len(history.history["loss"]) == 2
        ```
        """
        # Imported here: keras_tl.callbacks imports keras_tl.models.
        from keras_tl.callbacks import FineTuningCallback
        from keras_tl.callbacks import FreezeSchedule

        _check_count("epochs", epochs)
        _check_count("freeze_epochs", freeze_epochs)
        if epochs + freeze_epochs == 0:
            raise ValueError(
                "`epochs` and `freeze_epochs` are both 0: nothing to train. "
                "Pass epochs >= 1 (epochs after unfreezing) or "
                "freeze_epochs >= 1 (head-only epochs)."
            )
        try:
            spec = freezing.parse_spec(unfreeze)
        except ValueError as error:
            raise ValueError(f"`unfreeze`: {error}") from None
        if spec[0] == "head":
            raise ValueError(
                "`unfreeze='head'` never unfreezes anything. Pass 'all', "
                "{'blocks': N}, {'layers': N} or {'from_layer': name}, or "
                "train the head alone with fit()."
            )
        # Too many blocks, an unknown layer: fail now, not after the
        # head-only epochs.
        freezing.first_trainable_index(self.backbone, spec, self.blocks)
        if lr_ratio is not None and (
            isinstance(lr_ratio, bool)
            or not isinstance(lr_ratio, (int, float, np.number))
            or not np.isfinite(lr_ratio)
            or lr_ratio <= 0
        ):
            raise ValueError(
                "`lr_ratio` must be a number > 0 (e.g. 0.1: the backbone "
                "learns 10x slower than the head) or None (one learning "
                f"rate). Received: lr_ratio={lr_ratio!r}"
            )
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, (list, tuple)):
            callbacks = list(callbacks)
        else:
            raise ValueError(
                "`callbacks` must be a list of keras.callbacks.Callback or "
                f"None. Received: callbacks={callbacks!r}"
            )
        clash = [c for c in callbacks if isinstance(c, FineTuningCallback)]
        if clash:
            raise ValueError(
                f"fine_tune() adds its own FreezeSchedule; {clash[0]!r} "
                "would fight it over what trains. Use fit() with your own "
                "callback instead."
            )
        if not self.compiled or self.optimizer is None:
            raise ValueError(
                "Compile the model before fine_tune(): model.compile() "
                "picks Adam and the loss for this head, or pass your own "
                "optimizer/loss."
            )
        if epochs == 0:
            schedule = {0: "head"}
        elif freeze_epochs == 0:
            schedule = {0: unfreeze}
        else:
            schedule = {0: "head", freeze_epochs: unfreeze}
        verbose = 0 if fit_kwargs.get("verbose", "auto") == 0 else 1
        scheduler = FreezeSchedule(
            schedule,
            lr_ratio=None if lr_ratio is None else float(lr_ratio),
            verbose=verbose,
        )
        return self.fit(
            x,
            y,
            epochs=freeze_epochs + epochs,
            callbacks=[scheduler] + callbacks,
            **fit_kwargs,
        )

    # Freezing ---------------------------------------------------------------

    def freeze_backbone(self):
        """Freeze the whole backbone; only the head trains."""
        return self.unfreeze("head")

    def unfreeze(self, spec=None, *, layers=None, from_layer=None, blocks=None):
        """Choose which top part of the backbone trains; the rest is frozen.

        Recompile after calling it outside `fit()` (the callbacks in
        `keras_tl.callbacks` handle that for you inside `fit()`).

        Args:
            spec: `"all"`, `"head"` (same as `freeze_backbone()`), or a dict
                such as `{"blocks": 2}`.
            layers: Unfreeze the top N layers of `backbone.layers`.
            from_layer: Unfreeze from this layer (name or index) to the top.
            blocks: Unfreeze the top N blocks (see `model.blocks`).

        Returns:
            The model, so calls chain.
        """
        parsed = freezing.parse_spec(spec, layers=layers, from_layer=from_layer, blocks=blocks)
        start = freezing.first_trainable_index(self.backbone, parsed, self.blocks)
        freezing.apply(self.backbone, start, self.train_batchnorm)
        return self

    def trainable_summary(self):
        """A table of blocks: first layer, trainable / total parameters."""
        rows = [("part", "first layer", "trainable", "total")]
        backbone = self.backbone
        layers = getattr(backbone, "layers", None)
        if layers is not None and self.blocks:
            spans = [("stem", 0, self.blocks[0].start)] + [
                (b.name, b.start, b.stop) for b in self.blocks
            ]
            for name, start, stop in spans:
                if start >= stop:
                    continue
                part = layers[start:stop]
                trainable = (
                    sum(freezing.count_params(l.trainable_weights) for l in part)
                    if backbone.trainable
                    else 0
                )
                total = sum(freezing.count_params(l.weights) for l in part)
                rows.append((name, layers[start].name, trainable, total))
        else:
            rows.append(
                (
                    "backbone",
                    backbone.name,
                    freezing.count_params(backbone.trainable_weights),
                    freezing.count_params(backbone.weights),
                )
            )
        rows.append(
            (
                "head",
                self.head.layers[1].name if len(self.head.layers) > 1 else "predictions",
                freezing.count_params(self.head.trainable_weights),
                freezing.count_params(self.head.weights),
            )
        )
        widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
        lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths)) for row in rows]
        total_trainable = freezing.count_params(self.trainable_weights)
        lines.append(f"trainable parameters: {total_trainable:,}")
        return "\n".join(lines)

    # Inference helpers ------------------------------------------------------

    def predict_labels(self, images, batch_size=32, verbose=0):
        """Class names (or indices) and confidences for a batch of images.

        Returns:
            `(labels, confidences)`: a list with one label per image and a
            NumPy array of the probability of that label.
        """
        probs = np.asarray(self.predict(images, batch_size=batch_size, verbose=verbose))
        if self.from_logits:
            from keras_tl.evaluation.metrics import probabilities_from_logits

            probs = probabilities_from_logits(probs)
        if self.num_classes == 1:
            p = probs[:, 0]
            index = (p >= 0.5).astype(int)
            confidence = np.where(index == 1, p, 1.0 - p)
        else:
            index = probs.argmax(axis=-1)
            confidence = probs[np.arange(len(probs)), index]
        names = self.class_names
        labels = [names[i] if names else int(i) for i in index]
        return labels, confidence

    def extract_features(self, data, batch_size=32, verbose=0):
        """Run the frozen backbone once and return the pooled features.

        Train `model.head` on them (many times faster than running the
        backbone every epoch); the head's weights are the model's, so the
        full model predicts with them afterwards.

        Args:
            data: A NumPy array / tensor of images, or an iterable of
                `(images, labels)` batches such as a `tf.data.Dataset`.

        Returns:
            The features as a NumPy array, or `(features, labels)` when
            `data` yields labels.
        """
        fn = lambda x: self.features(ops.cast(x, self.compute_dtype))
        if hasattr(data, "shape"):
            return _batched(fn, np.asarray(data), batch_size)
        feats, labels = [], []
        for batch in data:
            if isinstance(batch, (tuple, list)):
                x, y = batch[0], batch[1]
                labels.append(np.asarray(y))
            else:
                x = batch
            feats.append(np.asarray(fn(np.asarray(x))))
        feats = np.concatenate(feats)
        return (feats, np.concatenate(labels)) if labels else feats

    # Serialization ----------------------------------------------------------

    def save(self, filepath, overwrite=True, **kwargs):
        """`keras.Model.save`, written to a temporary file in the same folder
        and renamed into place, so a save that fails half-way leaves an
        existing file at `filepath` intact."""
        path = os.fspath(filepath) if isinstance(filepath, os.PathLike) else filepath
        if (
            not isinstance(path, str)
            or not path.endswith(".keras")
            or kwargs.get("zipped") is False
            or (os.path.exists(path) and not overwrite)
        ):
            return super().save(filepath, overwrite=overwrite, **kwargs)
        folder, name = os.path.split(os.path.abspath(path))
        tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.keras")
        try:
            super().save(tmp, overwrite=True, **kwargs)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def get_config(self):
        backbone = self._backbone_name
        if backbone is None:
            backbone = keras.saving.serialize_keras_object(self.backbone)
        augmentation = None
        if self.augmentation is not None:
            augmentation = keras.saving.serialize_keras_object(self.augmentation)
        # name, trainable and the dtype policy come from keras.Layer.
        config = super().get_config()
        config.update(
            {
                "backbone": backbone,
                "num_classes": self.num_classes,
                "input_shape": list(self._input_shape_arg),
                # the archive holds the weights: never re-download on load
                "weights": None,
                "pooling": self.pooling,
                "head_units": list(self.head_units),
                "dropout": self.dropout,
                "head_activation": self.head_activation,
                "from_logits": self.from_logits,
                "preprocessing": self._preprocessing_arg,
                "augmentation": augmentation,
                "train_batchnorm": self.train_batchnorm,
                "class_names": self.class_names,
                "block_starts": self.block_starts,
                "trainable_backbone_layers": freezing.trainable_layer_names(self.backbone),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("backbone", "augmentation"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


@contextlib.contextmanager
def _policy_scope(policy):
    """Make `policy` the global dtype policy while the parts are built
    (keras.applications and Dense layers take the global one)."""
    if policy is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _batched(fn, array, batch_size):
    out = [np.asarray(fn(array[i : i + batch_size])) for i in range(0, len(array), batch_size)]
    return np.concatenate(out)


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(
            f"`{name}` must be an integer >= 0 (a number of epochs). Received: {name}={value!r}"
        )


def _check_args(num_classes, pooling, dropout, preprocessing, class_names):
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, (int, np.integer))
        or num_classes < 1
    ):
        raise ValueError(
            "`num_classes` must be an integer >= 1 (1 means binary with one "
            f"sigmoid unit). Received: num_classes={num_classes!r}"
        )
    if pooling not in POOLINGS:
        raise ValueError(f"`pooling` must be one of {POOLINGS}. Received: pooling={pooling!r}")
    if (
        isinstance(dropout, bool)
        or not isinstance(dropout, (int, float, np.number))
        or not 0.0 <= float(dropout) < 1.0
    ):
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
    if preprocessing not in ("auto",) + MODES:
        raise ValueError(
            "`preprocessing` must be 'auto' or one of "
            f"{MODES}. Received: preprocessing={preprocessing!r}"
        )
    if class_names is not None:
        n = len(class_names)
        if n != num_classes and not (num_classes == 1 and n == 2):
            raise ValueError(
                f"`class_names` has {n} entries but num_classes={num_classes}"
                " (binary models with num_classes=1 take 2 names)."
            )


def _check_head_units(head_units):
    if isinstance(head_units, (int, np.integer)) and not isinstance(head_units, bool):
        head_units = (head_units,)
    if not isinstance(head_units, (list, tuple)) or not all(
        isinstance(u, (int, np.integer)) and not isinstance(u, bool) and u > 0 for u in head_units
    ):
        raise ValueError(
            "`head_units` must be a list of positive integers, one per hidden "
            f"Dense layer, e.g. (1024,) or (). Received: head_units={head_units!r}"
        )
    return tuple(int(u) for u in head_units)


def _resolve_mode(preprocessing, spec):
    if preprocessing != "auto":
        return preprocessing
    return spec.preprocessing if spec is not None else "none"


def _custom_input_shape(backbone, input_shape):
    if input_shape is not None:
        return tuple(input_shape)
    shape = getattr(backbone, "input_shape", None)
    if shape is None or any(d is None for d in shape[1:]):
        raise ValueError(
            f"Cannot tell the input size of the backbone '{backbone.name}'. "
            "Pass input_shape=(height, width, channels)."
        )
    return tuple(shape[1:])
