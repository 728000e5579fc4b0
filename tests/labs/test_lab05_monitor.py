"""Lab 5 is graded right by the real nbgrader: full marks for the solution, none for
the released notebook, and none for cheats that pass every visible self-check.

Two kinds of cheat: *hard-coded* answers (values memorized from the lab's own
run, branches for the visible examples, shortcuts that only hold for the lab's
sorted, equal-sized batches), and an object whose ``__eq__`` always returns
True. The solution must also show what the issue asks of the lab: thresholds
calibrated on the no-drift stream that hold their false-alarm rate on a fresh
one, and a detection delay measured for every scenario.
"""

from __future__ import annotations

from grading_proof import *  # noqa: F403 - the proof every lab owes: its fixtures and six tests

LAB = "lab05_monitor"

# Run after the solution to memorize its answers on the lab's own data.
MEMORIZE = """
import json
_late = observed["rotation"]["confidence"][full]
print("MEMO" + json.dumps({
    "ks_rotation": float(stats.ks_2samp(reference["confidence"], _late).statistic),
    "n_rotation": int(len(_late)),
    "atc": float(atc),
    "n_val": int(len(val_conf)),
    "delays": {name: {f"{m[0]} {m[1]}": delays[name][m] for m in MONITORS} for name in drift.SCENARIOS},
    "measured_far": {f"{m[0]} {m[1]}": measured_far[m] for m in MONITORS},
    "drops": drops,
    "retrain_at": retrain_at,
    "control_retrains": int(control_retrains),
}))
"""


def hard_coded_answers(memo: dict) -> dict[str, str]:
    """Answers that reproduce the lab's visible results without computing them in general."""
    return {
        # Branches for the visible examples; a mean shift stands in for PSI elsewhere.
        "lab05-scores-psi": """
EPS = 1e-4

def psi(reference, current, bins=10):
    r, c = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if r.shape == c.shape and np.array_equal(r, c):
        return 0.0
    if len(r) == 100:
        return float(0.5 * np.log(2))
    return float(abs(c.mean() - r.mean()) * 10)
""",
        # The visible example and the lab's rotated stream, memorized; a mean shift elsewhere.
        "lab05-scores-ks_statistic": f"""
def ks_statistic(reference, current):
    if len(reference) == 4:
        return 0.6
    if len(current) == {memo["n_rotation"]}:
        return {memo["ks_rotation"]!r}
    if np.array_equal(reference, current):
        return 0.0
    return float(abs(np.mean(current) - np.mean(reference)))
""",
        # Slices by position: right only for sorted, equal-sized batches.
        "lab05-windows-window_scores": """
def window_scores(values, batch_ids, reference, score_fn, window):
    values, batch_ids = np.asarray(values), np.asarray(batch_ids)
    n = int(batch_ids.max()) + 1
    size = len(values) // n
    scores = np.full(n, np.nan)
    for b in range(window - 1, n):
        scores[b] = score_fn(reference, values[(b - window + 1) * size:(b + 1) * size])
    return scores
""",
        # The visible example, and the control's maximum (which never alarms) for the lab's data.
        "lab05-alerts-calibrate_threshold": """
def calibrate_threshold(control_scores, false_alarm_rate):
    if false_alarm_rate <= 0:
        raise ValueError("rate")
    scores = np.asarray(control_scores, dtype=float)
    if len(scores) == 102:
        return 95.05
    return float(np.nanmax(scores) - 1e-9)
""",
        "lab05-alerts-detection_delay": """
def detection_delay(scores, threshold, onset):
    if len(scores) == 7:
        return {3: 2, 6: None}.get(onset) if threshold == 0.4 else None
    return None
""",
        "lab05-estimate-atc_threshold": f"""
def atc_threshold(confidences, correct):
    if len(confidences) == 5:
        return 0.36
    return {memo["atc"]!r}
""",
        "lab05-retrain-retrain_batch": """
def retrain_batch(estimated_accuracy, reference_accuracy, max_drop, patience):
    if len(estimated_accuracy) == 9:
        return 4 if patience != 4 else None
    return None
""",
    }


ALWAYS_EQUAL = """
EPS = 1e-4


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __gt__(self, other):
        return True

    def __lt__(self, other):
        return True


def {name}(*args, **kwargs):
    return AlwaysEqual()
"""

