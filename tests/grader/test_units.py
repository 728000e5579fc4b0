"""The grader's pure functions, on small fixtures: no kernel, no nbgrader run, milliseconds each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import PurePosixPath

import pytest
from nbformat.v4 import new_code_cell, new_output

from grader.cells import Delimiters, delimiters, is_answer, is_test, kind
from grader.errors import root_cause
from grader.export import Score, after_penalty, canvas_table, csv_table
from grader.feedback import lateness, verdict_for
from grader.kernel import TEST_FILENAME
from grader.layout import Course
from grader.submissions import student_of

TEST_SOURCE = "assert f(1) == 2, 'f(1) is 2'\n### BEGIN HIDDEN TESTS\nassert f(5) == 10\n### END HIDDEN TESTS"


def graded_test(*outputs) -> dict:
    meta = {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": "t", "points": 2}}
    return new_code_cell(TEST_SOURCE, metadata=meta, outputs=list(outputs))


def error_at(line: int, ename: str = "AssertionError", evalue: str = "f(1) is 2"):
    return new_output(
        "error",
        ename=ename,
        evalue=evalue,
        traceback=[f'  File "{TEST_FILENAME}", line {line}, in <module>\n', f"{ename}: {evalue}"],
    )


@pytest.mark.parametrize(
    ("outputs", "verdict", "message"),
    [
        ((), "all checks passed", ""),
        ((error_at(1),), "a visible check failed", "assert f(1) == 2, 'f(1) is 2'\nAssertionError: f(1) is 2"),
        ((error_at(3, evalue=""),), "a hidden check failed", "AssertionError (hidden checks are not shown)"),
        (
            (new_output("error", ename="NotRun", evalue="the kernel stopped", traceback=[]),),
            "not run",
            "the kernel stopped",
        ),
    ],
)
def test_feedback_verdicts_show_visible_checks_and_never_hidden_ones(outputs, verdict, message):
    assert verdict_for(graded_test(*outputs)) == (verdict, message)
    assert verdict_for(None) == ("not graded", "")


def test_a_hidden_failure_never_shows_its_line():
    _, message = verdict_for(graded_test(error_at(3, evalue="f(5) == 10 failed")))
    assert "f(5)" not in message


def test_csv_and_canvas_tables():
    rows = [
        Score("1234", "lab01", 7, 10, {"a": 3, "b": 4}),
        Score("ada", "lab01", 10, 10, {"a": 5, "b": 5}),
        Score("ada", "lab02", 2.5, 5, {"c": 2.5}),
    ]
    assert csv_table(rows, {"lab01": ["a", "b"], "lab02": ["c"]}) == [
        ["student_id", "lab", "score", "max_score", "a", "b", "c"],
        ["1234", "lab01", "7", "10", "3", "4", ""],
        ["ada", "lab01", "10", "10", "5", "5", ""],
        ["ada", "lab02", "2.5", "5", "", "", "2.5"],
    ]
    assert canvas_table(rows) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "lab01", "lab02"],
        ["Points Possible", "", "", "", "", "10", "5"],
        ["1234", "1234", "1234", "", "", "7", ""],  # a Canvas user id fills ID
        ["ada", "", "ada", "", "", "10", "2.5"],
    ]


@pytest.mark.parametrize(
    ("log", "cause"),
    [
        (
            "[INFO] Converting\nTraceback (most recent call last):\n  File x\nnbformat.validator.ValidationError: bad cell\n"
            "[ERROR] nbgrader.converters.base.NbGraderException: Please see the error log above",
            "nbformat.validator.ValidationError: bad cell",
        ),
        (
            "[ERROR] NbGraderException: see above\n[ERROR] No notebooks were matched by 'x'",
            "[ERROR] No notebooks were matched by 'x'",
        ),
        ("", "no reason given"),
    ],
)
def test_root_cause_names_the_first_real_exception(log, cause):
    assert root_cause({"success": False, "log": log}) == cause


@pytest.mark.parametrize(
    ("path", "student"),
    [
        ("ada/lab01_data.ipynb", "ada"),
        ("export/ada/lab01_data/lab01_data.ipynb", "ada"),  # nbgrader's own layout, under a top folder
        ("smithjohn_LATE_4321_99_lab01_data-1.ipynb", "4321"),  # Canvas, a late re-upload
        ("John Smith_777_assignsubmission_file_/lab01_data.ipynb", "777"),  # Moodle
        ("lab01_data.ipynb", None),  # no folder names a student
        ("ada/lab02_model.ipynb", None),  # another lab's notebook
    ],
)
def test_submission_naming(path, student):
    assert student_of(PurePosixPath(path), "lab01_data") == student


def test_cells_are_read_with_nbgrader_s_conventions():
    answer = new_code_cell("x = 1", metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "a"}})
    locked = new_code_cell("import numpy", metadata={"nbgrader": {"locked": True, "grade": False, "solution": False}})
    test = graded_test()
    assert (is_answer(answer), is_test(answer), kind(answer)) == (True, False, "student")
    assert (is_answer(test), is_test(test), kind(test)) == (False, True, "test")
    assert kind(locked) == "locked" and kind(new_code_cell("y = 2")) == "student"
    assert delimiters().hidden_start(TEST_SOURCE) == 2 and delimiters().hidden_regions(TEST_SOURCE) == [
        "assert f(5) == 10"
    ]
    solution = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
    assert delimiters().solution_regions(solution) == ["    return 2 * x"]
    assert delimiters().without_solution_delimiters(solution) == "def f(x):\n    return 2 * x"


def test_delimiters_follow_the_course_configuration(tmp_path):
    """A course that renames nbgrader's delimiters in its nbgrader_config.py is read with its own."""
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()\nc.ClearSolutions.begin_solution_delimeter = "<<answer>>"\n'
        'c.ClearSolutions.end_solution_delimeter = "<</answer>>"\n'
    )
    custom = delimiters(Course(tmp_path))
    assert custom == Delimiters("<<answer>>", "<</answer>>", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    source = "def f():\n    # <<answer>>\n    return 1\n    # <</answer>>"
    assert custom.solution_regions(source) == ["    return 1"] and delimiters().solution_regions(source) == []


def test_exporting_grades_never_imports_the_executor_or_a_kernel():
    """Export reads the gradebook and the faults file: it runs where no kernel can start (an LMS upload box)."""
    probe = "import sys, grader.export; print(sorted(m for m in ('grader.execute', 'grader.kernel', 'ipykernel') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_feedback_hides_what_the_course_s_own_delimiters_hide():
    source = "assert f(1) == 2\n# <<hidden>>\nassert f(5) == 10\n# <</hidden>>"
    meta = {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": "t", "points": 1}}
    cell = new_code_cell(source, metadata=meta, outputs=[error_at(3, evalue="")])
    marks = Delimiters("<<answer>>", "<</answer>>", "<<hidden>>", "<</hidden>>")
    assert verdict_for(cell, marks)[0] == "a hidden check failed"
    assert verdict_for(cell)[0] == "a visible check failed", "nbgrader's default delimiter is not in this cell"


def test_a_late_submission_says_how_late_and_what_it_cost():
    assert lateness(0, None) is None and lateness(None, None) is None
    assert lateness(2 * 3600 + 5 * 60, 3.0) == "Submitted 2 h 5 min after the due date: the late penalty took 3 points."
    assert lateness(90, 0.0) == "Submitted 0 h 2 min after the due date: this course takes no points for it."


def test_the_late_penalty_comes_off_the_score_and_never_below_zero():
    assert after_penalty(8.0, None) == 8.0
    assert after_penalty(8.0, 3.0) == 5.0
    assert after_penalty(2.0, 3.0) == 0.0
