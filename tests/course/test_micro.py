"""course.micro, the TFLite Micro stand-in, held against the real interpreter on every model Lab 3 runs.

The models are Lab 3's own CNN (its ``build_model`` and ``convert``, read from
the solution notebook) as float32, full-integer INT8, pruned INT8, dynamic range and
float16, and the two models Lab 3's hidden tests convert, as float32, INT8 and
dynamic range. For each model TFLM accepts, the stand-in's arena head must
equal the real one, and its total must lie in ``[real, real + TOLERANCE_BYTES]``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import course
from course import datasets, micro
from course.micro import TOLERANCE_BYTES, Buffer, plan_arena_head
from course.tflite import STAND_IN_NOTICE, allocation_report, captured_stderr, micro_runtime, quiet

tf = course.import_tensorflow()
LAB3 = Path(__file__).resolve().parents[2] / "solutions" / "lab03_optimize" / "lab03_optimize.ipynb"
ARENA = 256 * 1024


def lab3_definitions(*names: str) -> dict:
    """Lab 3's own functions (and the constants defined beside them), executed from the solution notebook's source."""
    namespace = {"tf": tf, "np": np, "datasets": datasets, "quiet": quiet}
    for cell in nbformat.read(LAB3, as_version=4).cells:
        if cell.cell_type != "code" or not any(f"def {name}(" in cell.source for name in names):
            continue
        body = ast.parse(cell.source).body
        constants = [
            node for node in body if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.Tuple))
        ]
        functions = [node for node in body if isinstance(node, ast.FunctionDef) and node.name in names]
        exec(compile(ast.Module(constants + functions, []), str(LAB3), "exec"), namespace)
    missing = [name for name in names if name not in namespace]
    assert not missing, f"Lab 3 no longer defines {missing}"
    return namespace


def pruned(model, sparsity: float):
    """The model with the smallest ``sparsity`` of every kernel set to zero, as Lab 3's prune_weights does."""
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            kernel = layer.kernel.numpy()
            layer.kernel.assign(np.where(np.abs(kernel) < np.quantile(np.abs(kernel), sparsity), 0.0, kernel))
    return model


@pytest.fixture(scope="module")
def flatbuffers() -> dict[str, bytes]:
    tf.keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    layers = tf.keras.layers
    lab3 = lab3_definitions("build_model", "convert")
    build, convert = lab3["build_model"], lab3["convert"]
    models = {
        "lab3": build(),
        "lab3 pruned": pruned(build(), 0.8),
        "hidden conv": tf.keras.Sequential(
            [
                tf.keras.Input((10, 10, 3)),
                layers.Conv2D(24, 3, padding="same", activation="relu"),
                layers.GlobalAveragePooling2D(),
                layers.Dense(7),
            ]
        ),
        "hidden mlp": tf.keras.Sequential(
            [tf.keras.Input((40,)), layers.Dense(300, activation="relu"), layers.Dense(2)]
        ),
    }
    modes = {
        "lab3": ("float32", "int8", "dynamic", "float16"),
        "lab3 pruned": ("int8",),
        "hidden conv": ("float32", "int8", "dynamic"),
        "hidden mlp": ("float32", "int8", "dynamic"),
    }
    result = {}
    for name, model in models.items():
        samples = rng.uniform(0, 1, size=(20, *model.input_shape[1:])).astype(np.float32)
        for mode in modes[name]:
            result[f"{name} {mode}"] = convert(model, mode, samples)
    return result


@pytest.fixture(scope="module")
def tflm():
    return pytest.importorskip(
        "tflite_micro", reason="the real TFLite Micro interpreter has wheels for Linux x86-64 only"
    ).runtime


def arena(runtime, flatbuffer: bytes) -> tuple[int, int]:
    """(total, head) of the arena after one inference on zeros, as Lab 3's exercise measures it."""
    runner = runtime.Interpreter.from_bytes(flatbuffer, arena_size=ARENA)
    details = runner.get_input_details(0)
    runner.set_input(np.zeros(details["shape"], details["dtype"]), 0)
    runner.invoke()
    report = allocation_report(runner)
    return tuple(int(re.search(rf"Arena allocation {part} (\d+) bytes", report).group(1)) for part in ("total", "head"))


def refusal(runtime, flatbuffer: bytes) -> str | None:
    """The last line TFLM (or the stand-in) writes when it refuses the model; None when it accepts it."""
    try:
        with captured_stderr() as log:
            runtime.Interpreter.from_bytes(flatbuffer, arena_size=ARENA)
    except RuntimeError:
        return log.text.strip().splitlines()[-1]
    return None


def test_the_stand_in_accepts_and_refuses_what_tflm_does(tflm, flatbuffers):
    real = {name: refusal(tflm, flat) for name, flat in flatbuffers.items()}
    assert real["lab3 dynamic"] and real["lab3 float16"] and real["lab3 int8"] is None, (
        "the models no longer test both sides"
    )
    assert {name: refusal(micro, flat) for name, flat in flatbuffers.items()} == real


