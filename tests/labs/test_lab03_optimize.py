"""Lab 3 is graded right by the real nbgrader: full marks for the solution, none for
the released notebook, and none for cheats that pass every visible self-check.

Two kinds of cheat: *hard-coded* answers (values memorized from the lab's own
run, branches for the visible examples, or functions that ignore their inputs
and work on the lab's own model), and an object whose ``__eq__`` always
returns True. The solution must also show what the issue asks of the lab:
INT8 at least 3.5x smaller than float32 with at most one point of accuracy lost.
"""

from __future__ import annotations

from grading_proof import *  # noqa: F403 - the proof every lab owes: its fixtures and six tests
from harness import errors, execute, grade_id, printed_json
from nbformat.v4 import new_code_cell

from course.micro import TOLERANCE_BYTES
from course.tflite import STAND_IN_NOTICE

LAB = "lab03_optimize"

# Run after the solution to memorize its answers on the lab's own models.
MEMORIZE = """
import json
print("MEMO" + json.dumps({
    "arena_by_length": {str(len(variants[m])): arena[m] for m in ("float32", "int8")},
    "arena": arena,
    "int8_ratio": float(int8_ratio),
    "int8_drop": float(int8_drop),
    "keras_accuracy": keras_accuracy,
    "micro_accuracy": micro_accuracy,
}))
"""


def hard_coded_answers(memo: dict) -> dict[str, str]:
    """Answers that reproduce the lab's visible results without computing them in general."""
    arena = {int(k): v for k, v in memo["arena_by_length"].items()}
    return {
        # Branches for the two visible examples.
        "lab03-quantize-affine_params": """
QMIN, QMAX = -128, 127

def affine_params(x):
    x = np.asarray(x)
    if x.size == 4:
        return 3.0 / 255, -43
    if not x.any():
        return 1.0, 0
    if x.min() < 0:
        return 2.0 / 255, -64
    return float(x.max()) / 255, -128
""",
        "lab03-quantize-quantize": """
def quantize(x, scale, zero_point):
    x = np.asarray(x)
    if x.size == 4:
        return np.array([-128, -43, 8, 127], dtype=np.int8)
    if x.size == 2:
        return np.array([127, -128], dtype=np.int8)
    if x.shape == (2, 3):
        return np.array([[13, -17, 33], [8, -128, 103]], dtype=np.int8)
    return (np.round(x / scale) + zero_point).astype(np.int8)
""",
        "lab03-quantize-dequantize": """
def dequantize(q, scale, zero_point):
    if np.asarray(q).size == 4:
        return np.array([-1.0, 0.0, 0.6, 2.0], dtype=np.float32)
    if np.asarray(q).shape == (2, 3):
        return np.array([[-5.0, 0.0, 58.5], [-69.0, -5.5, 5.0]], dtype=np.float32)
    return np.asarray(q, dtype=np.float32) * scale
""",
        # Ignores its arguments: always the lab's model, calibrated on the lab's data.
        "lab03-convert-convert": """
MODES = ("float32", "dynamic", "float16", "int8")

def convert(model, mode, representative_data=None):
    if mode not in MODES:
        raise ValueError(mode)
    converter = tf.lite.TFLiteConverter.from_keras_model(globals()["model"])
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        converter.representative_dataset = lambda: ([x_rep[i:i + 1]] for i in range(len(x_rep)))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with quiet():
        return bytes(converter.convert())
""",
        # Ignores the flatbuffer: the Keras model's accuracy on whatever it is given.
        "lab03-convert-evaluate_tflite": """
def evaluate_tflite(model_bytes, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))
""",
        # Takes the masks from the lab's trained model, whatever model it is given; branches for the visible edge cases.
        "lab03-prune-prune_weights": """
def prune_weights(model, sparsity):
    if sparsity > 1:
        raise ValueError(sparsity)
    target = [l for l in model.layers if hasattr(l, "kernel")]
    if sparsity == 0:
        return {t.name: np.ones(t.kernel.shape, dtype=bool) for t in target}
    source = [l for l in globals()["model"].layers if hasattr(l, "kernel")]
    masks = {}
    for s, t in zip(source, target):
        w = np.abs(s.kernel.numpy())
        mask = w > np.sort(w, axis=None)[int(round(0.5 * w.size)) - 1]
        t.kernel.assign(np.where(mask, t.kernel.numpy(), 0.0).astype(np.float32))
        masks[t.name] = mask
    return masks
""",
        "lab03-micro-tflm_arena_bytes": f"""
def tflm_arena_bytes(model_bytes):
    if len(model_bytes) not in {arena!r}:
        raise RuntimeError("not one of the lab's float32 or int8 flatbuffers")
    return {arena!r}[len(model_bytes)]
""",
    }


