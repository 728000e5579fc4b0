"""Quiet TensorFlow, so that a lab's test cells write nothing to stderr.

nbgrader scores a test cell with *any* stderr output as failed, so a noisy
library is a grading bug. Two sources of noise need two different cures:

* TensorFlow's C++ runtime honours ``TF_CPP_MIN_LOG_LEVEL`` -- but only if it
  is set before TensorFlow loads (:func:`configure`, run by ``import course``);
* TensorFlow 2.21 prints its start-up banner (oneDNN, CUDA probing) through
  absl before absl's logging is initialised, which ignores every log level
  (tensorflow/tensorflow#100442). :func:`import_tensorflow` imports it with
  the process's stderr file descriptor pointed at /dev/null for that moment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from types import ModuleType

#: 3 = only FATAL. Errors surface as Python exceptions, which nbgrader shows.
TF_LOG_LEVEL = "3"


def configure() -> None:
    """Set TensorFlow's log level and silence library warnings that labs cannot act on."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = TF_LOG_LEVEL
    for module in ("tensorflow", "keras", "absl", "tflite_micro", "ai_edge_litert"):
        warnings.filterwarnings("ignore", module=module)


@contextlib.contextmanager
def stderr_to(fileno: int) -> Iterator[None]:
    """Point file descriptor 2 at another open file, catching C/C++ writes that bypass ``sys.stderr``."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(fileno, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration."""
    with open(os.devnull, "wb") as devnull, stderr_to(devnull.fileno()):
        yield


def import_tensorflow() -> ModuleType:
    """Import TensorFlow without its start-up banner and return the module.

    An import that fails still raises its Python exception, with its message.
    """
    configure()
    with silenced_stderr():
        import tensorflow as tf
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
    # In a notebook TensorFlow's own logger starts at INFO ("Assets written to ..." on every conversion,
    # on stderr too); it configures itself on first use, so use it once, then raise its level.
    tf.get_logger().setLevel(logging.ERROR)
    return tf
