"""ImageDataGeneratorAugmentation against Keras's own legacy
ImageDataGenerator (`keras.src.legacy.preprocessing.image`) and scipy.

Same parameters => same pixels (the generator's scipy resampling, up to
float rounding); same distributions of the random parameters (KS and
chi-square tests over a few thousand draws, fixed seeds). Tests ported from
the generator's own suites (keras-team/keras-preprocessing
tests/image/{image_data_generator,affine_transformations}_test.py, the same
cases in tf-keras' preprocessing/image_test.py) name the upstream test."""

import warnings

import numpy as np
import pytest

import keras
from keras_tl import _compat
from keras_tl.layers import ImageDataGeneratorAugmentation as Aug
from keras_tl.layers import resampling

try:  # private Keras; tests/test_compat.py names it if it moves
    legacy = _compat.legacy_image_preprocessing()
except ImportError:  # pragma: no cover
    pytest.skip("Keras's legacy ImageDataGenerator moved", allow_module_level=True)
stats = pytest.importorskip("scipy.stats")
IDG = legacy.ImageDataGenerator
SIZE = 33  # odd and square: the legacy centre convention is exact there
FILL_MODES = ("nearest", "constant", "reflect", "wrap")


def tensor(x):
    return keras.ops.convert_to_tensor(np.asarray(x, "float32"))


def apply(layer, images, transformation):
    return np.asarray(layer.transform_images(tensor(images), transformation))


def legacy_affine(img, params, fill_mode="nearest", cval=0.0, order=1):
    """scipy through the generator's own matrix code. "wrap" is scipy's
    "grid-wrap" (period n, the documented abcd|abcd): the generator passed
    "wrap" to scipy, whose period is n - 1 (see test_wrap_...)."""
    keys = dict(theta=0, tx=0, ty=0, shear=0, zx=1, zy=1)
    return legacy.apply_affine_transform(
        np.asarray(img, "float64"),
        **{k: params.get(k, v) for k, v in keys.items()},
        row_axis=0,
        col_axis=1,
        channel_axis=2,
        fill_mode="grid-wrap" if fill_mode == "wrap" else fill_mode,
        cval=cval,
        order=order,
    )


def sample_images(n=8, size=20):
    """RGB, RGBA and grayscale uint8-valued images, as upstream's
    _generate_test_images / all_test_images fixture."""
    rng = np.random.default_rng(0)
    out = []
    for channels in (3, 4, 1):
        bias = rng.random((n, size, size, 1)) * 64
        variance = rng.random((n, size, size, 1)) * (255 - 64)
        img = rng.random((n, size, size, channels)) * variance + bias
        out.append(img.astype("uint8").astype("float32"))
    return out


# Random parameters: the generator's distributions, drawn independently

N = 4000
# Our key <- the generator's key drawn from the same argument (its `tx`
# comes from height_shift_range: the legacy axis swap, see the pixels).
DRAWN_AS = {
    "theta": "theta",
    "shear": "shear",
    "zoom_x": "zx",
    "zoom_y": "zy",
    "shift_x": "ty",
    "shift_y": "tx",
    "flip_h": "flip_horizontal",
    "flip_v": "flip_vertical",
    "channel_shift": "channel_shift_intensity",
    "brightness": "brightness",
}
SHAPE = (20, 50, 1)  # not square: each shift must scale by its own side


def ours_draws(seed=11, shape=SHAPE, **kwargs):
    layer = Aug(**kwargs)
    t = layer.get_random_transformation(keras.ops.zeros((N,) + shape), seed=seed)
    return {k: np.asarray(v, "float64") for k, v in t.items()}


def legacy_draws(shape=SHAPE, **kwargs):
    gen = IDG(**kwargs)
    np.random.seed(0)
    draws = [gen.get_random_transform(shape) for _ in range(N)]
    return {
        k: np.array([d[k] for d in draws], "float64") for k in draws[0] if draws[0][k] is not None
    }


def assert_same_distribution(a, b, name):
    if len(np.unique(np.concatenate([a, b]))) <= 20:  # discrete: chi-square
        values = np.unique(np.concatenate([a, b]))
        table = [[np.sum(np.isclose(s, v)) for v in values] for s in (a, b)]
        p = stats.chi2_contingency(table).pvalue
        assert p > 1e-3, f"{name}: {values} counted {table}, p={p:.2g}"
    else:
        test = stats.ks_2samp(a, b)
        assert test.pvalue > 1e-3, f"{name}: KS D={test.statistic:.3f}, p={test.pvalue:.2g}"


