"""A two-exercise nbgrader lab without TensorFlow, and the submissions that attack its grading.

The adversarial suite grades these in one run of ``python -m grader autograde``:
grading machinery is what they test, so a kernel that starts in a second keeps
the suite short. Every cheat pairs its tampering with *wrong* answers, so any
point it earns is a point the grader gave away.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import nbformat
from answers import with_answers
from grader_cli import run_grader
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.cells import grade_id
from grader.cli import put_environment_scripts_on_path
from grader.layout import Course
from grader.release import generate

LAB = "tiny"
POINTS = {"tiny-add-tests": 2, "tiny-mean-tests": 3}
FULL = sum(POINTS.values())
REPO = Path(__file__).resolve().parents[2]


def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    nbgrader = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        nbgrader["points"] = points
    return {"nbgrader": nbgrader}


SOURCE_CELLS = [
    new_markdown_cell("# A tiny lab\nTwo small functions, checked by visible and hidden tests."),
    new_code_cell("import numpy as np\nSEED = 7", metadata=_meta("tiny-setup", locked=True)),
    new_code_cell(
        "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
        metadata=_meta("tiny-add", solution=True),
    ),
    new_code_cell(
        'assert type(add(2, 3)) is int, "add must return an int for ints"\n'
        'assert add(2, 3) == 5, "2 + 3 should be 5"\n'
        'print("add: visible checks passed")\n'
        "### BEGIN HIDDEN TESTS\n"
        "rng = np.random.default_rng(SEED)\n"
        "for a, b in rng.integers(-100, 100, size=(20, 2)).tolist():\n"
        "    assert isinstance(add(a, b), int) and add(a, b) == a + b\n"
        "### END HIDDEN TESTS",
        metadata=_meta("tiny-add-tests", grade=True, locked=True, points=POINTS["tiny-add-tests"]),
    ),
    new_code_cell(
        "def mean(xs):\n    ### BEGIN SOLUTION\n    return float(sum(xs)) / len(xs)\n    ### END SOLUTION",
        metadata=_meta("tiny-mean", solution=True),
    ),
    new_code_cell(
        'assert type(mean([1.0, 2.0])) is float, "mean must return a float"\n'
        'np.testing.assert_allclose(mean([1.0, 2.0, 3.0]), 2.0, err_msg="the mean of 1, 2, 3 is 2")\n'
        "### BEGIN HIDDEN TESTS\n"
        "xs = np.random.default_rng(SEED + 1).normal(size=50).tolist()\n"
        "assert type(mean(xs)) is float\n"
        "assert np.isclose(mean(xs), np.mean(xs))\n"
        "### END HIDDEN TESTS",
        metadata=_meta("tiny-mean-tests", grade=True, locked=True, points=POINTS["tiny-mean-tests"]),
    ),
]

RIGHT = {
    "tiny-add": "def add(a, b):\n    return a + b",
    "tiny-mean": "def mean(xs):\n    return float(sum(xs)) / len(xs)",
}
WRONG = {"tiny-add": "def add(a, b):\n    return 0", "tiny-mean": "def mean(xs):\n    return 0.0"}


def write_course(root: Path) -> None:
    """``root/solutions/tiny/tiny.ipynb``: the instructor's source notebook."""
    notebook = new_notebook(
        cells=[nbformat.from_dict(c) for c in SOURCE_CELLS],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    folder = root / "solutions" / LAB
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{LAB}.ipynb")


def released(root: Path) -> nbformat.NotebookNode:
    """The student version, as nbgrader generates it."""
    put_environment_scripts_on_path()  # nbgrader runs alembic when it creates a gradebook
    labs = generate(Course(REPO).elsewhere(root, state=root / "release"), LAB)
    return nbformat.read(labs / f"{LAB}.ipynb", as_version=4)


Edit = Callable[[nbformat.NotebookNode], None]


def answered(student_version: nbformat.NotebookNode, answers: dict[str, str], *edits: Edit) -> nbformat.NotebookNode:
    """The student version with ``answers`` in its answer cells, then ``edits`` applied."""
    notebook = with_answers(student_version, answers)
    for edit in edits:
        edit(notebook)
    return notebook


def prepend(code: str, to: str = "tiny-add") -> Edit:
    """Put ``code`` at the top of an answer cell: the student's own cell, run before the tests."""

    def edit(notebook):
        for cell in notebook.cells:
            if grade_id(cell) == to:
                cell.source = code + "\n" + cell.source

    return edit


def insert_after(anchor: str, code: str) -> Edit:
    """A new cell of the student's own after the cell ``anchor``."""

    def edit(notebook):
        index = next(i for i, cell in enumerate(notebook.cells) if grade_id(cell) == anchor)
        notebook.cells.insert(index + 1, new_code_cell(code))

    return edit


def insert_before(anchor: str, code: str) -> Edit:
    """A new cell of the student's own before the cell ``anchor``."""

    def edit(notebook):
        index = next(i for i, cell in enumerate(notebook.cells) if grade_id(cell) == anchor)
        notebook.cells.insert(index, new_code_cell(code))

    return edit


def drop(*grade_ids: str) -> Edit:
    def edit(notebook):
        notebook.cells = [cell for cell in notebook.cells if grade_id(cell) not in grade_ids]

    return edit


def rewrite(target: str, source: str, keep_metadata: bool = True) -> Edit:
    def edit(notebook):
        for cell in notebook.cells:
            if grade_id(cell) == target:
                cell.source = source
                if not keep_metadata:
                    cell.metadata = {}

    return edit


def duplicate_and_empty(target: str) -> Edit:
    """Keep the real test cell, and add a copy of it after, emptied (nbgrader keeps the last copy)."""

    def edit(notebook):
        index = next(i for i, cell in enumerate(notebook.cells) if grade_id(cell) == target)
        copy = nbformat.from_dict(json.loads(json.dumps(notebook.cells[index])))
        copy.source = "pass"
        copy["id"] = uuid.uuid4().hex[:8]
        notebook.cells.insert(index + 1, copy)

    return edit


def duplicate_every_graded_cell(notebook) -> None:
    """JupyterLab's Duplicate on each answer and test cell: the copy, metadata and all, right below it."""
    cells = []
    for cell in notebook.cells:
        cells.append(cell)
        nbgrader = cell.metadata.get("nbgrader", {})
        if nbgrader.get("solution") or nbgrader.get("grade"):
            copy = nbformat.from_dict(json.loads(json.dumps(cell)))
            copy["id"] = uuid.uuid4().hex[:8]
            cells.append(copy)
    notebook.cells = cells


SECRETS = {"SOCRATIQ_API_KEY": "sk-instructor-secret", "OPENAI_API_KEY": "sk-instructor-secret"}


def grade(root: Path, submissions: Path, *options: str, path: str | None = None) -> subprocess.CompletedProcess:
    """``python -m grader autograde`` on the tiny lab, as an instructor runs it (with keys in the environment)."""
    env = {**os.environ, **SECRETS, **({"PATH": path} if path is not None else {})}
    return run_grader(
        "--course-root",
        root,
        "--course-dir",
        root / "grading",
        "autograde",
        submissions,
        "--lab",
        LAB,
        *options,
        timeout=900,
        env=env,
    )
