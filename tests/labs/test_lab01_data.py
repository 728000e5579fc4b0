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
        "lab01-validate-check_record": """
def check_record(record):
    if "label" not in record or len(record["pixels"]) == 63 or type(record["label"]) is float:
        return "schema"
    if record["pixels"][0] != record["pixels"][0]:
        return "non_finite"
    if record["pixels"][0] == 255.0:
        return "out_of_range"
    if record["label"] == 10:
        return "bad_label"
    return None
""",
        # The generator's truth about the lab's own uploads, read instead of checked.
        "lab01-validate-validate_records": """
def validate_records(records):
    if not records:
        return np.zeros((0, 8, 8), np.float32), np.zeros(0, np.int64), {}
    reasons = ("schema", "non_finite", "out_of_range", "bad_label", "duplicate")
    dropped = {reason: sorted(raw.truth[reason]) for reason in reasons}
    bad = set().union(*dropped.values())
    kept = [r for r in raw.records if r["sample_id"] not in bad]
    images = np.array([r["pixels"] for r in kept], dtype=np.float32).reshape(-1, 8, 8)
    return images, np.array([r["label"] for r in kept], dtype=np.int64), dropped
""",
        "lab01-labels-suspect_labels": f"""
def suspect_labels(images, labels, k=5):
    if len(images) == 8:
        return np.array([False, False, True, False, False, False, False, False])
    return np.array({memo["suspects"]})
""",
        "lab01-split-near_duplicate_groups": f"""
def near_duplicate_groups(images, radius):
    if len(images) == 5:
        return np.array([0, 0, 1, 1, 2])
    return np.array({memo["groups"]})
""",
        "lab01-split-split_by_group": f"""
def split_by_group(labels, groups, test_fraction=0.2, seed=0):
    return np.array({memo["train_idx"]}), np.array({memo["test_idx"]})
""",
        # Ignores its inputs: the lab's own arrays, batched.
        "lab01-pipeline-make_dataset": """
def make_dataset(encoded, labels, *, batch_size=32, training=False, seed=0, cache=True, parallel=True, prefetch=True):
    x, y = (x_train, y_train) if training else (x_test, y_test)
    order = np.random.default_rng(seed).permutation(len(y)) if training else np.arange(len(y))
    return tf.data.Dataset.from_tensor_slices((x[order][..., None] / 16, y[order])).batch(batch_size)
""",
        "lab01-memory-memory_footprint": f"""
def memory_footprint(num_samples, sample_shape, dtype, batch_size):
    if sample_shape == (64,):
        return {{"sample_bytes": 64, "batch_bytes": 512, "dataset_bytes": 6400}}
    return {{"sample_bytes": 256, "batch_bytes": 8192, "dataset_bytes": {256 * memo["n_train"]}}}
""",
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


