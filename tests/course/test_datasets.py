"""Tests for course.datasets: the bundled digits and Lab 1's raw records.

Every injected defect is re-checked here from the records themselves, without
the library's own bookkeeping, so that the ``truth`` a lab grades against is
known to be right.
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest

from course.datasets import DEFECT_RATES, NUM_CLASSES, PIXEL_MAX, load_digits, raw_digit_records

N = 300  # small enough to stay fast, large enough for every defect to appear several times
NUM_PIXELS = 64


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def label_of_pixels(digits):
    """Exact pixel content of every bundled digit -> its label (the digits have no twins)."""
    table = {tuple(float(p) for p in img.reshape(-1)): int(label) for img, label in zip(digits.images, digits.labels)}
    assert len(table) == len(digits.labels), "the bundled digits contain identical images"
    return table


# (seed, n): defects land at random places, so check a few draws and the full set.
CASES = [(0, N), (1, N), (2, N), (0, None)]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"seed{c[0]}-n{c[1] or 'all'}")
def case(request, digits):
    seed, n = request.param
    return raw_digit_records(seed=seed, n=n), n or len(digits.labels)


@pytest.fixture(scope="module")
def raw(case):
    return case[0]


@pytest.fixture(scope="module")
def seed0():
    return raw_digit_records(seed=0, n=N)


def _by_id(raw):
    return {r["sample_id"]: r for r in raw.records}


def _content(record):
    return tuple(record["pixels"]), record["label"]


def _has_valid_schema(record):
    return set(record) == {"sample_id", "pixels", "label"} and len(record["pixels"]) == NUM_PIXELS


def _expected_count(rate, n):
    # Exact arithmetic: the count the rate implies, free of float rounding.
    return max(1, math.ceil(Fraction(str(rate)) * n))


# --- load_digits -------------------------------------------------------------


def test_load_digits_shapes_and_dtypes(digits):
    assert digits.images.shape == (1797, 8, 8)
    assert digits.labels.shape == (1797,)
    assert digits.images.dtype == np.uint8
    assert digits.labels.dtype == np.int64


def test_load_digits_values_and_classes(digits):
    assert digits.images.min() >= 0
    assert digits.images.max() <= PIXEL_MAX
    assert set(digits.labels.tolist()) == set(range(NUM_CLASSES))


# --- raw_digit_records: determinism and ids ----------------------------------


def test_same_seed_gives_same_records(seed0):
    raw = seed0
    again = raw_digit_records(seed=0, n=N)
    # NaN != NaN, so compare reprs, which spell NaN identically.
    assert repr(again.records) == repr(raw.records)
    assert again.truth == raw.truth
    assert again.near_duplicate_of == raw.near_duplicate_of


def test_other_seed_gives_other_records(seed0):
    raw = seed0
    other = raw_digit_records(seed=1, n=N)
    assert repr(other.records) != repr(raw.records)
    assert other.truth != raw.truth


def test_sample_ids_are_unique(raw):
    ids = [r["sample_id"] for r in raw.records]
    assert len(ids) == len(set(ids))


def test_record_count_is_clean_plus_copies(case):
    raw, n = case
    copies = _expected_count(DEFECT_RATES["duplicate"], n) + _expected_count(DEFECT_RATES["near_duplicate"], n)
    assert len(raw.records) == n + copies


# --- raw_digit_records: the truth, checked on every case --------------------


@pytest.mark.parametrize("defect", sorted(DEFECT_RATES))
def test_defect_counts_follow_rates(case, defect):
    raw, n = case
    assert len(raw.truth[defect]) == _expected_count(DEFECT_RATES[defect], n)


def test_defect_sets_are_pairwise_disjoint(raw):
    for (a, ids_a), (b, ids_b) in combinations(raw.truth.items(), 2):
        assert not ids_a & ids_b, f"{a} and {b} share {sorted(ids_a & ids_b)}"


def test_truth_ids_exist(raw):
    ids = set(_by_id(raw))
    for defect, hit in raw.truth.items():
        assert hit <= ids, f"{defect}: unknown ids {sorted(hit - ids)}"


def test_schema_defects(raw):
    records = _by_id(raw)
    for sid in raw.truth["schema"]:
        r = records[sid]
        assert "label" not in r or len(r["pixels"]) != NUM_PIXELS, r


def test_non_finite_defects(raw):
    records = _by_id(raw)
    for sid in raw.truth["non_finite"]:
        r = records[sid]
        assert _has_valid_schema(r), r
        assert not np.isfinite(r["pixels"]).all(), r


def test_out_of_range_defects(raw):
    records = _by_id(raw)
    for sid in raw.truth["out_of_range"]:
        px = np.array(records[sid]["pixels"])
        assert _has_valid_schema(records[sid])
        assert np.isfinite(px).all()
        assert ((px < 0) | (px > PIXEL_MAX)).any(), px


def test_bad_label_defects(raw):
    records = _by_id(raw)
    for sid in raw.truth["bad_label"]:
        label = records[sid]["label"]
        assert isinstance(label, int)
        assert not 0 <= label < NUM_CLASSES, label


def test_label_noise_defects(raw, label_of_pixels):
    records = _by_id(raw)
    for sid in raw.truth["label_noise"]:
        r = records[sid]
        assert _has_valid_schema(r)
        assert 0 <= r["label"] < NUM_CLASSES
        true_label = label_of_pixels[tuple(r["pixels"])]  # KeyError: pixels were modified
        assert r["label"] != true_label, sid


def test_duplicates_are_the_later_twins(raw):
    seen = set()
    repeats = set()
    for r in raw.records:
        if not _has_valid_schema(r):
            continue
        key = _content(r)
        if key in seen:
            repeats.add(r["sample_id"])
        seen.add(key)
    assert raw.truth["duplicate"] == repeats


def test_near_duplicates_are_off_by_one_copies(raw):
    records = _by_id(raw)
    assert set(raw.near_duplicate_of) == raw.truth["near_duplicate"]
    for copy_id, source_id in raw.near_duplicate_of.items():
        copy, source = records[copy_id], records[source_id]
        assert copy["label"] == source["label"]
        diff = np.array(copy["pixels"]) - np.array(source["pixels"])
        changed = np.flatnonzero(diff)
        assert 1 <= len(changed) <= 4, (copy_id, diff)
        assert np.all(np.abs(diff[changed]) == 1), (copy_id, diff)
        assert min(copy["pixels"]) >= 0 and max(copy["pixels"]) <= PIXEL_MAX


def test_clean_records_are_unmodified_digits(raw, label_of_pixels):
    defective = set().union(*raw.truth.values())
    clean = [r for r in raw.records if r["sample_id"] not in defective]
    assert clean
    for r in clean:
        assert _has_valid_schema(r), r
        assert label_of_pixels.get(tuple(r["pixels"])) == r["label"], r["sample_id"]


def test_too_few_records_for_every_defect_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        raw_digit_records(seed=0, n=6)
