"""One affine resampling per image, written with gathers so XLA fuses it.

TensorFlow's `ImageProjectiveTransformV3` kernel (what `keras.ops.image.
affine_transform` runs on the TensorFlow backend) does not compile with
XLA and is about 6x slower on a CPU than this gather-based version compiled
by XLA; on JAX it fuses into the jitted train step.

Fill modes follow `scipy.ndimage`, which `ImageDataGenerator` used:
`"nearest"`, `"reflect"` (half-sample symmetric, `dcba|abcd|dcba`) and
`"constant"` (scipy's `"constant"`: every point that maps outside the input
is exactly `cval`, no blending with the edge pixels); `"wrap"` repeats with
period n (scipy's `"grid-wrap"`, the documented `abcd|abcd|abcd`: scipy's own
`"wrap"` has period n - 1).

In a `tf.data` map every new iterator (Keras makes one per epoch)
instantiates the map function again and runs Grappler over it, at a cost
proportional to its number of nodes (XLA compilation itself is cached by
TensorFlow per function and shape). Hence the geometry runs inside one XLA
function that Grappler skips, shared by the whole process
(`compiled_transform`), and the ops are written to keep graphs small.
"""

import math
import threading

from keras_tl import _compat

# Columns of the geometry parameters `affine_matrices` takes, and their
# identity values.
GEOMETRY = ("theta", "shift_x", "shift_y", "shear", "zoom_x", "zoom_y", "flip_h", "flip_v")
IDENTITY = (0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0)
# A sample point within this distance (pixels) of the first or last pixel
# centre counts as inside: float rounding must not decide whether an exact
# 90 or 180 degree rotation or a flip loses its border to `cval` (scipy
# decides it by float64 noise: Keras's legacy generator loses some of it).
EDGE_TOLERANCE = 1e-3


def _remap(np_, index, size, fill_mode):
    """Integer source indices -> indices to read, inside the image."""
    if fill_mode == "reflect":  # half-sample symmetric: d c b a | a b c d
        period = 2.0 * size
        index = np_.mod(index, period)
        index = np_.where(index >= size, period - 1.0 - index, index)
    elif fill_mode == "wrap":
        index = np_.mod(index, size)
    # "nearest" clamps; "constant" masks its outside points afterwards.
    return np_.clip(index, 0.0, size - 1.0)


def affine_matrices(b, params, height, width):
    """Geometry parameters -> output->input maps, as ImageDataGenerator
    built them: rotation @ shift @ shear @ zoom about the image centre, in
    (x=column, y=row) coordinates, with the flips that follow it folded in.

    Args:
        b: A backend namespace (`keras.ops`-like, with `.numpy` and `.core`).
        params: (n, 8), columns as `GEOMETRY`: degrees, pixels, factors and
            0/1 flips.
        height, width: The image size.

    Returns:
        (n, 8) as `keras.ops.image.affine_transform` takes them:
        `x_in = a0 x + a1 y + a2`, `y_in = b0 x + b1 y + b2`, then two zeros.
    """
    np_ = b.numpy
    theta, tx, ty, shear, zx, zy, fh, fv = b.core.unstack(
        b.cast(params, "float32"), num=len(GEOMETRY), axis=1
    )
    theta, shear = theta * (math.pi / 180.0), shear * (math.pi / 180.0)
    cos, sin = np_.cos(theta), np_.sin(theta)
    a0 = cos * zx
    a1 = -np_.sin(theta + shear) * zy  # -(cos sin_sh + sin cos_sh)
    a2 = cos * tx - sin * ty
    b0 = sin * zx
    b1 = np_.cos(theta + shear) * zy  # cos cos_sh - sin sin_sh
    b2 = sin * tx + cos * ty
    # About the true centre: C @ M @ C^-1. (The generator used (h-1)/2 for
    # x and (w-1)/2 for y: off-centre on non-square images.)
    cx, cy = _half(b, width), _half(b, height)
    a2 = a2 + cx - a0 * cx - a1 * cy
    b2 = b2 + cy - b0 * cx - b1 * cy
    # Flips come after the affine in ImageDataGenerator; folded in they
    # cost nothing: out(x, y) = affine_out(w - 1 - x, y).
    a2 = a2 + fh * a0 * (2.0 * cx) + fv * a1 * (2.0 * cy)
    b2 = b2 + fh * b0 * (2.0 * cx) + fv * b1 * (2.0 * cy)
    sx, sy = 1.0 - 2.0 * fh, 1.0 - 2.0 * fv
    zeros = np_.zeros_like(a0)
    return np_.stack([a0 * sx, a1 * sy, a2, b0 * sx, b1 * sy, b2, zeros, zeros], axis=1)


def _half(b, size):
    """(size - 1) / 2: a Python float for a static size."""
    if isinstance(size, int):
        return (size - 1) / 2.0
    return (b.cast(size, "float32") - 1.0) / 2.0