DISTRIBUTIONS = [
    dict(rotation_range=40),
    dict(shear_range=20),
    dict(zoom_range=0.3),
    dict(zoom_range=[0.5, 1.5]),
    dict(zoom_range=[0.0, 1.0]),
    dict(zoom_range=1.5),  # [-0.5, 2.5], as the generator read it
    dict(width_shift_range=0.2),  # fraction of the width
    dict(height_shift_range=0.2),  # fraction of the height
    dict(width_shift_range=6.0),  # pixels
    dict(height_shift_range=4),  # whole pixels from range(4), random sign
    dict(width_shift_range=[2, 5]),
    dict(height_shift_range=[0.1, 0.3]),  # fractions
    dict(channel_shift_range=30),
    dict(brightness_range=(0.5, 1.5)),
    dict(horizontal_flip=True, vertical_flip=True),
]


def _name(kwargs):
    return ",".join(f"{key}={value}" for key, value in kwargs.items())


@pytest.mark.parametrize("kwargs", DISTRIBUTIONS, ids=_name)
def test_random_parameters_have_the_generator_distributions(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zoom_range=1.5 warns, see below
        ours = ours_draws(**kwargs)
    theirs = legacy_draws(**kwargs)
    assert ours, "no parameter drawn"
    for key, values in ours.items():
        assert_same_distribution(values, theirs[DRAWN_AS[key]], key)


def test_the_distribution_check_has_power():
    # The same check rejects what earlier versions drew: a shift scaled by
    # the other side, and a range 15% too narrow.
    theirs = legacy_draws(width_shift_range=0.2)["ty"]
    with pytest.raises(AssertionError):
        assert_same_distribution(theirs * SHAPE[0] / SHAPE[1], theirs, "axis")
    with pytest.raises(AssertionError):
        assert_same_distribution(theirs * 0.85, theirs, "narrow")
    with pytest.raises(AssertionError):  # discrete: one value missing
        three = np.repeat([2.0, 5.0, -2.0], N // 3)
        assert_same_distribution(three, np.tile([2.0, 5.0, -2.0, -5.0], N // 4), "values")


def test_parameters_are_independent_even_with_an_int_seed():
    # One int seed used for every draw used to give zoom_x == zoom_y and
    # shift_x == shift_y.
    kwargs = dict(
        rotation_range=40,
        width_shift_range=0.2,
        height_shift_range=0.2,
        shear_range=20,
        zoom_range=0.3,
        horizontal_flip=True,
        vertical_flip=True,
        channel_shift_range=10,
        brightness_range=(0.5, 1.5),
    )
    draws = ours_draws(seed=7, shape=(32, 32, 1), **kwargs)
    assert set(draws) == set(DRAWN_AS)
    corr = np.corrcoef(np.stack(list(draws.values())))
    off_diagonal = np.abs(corr - np.eye(len(draws)))
    assert off_diagonal.max() < 0.06, dict(zip(draws, off_diagonal.max(axis=0).round(3)))
    again = ours_draws(seed=7, shape=(32, 32, 1), **kwargs)
    for key in draws:
        np.testing.assert_array_equal(draws[key], again[key])


# upstream: test_random_transforms (ImageDataGenerator)
def test_random_transforms():
    x = keras.ops.zeros((1, 28, 28, 2))
    layer = Aug(
        rotation_range=90.0,
        width_shift_range=0.1,
        height_shift_range=0.1,
        shear_range=0.5,
        zoom_range=0.2,
        channel_shift_range=0.1,
        brightness_range=(1, 5),
        horizontal_flip=True,
        vertical_flip=True,
    )
    t1 = layer.get_random_transformation(x, seed=1)
    t2 = layer.get_random_transformation(x, seed=2)
    continuous = (
        "theta",
        "shift_x",
        "shift_y",
        "shear",
        "zoom_x",
        "zoom_y",
        "channel_shift",
        "brightness",
    )
    for key in continuous:
        assert float(t1[key][0]) != 0, key
        assert float(t1[key][0]) != float(t2[key][0]), key
    # Without any randomness: nothing to draw, and the identity.
    plain = Aug()
    assert plain.get_random_transformation(x, seed=1) == {}
    img = np.random.default_rng(0).random((2, 8, 8, 3))
    np.testing.assert_allclose(np.asarray(plain(img, training=True)), img, rtol=1e-6)


def test_shifts_move_their_own_axis():
    # Shift parameters applied to a coordinate image move only columns
    # (width) or rows (height), by the drawn number of pixels.
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype("float32")
    img = np.stack([cols, rows, np.ones_like(rows)], axis=-1)
    centre = SIZE // 2
    for kwargs, moved, still in (
        (dict(width_shift_range=0.2), 0, 1),
        (dict(height_shift_range=0.2), 1, 0),
    ):
        layer = Aug(seed=3, **kwargs)
        x = np.repeat(img[None], 16, axis=0)
        t = layer.get_random_transformation(tensor(x))
        out = apply(layer, x, t)
        shift = np.asarray(t["shift_x" if moved == 0 else "shift_y"])
        np.testing.assert_allclose(out[:, centre, centre, moved] - centre, shift, atol=1e-3)
        np.testing.assert_allclose(out[:, centre, centre, still], centre, atol=1e-3)
        assert np.abs(shift).max() > 2


# Same parameters => same pixels


PARAMS = dict(theta=25.0, tx=4.3, ty=-2.7, shear=10.0, zx=0.9, zy=1.15)


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_same_pixels_as_the_generator_for_the_same_parameters(fill_mode, order):
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (SIZE, SIZE, 3)).astype("float32")
    if fill_mode == "wrap":  # see test_wrap_repeats_with_period_n
        expected = legacy_affine(img, PARAMS, "wrap", cval=7.0, order=order)
    else:
        gen = IDG(fill_mode=fill_mode, cval=7.0, interpolation_order=order)
        expected = gen.apply_transform(img.copy(), PARAMS)
    layer = Aug(fill_mode=fill_mode, cval=7.0, interpolation_order=order)
    got = apply(layer, img, PARAMS)  # the generator's key names
    if fill_mode == "constant":
        filled = expected == 7.0
        assert 0.05 < filled.mean() < 0.5
        # Exactly cval wherever the point maps outside: no blended band.
        np.testing.assert_array_equal(got[filled], 7.0)
    if order == 1:
        np.testing.assert_allclose(got, expected, atol=0.02)
    else:  # rounding to the nearest pixel: no tie in these parameters
        np.testing.assert_array_equal(got, expected.astype("float32"))
    # The layer's own names give the same pixels.
    ours = dict(theta=25.0, shift_x=4.3, shift_y=-2.7, shear=10.0, zoom_x=0.9, zoom_y=1.15)
    np.testing.assert_allclose(apply(layer, img, ours), got, atol=1e-4)


# upstream: test_deterministic_transform (ImageDataGenerator and
# apply_affine_transform)
def test_deterministic_transform():
    layer = Aug(rotation_range=90, fill_mode="constant")
    x = np.random.default_rng(0).random((32, 32, 3))
    np.testing.assert_allclose(apply(layer, x, {"flip_vertical": True}), x[::-1], rtol=1e-6)
    np.testing.assert_allclose(apply(layer, x, {"flip_horizontal": True}), x[:, ::-1], rtol=1e-6)
    x = np.ones((3, 3, 3))
    x_rotated = np.array(
        [
            [[0.0] * 3, [1.0] * 3, [0.0] * 3],
            [[1.0] * 3, [1.0] * 3, [1.0] * 3],
            [[0.0] * 3, [1.0] * 3, [0.0] * 3],
        ]
    )
    got = apply(layer, x, {"theta": 45})
    np.testing.assert_allclose(got, x_rotated, atol=1e-6)
    assert (got[[0, 0, 2, 2], [0, 2, 0, 2]] == 0).all()  # exactly cval


# upstream: test_matrix_center
def test_matrix_center():
    x = np.array([[0, 1], [0, 0]])[..., None]
    x_rotated90 = np.array([[1, 0], [0, 0]])[..., None]
    np.testing.assert_allclose(apply(Aug(), x, {"theta": 90}), x_rotated90, atol=1e-6)


# upstream: test_translation (channels last)
def test_translation():
    x = np.zeros((3, 4))
    x[1, 1] = 1
    x_up, x_dn, x_left, x_right = (np.zeros((3, 4)) for _ in range(4))
    x_up[0, 1] = x_dn[2, 1] = x_left[1, 0] = x_right[1, 2] = 1
    layer = Aug()
    for t, want in (
        ({"tx": 1}, x_left),
        ({"tx": -1}, x_right),
        ({"ty": 1}, x_up),
        ({"ty": -1}, x_dn),
        ({"shift_x": 1}, x_left),
        ({"shift_y": -1}, x_dn),
    ):
        np.testing.assert_array_equal(apply(layer, x[..., None], t)[..., 0], want)


def test_any_subset_of_keys_transforms():
    # A dict without "theta" used to skip the geometry entirely.
    img = np.random.default_rng(1).uniform(0, 255, (SIZE, SIZE, 3))
    layer = Aug(fill_mode="reflect")
    for params in ({"zx": 1.3}, {"ty": 3.5}, {"shear": 12.0}, {"zy": 0.8, "flip_vertical": True}):
        expected = IDG(fill_mode="reflect").apply_transform(img.copy(), params)
        np.testing.assert_allclose(apply(layer, img, params), expected, atol=0.02)
    with pytest.raises(ValueError, match="'rotation'"):
        layer.transform_images(tensor(img), {"rotation": 10.0})
    with pytest.raises(ValueError, match="'shift_x' twice"):
        layer.transform_images(tensor(img), {"tx": 1.0, "shift_x": 2.0})


def test_same_pixels_as_the_generator_for_its_own_random_transforms():
    # The generator's whole apply_transform (affine, channel shift, flips,
    # brightness) from its own get_random_transform dicts.
    kwargs = dict(
        rotation_range=30,
        width_shift_range=0.1,
        height_shift_range=0.1,
        shear_range=10,
        zoom_range=0.2,
        channel_shift_range=20,
        brightness_range=(0.7, 1.3),
        horizontal_flip=True,
        vertical_flip=True,
        fill_mode="reflect",
    )
    gen, layer = IDG(**kwargs), Aug(**kwargs)
    img = np.random.default_rng(2).uniform(0, 255, (SIZE, SIZE, 3)).astype("float32")
    np.random.seed(5)
    for _ in range(6):
        params = gen.get_random_transform(img.shape)
        expected = gen.apply_transform(img.copy(), params)
        # the generator rounds to uint8 for the brightness: 1 + factor levels
        atol = 1.0 + params["brightness"] + 0.02
        np.testing.assert_allclose(apply(layer, img, params), expected, atol=atol)


def test_rotation_is_about_the_centre_of_non_square_images():
    # Legacy bug: the generator's centre is ((h-1)/2, (w-1)/2) taken as
    # (x, y), so a 180 degree turn of a 20x50 image is shifted.
    img = np.random.default_rng(3).uniform(0, 255, (20, 50, 3))
    got = apply(Aug(fill_mode="constant"), img, {"theta": 180.0})
    np.testing.assert_allclose(got, img[::-1, ::-1], atol=1e-3)
    theirs = IDG(fill_mode="constant").apply_transform(img.copy(), {"theta": 180.0})
    assert not np.allclose(theirs, img[::-1, ::-1], atol=1)


def test_wrap_repeats_with_period_n():
    # Legacy bug: scipy's "wrap" (what the generator passed) has period
    # n - 1; the documented abcd|abcd|abcd has period n, scipy's
    # "grid-wrap".
    img = np.random.default_rng(4).uniform(0, 255, (SIZE, SIZE, 3))
    got = apply(Aug(fill_mode="wrap"), img, {"tx": float(SIZE), "ty": -2.0 * SIZE})
    np.testing.assert_allclose(got, img, atol=1e-3)
    theirs = IDG(fill_mode="wrap").apply_transform(img.copy(), {"tx": float(SIZE)})
    assert not np.allclose(theirs, img, atol=1)


def test_exact_quarter_turns_keep_their_border():
    # Legacy quirk: float noise in scipy sends part of the border of an
    # exact 180/270 degree rotation to cval; here it stays.
    x = np.arange(1, 26, dtype="float32").reshape(5, 5, 1)
    layer = Aug(fill_mode="constant", cval=-1.0)
    for theta, k in ((90, 1), (180, 2), (270, 3), (-90, 3)):
        got = apply(layer, x, {"theta": theta})[..., 0]
        np.testing.assert_allclose(got, np.rot90(x[..., 0], k), atol=1e-4)


def test_flips_folded_into_the_affine_equal_flipping_after_it():
    img = np.random.default_rng(3).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    layer = Aug(rotation_range=1, horizontal_flip=True, vertical_flip=True)
    base = {"theta": np.array([12.0, -7.0], "float32"), "zoom_x": np.array([1.1, 0.9], "float32")}
    plain = apply(layer, img, base)
    flipped = dict(base, flip_h=np.array([True, False]), flip_v=np.array([False, True]))
    got = apply(layer, img, flipped)
    np.testing.assert_allclose(got[0], plain[0, :, ::-1], atol=1e-3)
    np.testing.assert_allclose(got[1], plain[1, ::-1], atol=1e-3)


def test_zoom_above_one_zooms_out():
    layer = Aug(fill_mode="constant")
    img = np.zeros((1, SIZE, SIZE, 1), "float32")
    img[0, 4:29, 4:29] = 1.0
    out = apply(layer, img, {"zoom_x": 2.0, "zoom_y": 2.0})
    assert out.sum() < img.sum() / 2  # the square got smaller


# upstream: test_image_data_generator_flow (its interpolation_order=0 case)
def test_nearest_interpolation_keeps_label_values():
    labels = np.array(
        [[2, 2, 0, 2, 2], [1, 3, 2, 3, 1], [2, 1, 0, 1, 2], [3, 1, 0, 2, 0], [3, 1, 3, 2, 1]],
        "float32",
    )
    layer = Aug(rotation_range=90.0, interpolation_order=0, seed=123)
    out = np.asarray(layer(np.repeat(labels[None, ..., None], 8, 0), training=True))
    assert set(np.unique(out)) <= {0.0, 1.0, 2.0, 3.0}
    assert not all(np.array_equal(o[..., 0], labels) for o in out)


# Channel shift and brightness


def test_channel_shift_as_the_generator():
    img = np.random.default_rng(0).uniform(20, 200, (8, 8, 3))
    for shift in (-50.0, 30.0):
        expected = legacy.apply_channel_shift(img.copy(), shift, 2)
        got = apply(Aug(), img, {"channel_shift_intensity": shift})
        np.testing.assert_allclose(got, expected, atol=1e-3)


@pytest.mark.parametrize("low, high", [(0, 255), (-1, 1), (0, 1000), (-300, 40)])
def test_brightness_as_the_generator_on_any_range(low, high):
    img = np.random.default_rng(0).uniform(low, high, (8, 8, 3)).astype("float32")
    for factor in (0.6, 1.4):
        expected = IDG().apply_transform(img.copy(), {"brightness": factor})
        got = apply(Aug(), img, {"brightness": factor})
        # The generator goes through uint8: (1 + factor) levels of the range.
        levels = (img.max() - img.min()) / 255.0 if (low < 0 or high > 255) else 1.0
        np.testing.assert_allclose(got, expected, atol=(1.0 + factor) * levels + 1e-4)
        if low < 0:
            assert got.min() < 0  # negatives are not clipped away


def test_brightness_keeps_the_alpha_channel():
    img = np.random.default_rng(1).uniform(0, 255, (8, 8, 4)).astype("float32")
    got = apply(Aug(), img, {"brightness": 1.5})
    np.testing.assert_array_equal(got[..., 3], img[..., 3])
    np.testing.assert_allclose(got[..., :3], np.clip(img[..., :3] * 1.5, 0, 255), rtol=1e-6)
    expected = IDG().apply_transform(img.copy(), {"brightness": 1.5})
    np.testing.assert_allclose(got, expected, atol=2.5 + 1e-4)


# upstream: test_random_brightness_scale,
# test_random_brightness_scale_outside_range_positive,
# test_random_brightness_scale_outside_range_negative (scale=False, as
# ImageDataGenerator.apply_transform calls it)
@pytest.mark.parametrize("value", [128.0, 1024.0, -1024.0])
def test_random_brightness_scale(value):
    img = np.ones((1, 1, 3)) * value
    np.testing.assert_array_equal(apply(Aug(), img, {"brightness": 1.0}), img)
    assert np.array_equal(legacy.apply_brightness_shift(img, 1.0, False), img)


def test_flips_brightness_channel_shift_rescale():
    img = np.arange(2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    layer = Aug(horizontal_flip=True, vertical_flip=True)
    t = {"flip_h": np.array([True, False]), "flip_v": np.array([False, True])}
    out = apply(layer, img, t)
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
    np.testing.assert_allclose(np.asarray(scaled(img, training=False)), img / 255.0, rtol=1e-6)


# Standardization and adapt()


def test_featurewise_and_zca_match_legacy_fit():
    rng = np.random.default_rng(0)
    data = rng.uniform(0, 255, (40, 6, 6, 3)).astype("float32")
    data[..., 0] *= 0.5
    kw = dict(
        featurewise_center=True,
        featurewise_std_normalization=True,
        zca_whitening=True,
        rescale=1 / 255.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the generator's "overrides" notes
        gen = IDG(**kw)
    gen.fit(data)
    layer = Aug(**kw)
    layer.adapt(data)
    expected = gen.standardize(data[:5].copy())
    got = np.asarray(layer(data[:5], training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)
    sample = Aug(samplewise_center=True, samplewise_std_normalization=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = IDG(samplewise_center=True, samplewise_std_normalization=True)
    want = np.stack([expected.standardize(d.copy()) for d in data[:3]])
    np.testing.assert_allclose(
        np.asarray(sample(data[:3], training=False)), want, rtol=1e-4, atol=1e-4
    )


# upstream: test_image_data_generator_fit, test_batch_standardize
def test_adapt_with_augment_as_the_generator_fit():
    # Zooming out with a black fill lowers the mean a lot: fit(augment=True)
    # and adapt(augment=True) must agree on how much.
    rng = np.random.default_rng(0)
    data = np.zeros((48, 16, 16, 3), "float32")
    data[:, 4:12, 4:12] = rng.uniform(150, 250, (48, 8, 8, 3))
    kw = dict(
        featurewise_center=True,
        featurewise_std_normalization=True,
        zoom_range=[1.5, 2.0],
        fill_mode="constant",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gen = IDG(**kw)
    gen.fit(data, augment=True, rounds=3, seed=1)
    layer = Aug(**kw)
    layer.adapt(data, augment=True, rounds=3, seed=1)
    plain = data.mean(axis=(0, 1, 2))
    theirs = gen.mean.ravel()
    assert (plain - theirs).min() > 20  # the augmentation matters
    np.testing.assert_allclose(np.asarray(layer.mean), theirs, atol=0.1 * (plain - theirs).min())
    np.testing.assert_allclose(np.asarray(layer.std), gen.std.ravel(), rtol=0.1)
    # Seeded; `rounds` passes; other shapes (grayscale, more samples than
    # dimensions), ZCA on augmented copies.
    again = Aug(**kw)
    again.adapt(data, augment=True, rounds=3, seed=1)
    np.testing.assert_array_equal(np.asarray(again.mean), np.asarray(layer.mean))
    again.adapt(data, augment=True, rounds=3, seed=2)
    assert not np.array_equal(np.asarray(again.mean), np.asarray(layer.mean))
    big = dict(
        featurewise_center=True,
        samplewise_center=True,
        featurewise_std_normalization=True,
        samplewise_std_normalization=True,
        zca_whitening=True,
        rotation_range=90.0,
        width_shift_range=0.1,
        height_shift_range=0.1,
        shear_range=0.5,
        zoom_range=(0.2, 0.2),
        channel_shift_range=0.0,
        brightness_range=(1, 5),
        fill_mode="nearest",
        cval=0.5,
        horizontal_flip=True,
        vertical_flip=True,
        interpolation_order=1,
    )
    for shape in ((32, 10, 10, 3), (32, 10, 10, 1), (32, 4, 4, 1)):
        x = rng.random(shape).astype("float32")
        layer = Aug(**big)
        layer.adapt(x, augment=True, seed=0)
        out = np.asarray(layer(x, training=True))
        assert out.shape == shape and np.isfinite(out).all()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(rounds=0), "rounds"),
        (dict(rounds=1.5), "rounds"),
        (dict(augment="yes"), "augment"),
        (dict(seed="1"), "seed"),
    ],
)
def test_adapt_arguments_are_checked(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Aug(featurewise_center=True).adapt(np.zeros((2, 4, 4, 3)), **kwargs)


# upstream: test_fit_rescale
def test_fit_rescale():
    for images in sample_images():
        layer = Aug(rescale=1 / 255, featurewise_center=True)
        layer.adapt(images)
        assert abs(np.mean(np.asarray(layer(images, training=False)))) < 1e-4
        layer = Aug(rescale=1 / 255, featurewise_center=True, featurewise_std_normalization=True)
        layer.adapt(images)
        batch = np.asarray(layer(images, training=False))
        assert abs(np.mean(batch)) < 1e-4 and abs(1 - np.std(batch)) < 1e-3
        layer = Aug(rescale=1 / 255, featurewise_center=True, zca_whitening=True)
        layer.adapt(images)
        batch = np.asarray(layer(images, training=False)).reshape(len(images), -1)
        # Y * Y_T = n * I, where Y = W * X
        identity = batch @ batch.T / len(batch)
        np.testing.assert_allclose(identity, np.eye(len(batch)), atol=1e-3)


# upstream: test_image_data_generator, test_batch_standardize
def test_image_data_generator():
    for images in sample_images():
        layer = Aug(
            featurewise_center=True,
            samplewise_center=True,
            featurewise_std_normalization=True,
            samplewise_std_normalization=True,
            zca_whitening=True,
            rotation_range=90.0,
            width_shift_range=0.1,
            height_shift_range=0.1,
            shear_range=0.5,
            zoom_range=0.2,
            channel_shift_range=0.0,
            brightness_range=(1, 5),
            fill_mode="nearest",
            cval=0.5,
            horizontal_flip=True,
            vertical_flip=True,
            interpolation_order=1,
        )
        layer.adapt(images, augment=True)
        out = np.asarray(layer(images, training=True))
        assert out.shape == images.shape and np.isfinite(out).all()


# upstream: test_image_data_generator_invalid_data (and tf-keras' "Invalid
# number of channels: will work but raise a warning")
def test_image_data_generator_invalid_data():
    layer = Aug(
        featurewise_center=True,
        samplewise_center=True,
        featurewise_std_normalization=True,
        samplewise_std_normalization=True,
        zca_whitening=True,
        data_format="channels_last",
    )
    with pytest.raises(ValueError, match="adapt"):
        layer.adapt(np.random.random((3, 10, 10)))
    with pytest.raises(ValueError, match="height, width, channels"):
        Aug(rotation_range=10)(np.arange(5.0))
    with pytest.warns(UserWarning, match="5 channels"):
        Aug(featurewise_center=True).adapt(np.random.random((32, 10, 10, 5)))


# Arguments


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(preprocessing_function=np.sqrt), "preprocessing_function"),
        # upstream: test_image_data_generator_with_validation_split,
        # test_image_data_generator_with_split_value_error
        (dict(validation_split=0.2), "validation_split"),
        (dict(validation_split=5), "validation_split"),
        (dict(interpolation_order=3), "interpolation_order"),
        (dict(fill_mode="mirror"), "fill_mode"),
        (dict(zoom_range=[1.2, 0.8]), "zoom_range"),
        (dict(zoom_range=[0]), "zoom_range"),  # upstream: test_random_zoom_error
        (dict(zoom_range="0.2"), "zoom_range"),
        (dict(width_shift_range="0.2"), "width_shift_range"),
        (dict(height_shift_range=[0.1, "a"]), "height_shift_range"),
        (dict(brightness_range=(1.2, 0.8)), "brightness_range"),
        (dict(brightness_range=0.1), "brightness_range"),  # upstream: test_valid_args
        (dict(brightness_range=[0]), "brightness_range"),  # upstream: test_random_brightness_error
        (dict(rotation_range=-5), "rotation_range"),
        (dict(channel_shift_range=-1), "channel_shift_range"),
        (dict(data_format="channels_first"), "data_format"),
    ],
)
def test_arguments_it_cannot_honour_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Aug(**kwargs)


def test_unknown_keyword_is_rejected():
    with pytest.raises(ValueError, match="zooom_range"):
        Aug(zooom_range=0.2)


def test_zoom_forms_the_generator_accepted():
    # A single z >= 1 is [1 - z, 1 + z], lower bound below 0 included, as
    # the generator read it (with a warning here); [0, hi] is accepted.
    with pytest.warns(UserWarning, match=r"\[-0.5, 2.5\]"):
        assert Aug(zoom_range=1.5).zoom_range == (-0.5, 2.5)
    with pytest.warns(UserWarning, match=r"\[0, 2\]"):
        assert Aug(zoom_range=1).zoom_range == (0.0, 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Aug(zoom_range=[0, 1]).zoom_range == (0.0, 1.0)
        assert Aug(zoom_range=[-0.5, 2.5]).zoom_range == (-0.5, 2.5)
        assert Aug(zoom_range=np.float32(0.25)).zoom_range == (0.75, 1.25)
    # A negative factor mirrors, as in scipy: zoom -1 is a point reflection.
    img = np.random.default_rng(0).uniform(0, 255, (SIZE, SIZE, 1))
    got = apply(Aug(), img, {"zoom_x": -1.0, "zoom_y": -1.0})
    np.testing.assert_allclose(got, img[::-1, ::-1], atol=1e-3)
    np.testing.assert_allclose(got, legacy_affine(img, {"zx": -1.0, "zy": -1.0}), atol=1e-3)


# upstream: test_random_zoom
def test_random_zoom():
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    layer = Aug(zoom_range=(1, 1), seed=0)
    assert "zoom_x" not in layer.get_random_transformation(x)
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), x, rtol=1e-6)
    out = np.asarray(Aug(zoom_range=(5, 5), seed=0)(x, training=True))
    assert out.shape == x.shape


# Keras 3: the preprocessing-layer protocol, tf.data, models, saving


def test_keras_preprocessing_protocol():
    x = np.random.default_rng(1).uniform(0, 255, (4, 16, 16, 3)).astype("float32")
    layer = Aug(rotation_range=30, horizontal_flip=True, seed=1)
    assert layer.get_random_transformation(x, training=False) is None
    t = layer.get_random_transformation({"images": x}, training=True, seed=3)
    assert tuple(np.asarray(t["theta"]).shape) == (4,)
    np.testing.assert_array_equal(np.asarray(layer.transform_images(x, t, training=False)), x)
    np.testing.assert_array_equal(np.asarray(layer.transform_images(x, None)), x)
    single = layer.get_random_transformation(x[0], seed=3)
    assert tuple(np.asarray(single["theta"]).shape) == (1,)
    one = np.asarray(layer.transform_images(x[0], {"theta": 30.0}))
    np.testing.assert_allclose(one, apply(layer, x, {"theta": 30.0})[0], atol=1e-4)


def test_inactive_at_inference_and_seeded():
    x = np.random.default_rng(1).uniform(0, 255, (4, 16, 16, 3)).astype("float32")
    kw = dict(rotation_range=30, zoom_range=0.2, horizontal_flip=True)
    np.testing.assert_array_equal(np.asarray(Aug(**kw)(x, training=False)), x)
    a = np.asarray(Aug(seed=5, **kw)(x))
    b = np.asarray(Aug(seed=5, **kw)(x))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, np.asarray(Aug(seed=6, **kw)(x)))


def test_inside_tf_data_on_any_backend():
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(2).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
    layer = Aug(
        rotation_range=20,
        zoom_range=0.2,
        horizontal_flip=True,
        brightness_range=(0.8, 1.2),
        fill_mode="constant",
        seed=1,
    )
    ds = tf.data.Dataset.from_tensor_slices(x).batch(4).map(lambda b: layer(b, training=True))
    epochs = [np.concatenate([np.asarray(b) for b in ds]) for _ in range(2)]
    assert epochs[0].shape == x.shape and np.isfinite(epochs[0]).all()
    assert not np.array_equal(epochs[0], epochs[1])  # new draws each epoch
    # A given transformation gives the same pixels in tf.data as eagerly.
    t = {"theta": 17.0, "zoom_x": 1.2, "flip_h": True, "brightness": 1.1}
    fixed = tf.data.Dataset.from_tensor_slices(x).batch(4)
    fixed = fixed.map(lambda b: layer.transform_images(b, t))
    got = np.concatenate([np.asarray(b) for b in fixed])
    np.testing.assert_allclose(got, apply(layer, x, t), atol=1e-3)


def test_one_compiled_function_per_process():
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    Aug(rotation_range=10, seed=1)(x)
    keys = set(resampling._CACHE)
    Aug(rotation_range=40, zoom_range=0.3, seed=2)(x)  # another instance
    Aug(shear_range=5, seed=3)(x)
    assert set(resampling._CACHE) == keys


def test_trains_inside_a_model():
    x = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
    y = np.arange(8) % 2
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            Aug(
                rotation_range=20,
                width_shift_range=0.1,
                horizontal_flip=True,
                brightness_range=(0.8, 1.2),
                rescale=1 / 255.0,
                seed=0,
            ),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_serialization_round_trip(tmp_path):
    layer = Aug(
        rotation_range=40,
        width_shift_range=[1, 2],
        height_shift_range=3,
        zoom_range=[0.8, 1.3],
        featurewise_center=True,
        seed=4,
        brightness_range=(0.9, 1.1),
        fill_mode="wrap",
    )
    layer.adapt(np.full((4, 8, 8, 3), 10.0, "float32"))
    model = keras.Sequential([keras.Input((8, 8, 3)), layer])
    model.save(tmp_path / "aug.keras")
    loaded = keras.models.load_model(tmp_path / "aug.keras").layers[0]
    assert loaded.get_config() == layer.get_config()
    np.testing.assert_allclose(np.asarray(loaded.mean), [10.0, 10.0, 10.0])
    with pytest.warns(UserWarning):
        wide = Aug(zoom_range=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the saved form does not warn again
        again = Aug.from_config(wide.get_config())
    assert again.zoom_range == wide.zoom_range


def test_composes_with_modern_keras_policies():
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    labels = keras.ops.one_hot(np.array([0, 1, 0, 1]), 2)
    pipeline = keras.layers.Pipeline(
        [
            Aug(rotation_range=20, horizontal_flip=True, seed=1),
            keras.layers.RandAugment(value_range=(0, 255), seed=1),
        ]
    )
    assert tuple(pipeline(x).shape) == (4, 32, 32, 3)
    mixed = keras.layers.MixUp(seed=1)({"images": pipeline(x), "labels": labels})
    assert tuple(mixed["labels"].shape) == (4, 2)
    cut = keras.layers.CutMix(seed=1)({"images": pipeline(x), "labels": labels})
    assert tuple(cut["images"].shape) == (4, 32, 32, 3)


def _keras_cv():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("keras-cv's augmentation layers run TensorFlow ops: TF run only")
    try:
        import keras_cv
    except ImportError:
        pytest.skip("keras-cv is not installed")
    except Exception as error:  # noqa: BLE001 - an import that breaks on this Keras
        pytest.skip(f"keras-cv does not import with Keras {keras.__version__}: {error!r}")
    return keras_cv


def test_composes_with_keras_cv_inside_a_transfer_classifier(tmp_path):
    keras_cv = _keras_cv()
    import keras_tl
    from tests.conftest import tiny_backbone

    pipeline = keras.layers.Pipeline(
        [
            Aug(rotation_range=20, zoom_range=0.1, horizontal_flip=True, seed=1),
            keras_cv.layers.GridMask(seed=1),
            keras_cv.layers.RandomCutout(0.2, 0.2, seed=1),
        ]
    )
    model = keras_tl.TransferClassifier(tiny_backbone(), 3, augmentation=pipeline)
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    assert tuple(model(x, training=True).shape) == (4, 3)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-5)
    kinds = [type(layer).__name__ for layer in loaded.augmentation.layers]
    assert kinds == ["ImageDataGeneratorAugmentation", "GridMask", "RandomCutout"]


def test_keras_cv_layers_in_a_dataset_augment_list(tmp_path):
    keras_cv = _keras_cv()
    from PIL import Image

    import keras_tl

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(4):
            pixels = np.full((16, 16, 3), 60 + 120 * (c == "b"), "uint8")
            Image.fromarray(pixels).save(tmp_path / c / f"{i}.png")
    ds = keras_tl.data.image_dataset_from_directory(
        tmp_path,
        image_size=(16, 16),
        batch_size=4,
        seed=0,
        augment=[{"horizontal_flip": True}, keras_cv.layers.GridMask(seed=1)],
    )
    images, labels = next(iter(ds))
    assert tuple(images.shape) == (4, 16, 16, 3) and tuple(labels.shape) == (4,)
    # GridMask blanks part of every image: some pixels are 0 now.
    assert float(np.min(np.asarray(images))) == 0.0
