"""Lab 2 is graded right by the real nbgrader: full marks for the solution, none for
the released notebook, and none for cheats that pass every visible self-check.

Two kinds of cheat: *hard-coded* answers (values memorized from a run of the
solution, or branches for the visible examples), and an object whose ``__eq__``
always returns True.
"""

from __future__ import annotations

from grading_proof import *  # noqa: F403 - the proof every lab owes: its fixtures and six tests

LAB = "lab02_model"

# Run after the solution to memorize its answers on the lab's own models.
MEMORIZE = """
import json
print("MEMO" + json.dumps({
    "front": [int(i) for i in front],
    "person": footprint(PERSON, 1),
    "chosen": footprint(build_cnn(WIDTH), 1),
}))
"""

# The lab's CNN, as the cheat copies it from a solution it has seen.
CNN = """
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(w, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(2 * w, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""


def hard_coded_answers(memo: dict) -> dict[str, str]:
    """Answers that reproduce the lab's visible results without computing them."""
    person, chosen = memo["person"], memo["chosen"]
    return {
        # The worked example by its parameter count; anything else gets the memorized numbers.
        "lab02-count-footprint": f"""
def footprint(model, bytes_per_weight):
    params = model.count_params()
    if params == 690:
        return {{"params": 690, "macs": 2944, "weight_bytes": 690 * bytes_per_weight, "peak_activation_bytes": 320 * bytes_per_weight}}
    if params == 119:
        return {{"params": 119, "macs": 384, "weight_bytes": 119 * bytes_per_weight, "peak_activation_bytes": 64 * bytes_per_weight}}
    if params == {person["params"]}:
        return {{"params": params, "macs": {person["macs"]}, "weight_bytes": params * bytes_per_weight,
                "peak_activation_bytes": {person["peak_activation_bytes"]} * bytes_per_weight}}
    return {{"params": params, "macs": {chosen["macs"]}, "weight_bytes": params * bytes_per_weight,
            "peak_activation_bytes": {chosen["peak_activation_bytes"]} * bytes_per_weight}}
""",
        "lab02-budget-fits_device": """
def fits_device(fp, profile, app_sram_bytes, app_flash_bytes):
    if fp["peak_activation_bytes"] == 140_000:
        return {"flash_left_bytes": 124_288, "sram_left_bytes": -8_928, "fits": False}
    return {"flash_left_bytes": 124_288, "sram_left_bytes": 31_072, "fits": True}
""",
        # A real model for the widths the visible checks use, one fixed model for any other.
        "lab02-design-build_cnn": f"""
def build_cnn(width):
    w = width if width in (2, 4, 8) else 8
{CNN}

WIDTH = 8
""",
        "lab02-sweep-pareto_front": f"""
def pareto_front(sizes, accuracies):
    if len(sizes) == 4:
        return [0, 2]
    if len(sizes) == 3:
        return [1, 2, 0]
    if len(sizes) == 5:
        return [3, 2]
    if len(sizes) == 0:
        return []
    return {memo["front"]}
""",
        # The Nano's peak, typed in: right for the Nano, wrong for every other device.
        "lab02-latency-estimate_latency_s": """
def estimate_latency_s(macs, profile, efficiency):
    if efficiency == 0:
        raise ValueError("efficiency must be positive")
    return float(2.0 * macs / (256e6 * efficiency))
""",
        # Every device but the Nano, fastest peak first: right for the visible workload, blind to macs and target.
        "lab02-latency-devices_meeting": """
def devices_meeting(macs, target_s, efficiency, profiles):
    return sorted((d for d in profiles if d != "nano33_ble_sense"), key=lambda d: (-profiles[d].peak_int8_ops_per_s, d))
""",
    }


ALWAYS_EQUAL_EXTRA = {"lab02-design-build_cnn": "\n\nWIDTH = AlwaysEqual()\n"}

FUNCTION_OF = {
    "lab02-count-footprint": "footprint",
    "lab02-budget-fits_device": "fits_device",
    "lab02-design-build_cnn": "build_cnn",
    "lab02-sweep-pareto_front": "pareto_front",
    "lab02-latency-estimate_latency_s": "estimate_latency_s",
    "lab02-latency-devices_meeting": "devices_meeting",
}


