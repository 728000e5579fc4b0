"""Finding the exercise a student is on, from the notebook's grade_ids and the kernel's history."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from socratiq_ext.content import load_lab
from socratiq_ext.context import CellRun, ErrorInfo, ExerciseLocator, detect_lab, notebook_path

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab01_data"


@pytest.fixture
def locator() -> ExerciseLocator:
    return ExerciseLocator(load_lab(LAB))


def failing(source: str) -> CellRun:
    try:
        exec(compile(source, "<cell>", "exec"), {})
    except Exception as error:  # noqa: BLE001
        return CellRun(source, ErrorInfo.from_exception(error, source))
    raise AssertionError("the cell was meant to fail")


def test_a_cell_belongs_to_the_exercise_it_defines_or_uses(locator):
    assert (
        locator.for_code("def near_duplicate_groups(images, radius):\n    pass") == "lab01-split-near_duplicate_groups"
    )
    assert (
        locator.for_code("cost = memory_footprint(10, (8, 8), 'f4', 2)\nprint(cost)") == "lab01-memory-memory_footprint"
    )
    assert locator.for_code("%time x = check_record(r)\n!ls") == "lab01-validate-check_record"
    assert locator.for_code("print('hello')") is None
    assert locator.for_code("def broken(:") is None


def test_the_latest_exercise_cell_wins(locator):
    history = [
        CellRun("def check_record(r):\n    return None"),
        CellRun("suspects = suspect_labels(x, y)"),
        CellRun("plt.show()"),
    ]
    assert locator.current(history) == "lab01-labels-suspect_labels"
    assert locator.current([CellRun("import numpy")]) is None


def test_an_error_belongs_to_the_exercise_it_passed_through(locator):
    run = failing(
        "def split_by_group(labels, groups):\n    return helper()\ndef helper():\n    raise ValueError('bad')\nsplit_by_group(1, 2)"
    )
    assert run.error.functions[-2:] == ("split_by_group", "helper")
    assert locator.for_error(run.error) == "lab01-split-split_by_group"
    assert locator.current([run, CellRun("print(1)")]) == "lab01-split-split_by_group"


def test_helpers_defined_in_an_answer_cell_belong_to_its_exercise(tmp_path):
    notebook = nbformat.read(ROOT / "labs" / LAB / f"{LAB}.ipynb", as_version=4)
    cell = next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "lab01-labels-suspect_labels"
    )
    cell.source += "\n\ndef neighbour_votes(images, k):\n    pass\n"
    path = tmp_path / f"{LAB}.ipynb"
    nbformat.write(notebook, path)
    located = ExerciseLocator(load_lab(LAB), path)
    assert located.for_code("votes = neighbour_votes(x, 5)") == "lab01-labels-suspect_labels"
    assert ExerciseLocator(load_lab(LAB)).for_code("votes = neighbour_votes(x, 5)") is None
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert ExerciseLocator(load_lab(LAB), broken).names == ExerciseLocator(load_lab(LAB)).names


def test_the_lab_is_found_from_the_session_or_the_folder(tmp_path):
    folder = tmp_path / LAB
    folder.mkdir()
    (folder / f"{LAB}.ipynb").write_text("{}")
    assert detect_lab([LAB], env={"JPY_SESSION_NAME": f"/x/{LAB}.ipynb"}, cwd=tmp_path) == LAB
    assert detect_lab([LAB], env={}, cwd=folder) == LAB
    assert detect_lab([LAB], env={}, cwd=tmp_path) is None
    assert notebook_path(LAB, env={}, cwd=folder) == folder / f"{LAB}.ipynb"
    assert notebook_path(LAB, env={}, cwd=tmp_path) is None
