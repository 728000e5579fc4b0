"""The labs' datasets, all offline.

The base is scikit-learn's bundled handwritten digits (1,797 8x8 images, 17
grey levels, from the UCI "Optical Recognition of Handwritten Digits" set): it
ships inside the wheel, so no lab ever downloads anything.

Lab 1 starts from :func:`raw_digit_records`, the same digits as a device fleet
would upload them -- JSON-like records -- with the defects real pipelines meet,
injected at seeded, known places so that tests can check a student's cleaning
against the truth.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

IMAGE_SHAPE = (8, 8)
PIXEL_MAX = 16  # sklearn's digits use 17 grey levels, 0..16
NUM_CLASSES = 10

#: The defects injected into the raw records, with the share of records each affects.
DEFECT_RATES = {
    "schema": 0.015,  # a missing label or a truncated pixel list
    "non_finite": 0.01,  # NaN or inf pixels: a corrupt transfer
    "out_of_range": 0.01,  # a saturated (255) or negative sensor reading
    "bad_label": 0.01,  # a label outside 0..9
    "label_noise": 0.03,  # a valid but wrong label
    "duplicate": 0.04,  # the same record uploaded twice under a new id
    "near_duplicate": 0.05,  # a re-upload with a few pixels off by one: the split leak
}


@dataclass(frozen=True)
class Digits:
    """Images as uint8 (N, 8, 8) in 0..16 and labels as int64 (N,)."""

    images: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class RawDigits:
    """Raw records plus the truth about every injected defect.

    ``truth`` maps a defect name (a key of :data:`DEFECT_RATES`) to the ids of
    the records that carry it -- for exact duplicates, the twin that arrives
    second; ``near_duplicate_of`` maps a near-duplicate's id to the id of the
    record it copies.
    """

    records: list[dict]
    truth: dict[str, set[str]]
    near_duplicate_of: dict[str, str]


def load_digits() -> Digits:
    """The 1,797 bundled digits, unmodified (fresh arrays: callers may edit them)."""
    images, labels = _bundled_digits()
    return Digits(images.copy(), labels.copy())


@functools.lru_cache(maxsize=1)
def _bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """Parse scikit-learn's bundled CSV once per process: labs and tests build many raw variants."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return bunch.images.astype(np.uint8), bunch.target.astype(np.int64)


def raw_digit_records(seed: int = 0, n: int | None = None) -> RawDigits:
    """The digits as raw upload records, ``{"sample_id", "pixels", "label"}``, with seeded defects.

    ``n`` limits how many clean digits the records start from (all by default);
    defects are added on top at :data:`DEFECT_RATES`. Each defect hits its own
    records, so the truth is unambiguous.
    """
    rng = np.random.default_rng(seed)
    digits = load_digits()
    order = rng.permutation(len(digits.labels))[:n]
    pixels = [digits.images[i].reshape(-1).astype(float).tolist() for i in order]
    labels = [int(digits.labels[i]) for i in order]
    count = {name: max(1, math.ceil(rate * len(order))) for name, rate in DEFECT_RATES.items()}

    in_place = ["schema", "non_finite", "out_of_range", "bad_label", "label_noise"]
    victims = rng.permutation(len(order))
    truth: dict[str, set[str]] = {}
    hit: dict[int, str] = {}
    start = 0
    for name in in_place:
        for i in victims[start : start + count[name]]:
            hit[int(i)] = name
        start += count[name]
    clean = [int(i) for i in victims[start:]]
    if len(clean) < count["duplicate"] + count["near_duplicate"]:
        raise ValueError(f"n={n} is too small to hold every kind of defect: use n >= 10")

    records = []
    for i, (px, label) in enumerate(zip(pixels, labels)):
        record = {"sample_id": f"s{i:05d}", "pixels": px, "label": label}
        defect = hit.get(i)
        if defect is not None:
            _corrupt(record, defect, rng)
            truth.setdefault(defect, set()).add(record["sample_id"])
        records.append(record)

    next_id = len(records)
    copies: dict[str, str] = {}  # copy id -> source id
    sources = iter(rng.permutation(clean))  # each clean record is copied at most once
    for name in ("duplicate", "near_duplicate"):
        for _ in range(count[name]):
            source = records[int(next(sources))]
            copy = {"sample_id": f"s{next_id:05d}", "pixels": list(source["pixels"]), "label": source["label"]}
            next_id += 1
            if name == "near_duplicate":
                _jitter(copy["pixels"], rng)
            copies[copy["sample_id"]] = source["sample_id"]
            truth.setdefault(name, set()).add(copy["sample_id"])
            records.append(copy)

    shuffled = [records[i] for i in rng.permutation(len(records))]
    # Whichever twin of an exact duplicate arrives second is the duplicate to drop.
    position = {r["sample_id"]: p for p, r in enumerate(shuffled)}
    truth["duplicate"] = {max(c, copies[c], key=position.__getitem__) for c in truth["duplicate"]}
    near_duplicate_of = {c: copies[c] for c in truth["near_duplicate"]}
    return RawDigits(shuffled, truth, near_duplicate_of)


def _corrupt(record: dict, defect: str, rng: np.random.Generator) -> None:
    """Give one record one defect, in place."""
    px = record["pixels"]
    spots = rng.choice(len(px), size=int(rng.integers(1, 4)), replace=False)
    if defect == "schema":
        if rng.random() < 0.5:
            del record["label"]
        else:
            record["pixels"] = px[: int(rng.integers(40, 64))]
    elif defect == "non_finite":
        for s in spots:
            px[s] = float(rng.choice([math.nan, math.inf]))
    elif defect == "out_of_range":
        for s in spots:
            px[s] = float(rng.choice([255.0, -1.0, 17.0]))
    elif defect == "bad_label":
        record["label"] = int(rng.choice([-1, 10, 11, 99]))
    elif defect == "label_noise":
        record["label"] = int((record["label"] + rng.integers(1, NUM_CLASSES)) % NUM_CLASSES)
    else:
        raise ValueError(f"unknown defect {defect!r}; known: {', '.join(DEFECT_RATES)}")


def _jitter(pixels: list[float], rng: np.random.Generator, n_pixels: int = 4) -> None:
    """Move a few pixels one grey level, staying in 0..PIXEL_MAX: a near-duplicate."""
    for s in rng.choice(len(pixels), size=n_pixels, replace=False):
        if pixels[s] <= 0:
            pixels[s] += 1.0
        elif pixels[s] >= PIXEL_MAX:
            pixels[s] -= 1.0
        else:
            pixels[s] += float(rng.choice([-1.0, 1.0]))
