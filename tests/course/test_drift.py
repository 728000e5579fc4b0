"""Tests for course.drift: Lab 5's seeded production stream and its drift scenarios.

Each scenario is checked to change what it claims -- and only from its onset
on -- from the images and labels themselves, against the control stream drawn
with the same seed.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from course import drift
from course.datasets import NUM_CLASSES, Digits, load_digits

N_BATCHES, BATCH_SIZE, ONSET = 24, 50, 10
DRIFTS = [s for s in drift.SCENARIOS if s != "none"]


def make(scenario, seed=0, **kwargs):
    options = dict(n_batches=N_BATCHES, batch_size=BATCH_SIZE, onset=ONSET)
    return drift.stream(scenario, seed, **(options | kwargs))


@pytest.fixture(scope="module")
def streams():
    return {s: make(s) for s in drift.SCENARIOS}


def before(s):
    return s.batch < s.onset


def after(s):
    return s.batch >= s.onset


def pixel_variance(images):
    """The variance of each pixel position across the images, averaged over the 64 positions."""
    return float(images.var(axis=0).mean())


def ink(images):
    return images.reshape(len(images), -1).mean(axis=1)


# --- shapes, dtypes, ranges --------------------------------------------------


def test_scenarios_are_named():
    assert drift.SCENARIOS == ("none", "sensor_noise", "rotation", "stroke_thickness", "class_prior")
    assert set(drift.DESCRIPTIONS) == set(drift.SCENARIOS)


@pytest.mark.parametrize("scenario", drift.SCENARIOS)
def test_shapes_dtypes_and_ranges(streams, scenario):
    s = streams[scenario]
    n = N_BATCHES * BATCH_SIZE
    assert s.scenario == scenario and s.seed == 0 and s.onset == ONSET
    assert s.images.shape == (n, 8, 8) and s.images.dtype == np.float32
    assert s.labels.shape == (n,) and s.labels.dtype == np.int64
    assert s.batch.shape == (n,) and s.batch.dtype == np.int64
    assert s.severity.shape == (N_BATCHES,) and s.severity.dtype == np.float64
    assert np.isfinite(s.images).all() and s.images.min() >= 0.0 and s.images.max() <= 1.0
    assert set(s.labels.tolist()) <= set(range(NUM_CLASSES))
    np.testing.assert_array_equal(s.batch, np.repeat(np.arange(N_BATCHES), BATCH_SIZE))
    assert s.n_batches == N_BATCHES and s.batch_size == BATCH_SIZE


def test_severity_is_zero_before_the_onset_then_ramps_to_one():
    np.testing.assert_array_equal(drift.severity(6, 2), [0, 0, 1, 1, 1, 1])
    np.testing.assert_allclose(drift.severity(8, 2, ramp=4), [0, 0, 0.25, 0.5, 0.75, 1, 1, 1])
    assert not drift.severity(5, 5).any() and not drift.severity(5, 9).any(), (
        "an onset at or after the end never drifts"
    )
    gradual = make("sensor_noise", ramp=5)
    np.testing.assert_allclose(gradual.severity, drift.severity(N_BATCHES, ONSET, 5))
    assert not make("none", ramp=5).severity.any(), "the control never drifts"


# --- determinism ---------------------------------------------------------------


@pytest.mark.parametrize("scenario", drift.SCENARIOS)
def test_same_seed_gives_the_same_stream(streams, scenario):
    again = make(scenario)
    np.testing.assert_array_equal(again.images, streams[scenario].images)
    np.testing.assert_array_equal(again.labels, streams[scenario].labels)


@pytest.mark.parametrize("scenario", drift.SCENARIOS)
def test_another_seed_gives_another_stream(streams, scenario):
    other = make(scenario, seed=1)
    assert not np.array_equal(other.labels, streams[scenario].labels)
    assert not np.array_equal(other.images, streams[scenario].images)


@pytest.mark.parametrize("scenario", DRIFTS)
def test_every_scenario_equals_the_control_before_the_onset(streams, scenario):
    s, control = streams[scenario], streams["none"]
    np.testing.assert_array_equal(s.images[before(s)], control.images[before(control)])
    np.testing.assert_array_equal(s.labels[before(s)], control.labels[before(control)])


@pytest.mark.parametrize("scenario", DRIFTS)
def test_every_scenario_differs_from_the_control_after_the_onset(streams, scenario):
    s, control = streams[scenario], streams["none"]
    changed = np.any(s.images != control.images, axis=(1, 2)) | (s.labels != control.labels)
    assert changed[after(s)].mean() > 0.2, f"{scenario} changes too little after the onset"


# --- the control has no drift ------------------------------------------------


def test_the_control_is_the_same_in_distribution_before_and_after_the_onset():
    control = drift.stream("none", 3, n_batches=40, batch_size=64, onset=20)
    assert not control.severity.any()
    for statistic in (ink(control.images), control.labels.astype(float)):
        p = stats.ks_2samp(statistic[before(control)], statistic[after(control)]).pvalue
        assert p > 0.01, f"the control drifts at the onset (KS p = {p:.2g})"


def test_the_control_draws_the_digits_uniformly():
    control = drift.stream("none", 5, n_batches=100, batch_size=100)
    counts = np.bincount(control.labels, minlength=NUM_CLASSES)
    assert stats.chisquare(counts).pvalue > 0.01, counts
    source = load_digits()
    drawn = {img.tobytes() for img in (control.images[:2000] * 16).round().astype(np.uint8)}
    known = {img.tobytes() for img in source.images}
    assert drawn <= known, "without drift every image is an unmodified bundled digit"


def test_images_match_their_labels():
    digits = load_digits()
    label_of = {img.tobytes(): int(y) for img, y in zip(digits.images, digits.labels)}
    control = make("none", seed=7)
    for img, label in zip((control.images * 16).round().astype(np.uint8), control.labels):
        assert label_of[img.tobytes()] == label


# --- each scenario changes what it claims, after the onset only ---------------


def test_sensor_noise_raises_the_pixel_variance(streams):
    s, control = streams["sensor_noise"], streams["none"]
    noise = (s.images - control.images)[after(s)]
    assert noise.std() > 0.1, "full-strength noise has sigma 0.25 before clipping"
    assert pixel_variance(s.images[after(s)]) > 1.05 * pixel_variance(control.images[after(control)])
    assert pixel_variance(s.images[before(s)]) == pixel_variance(control.images[before(control)])
    # Flat regions (blank background) are where noise shows most.
    background = control.images[after(control)] == 0
    assert (s.images[after(s)][background] > 0).mean() > 0.3
    assert s.images[after(s)][background].var() > 0.01, "blank pixels, constant without drift, vary with noise"


def test_rotation_keeps_the_ink_roughly_and_moves_it(streams):
    s, control = streams["rotation"], streams["none"]
    moved = np.abs(s.images - control.images)[after(s)].mean(axis=(1, 2))
    assert (moved > 0.02).mean() > 0.9, "almost every image must move"
    ratio = ink(s.images[after(s)]).sum() / ink(control.images[after(control)]).sum()
    assert 0.75 < ratio <= 1.02, f"a rotation moves ink, it does not add any (ratio {ratio:.2f})"
    np.testing.assert_array_equal(s.labels, control.labels, err_msg="a rotation keeps the labels")


def test_rotation_turns_by_the_stated_angle():
    from scipy import ndimage

    s = drift.stream("rotation", 11, n_batches=4, batch_size=30, onset=2)
    control = drift.stream("none", 11, n_batches=4, batch_size=30, onset=2)
    i = int(np.flatnonzero(after(s))[0])
    errors = {
        a: np.abs(ndimage.rotate(control.images[i], a, reshape=False, order=1) - s.images[i]).mean()
        for a in range(-45, 46, 5)
    }
    best = min(errors, key=errors.get)
    assert 5 <= best <= 35, f"the image looks rotated by {best} degrees"


def test_stroke_thickness_adds_ink_around_the_strokes(streams):
    s, control = streams["stroke_thickness"], streams["none"]
    assert np.all(s.images >= control.images - 1e-6), "thicker strokes never remove ink"
    assert ink(s.images[after(s)]).mean() > 1.2 * ink(control.images[after(control)]).mean()
    np.testing.assert_array_equal(s.labels, control.labels, err_msg="a thicker pen writes the same digits")


def test_class_prior_shifts_the_label_frequencies_and_nothing_else():
    s = drift.stream("class_prior", 2, n_batches=40, batch_size=100, onset=20)
    control = drift.stream("none", 2, n_batches=40, batch_size=100, onset=20)
    favoured = np.isin(s.labels, drift.PRIOR_CLASSES)
    share_before, share_after = favoured[before(s)].mean(), favoured[after(s)].mean()
    assert abs(share_before - 0.3) < 0.05, share_before
    assert abs(share_after - drift.PRIOR_MASS) < 0.05, share_after
    assert np.isin(control.labels[after(control)], drift.PRIOR_CLASSES).mean() < 0.4
    # The images are still unmodified digits of the stated class.
    digits = load_digits()
    label_of = {img.tobytes(): int(y) for img, y in zip(digits.images, digits.labels)}
    for img, label in zip((s.images[after(s)][:500] * 16).round().astype(np.uint8), s.labels[after(s)][:500]):
        assert label_of[img.tobytes()] == label


@pytest.mark.parametrize("scenario", DRIFTS)
def test_a_gradual_drift_grows(scenario):
    s = drift.stream(scenario, 4, n_batches=30, batch_size=100, onset=10, ramp=10)
    control = drift.stream("none", 4, n_batches=30, batch_size=100, onset=10, ramp=10)
    change = np.abs(s.images - control.images).mean(axis=(1, 2)) + (s.labels != control.labels)
    early = change[(s.batch >= 10) & (s.batch < 13)].mean()
    late = change[s.batch >= 20].mean()
    assert 0 < early < late, f"{scenario}: change {early:.3f} early in the ramp, {late:.3f} at full strength"


# --- the source ------------------------------------------------------------------


def test_a_source_limits_the_stream_to_its_digits():
    digits = load_digits()
    keep = np.arange(len(digits.labels)) % 3 == 0
    source = Digits(digits.images[keep], digits.labels[keep])
    s = drift.stream("none", 0, n_batches=10, batch_size=100, source=source)
    allowed = {img.tobytes() for img in source.images}
    assert {img.tobytes() for img in (s.images * 16).round().astype(np.uint8)} <= allowed


def test_a_source_missing_a_digit_is_refused():
    digits = load_digits()
    keep = digits.labels != 4
    with pytest.raises(ValueError, match="every digit"):
        drift.stream("none", 0, source=Digits(digits.images[keep], digits.labels[keep]))


# --- bad arguments ---------------------------------------------------------------


def test_an_unknown_scenario_names_the_valid_ones():
    with pytest.raises(
        ValueError, match="unknown scenario 'snow'.*none, sensor_noise, rotation, stroke_thickness, class_prior"
    ):
        drift.stream("snow", 0)


@pytest.mark.parametrize(
    "kwargs",
    [dict(n_batches=0), dict(batch_size=0), dict(onset=-1), dict(ramp=0), dict(n_batches=2.5), dict(batch_size=True)],
)
def test_bad_sizes_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        drift.stream("none", 0, **kwargs)
