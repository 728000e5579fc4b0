"""Tests for course.tflite: LiteRT and TensorFlow Lite Micro helpers that keep graded cells quiet.

The conversions and interpreters run in fresh Python processes, so that what
reaches the real stderr (file descriptor 2) can be checked exactly, and in
this process for the values the helpers return.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import course
from course.tflite import allocation_report, captured_stderr, interpreter, quiet, weight_bytes

tf = course.import_tensorflow()


@pytest.fixture(scope="module")
def tiny() -> tuple:
    """A small Keras model with non-zero biases, and its float32 and int8 flatbuffers."""
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential(
        [tf.keras.Input((4,)), tf.keras.layers.Dense(8, activation="relu"), tf.keras.layers.Dense(3)]
    )
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    samples = rng.normal(size=(32, 4)).astype(np.float32)

    def convert(int8: bool) -> bytes:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if int8:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([samples[i : i + 1]] for i in range(len(samples)))
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        with quiet():
            return converter.convert()

    return model, convert(False), convert(True)


def test_weight_bytes_counts_the_constants_by_type(tiny):
    model, float32, int8 = tiny
    assert weight_bytes(float32) == {"float32": 4 * model.count_params()}
    kernels = 4 * 8 + 8 * 3
    biases = 8 + 3
    assert weight_bytes(int8) == {"int8": kernels, "int32": 4 * biases}


def test_interpreter_is_ready_and_reports_its_types(tiny, capfd):
    model, float32, int8 = tiny
    capfd.readouterr()
    runner = interpreter(float32)
    assert capfd.readouterr().err == "", "creating and allocating must write nothing to stderr"
    x = np.ones((1, 4), dtype=np.float32)
    runner.set_tensor(runner.get_input_details()[0]["index"], x)
    runner.invoke()
    np.testing.assert_allclose(runner.get_tensor(runner.get_output_details()[0]["index"]), model(x).numpy(), rtol=1e-5)
    assert interpreter(int8).get_input_details()[0]["dtype"] == np.int8


def test_captured_stderr_returns_what_cpp_code_wrote(capfd):
    capfd.readouterr()
    with captured_stderr() as log:
        import os

        os.write(2, b"from C++\n")
    assert log.text == "from C++\n"
    assert capfd.readouterr().err == ""


def test_allocation_report_gives_the_arena_total(tiny):
    from tflite_micro import runtime

    micro = runtime.Interpreter.from_bytes(tiny[2], arena_size=64 * 1024)
    micro.set_input(np.zeros((1, 4), dtype=np.int8), 0)
    micro.invoke()
    report = allocation_report(micro)
    assert "Arena allocation total" in report
    total = int(report.split("Arena allocation total", 1)[1].split()[0])
    assert 0 < total < 64 * 1024


QUIET_WORK = """
import course
tf = course.import_tensorflow()
import numpy as np
from course.tflite import interpreter, quiet
model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
with quiet():
    flat = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    print("hidden")
runner = interpreter(flat)
runner.invoke()
print("done", len(flat) > 0)
"""


def test_conversion_and_interpreter_are_silent_in_a_fresh_process():
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(QUIET_WORK)], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done True", result.stdout
    assert result.stderr == "", f"stderr was not empty:\n{result.stderr}"


def test_quiet_holds_the_tensorflow_logger_at_error_and_restores_it():
    import logging

    logger = logging.getLogger("tensorflow")
    before = logger.level
    with quiet():
        assert logger.level == logging.ERROR
        logger.info("not shown")
    assert logger.level == before
