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
        "lab05-scores-psi": '''
EPS = 1e-4

def psi(reference, current, bins=10):
    r, c = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if r.shape == c.shape and np.array_equal(r, c):
        return 0.0
    if len(r) == 100:
        return float(0.5 * np.log(2))
    return float(abs(c.mean() - r.mean()) * 10)
''',
        # The visible example and the lab's rotated stream, memorized; a mean shift elsewhere.
        "lab05-scores-ks_statistic": f'''
def ks_statistic(reference, current):
    if len(reference) == 4:
        return 0.6
    if len(current) == {memo["n_rotation"]}:
        return {memo["ks_rotation"]!r}
    if np.array_equal(reference, current):
        return 0.0
    return float(abs(np.mean(current) - np.mean(reference)))
''',
        # Slices by position: right only for sorted, equal-sized batches.
        "lab05-windows-window_scores": '''
def window_scores(values, batch_ids, reference, score_fn, window):
    values, batch_ids = np.asarray(values), np.asarray(batch_ids)
    n = int(batch_ids.max()) + 1
    size = len(values) // n
    scores = np.full(n, np.nan)
    for b in range(window - 1, n):
        scores[b] = score_fn(reference, values[(b - window + 1) * size:(b + 1) * size])
    return scores
''',
        # The visible example, and the control's maximum (which never alarms) for the lab's data.
        "lab05-alerts-calibrate_threshold": '''
def calibrate_threshold(control_scores, false_alarm_rate):
    if false_alarm_rate <= 0:
        raise ValueError("rate")
    scores = np.asarray(control_scores, dtype=float)
    if len(scores) == 102:
        return 95.05
    return float(np.nanmax(scores) - 1e-9)
''',
        "lab05-alerts-detection_delay": '''
def detection_delay(scores, threshold, onset):
    if len(scores) == 7:
        return {3: 2, 6: None}.get(onset) if threshold == 0.4 else None
    return None
''',
        "lab05-estimate-atc_threshold": f'''
def atc_threshold(confidences, correct):
    if len(confidences) == 5:
        return 0.36
    return {memo["atc"]!r}
''',
        "lab05-retrain-retrain_batch": '''
def retrain_batch(estimated_accuracy, reference_accuracy, max_drop, patience):
    if len(estimated_accuracy) == 9:
        return 4 if patience != 4 else None
    return None
''',
    }


ALWAYS_EQUAL = '''
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
'''

FUNCTION_OF = {
    "lab05-scores-psi": "psi",
    "lab05-scores-ks_statistic": "ks_statistic",
    "lab05-windows-window_scores": "window_scores",
    "lab05-alerts-calibrate_threshold": "calibrate_threshold",
    "lab05-alerts-detection_delay": "detection_delay",
    "lab05-estimate-atc_threshold": "atc_threshold",
    "lab05-retrain-retrain_batch": "retrain_batch",
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
