"""A seeded production stream of digits, with named drift scenarios (Lab 5).

A deployed model sees traffic in batches. :func:`stream` builds that traffic
from the bundled digits: ``n_batches`` batches of ``batch_size`` images, the
ground-truth labels kept aside for evaluation only (a device in the field never
sees them), and from batch ``onset`` on one kind of drift that grows over
``ramp`` batches to its full strength:

- ``"none"``             -- the control: no drift at all;
- ``"sensor_noise"``     -- Gaussian read noise on every pixel, clipped to [0, 1]
  (a cheaper camera, a failing sensor);
- ``"rotation"``         -- the images turn by about 20 degrees (a device
  mounted at a tilt);
- ``"stroke_thickness"`` -- the strokes spread into their neighbours (a
  thicker pen, ink that bleeds): a blend towards a grey dilation;
- ``"class_prior"``      -- the inputs look the same, but the mix of digits
  moves to mostly 3s, 5s and 8s (a new customer).

The stream is deterministic per seed, and every scenario draws the same random
numbers in the same order: with one seed, all scenarios hold *identical*
batches before ``onset``, and differ only by their drift after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from course.datasets import NUM_CLASSES, PIXEL_MAX, Digits, load_digits

SCENARIOS = ("none", "sensor_noise", "rotation", "stroke_thickness", "class_prior")

#: What each scenario does at full strength, in words (for tables and plots).
DESCRIPTIONS = {
    "none": "no drift: the control stream",
    "sensor_noise": "Gaussian read noise, sigma 0.25 of full scale, clipped to [0, 1]",
    "rotation": "rotated by 20 +/- 5 degrees",
    "stroke_thickness": "strokes 60 % of the way to a 2x2 grey dilation",
    "class_prior": "75 % of the digits are 3s, 5s and 8s instead of 30 %",
}

NOISE_SIGMA = 0.25  # read noise at full strength, in units of full scale
ROTATION_DEGREES = 20.0  # mean rotation at full strength
ROTATION_JITTER_DEGREES = 5.0  # spread of the rotation from image to image, at full strength
DILATION_SIZE = (2, 2)  # the grey-dilation footprint of a thick stroke
DILATION_BLEND = 0.6  # how far the strokes move towards the dilated image at full strength
PRIOR_CLASSES = (3, 5, 8)  # the digits a class-prior shift favours
PRIOR_MASS = 0.75  # their share of the traffic at full strength (30 % without drift)


@dataclass(frozen=True)
class Stream:
    """A production stream: what the model sees, and the truth kept for evaluation.

    ``images`` float32 (n, 8, 8) in [0, 1]; ``labels`` int64 (n,) -- ground
    truth, for evaluation only; ``batch`` int64 (n,), the batch of each sample,
    in order; ``severity`` float64 (n_batches,), the drift's strength in each
    batch from 0 (none) to 1 (full), all 0 for the control; ``onset``, the
    first batch the drift reaches.
    """

    scenario: str
    seed: int
    images: np.ndarray
    labels: np.ndarray
    batch: np.ndarray
    severity: np.ndarray
    onset: int

    @property
    def n_batches(self) -> int:
        return len(self.severity)

    @property
    def batch_size(self) -> int:
        return len(self.labels) // self.n_batches


def severity(n_batches: int, onset: int, ramp: int = 1) -> np.ndarray:
    """The drift's strength per batch: 0 before ``onset``, then rising linearly to 1 over ``ramp`` batches.

    ``ramp=1`` is an abrupt drift: full strength from the onset batch on.
    """
    b = np.arange(n_batches, dtype=np.float64)
    return np.clip((b - onset + 1) / ramp, 0.0, 1.0)


def stream(
    scenario: str,
    seed: int = 0,
    *,
    n_batches: int = 40,
    batch_size: int = 64,
    onset: int = 20,
    ramp: int = 1,
    source: Digits | None = None,
) -> Stream:
    """A seeded stream of ``n_batches`` batches of ``batch_size`` digits with ``scenario``'s drift from ``onset``.

    ``source`` holds the digits to draw from (uint8 images in 0..16 and their
    labels, as :func:`course.datasets.load_digits` returns them; all bundled
    digits by default): pass a held-out part, so that the stream never shows
    the model its own training images. Without drift, every class is equally
    likely, and each sample is a uniformly drawn image of its class.
    ``onset`` may be ``n_batches`` or more: the stream then never drifts.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; valid scenarios: {', '.join(SCENARIOS)}")
    for name, value, low in (
        ("n_batches", n_batches, 1),
        ("batch_size", batch_size, 1),
        ("onset", onset, 0),
        ("ramp", ramp, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    digits = load_digits() if source is None else source
    by_class = [np.flatnonzero(np.asarray(digits.labels) == c) for c in range(NUM_CLASSES)]
    if any(len(members) == 0 for members in by_class):
        raise ValueError("the source must hold at least one image of every digit")
    base = np.asarray(digits.images, dtype=np.float32) / PIXEL_MAX

    # Every scenario draws the same numbers in the same order: identical batches before the onset.
    rng = np.random.default_rng(seed)
    n = n_batches * batch_size
    pick_class = rng.random(n)
    pick_image = rng.random(n)
    unit_noise = rng.standard_normal((n, *base.shape[1:]))
    unit_jitter = rng.standard_normal(n)

    batch = np.repeat(np.arange(n_batches, dtype=np.int64), batch_size)
    strength_per_batch = severity(n_batches, onset, ramp) * (scenario != "none")
    strength = strength_per_batch[batch]

    # Labels by inverse CDF of each sample's class prior; uniform unless the prior drifts.
    prior = np.full((n, NUM_CLASSES), 1.0 / NUM_CLASSES)
    if scenario == "class_prior":
        target = np.full(NUM_CLASSES, (1 - PRIOR_MASS) / (NUM_CLASSES - len(PRIOR_CLASSES)))
        target[list(PRIOR_CLASSES)] = PRIOR_MASS / len(PRIOR_CLASSES)
        prior = prior + strength[:, None] * (target - prior)
    cdf = np.cumsum(prior, axis=1)
    cdf[:, -1] = 1.0
    labels = np.minimum((cdf < pick_class[:, None]).sum(axis=1), NUM_CLASSES - 1).astype(np.int64)
    index = np.empty(n, dtype=np.int64)  # the source image of each sample: a uniform pick within its class
    for c, members in enumerate(by_class):
        rows = np.flatnonzero(labels == c)
        index[rows] = members[np.minimum((pick_image[rows] * len(members)).astype(np.int64), len(members) - 1)]
    images = base[index]

    drifted = np.flatnonzero(strength > 0)
    if scenario == "sensor_noise":
        noisy = images[drifted] + NOISE_SIGMA * strength[drifted, None, None] * unit_noise[drifted]
        images[drifted] = np.clip(noisy, 0.0, 1.0)
    elif scenario == "rotation":
        angles = strength * (ROTATION_DEGREES + ROTATION_JITTER_DEGREES * unit_jitter)
        for i in drifted:
            turned = ndimage.rotate(images[i], float(angles[i]), reshape=False, order=1, mode="constant", cval=0.0)
            images[i] = np.clip(turned, 0.0, 1.0)
    elif scenario == "stroke_thickness":
        for i in drifted:
            thick = ndimage.grey_dilation(images[i], size=DILATION_SIZE)
            images[i] = images[i] + DILATION_BLEND * strength[i] * (thick - images[i])
    return Stream(scenario, int(seed), images, labels, batch, strength_per_batch, int(onset))