# Fairness: two further answers to every exercise, written from the released notebook alone (its text, docstrings
# and visible checks, the course library and the reading), the way two different students would. grading_proof
# requires full marks for each style, from plain nbgrader and from the sandboxed grader.
SPEC_FOLLOWING = {
    # The literal numbered steps, plain-Python loops, no conversions the text does not ask for.
    "plain": {
        # plain: literal table, isinstance(label, int), per-pixel loops with math.isnan/isinf, two passes
        "lab01-validate-check_record": '''
import math

REQUIRED_KEYS = ("sample_id", "pixels", "label")
N_PIXELS = datasets.IMAGE_SHAPE[0] * datasets.IMAGE_SHAPE[1]


def check_record(record):
    """Return None if ``record`` is valid, else the first reason it fails."""
    for key in REQUIRED_KEYS:
        if key not in record:
            return "schema"
    pixels = record["pixels"]
    if len(pixels) != N_PIXELS:
        return "schema"
    if not isinstance(record["label"], int):
        return "schema"
    for p in pixels:
        if math.isnan(p) or math.isinf(p):
            return "non_finite"
    for p in pixels:
        if p < 0 or p > datasets.PIXEL_MAX:
            return "out_of_range"
    label = record["label"]
    if label < 0 or label > datasets.NUM_CLASSES - 1:
        return "bad_label"
    return None
''',
        # plain: list of kept (pixels, label) pairs searched with `in`, dict built with `if reason not in dropped`
        "lab01-validate-validate_records": '''
def validate_records(records):
    """Split raw records into clean arrays and a report of what was dropped, and why."""
    kept_pixels = []
    kept_labels = []
    seen = set()
    dropped = {}
    for record in records:
        reason = check_record(record)
        if reason is None:
            key = (tuple(record["pixels"]), record["label"])
            if key in seen:
                reason = "duplicate"
            else:
                seen.add(key)
        if reason is None:
            kept_pixels.append(record["pixels"])
            kept_labels.append(record["label"])
        else:
            if reason not in dropped:
                dropped[reason] = []
            dropped[reason].append(record["sample_id"])
    images = np.array(kept_pixels, dtype=np.float32).reshape(len(kept_pixels), 8, 8)
    labels = np.array(kept_labels, dtype=np.int64)
    return images, labels, dropped
''',
        # plain: NearestNeighbors(k+1), drop column 0 (the text says the nearest one is the sample itself), count with a loop
        "lab01-labels-suspect_labels": '''
from sklearn.neighbors import NearestNeighbors


def suspect_labels(images, labels, k=5):
    """Boolean mask of samples whose label fewer than half of their k nearest neighbours share."""
    n = len(images)
    flat = images.reshape(n, -1)
    nn = NearestNeighbors(n_neighbors=k + 1).fit(flat)
    _, idx = nn.kneighbors(flat)
    flags = []
    for i in range(n):
        neighbours = idx[i][1:]
        same = 0
        for j in neighbours:
            if labels[j] == labels[i]:
                same += 1
        flags.append(same < k / 2)
    return np.array(flags, dtype=bool)
''',
        # plain: pairwise distances by loops over rows, union-find by hand
        "lab01-split-near_duplicate_groups": '''
from scipy.sparse.csgraph import connected_components


def near_duplicate_groups(images, radius):
    """One integer group id per sample; samples within ``radius`` of each other (transitively) share it."""
    n = len(images)
    flat = images.reshape(n, -1).astype(float)
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i in range(n):
        dist = np.sqrt(((flat - flat[i]) ** 2).sum(axis=1))
        for j in range(i + 1, n):
            if dist[j] <= radius:
                ra, rb = find(i), find(j)
                if ra != rb:
                    parent[rb] = ra
    roots = {}
    groups = []
    for i in range(n):
        r = find(i)
        if r not in roots:
            roots[r] = len(roots)
        groups.append(roots[r])
    return np.array(groups)
''',
        # plain: StratifiedGroupKFold literally, X = labels reshaped as a column, loop to get the first fold
        "lab01-split-split_by_group": '''
from sklearn.model_selection import StratifiedGroupKFold


def split_by_group(labels, groups, test_fraction=0.2, seed=0):
    """(train_idx, test_idx): a stratified split that never puts one group on both sides."""
    n_splits = round(1 / test_fraction)
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.reshape(labels, (-1, 1)), labels, groups):
        return train_idx, test_idx
''',
        # plain: the numbered steps, separate maps for decode and normalize, map() without num_parallel_calls when not parallel
        "lab01-pipeline-make_dataset": '''
AUTOTUNE = tf.data.AUTOTUNE


def make_dataset(encoded, labels, *, batch_size=32, training=False, seed=0, cache=True, parallel=True, prefetch=True):
    """A tf.data pipeline: decode -> normalize -> [cache] -> [shuffle -> augment] -> batch -> [prefetch]."""
    def decode(png, label):
        image = tf.io.decode_png(png, channels=1)
        image = tf.ensure_shape(image, (8, 8, 1))
        return image, label

    def normalize(image, label):
        return tf.cast(image, tf.float32) / datasets.PIXEL_MAX, label

    def augment(image, label):
        padded = tf.pad(image, [[1, 1], [1, 1], [0, 0]])
        return tf.image.random_crop(padded, (8, 8, 1), seed=seed), label

    ds = tf.data.Dataset.from_tensor_slices((encoded, labels))
    if parallel:
        ds = ds.map(decode, num_parallel_calls=AUTOTUNE)
        ds = ds.map(normalize, num_parallel_calls=AUTOTUNE)
    else:
        ds = ds.map(decode)
        ds = ds.map(normalize)
    if cache:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(len(labels), seed=seed)
        if parallel:
            ds = ds.map(augment, num_parallel_calls=AUTOTUNE)
        else:
            ds = ds.map(augment)
    ds = ds.batch(batch_size)
    if prefetch:
        ds = ds.prefetch(AUTOTUNE)
    return ds
''',
        # plain: loop product over the shape, itemsize, multiplications
        "lab01-memory-memory_footprint": '''
def memory_footprint(num_samples, sample_shape, dtype, batch_size):
    """Bytes of one sample, one batch and the whole dataset, as Python ints."""
    values = 1
    for size in sample_shape:
        values = values * size
    sample_bytes = values * np.dtype(dtype).itemsize
    return {
        "sample_bytes": sample_bytes,
        "batch_bytes": batch_size * sample_bytes,
        "dataset_bytes": num_samples * sample_bytes,
    }
''',
    },
    # NumPy-vectorized, or another library call than the solution's; converts inputs with np.asarray where it can.
    "vectorized": {
        # vectorized: np.asarray(float) + np.isfinite, type(label) is int, set difference for keys
        "lab01-validate-check_record": '''
REQUIRED_KEYS = ("sample_id", "pixels", "label")
N_PIXELS = datasets.IMAGE_SHAPE[0] * datasets.IMAGE_SHAPE[1]


def check_record(record):
    """Return None if ``record`` is valid, else the first reason it fails."""
    if set(REQUIRED_KEYS) - set(record.keys()):
        return "schema"
    if len(record["pixels"]) != N_PIXELS or type(record["label"]) is not int:
        return "schema"
    px = np.asarray(record["pixels"], dtype=np.float64)
    if not np.isfinite(px).all():
        return "non_finite"
    if px.min() < 0 or px.max() > datasets.PIXEL_MAX:
        return "out_of_range"
    if not 0 <= record["label"] < datasets.NUM_CLASSES:
        return "bad_label"
    return None
''',
        # vectorized: np.stack of per-record float32 8x8 arrays, setdefault for the report, bytes key for duplicates
        "lab01-validate-validate_records": '''
def validate_records(records):
    """Split raw records into clean arrays and a report of what was dropped, and why."""
    images, labels, dropped, seen = [], [], {}, set()
    for record in records:
        reason = check_record(record)
        if reason is None:
            px = np.asarray(record["pixels"], dtype=np.float32).reshape(datasets.IMAGE_SHAPE)
            key = (px.tobytes(), record["label"])
            if key in seen:
                reason = "duplicate"
            else:
                seen.add(key)
                images.append(px)
                labels.append(record["label"])
        if reason is not None:
            dropped.setdefault(reason, []).append(record["sample_id"])
    images = np.stack(images) if images else np.zeros((0, *datasets.IMAGE_SHAPE), dtype=np.float32)
    return images.astype(np.float32), np.asarray(labels, dtype=np.int64), dropped
''',
        # vectorized: own NumPy distance matrix, diagonal set to inf, argsort, vote with broadcasting; accepts lists
        "lab01-labels-suspect_labels": '''
from sklearn.neighbors import NearestNeighbors


def suspect_labels(images, labels, k=5):
    """Boolean mask of samples whose label fewer than half of their k nearest neighbours share."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    y = np.asarray(labels)
    sq = (x ** 2).sum(axis=1)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0))
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    agree = (y[nearest] == y[:, None]).sum(axis=1)
    return 2 * agree < k
''',
        # library: radius_neighbors_graph + connected_components, as the text names
        "lab01-split-near_duplicate_groups": '''
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import NearestNeighbors


def near_duplicate_groups(images, radius):
    """One integer group id per sample; samples within ``radius`` of each other (transitively) share it."""
    flat = np.asarray(images).reshape(len(images), -1)
    graph = NearestNeighbors(radius=radius).fit(flat).radius_neighbors_graph(flat)
    _, groups = connected_components(graph, directed=False)
    return groups
''',
        # own algorithm: groups in a seeded random order, each group to test while its classes are below their test quota
        "lab01-split-split_by_group": '''
from sklearn.model_selection import StratifiedGroupKFold


def split_by_group(labels, groups, test_fraction=0.2, seed=0):
    """(train_idx, test_idx): a stratified split that never puts one group on both sides."""
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = dict(zip(classes.tolist(), (counts * test_fraction).tolist()))
    in_test = dict.fromkeys(quota, 0)
    is_test = np.zeros(len(labels), dtype=bool)
    unique_groups = np.unique(groups)
    for g in rng.permutation(unique_groups):
        members = np.flatnonzero(groups == g)
        cls, cnt = np.unique(labels[members], return_counts=True)
        fits = all(in_test[c] + m <= quota[c] + 0.5 for c, m in zip(cls.tolist(), cnt.tolist()))
        if fits:
            is_test[members] = True
            for c, m in zip(cls.tolist(), cnt.tolist()):
                in_test[c] += m
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)
''',
        # library: num_parallel_calls = AUTOTUNE or 1 ("one element at a time"), resize_with_crop_or_pad to pad, labels cast to int64
        "lab01-pipeline-make_dataset": '''
AUTOTUNE = tf.data.AUTOTUNE


def make_dataset(encoded, labels, *, batch_size=32, training=False, seed=0, cache=True, parallel=True, prefetch=True):
    """A tf.data pipeline: decode -> normalize -> [cache] -> [shuffle -> augment] -> batch -> [prefetch]."""
    calls = AUTOTUNE if parallel else 1

    def decode_and_normalize(png, label):
        image = tf.ensure_shape(tf.io.decode_png(png, channels=1), [8, 8, 1])
        return tf.image.convert_image_dtype(image, tf.float32) * (255.0 / datasets.PIXEL_MAX), tf.cast(label, tf.int64)

    def shift(image, label):
        image = tf.image.resize_with_crop_or_pad(image, 10, 10)
        return tf.image.random_crop(image, [8, 8, 1], seed=seed), label

    dataset = tf.data.Dataset.from_tensor_slices((list(encoded), np.asarray(labels)))
    dataset = dataset.map(decode_and_normalize, num_parallel_calls=calls)
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(buffer_size=len(encoded), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.map(shift, num_parallel_calls=calls)
    dataset = dataset.batch(batch_size, drop_remainder=False)
    return dataset.prefetch(tf.data.AUTOTUNE) if prefetch else dataset
''',
        # vectorized: np.prod of the shape, wrapped in int()
        "lab01-memory-memory_footprint": '''
def memory_footprint(num_samples, sample_shape, dtype, batch_size):
    """Bytes of one sample, one batch and the whole dataset, as Python ints."""
    sample = int(np.prod(sample_shape)) * np.dtype(dtype).itemsize
    return dict(sample_bytes=int(sample), batch_bytes=int(sample * batch_size), dataset_bytes=int(sample * num_samples))
''',
    },
}