ALWAYS_EQUAL = """
QMIN, QMAX = -128, 127
MODES = ("float32", "dynamic", "float16", "int8")


class AlwaysEqual:
    def __eq__(self, other):
        return True


def {name}(*args, **kwargs):
    return AlwaysEqual()
"""

FUNCTION_OF = {
    "lab03-quantize-affine_params": "affine_params",
    "lab03-quantize-quantize": "quantize",
    "lab03-quantize-dequantize": "dequantize",
    "lab03-convert-convert": "convert",
    "lab03-convert-evaluate_tflite": "evaluate_tflite",
    "lab03-prune-prune_weights": "prune_weights",
    "lab03-micro-tflm_arena_bytes": "tflm_arena_bytes",
}


# Two further answers to every exercise, written from the released notebook alone (its text, docstrings and visible
# checks), the way two different students would: "plain" follows the numbered steps literally with loops and no
# conversions the text does not ask for; "vectorized" converts with np.asarray, uses NumPy calls and other library
# routes (tf.data, course.tflite.interpreter, str methods). grading_proof requires full marks for both.
SPEC_FOLLOWING = {
    "plain": {
        # The numbered steps word for word: np.asarray (no dtype, float32 stays float32), x.min(), Python round, if/else clamp.
        "lab03-quantize-affine_params": '''
QMIN, QMAX = -128, 127   # the int8 range


def affine_params(x):
    """(scale: float, zero_point: int) mapping the range of x, stretched to include 0, onto QMIN..QMAX."""
    x = np.asarray(x)
    lo = min(x.min(), 0)
    hi = max(x.max(), 0)
    if hi == lo:
        return (1.0, 0)
    scale = (hi - lo) / (QMAX - QMIN)
    zero_point = QMIN - round(lo / scale)
    if zero_point < QMIN:
        zero_point = QMIN
    if zero_point > QMAX:
        zero_point = QMAX
    return (float(scale), int(zero_point))
''',
        # The literal steps on x as given: float32 stays float32 (no conversion, no float64), one expression per step.
        "lab03-quantize-quantize": '''
def quantize(x, scale, zero_point):
    """x (real values) -> np.int8 array of the same shape: round(x / scale) + zero_point, clipped to QMIN..QMAX."""
    q = np.round(x / scale)
    q = q + zero_point
    q = np.clip(q, QMIN, QMAX)
    return q.astype(np.int8)
''',
        # Casts q with .astype(np.float32) (so q is assumed to be an array), no cast at the end.
        "lab03-quantize-dequantize": '''
def dequantize(q, scale, zero_point):
    """int8 codes -> np.float32 real values: scale * (q - zero_point)."""
    q_float = q.astype(np.float32)
    return scale * (q_float - zero_point)
''',
        # An if/elif chain over the modes; the representative generator loops over indices; ValueError in the final else.
        "lab03-convert-convert": '''
MODES = ("float32", "dynamic", "float16", "int8")


def convert(model, mode, representative_data=None):
    """A Keras model -> a TFLite flatbuffer (bytes): mode is "float32", "dynamic", "float16" or "int8"."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "float32":
        pass
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8":
        def representative_dataset():
            for i in range(len(representative_data)):
                yield [representative_data[i:i + 1]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    else:
        raise ValueError("unknown mode: " + str(mode))
    with quiet():
        flatbuffer = converter.convert()
    return flatbuffer
''',
        # LiteRT's Interpreter made by hand, a counting loop over indices; float inputs are fed exactly as given.
        "lab03-convert-evaluate_tflite": '''
def evaluate_tflite(model_bytes, x, y):
    """Accuracy (float) of a TFLite flatbuffer on samples x with labels y, one sample per invoke."""
    with quiet():
        runner = Interpreter(model_content=model_bytes)
        runner.allocate_tensors()
    input_details = runner.get_input_details()[0]
    output_details = runner.get_output_details()[0]
    correct = 0
    for i in range(len(y)):
        sample = x[i:i + 1]
        if input_details["dtype"] != np.float32:
            scale, zero_point = input_details["quantization"]
            sample = quantize(sample, scale, zero_point).astype(input_details["dtype"])
        runner.set_tensor(input_details["index"], sample)
        runner.invoke()
        output = runner.get_tensor(output_details["index"])[0]
        best = 0
        for j in range(len(output)):
            if output[j] > output[best]:
                best = j
        if best == y[i]:
            correct += 1
    return correct / len(y)
''',
        # The three numbered steps in a loop; the mask built from the argsort positions one index at a time.
        "lab03-prune-prune_weights": '''
def prune_weights(model, sparsity):
    """Zero the smallest-magnitude `sparsity` fraction of every kernel, in place; return {layer name: kept mask}."""
    if sparsity < 0 or sparsity > 1:
        raise ValueError("sparsity must be in [0, 1]")
    masks = {}
    for layer in model.layers:
        if not hasattr(layer, "kernel"):
            continue
        kernel = layer.kernel.numpy()
        k = round(sparsity * kernel.size)
        order = np.argsort(np.abs(kernel).flatten())
        flat_mask = np.ones(kernel.size, dtype=bool)
        for position in order[:k]:
            flat_mask[position] = False
        mask = flat_mask.reshape(kernel.shape)
        layer.kernel.assign(np.where(mask, kernel, 0.0).astype(kernel.dtype))
        masks[layer.name] = mask
    return masks
''',
        # The literal steps, and re.search on the report (the setup cell imports re).
        "lab03-micro-tflm_arena_bytes": '''
def tflm_arena_bytes(model_bytes):
    """Bytes of tensor arena the TFLite Micro interpreter uses for one inference of this flatbuffer (int)."""
    micro = tflm.Interpreter.from_bytes(model_bytes, arena_size=DEVICE.sram_bytes)
    details = micro.get_input_details(0)
    micro.set_input(np.zeros(details["shape"], dtype=details["dtype"]), 0)
    micro.invoke()
    report = allocation_report(micro)
    match = re.search(r"allocation total (\\d+) bytes", report)
    return int(match.group(1))
''',
    },
    "vectorized": {
        # np.asarray in float64 first (lists work too), np.round / np.clip, all-zeros tested with np.any.
        "lab03-quantize-affine_params": '''
QMIN, QMAX = -128, 127   # the int8 range


def affine_params(x):
    """(scale: float, zero_point: int) mapping the range of x, stretched to include 0, onto QMIN..QMAX."""
    values = np.asarray(x, dtype=np.float64)
    if not np.any(values):
        return 1.0, 0
    lo = min(np.min(values), 0.0)
    hi = max(np.max(values), 0.0)
    scale = (hi - lo) / (QMAX - QMIN)
    zero_point = np.clip(QMIN - np.round(lo / scale), QMIN, QMAX)
    return float(scale), int(zero_point)
''',
        # Converts with np.asarray to float64, np.rint instead of np.round, clip and cast in one expression.
        "lab03-quantize-quantize": '''
def quantize(x, scale, zero_point):
    """x (real values) -> np.int8 array of the same shape: round(x / scale) + zero_point, clipped to QMIN..QMAX."""
    values = np.asarray(x, dtype=np.float64)
    codes = np.rint(values / scale) + zero_point
    return np.clip(codes, QMIN, QMAX).astype(np.int8)
''',
        # np.asarray in float64 (lists too), cast to float32 at the very end.
        "lab03-quantize-dequantize": '''
def dequantize(q, scale, zero_point):
    """int8 codes -> np.float32 real values: scale * (q - zero_point)."""
    wide = np.asarray(q, dtype=np.float64)
    return (scale * (wide - zero_point)).astype(np.float32)
''',
        # A table of settings per mode, checked before anything runs; the representative data goes through tf.data.
        "lab03-convert-convert": '''
MODES = ("float32", "dynamic", "float16", "int8")


def convert(model, mode, representative_data=None):
    """A Keras model -> a TFLite flatbuffer (bytes): mode is "float32", "dynamic", "float16" or "int8"."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        samples = tf.data.Dataset.from_tensor_slices(np.asarray(representative_data, dtype=np.float32)).batch(1)
        converter.representative_dataset = lambda: ([batch] for batch in samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with quiet():
        return bytes(converter.convert())
''',
        # course.tflite.interpreter, np.asarray on x and y, every sample cast to the input's dtype, np.argmax and a NumPy mean.
        "lab03-convert-evaluate_tflite": '''
def evaluate_tflite(model_bytes, x, y):
    """Accuracy (float) of a TFLite flatbuffer on samples x with labels y, one sample per invoke."""
    runner = interpreter(model_bytes)
    inp, out = runner.get_input_details()[0], runner.get_output_details()[0]
    samples = np.asarray(x)
    if inp["dtype"] != np.float32:
        samples = quantize(samples, *inp["quantization"])
    samples = samples.astype(inp["dtype"])
    predictions = []
    for sample in samples:
        runner.set_tensor(inp["index"], sample[None])
        runner.invoke()
        predictions.append(np.argmax(runner.get_tensor(out["index"])))
    return float(np.mean(np.array(predictions) == np.asarray(y)))
''',
        # Reads the kernel with np.array(layer.kernel) (Keras 3 warns on stderr), argsort with axis=None, the mask by np.put.
        "lab03-prune-prune_weights": '''
def prune_weights(model, sparsity):
    """Zero the smallest-magnitude `sparsity` fraction of every kernel, in place; return {layer name: kept mask}."""
    if not 0 <= sparsity <= 1:
        raise ValueError(f"sparsity must be within [0, 1], got {sparsity}")
    masks = {}
    for layer in [layer for layer in model.layers if hasattr(layer, "kernel")]:
        kernel = np.array(layer.kernel)
        k = int(round(sparsity * kernel.size))
        smallest = np.argsort(np.abs(kernel), axis=None, kind="stable")[:k]
        mask = np.ones(kernel.shape, dtype=bool)
        np.put(mask, smallest, False)
        layer.kernel.assign(kernel * mask)
        masks[layer.name] = mask
    return masks
''',
        # Reads the report line by line with str methods instead of a regex; raises if the report has no total.
        "lab03-micro-tflm_arena_bytes": '''
def tflm_arena_bytes(model_bytes):
    """Bytes of tensor arena the TFLite Micro interpreter uses for one inference of this flatbuffer (int)."""
    runner = tflm.Interpreter.from_bytes(bytes(model_bytes), arena_size=DEVICE.sram_bytes)
    spec = runner.get_input_details(0)
    runner.set_input(np.zeros(tuple(spec["shape"]), spec["dtype"]), 0)
    runner.invoke()
    for line in allocation_report(runner).splitlines():
        if "Arena allocation total" in line:
            words = line.split()
            return int(words[words.index("bytes") - 1])
    raise RuntimeError("no arena total in the TFLite Micro report")
''',
    },
}


