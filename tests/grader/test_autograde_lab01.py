"""The instructor's commands on Lab 1, from an LMS zip: autograde, regrade one student, feedback, export."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from answers import solution_answers, with_answers
from grader_cli import run_grader
from tiny_lab import duplicate_every_graded_cell

from grader.export import scores
from grader.layout import Course

REPO = Path(__file__).resolve().parents[2]
LAB = "lab01_data"
SOLUTION = REPO / "solutions" / LAB / f"{LAB}.ipynb"
RELEASED = REPO / "labs" / LAB / f"{LAB}.ipynb"
CHEAT = "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"


def student_version(answers: dict[str, str], *edits) -> bytes:
    notebook = with_answers(nbformat.read(RELEASED, as_version=4), answers)
    for edit in edits:
        edit(notebook)
    return nbformat.writes(notebook).encode()


def hidden_lines() -> list[str]:
    notebook = nbformat.read(SOLUTION, as_version=4)
    lines = []
    for cell in notebook.cells:
        hidden = cell.source.partition("### BEGIN HIDDEN TESTS")[2].partition("### END HIDDEN TESTS")[0]
        lines += [line.strip() for line in hidden.splitlines() if len(line.strip()) > 12]
    return lines


def grader(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run_grader("--course-dir", root / "state", *args, timeout=900)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """Four Canvas uploads graded from the zip, then one student regraded from a folder."""
    root = tmp_path_factory.mktemp("lab01-grading")
    answers = solution_answers(nbformat.read(SOLUTION, as_version=4))
    first = sorted(answers)[0]
    export = root / "canvas.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr(f"lovelace_101_9001_{LAB}.ipynb", student_version(answers))
        archive.writestr(f"hopper_102_9002_{LAB}.ipynb", student_version({}))
        archive.writestr(f"mallory_103_9003_{LAB}.ipynb", student_version({first: CHEAT}))
        # Complete and correct, with every answer and test cell duplicated in JupyterLab.
        archive.writestr(f"noether_104_9004_{LAB}.ipynb", student_version(answers, duplicate_every_graded_cell))
    result = grader(root, "autograde", str(export), "--lab", LAB, "--jobs", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    (root / "summary.txt").write_text(result.stdout)

    late = root / "late" / "102"  # hopper resubmits with the first exercise done
    late.mkdir(parents=True)
    (late / f"{LAB}.ipynb").write_bytes(
        student_version({"lab01-validate-check_record": answers["lab01-validate-check_record"]})
    )
    result = grader(root, "autograde", str(root / "late"), "--lab", LAB, "--student", "102")
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def score_of(root: Path) -> dict[str, float]:
    return {s.student: s.score for s in scores(Course(REPO, root / "state"))}


def test_autograde_scores_the_zip_and_regrades_one_student(course: Path):
    assert score_of(course) == {"101": 36, "102": 4, "103": 0, "104": 36}
    summary = (course / "summary.txt").read_text().strip()
    assert re.fullmatch(
        r"graded 4 submissions of lab01_data in \d+ s: mean 18\.0/42, 0 with faults or problems; "
        r"next: python -m grader feedback --lab lab01_data",
        summary,
    ), summary


def test_the_gradebook_is_nbgrader_s_own(course: Path):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "nbgrader"),
            "db",
            "student",
            "list",
            f"--CourseDirectory.db_url=sqlite:///{course / 'state' / 'gradebook.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=course,
    )
    assert result.returncode == 0, result.stderr
    assert all(student in result.stdout for student in ("101", "102", "103", "104"))


def test_feedback_shows_points_and_visible_checks_but_never_hidden_tests(course: Path):
    result = grader(course, "feedback", "--lab", LAB)
    assert result.returncode == 0, result.stderr
    reports = {p.parts[-3]: p.read_text() for p in (course / "state" / "feedback").glob(f"*/{LAB}/{LAB}.html")}
    assert sorted(reports) == ["101", "102", "103", "104"]
    assert "36 / 42" in reports["101"] and "waiting for the instructor" in reports["101"]
    assert "36 / 42" in reports["104"] and "is a copy of lab01-pipeline-make_dataset-tests" in reports["104"]
    assert "a visible check failed" in reports["102"] and "NotImplementedError" in reports["102"]
    assert "4 / 4" in reports["102"]
    leaked = [line for line in hidden_lines() for html in reports.values() if line in html.replace("&#34;", '"')]
    assert leaked == []


def test_export_csv_has_one_column_per_graded_cell(course: Path):
    out = course / "grades.csv"
    assert grader(course, "export", "--format", "csv", "--out", str(out)).returncode == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0])[:4] == ["student_id", "lab", "score", "max_score"]
    assert "lab01-validate-check_record-tests" in rows[0]
    lovelace = next(r for r in rows if r["student_id"] == "101")
    assert (lovelace["score"], lovelace["max_score"], lovelace["lab01-pipeline-make_dataset-tests"]) == (
        "36",
        "42",
        "8",
    )


def test_export_canvas_matches_students_by_their_canvas_id(course: Path):
    out = course / "canvas.csv"
    assert grader(course, "export", "--format", "canvas", "--out", str(out)).returncode == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", LAB]
    assert rows[1][0] == "Points Possible" and rows[1][-1] == "42"
    assert {(r[1], r[-1]) for r in rows[2:]} == {("101", "36"), ("102", "4"), ("103", "0"), ("104", "36")}
