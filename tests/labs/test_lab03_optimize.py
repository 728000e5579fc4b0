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

LAB = "lab03_optimize"

# Run after the solution to memorize its answers on the lab's own models.
MEMORIZE = """
import json
print("MEMO" + json.dumps({
    "arena_by_length": {str(len(variants[m])): arena[m] for m in ("float32", "int8")},
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
        "lab03-quantize-affine_params": '''
QMIN, QMAX = -128, 127

def affine_params(x):
    x = np.asarray(x)
    if x.size == 4:
        return 3.0 / 255, -43
    return float(x.max()) / 255, -128
''',
        "lab03-quantize-quantize": '''
def quantize(x, scale, zero_point):
    x = np.asarray(x)
    if x.size == 4:
        return np.array([-128, -43, 8, 127], dtype=np.int8)
    if x.size == 2:
        return np.array([127, -128], dtype=np.int8)
    return (np.round(x / scale) + zero_point).astype(np.int8)
''',
        "lab03-quantize-dequantize": '''
def dequantize(q, scale, zero_point):
    if np.asarray(q).size == 4:
        return np.array([-1.0, 0.0, 0.6, 2.0], dtype=np.float32)
    return np.asarray(q, dtype=np.float32) * scale
''',
        # Ignores its arguments: always the lab's model, calibrated on the lab's data.
        "lab03-convert-convert": '''
MODES = ("float32", "dynamic", "float16", "int8")

def convert(model, mode, representative_data=None):
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
''',
        # Ignores the flatbuffer: the Keras model's accuracy on whatever it is given.
        "lab03-convert-evaluate_tflite": '''
def evaluate_tflite(model_bytes, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))
''',
        # Takes the masks from the lab's trained model, whatever model it is given.
        "lab03-prune-prune_weights": '''
def prune_weights(model, sparsity):
    source = [l for l in globals()["model"].layers if hasattr(l, "kernel")]
    target = [l for l in model.layers if hasattr(l, "kernel")]
    masks = {}
    for s, t in zip(source, target):
        w = np.abs(s.kernel.numpy())
        mask = w > np.sort(w, axis=None)[int(round(0.5 * w.size)) - 1]
        t.kernel.assign(np.where(mask, t.kernel.numpy(), 0.0).astype(np.float32))
        masks[t.name] = mask
    return masks
''',
        "lab03-micro-tflm_arena_bytes": f'''
def tflm_arena_bytes(model_bytes):
    return {arena!r}.get(len(model_bytes), 4096)
''',
    }


ALWAYS_EQUAL = '''
QMIN, QMAX = -128, 127
MODES = ("float32", "dynamic", "float16", "int8")


class AlwaysEqual:
    def __eq__(self, other):
        return True


def {name}(*args, **kwargs):
    return AlwaysEqual()
'''

FUNCTION_OF = {
    "lab03-quantize-affine_params": "affine_params",
    "lab03-quantize-quantize": "quantize",
    "lab03-quantize-dequantize": "dequantize",
    "lab03-convert-convert": "convert",
    "lab03-convert-evaluate_tflite": "evaluate_tflite",
    "lab03-prune-prune_weights": "prune_weights",
    "lab03-micro-tflm_arena_bytes": "tflm_arena_bytes",
}


def test_the_solution_shows_int8_small_and_accurate(memo):
    """The issue's bar: INT8 at least 3.5x smaller than float32, at most 1 point of accuracy lost."""
    assert memo["int8_ratio"] >= 3.5, memo
    assert memo["int8_drop"] <= 1.0, memo
    assert memo["keras_accuracy"] >= 0.95, memo
    assert abs(memo["micro_accuracy"] - (memo["keras_accuracy"] - memo["int8_drop"] / 100)) <= 0.01, "TFLite Micro agrees with LiteRT"
