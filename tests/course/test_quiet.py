"""Tests for course.quiet: a lab's TensorFlow work writes nothing to stderr.

nbgrader fails a test cell that writes anything to stderr, so these tests
demand an exactly empty stderr. The TensorFlow checks run in fresh
interpreters, independent of whatever this process has already imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from course.quiet import configure, silenced_stderr

# Work a lab does: create tensors, then read part of a cached tf.data pipeline
# (a partially read cache makes TensorFlow's C++ runtime warn).
TF_WORK = """
x = tf.constant(1) + 1
ds = tf.data.Dataset.range(100).map(lambda v: v * 2).cache()
for i, v in enumerate(ds):
    if i == 3:
        break
print("done", int(x))
"""


def _run(setup: str) -> subprocess.CompletedProcess:
    # "0" is TensorFlow's most verbose level: `import course` must override it.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    script = textwrap.dedent(setup) + TF_WORK
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)


def test_course_tensorflow_writes_nothing_to_stderr():
    result = _run("import course\ntf = course.import_tensorflow()\n")
    assert result.returncode == 0, result.stderr
    assert "done 2" in result.stdout
    assert result.stderr == "", f"stderr was not empty:\n{result.stderr}"


def test_control_plain_tensorflow_is_noisy():
    """The same work without the course library does write to stderr, so the test above can fail."""
    result = _run("import tensorflow as tf\n")
    assert result.returncode == 0, result.stderr
    if result.stderr == "":
        pytest.skip("control: this TensorFlow build writes nothing to stderr even without course.quiet")


def test_silenced_stderr_swallows_fd2_writes_only_inside(capfd):
    with silenced_stderr():
        os.write(2, b"inside\n")  # as a C++ library writes: straight to the descriptor
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert "inside" not in err
    assert err == "after\n"


def test_silenced_stderr_restores_fd2_after_an_exception(capfd):
    with pytest.raises(RuntimeError), silenced_stderr():
        raise RuntimeError("boom")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_configure_overrides_a_verbose_log_level(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    configure()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