# Fairness: two further answers to every exercise, written from the released notebook alone (grading_proof
# grades each style with plain nbgrader and the sandboxed grader, and wants full marks on every exercise).
SPEC_FOLLOWING = {
    "plain": {
        # Literal numbered steps in plain Python: loops over model.layers, reads in_c / units / shapes from
        # layer.input.shape and layer.output.shape, sums the parameters with model.count_params().
        "lab02-count-footprint": '''
def footprint(model, bytes_per_weight):
    """What running ``model`` once costs (batch 1), for a model whose layers form one chain."""
    params = model.count_params()
    macs = 0
    peak = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        in_shape = layer.input.shape
        out_shape = layer.output.shape
        in_elements = 1
        for d in in_shape[1:]:
            in_elements = in_elements * d
        out_elements = 1
        for d in out_shape[1:]:
            out_elements = out_elements * d
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            out_h, out_w, out_c = out_shape[1], out_shape[2], out_shape[3]
            k_h, k_w = layer.kernel.shape[0], layer.kernel.shape[1]
            macs = macs + out_h * out_w * out_c * k_h * k_w
        elif isinstance(layer, keras.layers.Conv2D):
            out_h, out_w, out_c = out_shape[1], out_shape[2], out_shape[3]
            k_h, k_w = layer.kernel.shape[0], layer.kernel.shape[1]
            in_c = in_shape[3]
            macs = macs + out_h * out_w * out_c * k_h * k_w * in_c
        elif isinstance(layer, keras.layers.Dense):
            macs = macs + in_shape[-1] * layer.units
        if in_elements + out_elements > peak:
            peak = in_elements + out_elements
    return {
        "params": int(params),
        "macs": int(macs),
        "weight_bytes": int(params * bytes_per_weight),
        "peak_activation_bytes": int(peak * bytes_per_weight),
    }
''',
        # Subtracts exactly as the bullets say and compares with >= 0; no int()/bool() wrapping.
        "lab02-budget-fits_device": '''
def fits_device(fp, profile, app_sram_bytes, app_flash_bytes):
    """Flash and SRAM left after the application and the model, and whether the model fits."""
    flash_left = profile.flash_bytes - app_flash_bytes - fp["weight_bytes"]
    sram_left = profile.sram_bytes - app_sram_bytes - fp["peak_activation_bytes"]
    fits = flash_left >= 0 and sram_left >= 0
    return {"flash_left_bytes": flash_left, "sram_left_bytes": sram_left, "fits": fits}
''',
        # The suggested design, as a keras.Sequential with Dense(activation="softmax") and the string loss.
        "lab02-design-build_cnn": '''
def build_cnn(width):
    """A new compiled CNN for (8, 8, 1) digits with 10 softmax outputs, whose weights grow with ``width``."""
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(2 * width, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


WIDTH = 8
''',
        # Double loop over every pair of models, the definition of "dominates" word for word, then sorted().
        "lab02-sweep-pareto_front": '''
def pareto_front(sizes, accuracies):
    """Indices of the models no other model dominates, sorted by size."""
    n = len(sizes)
    front = []
    for i in range(n):
        dominated = False
        for j in range(n):
            if j == i:
                continue
            no_worse = sizes[j] <= sizes[i] and accuracies[j] >= accuracies[i]
            better = sizes[j] < sizes[i] or accuracies[j] > accuracies[i]
            if no_worse and better:
                dominated = True
                break
        if not dominated:
            front.append(i)
    front.sort(key=lambda i: (sizes[i], i))
    return front
''',
        # Chained comparison for the range check and float() around the formula.
        "lab02-latency-estimate_latency_s": '''
def estimate_latency_s(macs, profile, efficiency):
    """Seconds for one inference of ``macs`` multiply-accumulates at ``efficiency`` of the device's INT8 peak."""
    if not (0 < efficiency <= 1):
        raise ValueError("efficiency must be in (0, 1]")
    ops = 2 * macs
    return float(ops / (profile.peak_int8_ops_per_s * efficiency))
''',
        # Loop over profiles.items(), keep (estimate, id) pairs at most target_s, sort the tuples.
        "lab02-latency-devices_meeting": '''
def devices_meeting(macs, target_s, efficiency, profiles):
    """Ids of the devices (a dict id -> profile) that run ``macs`` MACs within ``target_s``, fastest first."""
    found = []
    for device_id, profile in profiles.items():
        latency = estimate_latency_s(macs, profile, efficiency)
        if latency <= target_s:
            found.append((latency, device_id))
    found.sort()
    return [device_id for latency, device_id in found]
''',
    },
    "vectorized": {
        # Counts from the kernels ("every weight of the kernel is used once at every output position"),
        # math/NumPy products over shapes, parameters summed from model.weights, InputLayer skipped by class name.
        "lab02-count-footprint": """
import math


def footprint(model, bytes_per_weight):
    layers = [l for l in model.layers if type(l).__name__ != "InputLayer"]
    params = int(sum(np.prod(w.shape) for w in model.weights))

    def layer_macs(layer):
        out = layer.output.shape[1:]
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            return math.prod(out[:2]) * math.prod(layer.kernel.shape)
        if isinstance(layer, keras.layers.Dense):
            return math.prod(layer.kernel.shape)
        return 0

    macs = sum(layer_macs(l) for l in layers)
    sizes = [np.prod(l.input.shape[1:]) + np.prod(l.output.shape[1:]) for l in layers]
    peak = int(np.max(sizes)) * bytes_per_weight
    return dict(params=params, macs=int(macs), weight_bytes=params * bytes_per_weight,
                peak_activation_bytes=int(peak))
""",
        # NumPy arrays for the two memories, np.all for the verdict, converted back with int()/bool().
        "lab02-budget-fits_device": """
def fits_device(fp, profile, app_sram_bytes, app_flash_bytes):
    capacity = np.array([profile.flash_bytes, profile.sram_bytes])
    used = np.array([app_flash_bytes + fp["weight_bytes"], app_sram_bytes + fp["peak_activation_bytes"]])
    left = capacity - used
    return {"flash_left_bytes": int(left[0]), "sram_left_bytes": int(left[1]), "fits": bool(np.all(left >= 0))}
""",
        # Functional API, a different design (conv, pool, conv), a separate Softmax layer, loss and metric objects.
        "lab02-design-build_cnn": """
def build_cnn(width):
    inputs = keras.Input(shape=(8, 8, 1))
    x = keras.layers.Conv2D(2 * width, (3, 3), padding="same")(inputs)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    x = keras.layers.Conv2D(2 * width, (3, 3), padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(10)(x)
    outputs = keras.layers.Softmax()(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.005),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    return model


WIDTH = 8
""",
        # NumPy broadcasting: an n x n "j dominates i" matrix, np.lexsort for size-then-index order.
        "lab02-sweep-pareto_front": """
def pareto_front(sizes, accuracies):
    s = np.asarray(sizes, dtype=float)
    a = np.asarray(accuracies, dtype=float)
    no_worse = (s[:, None] <= s[None, :]) & (a[:, None] >= a[None, :])
    strictly = (s[:, None] < s[None, :]) | (a[:, None] > a[None, :])
    dominated = (no_worse & strictly).any(axis=0)
    keep = np.flatnonzero(~dominated)
    order = np.lexsort((keep, s[keep]))
    return [int(i) for i in keep[order]]
""",
        # Two separate comparisons, divides by the peak and then by the efficiency; float() because macs may be np.int64.
        "lab02-latency-estimate_latency_s": """
def estimate_latency_s(macs, profile, efficiency):
    if efficiency <= 0 or efficiency > 1:
        raise ValueError(f"efficiency must be in (0, 1], got {efficiency}")
    return float(2 * macs / profile.peak_int8_ops_per_s / efficiency)
""",
        # Ids sorted alphabetically, estimates in a NumPy array, a stable np.argsort (ties keep id order), then the filter.
        "lab02-latency-devices_meeting": """
def devices_meeting(macs, target_s, efficiency, profiles):
    ids = sorted(profiles)
    t = np.array([estimate_latency_s(macs, profiles[d], efficiency) for d in ids])
    order = np.argsort(t, kind="stable")
    return [ids[k] for k in order if t[k] <= target_s]
""",
    },
}


def test_the_solution_writes_nothing_to_stderr(solution_run):
    """nbgrader fails a test cell with any stderr output; the solution's cells write none at all."""
    noisy = {
        cell.id
        for cell in solution_run.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.output_type == "stream" and out.name == "stderr"
    }
    assert noisy == set()
