"""ImageDataGeneratorAugmentation against Keras's own legacy
ImageDataGenerator (`keras.src.legacy.preprocessing.image`)."""

import numpy as np
import pytest

import keras
from keras_tl.layers import ImageDataGeneratorAugmentation as Aug

legacy = pytest.importorskip("keras.src.legacy.preprocessing.image")
IDG = legacy.ImageDataGenerator
SIZE = 33  # odd and square: the legacy centre convention is exact there


def coordinate_image(size=SIZE):
    """Channel 0 = column index, channel 1 = row index, channel 2 = 1."""
    rows, cols = np.mgrid[0:size, 0:size].astype("float32")
    return np.stack([cols, rows, np.ones_like(rows)], axis=-1)


def fit_affine(out):
    """Least-squares input-coordinate map (x_in, y_in) = A @ (x, y, 1),
    from the interior of a transformed coordinate image."""
    size = out.shape[0]
    rows, cols = np.mgrid[0:size, 0:size]
    xin, yin = out[..., 0], out[..., 1]
    inside = (xin > 1) & (xin < size - 2) & (yin > 1) & (yin < size - 2)
    if inside.sum() < 10:
        return None
    design = np.stack([cols[inside], rows[inside], np.ones(inside.sum())], 1)
    a, *_ = np.linalg.lstsq(design, xin[inside], rcond=None)
    b, *_ = np.linalg.lstsq(design, yin[inside], rcond=None)
    return np.array([a, b])


def ours(n, **kwargs):
    layer = Aug(seed=3, fill_mode="nearest", **kwargs)
    batch = np.repeat(coordinate_image()[None], n, axis=0)
    out = np.asarray(layer(batch, training=True))
    return [fit_affine(o) for o in out]


def theirs(n, **kwargs):
    gen = IDG(fill_mode="nearest", **kwargs)
    np.random.seed(3)
    img = coordinate_image()
    return [fit_affine(gen.random_transform(img.copy())) for _ in range(n)]


def angles(maps):
    return np.degrees([np.arctan2(m[1, 0], m[0, 0]) for m in maps if m is not None])


def shifts(maps, axis):
    center = (SIZE - 1) / 2
    c = np.array([center, center, 1.0])
    return np.array([m[axis] @ c - center for m in maps if m is not None])


def _same_distribution(a, b, low, high, tol):
    """Both fill [low, high] and have matching quantiles."""
    for sample in (a, b):
        assert sample.min() >= low - tol and sample.max() <= high + tol
        assert sample.min() <= low + 4 * tol and sample.max() >= high - 4 * tol
    qs = [0.1, 0.25, 0.5, 0.75, 0.9]
    np.testing.assert_allclose(
        np.quantile(a, qs), np.quantile(b, qs), atol=(high - low) * 0.08
    )


N = 400


def test_rotation_range_distribution_matches():
    a, b = angles(ours(N, rotation_range=40)), angles(theirs(N, rotation_range=40))
    _same_distribution(a, b, -40, 40, tol=0.5)


def test_shift_range_distribution_matches_and_direction():
    ours_maps = ours(N, width_shift_range=0.2)
    # ours: a width shift moves columns (x) only
    assert np.abs(shifts(ours_maps, 1)).max() < 1e-3
    x_ours = shifts(ours_maps, 0)
    # Keras's legacy generator applies `width_shift_range` to rows: a known
    # axis swap in its matrix code. Same distribution, other axis.
    legacy_maps = theirs(N, width_shift_range=0.2)
    assert np.abs(shifts(legacy_maps, 0)).max() < 1e-3
    y_legacy = shifts(legacy_maps, 1)
    _same_distribution(x_ours, y_legacy, -0.2 * SIZE, 0.2 * SIZE, tol=0.1)


def test_pixel_and_list_shift_forms():
    whole = shifts(ours(N, width_shift_range=4), 0)
    np.testing.assert_allclose(whole, np.round(whole), atol=1e-3)
    assert set(np.round(np.abs(whole)).astype(int)) == {0, 1, 2, 3}
    listed = shifts(ours(N, height_shift_range=[2.0, 5.0]), 1)
    assert set(np.round(np.abs(listed)).astype(int)) == {2, 5}
    assert (listed > 0).any() and (listed < 0).any()
    pixels = shifts(ours(N, width_shift_range=6.0), 0)
    assert pixels.min() > -6.1 and pixels.max() < 6.1 and pixels.std() > 2.5


