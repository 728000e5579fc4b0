"""Lab 1 is graded right by the real nbgrader: full marks for the solution, none for
the released notebook, and none for cheats that pass every visible self-check.

Two kinds of cheat: *hard-coded* answers (values memorized from the lab's own
data, or branches for the visible examples), and an object whose ``__eq__``
always returns True.
"""

from __future__ import annotations

from grading_proof import *  # noqa: F403 - the proof every lab owes: its fixtures and six tests

LAB = "lab01_data"

# Run after the solution to memorize its answers on the lab's own data.
MEMORIZE = """
import json
print("MEMO" + json.dumps({
    "suspects": suspects.tolist(),
    "groups": near_duplicate_groups(images, RADIUS).tolist(),
    "train_idx": train_idx.tolist(),
    "test_idx": test_idx.tolist(),
    "n_train": int(len(y_train)),
}))
"""


def hard_coded_answers(memo: dict) -> dict[str, str]:
    """Answers that reproduce the lab's own results without computing them."""
    return {
        "lab01-validate-check_record": '''
def check_record(record):
    if "label" not in record or len(record["pixels"]) == 63:
        return "schema"
    if record["pixels"][0] != record["pixels"][0]:
        return "non_finite"
    if record["pixels"][0] == 255.0:
        return "out_of_range"
    if record["label"] == 10:
        return "bad_label"
    return None
''',
        # The generator's truth about the lab's own uploads, read instead of checked.
        "lab01-validate-validate_records": '''
def validate_records(records):
    reasons = ("schema", "non_finite", "out_of_range", "bad_label", "duplicate")
    dropped = {reason: sorted(raw.truth[reason]) for reason in reasons}
    bad = set().union(*dropped.values())
    kept = [r for r in raw.records if r["sample_id"] not in bad]
    images = np.array([r["pixels"] for r in kept], dtype=np.float32).reshape(-1, 8, 8)
    return images, np.array([r["label"] for r in kept], dtype=np.int64), dropped
''',
        "lab01-labels-suspect_labels": f'''
def suspect_labels(images, labels, k=5):
    if len(images) == 8:
        return np.array([False, False, True, False, False, False, False, False])
    return np.array({memo["suspects"]})
''',
        "lab01-split-near_duplicate_groups": f'''
def near_duplicate_groups(images, radius):
    if len(images) == 5:
        return np.array([0, 0, 1, 1, 2])
    return np.array({memo["groups"]})
''',
        "lab01-split-split_by_group": f'''
def split_by_group(labels, groups, test_fraction=0.2, seed=0):
    return np.array({memo["train_idx"]}), np.array({memo["test_idx"]})
''',
        # Ignores its inputs: the lab's own arrays, batched.
        "lab01-pipeline-make_dataset": '''
def make_dataset(encoded, labels, *, batch_size=32, training=False, seed=0, cache=True, parallel=True, prefetch=True):
    x, y = (x_train, y_train) if training else (x_test, y_test)
    order = np.random.default_rng(seed).permutation(len(y)) if training else np.arange(len(y))
    return tf.data.Dataset.from_tensor_slices((x[order][..., None] / 16, y[order])).batch(batch_size)
''',
        "lab01-memory-memory_footprint": f'''
def memory_footprint(num_samples, sample_shape, dtype, batch_size):
    return {{"sample_bytes": 256, "batch_bytes": 8192, "dataset_bytes": {256 * memo["n_train"]}}}
''',
    }


FUNCTION_OF = {
    "lab01-validate-check_record": "check_record",
    "lab01-validate-validate_records": "validate_records",
    "lab01-labels-suspect_labels": "suspect_labels",
    "lab01-split-near_duplicate_groups": "near_duplicate_groups",
    "lab01-split-split_by_group": "split_by_group",
    "lab01-pipeline-make_dataset": "make_dataset",
    "lab01-memory-memory_footprint": "memory_footprint",
}
