"""Every lab in solutions/ follows the lab guide (shared/LAB_GUIDE.md) in what can be checked statically."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from grader.cells import grade_id, is_answer, is_test

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted((REPO / "solutions").glob("*/*.ipynb"))
GRADE_ID = re.compile(r"^lab\d\d-[a-z0-9]+-[a-z0-9_]+(-tests)?$")


@pytest.fixture(params=SOURCES, ids=lambda p: p.stem)
def notebook(request):
    return nbformat.read(request.param, as_version=4)


def test_there_are_labs():
    assert SOURCES, "solutions/ holds no lab"


@pytest.mark.parametrize(
    "path", SOURCES + sorted((REPO / "labs").glob("*/*.ipynb")), ids=lambda p: f"{p.parent.parent.name}/{p.stem}"
)
def test_notebooks_are_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [c.id for c in notebook.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert dirty == [], f"clear the outputs of {path.name}: cells {dirty}"


def test_grade_ids_are_stable_names(notebook):
    ids = [grade_id(c) for c in notebook.cells if grade_id(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    assert [i for i in ids if not GRADE_ID.match(i)] == [], "grade_ids follow <lab>-<part>-<name>"


def test_every_exercise_has_a_test_cell_with_visible_and_hidden_checks(notebook):
    answers = [grade_id(c) for c in notebook.cells if is_answer(c)]
    tests = {grade_id(c): c for c in notebook.cells if is_test(c)}
    assert len(answers) >= 4, "at least four autograded exercises"
    for answer in answers:
        test = tests.get(f"{answer}-tests")
        assert test is not None, f"{answer} has no test cell {answer}-tests"
        assert test.metadata["nbgrader"]["points"] > 0, f"{answer} is worth nothing"
        visible, _, hidden = test.source.partition("### BEGIN HIDDEN TESTS")
        assert "assert" in visible, f"{answer}-tests has no visible self-check"
        assert "assert" in hidden and "### END HIDDEN TESTS" in hidden, f"{answer}-tests has no hidden tests"


def test_solutions_are_marked_for_nbgrader(notebook):
    for cell in notebook.cells:
        if is_answer(cell):
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, grade_id(cell)


def test_points_follow_the_guide(notebook):
    graded = [c.metadata["nbgrader"] for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    auto = sum(m["points"] for m in graded if not m.get("solution"))
    manual = sum(m["points"] for m in graded if m.get("solution"))
    assert 20 <= auto <= 40, f"{auto} autograded points"
    assert 5 <= manual <= 10, f"{manual} manually graded points: a reflection is required"


def test_setup_imports_the_course_library_before_tensorflow(notebook):
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "import course" in code
    if "tensorflow" in code:
        assert code.index("import course") < code.index("tensorflow")


def test_test_cells_fit_120_columns(notebook):
    """Students read the checks, and their messages, in the released notebook: a long message is wrapped
    (``ruff format`` does it for a cell's code; split a long string into two adjacent literals)."""
    long = [
        (grade_id(c), line[:60])
        for c in notebook.cells
        if is_test(c)
        for line in c.source.splitlines()
        if len(line) > 120
    ]
    assert long == []