def test_zoom_range_distribution_matches_and_zooms_out_above_one():
    def scales(maps):
        return np.array([[m[0, 0], m[1, 1]] for m in maps if m is not None])

    a, b = scales(ours(N, zoom_range=0.3)), scales(theirs(N, zoom_range=0.3))
    for axis in range(2):
        _same_distribution(a[:, axis], b[:, axis], 0.7, 1.3, tol=0.01)
    # Independent factors per axis, as in ImageDataGenerator.
    assert abs(np.corrcoef(a[:, 0], a[:, 1])[0, 1]) < 0.2
    # Factor 2 samples input coordinates twice as far apart: zoom out.
    layer = Aug(zoom_range=[2.0, 2.0], fill_mode="constant", seed=0)
    img = np.zeros((1, SIZE, SIZE, 1), "float32")
    img[0, 4:29, 4:29] = 1.0
    out = np.asarray(layer(img, training=True))[0, ..., 0]
    assert out.sum() < img.sum() / 2  # the square got smaller


def test_shear_range_distribution_matches():
    def shear(maps):
        return np.degrees(
            [np.arctan2(-m[0, 1], m[1, 1]) for m in maps if m is not None]
        )

    a, b = shear(ours(N, shear_range=20)), shear(theirs(N, shear_range=20))
    _same_distribution(a, b, -20, 20, tol=0.5)


@pytest.mark.parametrize("fill_mode", ["nearest", "constant", "reflect"])
def test_same_pixels_for_the_same_transform(fill_mode):
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (SIZE, SIZE, 3)).astype("float32")
    params = {"theta": 25.0, "shear": 10.0, "zx": 0.9, "zy": 1.15, "tx": 4.0}
    gen = IDG(fill_mode=fill_mode, cval=7.0)
    expected = gen.apply_transform(img.copy(), params)
    layer = Aug(rotation_range=1, fill_mode=fill_mode, cval=7.0)
    t = {
        "theta": np.array([25.0]), "shear": np.array([10.0]),
        "zoom_x": np.array([0.9]), "zoom_y": np.array([1.15]),
        # legacy `tx` moves columns (see the shift test)
        "shift_x": np.array([4.0]), "shift_y": np.array([0.0]),
    }  # fmt: skip
    got = np.asarray(layer.transform_images(keras.ops.convert_to_tensor(img[None]), t))[0]
    # Compare everywhere but the 1-pixel band where the sampled point
    # straddles the image edge: there scipy and XLA/TF blend the fill value
    # differently.
    m = np.asarray(layer.affine_matrices(t, SIZE, SIZE))[0]
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    xin = m[0] * cols + m[1] * rows + m[2]
    yin = m[3] * cols + m[4] * rows + m[5]
    edge = SIZE - 1
    band = np.zeros_like(xin, bool)
    for c in (xin, yin):
        band |= (np.abs(c) < 1.0) | (np.abs(c - edge) < 1.0)
    keep = ~band
    assert keep.mean() > 0.8 and (xin < 0).any()  # some fill is compared
    np.testing.assert_allclose(got[keep], expected[keep], atol=0.05)


def test_flips_brightness_channel_shift_rescale():
    img = np.arange(2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    layer = Aug(horizontal_flip=True, vertical_flip=True)
    t = {"flip_h": np.array([True, False]), "flip_v": np.array([False, True])}
    out = np.asarray(layer.transform_images(keras.ops.convert_to_tensor(img), t))
    np.testing.assert_array_equal(out[0], img[0, :, ::-1])
    np.testing.assert_array_equal(out[1], img[1, ::-1])
    bright = Aug(brightness_range=(0.5, 2.0), seed=1)
    x = np.full((64, 2, 2, 3), 100.0, "float32")
    factors = np.asarray(bright(x))[:, 0, 0, 0] / 100.0
    assert factors.min() >= 0.5 - 1e-4 and factors.max() <= 2.0 + 1e-4
    assert factors.std() > 0.2
    assert np.asarray(bright(np.full((8, 2, 2, 3), 200.0, "float32"))).max() <= 255
    shift = Aug(channel_shift_range=50.0, seed=2)
    y = np.asarray(shift(img))
    assert y.min() >= img.min() and y.max() <= img.max()  # clipped to own range
    scaled = Aug(rescale=1 / 255.0)
    np.testing.assert_allclose(
        np.asarray(scaled(img, training=False)), img / 255.0, rtol=1e-6
    )


def test_inactive_at_inference_and_seeded():
    x = np.random.default_rng(1).uniform(0, 255, (4, 16, 16, 3)).astype("float32")
    kw = dict(rotation_range=30, zoom_range=0.2, horizontal_flip=True)
    np.testing.assert_array_equal(np.asarray(Aug(**kw)(x, training=False)), x)
    a = np.asarray(Aug(seed=5, **kw)(x))
    b = np.asarray(Aug(seed=5, **kw)(x))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, np.asarray(Aug(seed=6, **kw)(x)))