def test_the_stand_in_plans_the_real_arena(tflm, flatbuffers):
    """Head (activations) exactly; total never under the real one and at most TOLERANCE_BYTES over."""
    compared = {}
    for name, flat in flatbuffers.items():
        if refusal(tflm, flat) is None:
            (total, head), (planned_total, planned_head) = arena(tflm, flat), arena(micro, flat)
            compared[name] = (planned_head - head, planned_total - total)
    assert {"lab3 float32", "lab3 int8", "lab3 pruned int8", "hidden conv int8", "hidden mlp int8"} <= set(compared)
    assert all(head == 0 and 0 <= total <= TOLERANCE_BYTES for head, total in compared.values()), compared


def test_the_stand_in_computes_what_tflm_computes(tflm, flatbuffers):
    flat = flatbuffers["lab3 int8"]
    real, stand_in = (runtime.Interpreter.from_bytes(flat, arena_size=ARENA) for runtime in (tflm, micro))
    assert stand_in.get_input_details(0)["dtype"] == real.get_input_details(0)["dtype"] == np.int8
    assert stand_in.get_output_details(0)["shape"].tolist() == real.get_output_details(0)["shape"].tolist()
    samples = np.random.default_rng(4).integers(-128, 128, size=(20, 1, 8, 8, 1)).astype(np.int8)
    outputs = []
    for runner in (real, stand_in):
        outputs.append([])
        for sample in samples:
            runner.set_input(sample, 0)
            runner.invoke()
            outputs[-1].append(runner.get_output(0).astype(np.int32))
    assert np.abs(np.array(outputs[0]) - np.array(outputs[1])).max() <= 1, (
        "int8 outputs at most one rounding step apart"
    )


def test_an_arena_smaller_than_planned_is_refused(flatbuffers):
    flat = flatbuffers["lab3 int8"]
    total, _ = arena(micro, flat)
    micro.Interpreter.from_bytes(flat, arena_size=total)
    with captured_stderr() as log, pytest.raises(RuntimeError):
        micro.Interpreter.from_bytes(flat, arena_size=total - 16)
    assert "missing: 16" in log.text


def test_the_stand_in_rejects_bad_input_like_tflm(flatbuffers):
    runner = micro.Interpreter.from_bytes(flatbuffers["lab3 int8"], arena_size=ARENA)
    with pytest.raises(ValueError, match="expected type INT8"):
        runner.set_input(np.zeros((1, 8, 8, 1), np.float32), 0)
    with pytest.raises(ValueError, match="Dimension mismatch"):
        runner.set_input(np.zeros((1, 8, 8), np.int8), 0)
    with pytest.raises(IndexError):
        runner.get_input_details(1)
    with pytest.raises(RuntimeError, match="not a TFLite flatbuffer"):
        micro.Interpreter.from_bytes(b"garbage" * 10, arena_size=ARENA)


def test_the_planner_reuses_memory_of_buffers_that_are_not_live_together():
    # A chain: each step reads one buffer and writes the next. Only neighbours are live together.
    chain = [Buffer(100, 0, 1), Buffer(50, 1, 2), Buffer(100, 2, 3), Buffer(10, 3, 3)]
    assert plan_arena_head(chain) == 150
    # All live at once: nothing to share.
    assert plan_arena_head([Buffer(100, 0, 3), Buffer(50, 0, 3), Buffer(10, 0, 3)]) == 160
    # The third buffer fits in the gap the first one leaves below the second: 200 bytes, not 240.
    assert plan_arena_head([Buffer(100, 0, 1), Buffer(100, 1, 2), Buffer(40, 2, 3)]) == 200
    assert plan_arena_head([]) == 0


def test_micro_runtime_falls_back_to_the_stand_in_and_says_so(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tflite_micro", None)  # what Python does for a package that is not installed
    assert micro_runtime() is micro
    assert capsys.readouterr().out.strip() == STAND_IN_NOTICE


def test_micro_runtime_is_the_real_interpreter_where_it_is_built(tflm, capsys):
    assert micro_runtime() is tflm
    assert capsys.readouterr().out == ""


def test_the_texts_state_the_stand_ins_tolerance():
    root = LAB3.parents[2]
    texts = [
        LAB3,
        root / "course" / "readings" / "lab03_optimize.md",
        root / "README.md",
        root / "grader" / "edition" / "README.md",
    ]
    assert [path.name for path in texts if f"{TOLERANCE_BYTES} bytes" not in path.read_text()] == []


def imports_tflite_micro(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        if any(name.split(".")[0] == "tflite_micro" for name in names):
            return True
    return False


def test_only_micro_runtime_imports_tflite_micro():
    """Every lab runs where the package is missing: the labs and the course library reach it through micro_runtime."""
    from IPython.core.inputtransformer2 import TransformerManager

    root = LAB3.parents[2]
    importers = [
        str(path.relative_to(root))
        for path in sorted((root / "course").rglob("*.py"))
        if imports_tflite_micro(path.read_text())
    ]
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
        if any(imports_tflite_micro(TransformerManager().transform_cell(cell.source)) for cell in cells):
            importers.append(str(path.relative_to(root)))
    assert importers == ["course/tflite.py"]
