"""LiteRT (TensorFlow Lite) and TensorFlow Lite Micro, quiet enough for graded cells.

The TFLite converter prints the SavedModel it exports (Python stdout) and its
C++ calibration logs (file descriptor 2); LiteRT's interpreter announces its
XNNPACK delegate on stderr; TensorFlow Lite Micro writes its allocation report
to stderr and nowhere else. nbgrader scores a test cell with any stderr output
as failed, so the labs go through these few helpers:

- :func:`quiet` -- a context manager for conversions, interpreter set-up and student code under test;
- :func:`interpreter` -- a LiteRT interpreter, created and allocated quietly;
- :func:`weight_bytes` -- the bytes of constant tensors in a flatbuffer, by type;
- :func:`captured_stderr` -- what C++ code wrote to stderr, as a string;
- :func:`allocation_report` -- TFLite Micro's arena report as a string;
- :func:`micro_runtime` -- TFLite Micro's interpreter, or :mod:`course.micro` where it is not built.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import tempfile
import warnings
from collections.abc import Iterator
from types import ModuleType

from course.quiet import silenced_stderr, stderr_to

#: Flatbuffer tensor type codes (tflite schema ``TensorType``) to NumPy dtype names.
TENSOR_TYPE_NAMES = {
    0: "float32",
    1: "float16",
    2: "int32",
    3: "uint8",
    4: "int64",
    6: "bool",
    7: "int16",
    9: "int8",
    10: "float64",
}


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the converter and the interpreters for the duration.

    Covers Python's stdout, stderr and warnings, file descriptor 2 (C++ logs) and the
    ``tensorflow`` logger, which TensorFlow sets to INFO, with its own handler,
    when it runs in a notebook.
    """
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].get_logger()  # TensorFlow configures its logger on first use: let it, then override
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with silenced_stderr(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
    finally:
        logger.setLevel(level)


def interpreter(model_bytes: bytes, num_threads: int = 1):
    """A LiteRT ``Interpreter`` for a flatbuffer, its tensors allocated, without the delegate's INFO line.

    One thread by default, so that timings on a shared laptop are repeatable.
    """
    from ai_edge_litert.interpreter import Interpreter

    with silenced_stderr():
        result = Interpreter(model_content=bytes(model_bytes), num_threads=num_threads)
        result.allocate_tensors()
    return result


def weight_bytes(model_bytes: bytes) -> dict[str, int]:
    """Bytes of the constant tensors (weights, biases) stored in a flatbuffer, by element type.

    Reads the flatbuffer's own tables: a tensor is constant when its buffer holds data.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(bytes(model_bytes), 0)
    totals: dict[str, int] = {}
    seen: set[int] = set()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for t in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(t)
            index = tensor.Buffer()
            if index in seen:
                continue
            buffer = model.Buffers(index)
            size = buffer.DataLength() or buffer.Size()
            if size:
                seen.add(index)
                name = TENSOR_TYPE_NAMES.get(tensor.Type(), f"type{tensor.Type()}")
                totals[name] = totals.get(name, 0) + int(size)
    return totals


class Captured:
    """What a :func:`captured_stderr` block wrote to file descriptor 2; ``text`` is set when the block ends."""

    text: str = ""


@contextlib.contextmanager
def captured_stderr() -> Iterator[Captured]:
    """Capture what C/C++ code writes to file descriptor 2 (TFLite Micro's logs) instead of showing it."""
    captured = Captured()
    with tempfile.TemporaryFile() as sink:
        try:
            with stderr_to(sink.fileno()):
                yield captured
        finally:
            sink.seek(0)
            captured.text = sink.read().decode(errors="replace")


def allocation_report(micro_interpreter) -> str:
    """The text of a TFLite Micro interpreter's ``print_allocations()``, which goes to stderr only.

    Its first line reads ``[RecordingMicroAllocator] Arena allocation total N bytes``.
    """
    with captured_stderr() as report:
        micro_interpreter.print_allocations()
    return report.text


#: What a lab prints, once, when it runs on the stand-in.
STAND_IN_NOTICE = (
    "TFLite Micro's interpreter is built for Linux x86-64 only: this lab uses course.micro, a stand-in "
    "that plans the same arena from the flatbuffer and runs the model in LiteRT (grading uses the real one)."
)


def micro_runtime() -> ModuleType:
    """``tflite_micro.runtime``, or :mod:`course.micro` (same interface) where the package cannot be imported.

    ``tflite-micro`` has wheels for Linux x86-64 only; on any other machine the lab goes on with the
    stand-in and says so in one line.
    """
    try:
        from tflite_micro import runtime
    except ImportError:
        from course import micro

        print(STAND_IN_NOTICE)
        return micro
    return runtime