def affine_resample(b, images, matrices, order=1, fill_mode="nearest", cval=0.0):
    """Resample `images` (n, h, w, c) through per-image output->input maps.

    Args:
        b: A backend namespace (`keras.ops`-like, with `.numpy` and `.core`).
        images: (n, h, w, c).
        matrices: (n, 8) as `keras.ops.image.affine_transform` takes them
            (the last two entries are ignored: no projective part).
        order: 0 (nearest) or 1 (bilinear), as scipy's spline order.
        fill_mode: `"nearest"`, `"constant"`, `"reflect"` or `"wrap"`.
        cval: Fill value for `"constant"` (a scalar, or a scalar tensor so
            one compiled function serves every value).
    """
    np_ = b.numpy
    n, h, w, c = b.core.shape(images)
    wf, hf = _size(b, w), _size(b, h)
    dtype = images.dtype
    a0, a1, a2, b0, b1, b2 = [
        np_.reshape(v, (-1, 1, 1))
        for v in b.core.unstack(b.cast(matrices, "float32"), num=8, axis=1)[:6]
    ]
    xs = b.cast(np_.arange(w), "float32")
    ys = np_.reshape(b.cast(np_.arange(h), "float32"), (-1, 1))
    # Element-wise, not a matmul: GPUs may run float32 matmuls in TF32,
    # which would move far pixels by a fraction of a pixel.
    x_in = a0 * xs + a1 * ys + a2  # (n, h, w)
    y_in = b0 * xs + b1 * ys + b2
    # Taps are read and blended as (n * h * w, c) rows, reshaped once.
    flat = np_.reshape(images, (-1, c))
    first = np_.reshape(b.cast(np_.arange(n), "int32") * (h * w), (-1, 1, 1))
    column = lambda x: b.cast(_remap(np_, x, wf, fill_mode), "int32")
    row = lambda y: b.cast(_remap(np_, y, hf, fill_mode), "int32") * w + first

    def read(row, column):  # one gather per tap: faster under XLA than one of 4
        return _gather(b, flat, np_.reshape(row + column, (-1,)))

    def per_row(v):
        return np_.reshape(b.cast(v, dtype), (-1, 1))

    if order == 0:  # round half up, as scipy
        out = read(row(np_.floor(y_in + 0.5)), column(np_.floor(x_in + 0.5)))
    else:
        x0, y0 = np_.floor(x_in), np_.floor(y_in)
        fx, fy = per_row(x_in - x0), per_row(y_in - y0)
        c0, c1, r0, r1 = column(x0), column(x0 + 1.0), row(y0), row(y0 + 1.0)
        top = read(r0, c0) * (1.0 - fx) + read(r0, c1) * fx
        bottom = read(r1, c0) * (1.0 - fx) + read(r1, c1) * fx
        out = top * (1.0 - fy) + bottom * fy
    if fill_mode == "constant":
        tol = EDGE_TOLERANCE
        inside = np_.logical_and(
            np_.logical_and(x_in >= -tol, x_in <= wf - 1.0 + tol),
            np_.logical_and(y_in >= -tol, y_in <= hf - 1.0 + tol),
        )
        out = np_.where(np_.reshape(inside, (-1, 1)), out, b.cast(cval, dtype))
    return np_.reshape(out, (n, h, w, c))


def _gather(b, flat, index):
    """Rows `index` (never negative) of `flat`: on TensorFlow without the
    negative-index fix-up that `keras.ops.take` adds (fewer graph nodes)."""
    if getattr(b, "name", None) == "tensorflow":
        import tensorflow as tf

        return tf.gather(flat, index)
    return b.numpy.take(flat, index, axis=0)


def _size(b, size):
    return float(size) if isinstance(size, int) else b.cast(size, "float32")


def affine_transform(b, images, params, order=1, fill_mode="nearest", cval=0.0):
    """`affine_resample` of `images` through `affine_matrices(params)`."""
    shape = b.core.shape(images)
    matrices = affine_matrices(b, params, shape[1], shape[2])
    return affine_resample(b, images, matrices, order, fill_mode, cval)


_CACHE = {}
_LOCK = threading.Lock()


def compiled_transform(backend, order, fill_mode, dtype):
    """`affine_transform` compiled once per process for this (backend,
    order, fill mode, dtype): `fn(images, params, cval)`, or None where
    nothing is compiled.

    TensorFlow: one `tf.function(jit_compile=True)` shared by every layer,
    model and `tf.data` pipeline of the process, so XLA compiles once per
    image shape (a function per layer instance compiled again for each).
    Grappler leaves XLA function bodies alone, which also makes each new
    `tf.data` iterator cheaper. JAX: one `jax.jit` (inlined when called
    inside a jitted train step).
    """
    key = (backend, order, fill_mode, str(dtype))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _compile(backend, order, fill_mode)
        return _CACHE[key]


def _compile(backend, order, fill_mode):
    b = _compat.DynamicBackend(backend)

    def run(images, params, cval):
        return affine_transform(b, images, params, order, fill_mode, cval)

    if backend == "tensorflow":
        import tensorflow as tf

        # Traced per input shape; generalizes to unknown dimensions if
        # shapes keep changing.
        return tf.function(run, jit_compile=True, reduce_retracing=True, autograph=False)
    if backend == "jax":
        import jax

        return jax.jit(run)
    return None