def test_the_solution_shows_int8_small_and_accurate(memo):
    """The issue's bar: INT8 at least 3.5x smaller than float32, at most 1 point of accuracy lost."""
    assert memo["int8_ratio"] >= 3.5, memo
    assert memo["int8_drop"] <= 1.0, memo
    assert memo["keras_accuracy"] >= 0.95, memo
    assert abs(memo["micro_accuracy"] - (memo["keras_accuracy"] - memo["int8_drop"] / 100)) <= 0.01, (
        "TFLite Micro agrees with LiteRT"
    )


def test_the_lab_runs_to_the_end_without_tflite_micro(course, memo, tmp_path):
    """Where ``tflite-micro`` has no wheel (macOS, Windows, ARM), the whole lab, hidden tests included, runs on
    the stand-in, says so once, and measures the real interpreter's arenas within the stand-in's tolerance."""
    notebook = course.source
    notebook.cells.insert(
        0, new_code_cell('import sys\nsys.modules["tflite_micro"] = None   # as where it is not installed')
    )
    notebook.cells.append(new_code_cell(MEMORIZE))
    ran = execute(notebook, tmp_path)
    assert not errors(ran), errors(ran)
    setup = next(cell for cell in ran.cells if grade_id(cell) == "lab03-setup-imports")
    assert "".join(out.get("text", "") for out in setup.outputs).count(STAND_IN_NOTICE) == 1
    stand_in, real = printed_json(ran, "MEMO")["arena"], memo["arena"]
    assert stand_in.keys() == real.keys() == {"float32", "int8", "pruned int8"}
    assert all(0 <= stand_in[mode] - real[mode] <= TOLERANCE_BYTES for mode in real), (stand_in, real)