def test_featurewise_and_zca_match_legacy_fit():
    rng = np.random.default_rng(0)
    data = rng.uniform(0, 255, (40, 6, 6, 3)).astype("float32")
    data[..., 0] *= 0.5
    kw = dict(featurewise_center=True, featurewise_std_normalization=True,
              zca_whitening=True, rescale=1 / 255.0)  # fmt: skip
    gen = IDG(**kw)
    gen.fit(data)
    layer = Aug(**kw)
    layer.adapt(data)
    expected = gen.standardize(data[:5].copy())
    got = np.asarray(layer(data[:5], training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)
    sample = Aug(samplewise_center=True, samplewise_std_normalization=True)
    expected = IDG(samplewise_center=True, samplewise_std_normalization=True)
    want = np.stack([expected.standardize(d.copy()) for d in data[:3]])
    np.testing.assert_allclose(
        np.asarray(sample(data[:3], training=False)), want, rtol=1e-4, atol=1e-4
    )


def test_serialization_round_trip(tmp_path):
    layer = Aug(
        rotation_range=40, width_shift_range=[1, 2], height_shift_range=3,
        zoom_range=[0.8, 1.3], featurewise_center=True, seed=4,
    )  # fmt: skip
    layer.adapt(np.full((4, 8, 8, 3), 10.0, "float32"))
    model = keras.Sequential([keras.Input((8, 8, 3)), layer])
    model.save(tmp_path / "aug.keras")
    loaded = keras.models.load_model(tmp_path / "aug.keras").layers[0]
    assert loaded.get_config() == layer.get_config()
    np.testing.assert_allclose(np.asarray(loaded.mean), [10.0, 10.0, 10.0])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(preprocessing_function=np.sqrt), "preprocessing_function"),
        (dict(validation_split=0.2), "validation_split"),
        (dict(interpolation_order=3), "interpolation_order"),
        (dict(fill_mode="mirror"), "fill_mode"),
        (dict(zoom_range=1.5), "zoom_range"),
        (dict(width_shift_range="0.2"), "width_shift_range"),
        (dict(brightness_range=(1.2, 0.8)), "brightness_range"),
        (dict(rotation_range=-5), "rotation_range"),
        (dict(data_format="channels_first"), "data_format"),
    ],
)
def test_arguments_it_cannot_honour_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Aug(**kwargs)


def test_unknown_keyword_is_rejected():
    with pytest.raises(ValueError, match="zooom_range"):
        Aug(zooom_range=0.2)


def test_composes_with_modern_keras_policies():
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    labels = keras.ops.one_hot(np.array([0, 1, 0, 1]), 2)
    pipeline = keras.layers.Pipeline(
        [Aug(rotation_range=20, horizontal_flip=True, seed=1),
         keras.layers.RandAugment(value_range=(0, 255), seed=1)]
    )  # fmt: skip
    assert tuple(pipeline(x).shape) == (4, 32, 32, 3)
    mixed = keras.layers.MixUp(seed=1)({"images": pipeline(x), "labels": labels})
    assert tuple(mixed["labels"].shape) == (4, 2)
    cut = keras.layers.CutMix(seed=1)({"images": pipeline(x), "labels": labels})
    assert tuple(cut["images"].shape) == (4, 32, 32, 3)


def test_flips_folded_into_the_affine_equal_flipping_after_it():
    img = np.random.default_rng(3).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    layer = Aug(rotation_range=1, horizontal_flip=True, vertical_flip=True)
    base = {"theta": np.array([12.0, -7.0], "float32"),
            "zoom_x": np.array([1.1, 0.9], "float32")}  # fmt: skip
    plain = np.asarray(layer.transform_images(keras.ops.convert_to_tensor(img), base))
    flipped = dict(base, flip_h=np.array([True, False]), flip_v=np.array([False, True]))
    got = np.asarray(layer.transform_images(keras.ops.convert_to_tensor(img), flipped))
    np.testing.assert_allclose(got[0], plain[0, :, ::-1], atol=1e-3)
    np.testing.assert_allclose(got[1], plain[1, ::-1], atol=1e-3)
