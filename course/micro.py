"""A stand-in for TensorFlow Lite Micro's host interpreter, where its wheel does not exist.

``tflite-micro`` publishes wheels for Linux x86-64 only, so on a Mac, on
Windows or on an ARM Linux board Lab 3 would stop at its first cell. This
module offers the same Python interface as ``tflite_micro.runtime`` -- the
part that Lab 3 uses -- so that the student's exercise and its self-check run
everywhere TensorFlow runs. Grading always uses the real interpreter.

What is faithful, and how:

- **The arena's head** (activations and scratch buffers) comes from the same
  memory plan that TFLM's ``GreedyMemoryPlanner`` makes: the lifetimes TFLM's
  ``AllocationInfoBuilder`` gives every tensor without constant data, sizes
  rounded up to 16 bytes, buffers placed largest first into the first gap
  that no simultaneously live buffer uses. It matches the real head exactly on
  every model the course runs.
- **The arena's tail** (the interpreter's bookkeeping) is counted from the
  flatbuffer with the per-tensor, per-operator and per-kernel sizes that the
  real ``RecordingMicroAllocator`` reports (measured on TFLM 2026-10, 64-bit).
  It is an estimate, fitted to err on the safe side: on every model that
  Lab 3 runs, the total is at most :data:`TOLERANCE_BYTES` over the real one
  and never under it, so an arena sized with the stand-in is big enough on
  the device (``tests/course/test_micro.py`` holds it there, on Linux).
- **What TFLM refuses** is refused: hybrid (dynamic-range) kernels and float16
  weights raise ``RuntimeError`` with TFLM's own words on stderr, and so does
  an arena smaller than the model needs.
- **Inference** runs in LiteRT, whose reference kernels compute the same
  int8 arithmetic as TFLM's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from course.tflite import TENSOR_TYPE_NAMES

#: How far the stand-in's arena total may be over the real interpreter's, in bytes (it is never under),
#: on the course's models.
TOLERANCE_BYTES = 48

#: TFLM aligns every planned buffer (``MicroArenaBufferAlignment``) to 16 bytes.
_ALIGNMENT = 16

#: Sizes the real ``RecordingMicroAllocator`` reports, in bytes (64-bit host).
_EVAL_TENSOR = 24  # one TfLiteEvalTensor per tensor of the subgraph
_PERSISTENT_TENSOR = 64  # one TfLiteTensor for each input and output the Python wrapper exposes
_QUANTIZATION = 32  # its quantization parameters, when the tensor is quantized
_NODE = 64  # one NodeAndRegistration per operator
_INTERPRETER = 16  # persistent buffers the interpreter requests for itself,
_INTERPRETER_ALLOCATIONS = 2  # in two allocations
_UNLISTED = 510  # the allocator's own objects, which the report does not list,
_UNLISTED_PER_TENSOR = 10  # its tensor tables,
_UNLISTED_PER_ALLOCATION = 6  # and the alignment between persistent allocations (fitted; see TOLERANCE_BYTES)

#: Persistent op data per kernel (bytes, and bytes per output channel of per-channel arrays), as measured.
_OP_DATA: dict[str, tuple[int, int]] = {
    "CONV_2D": (80, 8),
    "DEPTHWISE_CONV_2D": (80, 8),
    "FULLY_CONNECTED": (72, 8),  # the per-channel arrays only for per-channel quantized weights
    "MAX_POOL_2D": (32, 0),
    "AVERAGE_POOL_2D": (32, 0),
    "MEAN": (44, 0),
    "SOFTMAX": (80, 0),
    "STRIDED_SLICE": (84, 0),
    "SHAPE": (0, 0),
    "PACK": (0, 0),
    "RESHAPE": (0, 0),
}
#: For an operator not measured above: a typical kernel's op data.
_OP_DATA_DEFAULT = (64, 0)

_FLOAT16, _FLOAT32, _INT8 = schema.TensorType.FLOAT16, schema.TensorType.FLOAT32, schema.TensorType.INT8
_WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@dataclass(frozen=True)
class Buffer:
    """One buffer for the memory planner: its size and the operator steps during which it is live."""

    size: int
    first_used: int
    last_used: int


def _aligned(size: int) -> int:
    return -(-size // _ALIGNMENT) * _ALIGNMENT


def plan_arena_head(buffers: list[Buffer]) -> int:
    """Bytes of arena that TFLM's greedy memory planner needs for these buffers.

    Largest first (equal sizes: the later buffer first, as TFLM's sort leaves them); each goes at
    the lowest offset where it overlaps no placed buffer that is live at the same time.
    """
    order = sorted(reversed(range(len(buffers))), key=lambda i: -buffers[i].size)
    placed: list[tuple[int, Buffer]] = []  # (offset, buffer), kept in offset order
    for index in order:
        wanted = buffers[index]
        offset = 0
        for other_offset, other in placed:
            if other.last_used < wanted.first_used or other.first_used > wanted.last_used:
                continue
            if other_offset - offset >= wanted.size:
                break
            offset = max(offset, other_offset + other.size)
        placed.append((offset, wanted))
        placed.sort(key=lambda entry: entry[0])
    return max((offset + buffer.size for offset, buffer in placed), default=0)


class _Graph:
    """What the planner and the accountant need from a flatbuffer's first subgraph."""

    def __init__(self, model_bytes: bytes) -> None:
        try:
            self.model = schema.Model.GetRootAs(model_bytes, 0)
            self.subgraph = self.model.Subgraphs(0)
            names = {code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
            self.ops = [self._operator(names, i) for i in range(self.subgraph.OperatorsLength())]
        except Exception as error:  # noqa: BLE001 -- flatbuffers raises struct.error, IndexError... on bytes that are no model
            raise RuntimeError(f"not a TFLite flatbuffer ({error})") from None
        self.inputs = [int(t) for t in self.subgraph.InputsAsNumpy()]
        self.outputs = [int(t) for t in self.subgraph.OutputsAsNumpy()]

    def _operator(self, names: dict[int, str], index: int) -> tuple[str, list[int], list[int]]:
        op = self.subgraph.Operators(index)
        code = self.model.OperatorCodes(op.OpcodeIndex())
        name = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
        return name, [int(t) for t in op.InputsAsNumpy()], [int(t) for t in op.OutputsAsNumpy()]

    def tensor(self, index: int):
        return self.subgraph.Tensors(index)

    def is_constant(self, index: int) -> bool:
        buffer = self.model.Buffers(self.tensor(index).Buffer())
        return bool(buffer.DataLength() or buffer.Size())

    def nbytes(self, index: int) -> int:
        tensor = self.tensor(index)
        shape = tensor.ShapeAsNumpy() if tensor.ShapeLength() else []
        return int(np.prod(shape, dtype=np.int64)) * np.dtype(TENSOR_TYPE_NAMES.get(tensor.Type(), "int8")).itemsize

    def channels(self, index: int) -> int:
        quantization = self.tensor(index).Quantization()
        return quantization.ScaleLength() if quantization else 0


def _lifetimes(graph: _Graph) -> list[Buffer]:
    """The buffers TFLM plans: every tensor without constant data, live from its producer to its last reader."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(tensor: int, step: int, created: bool) -> None:
        if created:
            first.setdefault(tensor, step)
        last[tensor] = max(last.get(tensor, step), step)

    for tensor in graph.inputs:
        touch(tensor, 0, created=True)
    for step, (_, inputs, outputs) in enumerate(graph.ops, start=1):
        for tensor in outputs:
            touch(tensor, step, created=True)
        for tensor in inputs + outputs:
            if tensor >= 0:
                touch(tensor, step, created=False)
    for tensor in graph.outputs:
        touch(tensor, len(graph.ops), created=True)
        touch(tensor, len(graph.ops), created=False)
    return [
        Buffer(_aligned(graph.nbytes(t)), first[t], last[t])
        for t in sorted(first)
        if not graph.is_constant(t) and not graph.tensor(t).IsVariable()
    ]


def _scratch(graph: _Graph) -> list[Buffer]:
    """Scratch buffers the reference kernels request for one operator step (MEAN keeps index arrays and sums)."""
    scratch = []
    for step, (name, inputs, outputs) in enumerate(graph.ops, start=1):
        if name == "MEAN":
            rank = graph.tensor(inputs[0]).ShapeLength()
            axes = max(1, graph.nbytes(inputs[1]) // 4)
            sizes = [4 * rank, 4 * axes]
            if graph.tensor(inputs[0]).Type() != _FLOAT32:
                sizes.append(4 * graph.nbytes(outputs[0]))
            scratch += [Buffer(_aligned(size), step, step) for size in sizes]
    return scratch


def _refusal(graph: _Graph) -> str | None:
    """What TFLM writes to stderr when it refuses this model at prepare time, or None if it accepts it."""
    for number, (name, inputs, _) in enumerate(graph.ops):
        types = [graph.tensor(t).Type() for t in inputs if t >= 0]
        hybrid = name in _WEIGHTED and types[:2] == [_FLOAT32, _INT8]  # float activations, int8 weights
        if hybrid and name == "FULLY_CONNECTED":
            why = "Input type: FLOAT32 with filter type: INT8 not supported."
        elif hybrid:
            why = "Hybrid models are not supported on TFLite Micro."
        elif name == "DEQUANTIZE" and types and types[0] == _FLOAT16:
            why = (
                "input->type == kTfLiteInt8 || input->type == kTfLiteInt16 || input->type == kTfLiteUInt8 was not true."
            )
        else:
            continue
        return f"{why}\nNode {name} (number {number}) failed to prepare with status 1\n"
    return None


def _output_channels(graph: _Graph, name: str, inputs: list[int]) -> int:
    """Output channels for which a kernel keeps per-channel multipliers and shifts (float convolutions too)."""
    if name not in _WEIGHTED or len(inputs) < 2:
        return 0
    shape = graph.tensor(inputs[1]).ShapeAsNumpy()
    if name == "FULLY_CONNECTED":
        return int(shape[0]) if graph.channels(inputs[1]) > 1 else 0
    return int(shape[-1] if name == "DEPTHWISE_CONV_2D" else shape[0])


def _tail(graph: _Graph) -> dict[str, int]:
    """The arena's tail, by the categories of TFLM's allocation report.

    A kernel's persistent buffers are its op data (one allocation) and, for each output channel, a
    multiplier and a shift (two allocations); what the report leaves unlisted grows with the tensors
    and with the number of allocations, whose alignment it absorbs.
    """
    io = graph.inputs + graph.outputs
    op_data, allocations = _INTERPRETER, _INTERPRETER_ALLOCATIONS
    for name, inputs, _ in graph.ops:
        fixed, per_channel = _OP_DATA.get(name, _OP_DATA_DEFAULT)
        channels = _output_channels(graph, name, inputs)
        op_data += fixed + per_channel * channels
        allocations += (fixed > 0) + 2 * (channels > 0)
    tensors = graph.subgraph.TensorsLength()
    tail = {
        "TfLiteEvalTensor data": _EVAL_TENSOR * tensors,
        "Persistent TfLiteTensor data": _PERSISTENT_TENSOR * len(io),
        "Persistent TfLiteTensor quantization data": _QUANTIZATION * sum(graph.channels(t) > 0 for t in io),
        "Persistent buffer data": _aligned(op_data),
        "NodeAndRegistration struct": _NODE * len(graph.ops),
    }
    unlisted = _UNLISTED + _UNLISTED_PER_TENSOR * tensors + _UNLISTED_PER_ALLOCATION * allocations
    tail["unlisted"] = _aligned(sum(tail.values()) + unlisted) - sum(tail.values())  # the tail ends 16-byte aligned
    return tail


def _write_stderr(text: str) -> None:
    """Write where TFLM's C++ writes: file descriptor 2, so that ``course.tflite.captured_stderr`` sees it."""
    os.write(2, text.encode())


class Interpreter:
    """``tflite_micro.runtime.Interpreter``'s interface: the arena planned from the flatbuffer, LiteRT running it."""

    def __init__(self, model_data: bytes, arena_size: int | None = None) -> None:
        if model_data is None:
            raise ValueError("Model must not be None")
        model_data = bytes(model_data)
        graph = _Graph(model_data)
        refusal = _refusal(graph)
        if refusal:
            _write_stderr(refusal)
            raise RuntimeError("TFLM failed to allocate tensors")
        self._head = _aligned(plan_arena_head(_lifetimes(graph) + _scratch(graph)))
        self._tail = _tail(graph)
        total = self._head + sum(self._tail.values())
        arena_size = len(model_data) * 10 if arena_size is None else int(arena_size)
        if arena_size < total:
            _write_stderr(
                f"Failed to resize buffer. Requested: {self._head}, "
                f"available {max(0, arena_size - total + self._head)}, missing: {total - arena_size}\n"
            )
            raise RuntimeError("TFLM failed to allocate tensors")
        from course.tflite import interpreter

        self._lite = interpreter(model_data)
        self._inputs = self._lite.get_input_details()
        self._outputs = self._lite.get_output_details()

    @classmethod
    def from_bytes(
        cls,
        model_data: bytes,
        custom_op_registerers=None,
        arena_size: int | None = None,
        intrepreter_config=None,
        alt_decompression_memory_size: int = 0,
    ) -> Interpreter:
        """Like TFLM's: an interpreter for a flatbuffer in memory, with an arena of ``arena_size`` bytes.

        The other arguments are accepted for TFLM's signature (its spelling included) and change nothing here.
        """
        return cls(model_data, arena_size)

    @classmethod
    def from_file(
        cls,
        model_path: str | os.PathLike,
        custom_op_registerers=None,
        arena_size: int | None = None,
        intrepreter_config=None,
        alt_decompression_memory_size: int = 0,
    ) -> Interpreter:
        """Like TFLM's: an interpreter for a ``.tflite`` file."""
        if model_path is None or not os.path.isfile(model_path):
            raise ValueError("Invalid model file path")
        return cls(Path(model_path).read_bytes(), arena_size)

    @staticmethod
    def _details(details: list[dict], index: int) -> dict:
        if not 0 <= index < len(details):
            raise IndexError("Tensor is out of bound, please check tensor index.")
        detail = details[index]
        scales, zero_points = (
            detail["quantization_parameters"]["scales"],
            detail["quantization_parameters"]["zero_points"],
        )
        return {
            "dtype": detail["dtype"],
            "shape": detail["shape"].copy(),
            "quantization_parameters": {
                "scales": scales.copy(),
                "zero_points": zero_points.copy(),
                "quantized_dimension": detail["quantization_parameters"]["quantized_dimension"],
            },
        }

    def get_input_details(self, index: int) -> dict:
        """``dtype``, ``shape`` and ``quantization_parameters`` of input ``index``."""
        return self._details(self._inputs, index)

    def get_output_details(self, index: int) -> dict:
        """``dtype``, ``shape`` and ``quantization_parameters`` of output ``index``."""
        return self._details(self._outputs, index)

    def set_input(self, input_data, index: int) -> None:
        """Copy ``input_data`` (a NumPy array of the input's dtype and shape) into input ``index``."""
        if input_data is None:
            raise ValueError("Input data must not be None")
        if index is None or index < 0:
            raise ValueError("Index must be a non-negative integer")
        detail = self._details(self._inputs, index)
        data = np.asarray(input_data)
        if data.dtype != detail["dtype"]:
            raise ValueError(
                f"Cannot set tensor: Got value of type {data.dtype.name.upper()} "
                f"but expected type {np.dtype(detail['dtype']).name.upper()} for input {index}"
            )
        if data.ndim != len(detail["shape"]) or tuple(data.shape) != tuple(detail["shape"]):
            raise ValueError(
                f"Cannot set tensor: Dimension mismatch. Got {tuple(data.shape)} "
                f"but expected {tuple(detail['shape'])} for input {index}"
            )
        self._lite.set_tensor(self._inputs[index]["index"], data)

    def invoke(self) -> int:
        """Run one inference; 0, TFLM's ``kTfLiteOk``."""
        self._lite.invoke()
        return 0

    def get_output(self, index: int) -> np.ndarray:
        """Output ``index`` of the last ``invoke()``, as a new NumPy array."""
        if index is None or index < 0:
            raise ValueError("Index must be a non-negative integer")
        self._details(self._outputs, index)
        return self._lite.get_tensor(self._outputs[index]["index"]).copy()

    def reset(self) -> int:
        """Nothing to reset: the stand-in keeps no state between inferences (TFLM's is for stateful models)."""
        return 0

    def print_allocations(self) -> None:
        """Write the arena report to stderr, in the real ``RecordingMicroAllocator``'s format, marked as planned."""
        tail = sum(self._tail.values())
        lines = [
            f"Arena allocation total {self._head + tail} bytes",
            f"Arena allocation head {self._head} bytes",
            f"Arena allocation tail {tail} bytes",
        ]
        lines += [f"'{name}' used {size} bytes" for name, size in self._tail.items() if size and name != "unlisted"]
        report = "".join(f"[RecordingMicroAllocator] {line}\n" for line in lines)
        _write_stderr(
            report + "[course.micro] planned from the flatbuffer by the stand-in, not measured by TFLite Micro\n"
        )