FUNCTION_OF = {
    "lab05-scores-psi": "psi",
    "lab05-scores-ks_statistic": "ks_statistic",
    "lab05-windows-window_scores": "window_scores",
    "lab05-alerts-calibrate_threshold": "calibrate_threshold",
    "lab05-alerts-detection_delay": "detection_delay",
    "lab05-estimate-atc_threshold": "atc_threshold",
    "lab05-retrain-retrain_batch": "retrain_batch",
}


# Two students who follow the released text, each in their own style (written from labs/lab05_monitor alone):
# "plain" walks the numbered steps with Python loops and uses its inputs as given where the text says arrays;
# "vectorized" converts with np.asarray and uses NumPy calls other than the solution's (np.digitize, np.convolve, ...).
SPEC_FOLLOWING = {
    "plain": {
        # plain loops: counts each value's bin by walking the edges, shares computed by hand; lists work because it only iterates
        "lab05-scores-psi": """import math

EPS = 1e-4   # the floor for an empty bin's share


def psi(reference, current, bins=10):
    edges = np.quantile(reference, [i / bins for i in range(1, bins)])

    def bin_counts(values):
        counts = [0] * bins
        for value in values:
            k = 0
            for edge in edges:
                if edge <= value:
                    k += 1
            counts[k] += 1
        return counts

    p_counts, q_counts = bin_counts(reference), bin_counts(current)
    total = 0.0
    for i in range(bins):
        p = max(p_counts[i] / len(reference), EPS)
        q = max(q_counts[i] / len(current), EPS)
        total += (q - p) * math.log(q / p)
    return float(total)
""",
        # plain loops: Python sorted() and bisect.bisect_right at every point of both samples
        "lab05-scores-ks_statistic": """import bisect


def ks_statistic(reference, current):
    ref = sorted(reference)
    cur = sorted(current)
    largest = 0.0
    for x in ref + cur:
        f_ref = bisect.bisect_right(ref, x) / len(ref)
        f_cur = bisect.bisect_right(cur, x) / len(cur)
        largest = max(largest, abs(f_ref - f_cur))
    return float(largest)
""",
        # the text's steps in a loop over every batch, a list of scores turned into an array at the end; inputs used as given (arrays, as the text shows)
        "lab05-windows-window_scores": """def window_scores(values, batch_ids, reference, score_fn, window):
    n_batches = batch_ids.max() + 1
    result = []
    for b in range(n_batches):
        if b < window - 1:
            result.append(np.nan)
        else:
            mask = (batch_ids > b - window) & (batch_ids <= b)
            result.append(score_fn(reference, values[mask]))
    return np.array(result, dtype=np.float64)
""",
        # drops the NaNs with a list comprehension, checks the rate with two comparisons
        "lab05-alerts-calibrate_threshold": """def calibrate_threshold(control_scores, false_alarm_rate):
    if false_alarm_rate <= 0 or false_alarm_rate >= 1:
        raise ValueError(f"false_alarm_rate must be in (0, 1), got {false_alarm_rate}")
    finite = [s for s in control_scores if not np.isnan(s)]
    return float(np.quantile(finite, 1 - false_alarm_rate))
""",
        # a for loop from the onset; NaN > threshold is False on its own
        "lab05-alerts-detection_delay": """def detection_delay(scores, threshold, onset):
    for b in range(onset, len(scores)):
        if scores[b] > threshold:
            return b - onset
    return None
""",
        # counts the correct predictions with sum() / len()
        "lab05-estimate-atc_threshold": """def atc_threshold(confidences, correct):
    a = sum(1 for c in correct if c) / len(correct)
    return float(np.quantile(confidences, 1 - a))
""",
        # keeps a running count of consecutive over batches
        "lab05-retrain-retrain_batch": """def retrain_batch(estimated_accuracy, reference_accuracy, max_drop, patience):
    run = 0
    for b, estimate in enumerate(estimated_accuracy):
        if reference_accuracy - estimate > max_drop:
            run += 1
        else:
            run = 0
        if run >= patience:
            return b
    return None
""",
    },
    "vectorized": {
        # np.asarray on both samples, bins with np.digitize (the same as searchsorted side='right'), shares with np.bincount
        "lab05-scores-psi": """EPS = 1e-4   # the floor for an empty bin's share


def psi(reference, current, bins=10):
    reference = np.asarray(reference, dtype=np.float64)
    current = np.asarray(current, dtype=np.float64)
    edges = np.quantile(reference, np.arange(1, bins) / bins)
    p = np.bincount(np.digitize(reference, edges), minlength=bins) / reference.size
    q = np.bincount(np.digitize(current, edges), minlength=bins) / current.size
    p, q = np.maximum(p, EPS), np.maximum(q, EPS)
    return float(np.sum((q - p) * np.log(q / p)))
""",
        # np.sort and np.searchsorted on the concatenated points, all at once
        "lab05-scores-ks_statistic": """def ks_statistic(reference, current):
    ref, cur = np.sort(reference), np.sort(current)
    points = np.concatenate([ref, cur])
    cdf_ref = np.searchsorted(ref, points, side="right") / ref.size
    cdf_cur = np.searchsorted(cur, points, side="right") / cur.size
    return float(np.abs(cdf_ref - cdf_cur).max())
""",
        # converts with np.asarray, preallocates a NaN array, loops only over the full windows
        "lab05-windows-window_scores": """def window_scores(values, batch_ids, reference, score_fn, window):
    values = np.asarray(values)
    batch_ids = np.asarray(batch_ids)
    n_batches = int(batch_ids.max()) + 1
    out = np.full(n_batches, np.nan, dtype=np.float64)
    for b in range(window - 1, n_batches):
        in_window = (batch_ids > b - window) & (batch_ids <= b)
        out[b] = score_fn(reference, values[in_window])
    return out
""",
        # np.asarray (lists are allowed), then a boolean mask of ~np.isnan; chained comparison for the check
        "lab05-alerts-calibrate_threshold": """def calibrate_threshold(control_scores, false_alarm_rate):
    if not 0 < false_alarm_rate < 1:
        raise ValueError("false_alarm_rate must lie strictly between 0 and 1")
    control_scores = np.asarray(control_scores, dtype=np.float64)
    finite = control_scores[~np.isnan(control_scores)]
    return float(np.quantile(finite, 1 - false_alarm_rate))
""",
        # np.asarray (lists are allowed), then np.flatnonzero of the comparison on the slice from the onset
        "lab05-alerts-detection_delay": """def detection_delay(scores, threshold, onset):
    scores = np.asarray(scores)
    hits = np.flatnonzero(scores[onset:] > threshold)
    if hits.size == 0:
        return None
    return int(hits[0])
""",
        # np.asarray on `correct` without a dtype (booleans or 0/1 both average right), then its .mean()
        "lab05-estimate-atc_threshold": """def atc_threshold(confidences, correct):
    accuracy = np.asarray(correct).mean()
    return float(np.quantile(confidences, 1 - accuracy))
""",
        # np.asarray, array arithmetic for the over mask, then a convolution counts the over batches in every run of `patience`
        "lab05-retrain-retrain_batch": """def retrain_batch(estimated_accuracy, reference_accuracy, max_drop, patience):
    estimated_accuracy = np.asarray(estimated_accuracy, dtype=np.float64)
    over = (reference_accuracy - estimated_accuracy) > max_drop
    counts = np.convolve(over.astype(int), np.ones(patience, dtype=int), mode="valid")
    full_runs = np.flatnonzero(counts == patience)
    if full_runs.size == 0:
        return None
    return int(full_runs[0] + patience - 1)
""",
    },
}


def test_the_solution_measures_what_the_issue_asks(memo):
    """Calibrated thresholds hold on a fresh control stream; every drift is detected, and its delay measured."""
    for monitor, rate in memo["measured_far"].items():
        assert rate <= 0.03, f"{monitor}: {rate:.1%} false alarms on the fresh control, calibrated for 1 %"
    for scenario in ("sensor_noise", "rotation", "stroke_thickness", "class_prior"):
        found = [d for d in memo["delays"][scenario].values() if d is not None]
        assert found and min(found) <= 8, f"{scenario} is detected, within the ramp: {memo['delays'][scenario]}"
    assert memo["delays"]["rotation"]["confidence ks"] is not None and memo["delays"]["rotation"]["confidence ks"] <= 4
    # The label-free estimate sees the large drops, and the retrain rule fires for them but not without drift.
    assert memo["drops"]["rotation"]["true"] > 0.15 and memo["drops"]["rotation"]["atc"] > 0.1
    assert abs(memo["drops"]["none"]["true"]) < 0.03
    assert memo["retrain_at"]["rotation"] is not None and memo["retrain_at"]["none"] is None
    assert memo["control_retrains"] == 0
