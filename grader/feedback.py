"""One HTML report per student and lab: points per exercise, failed visible checks, faults -- no hidden tests.

nbgrader's own feedback renders the whole graded notebook, hidden tests and
tracebacks through them included. This report is built from the gradebook
(the points) and the graded notebook (which check failed): a failure on a
line before ``### BEGIN HIDDEN TESTS`` is a visible check, shown with its
message and line, which the student already has; a failure after it is
reported only as "a hidden check failed". Everything a submission wrote is
escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry

from grader.cells import Delimiters, delimiters, grade_id
from grader.export import after_penalty
from grader.faults import read_faults
from grader.kernel import TEST_FILENAME
from grader.layout import Course

TEST_FRAME = re.compile(rf'File "{re.escape(TEST_FILENAME)}", line (\d+)')
TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates"), autoescape=True)


@dataclass(frozen=True)
class Row:
    grade_id: str
    score: str
    max_score: str
    status: str  # passed | failed | pending
    verdict: str
    message: str = ""


def verdict_for(cell: nbformat.NotebookNode | None, marks: Delimiters | None = None) -> tuple[str, str]:
    """``(verdict, message)`` for a graded test cell, from its outputs, without revealing hidden code."""
    if cell is None:
        return "not graded", ""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return "all checks passed", ""
    error = errors[0]
    if error.get("ename") in ("NotRun", "GradingStopped"):
        return "not run", error.get("evalue", "")
    lines = cell.source.splitlines()
    hidden_from = (marks or delimiters()).hidden_start(cell.source) or len(lines) + 1
    frame = TEST_FRAME.search("".join(error.get("traceback", [])))
    if frame and int(frame.group(1)) < hidden_from:
        line = lines[int(frame.group(1)) - 1].strip()
        return "a visible check failed", f"{line}\n{error.get('ename')}: {error.get('evalue', '')}".strip()
    return "a hidden check failed", f"{error.get('ename')} (hidden checks are not shown)"


def rows_for(course: Course, lab: str, student: str) -> tuple[list[Row], float, float, str | None]:
    """The report's rows, its total (net of a late penalty) and maximum, and its lateness line (None: on time)."""
    with Gradebook(course.db_url) as gradebook:
        submission = gradebook.find_submission(lab, student)
        grades = [
            (g.name, g.score, g.max_score, g.needs_manual_grade) for nb in submission.notebooks for g in nb.grades
        ]
        order = {c.name: i for nb in submission.assignment.notebooks for i, c in enumerate(nb.source_cells)}
        total, maximum = after_penalty(submission.score, submission.late_submission_penalty), submission.max_score
        late = lateness(submission.total_seconds_late, submission.late_submission_penalty)
    graded = course.autograded / student / lab / f"{lab}.ipynb"
    cells = {}
    if graded.is_file():
        notebook = nbformat.read(graded, as_version=4)
        cells = {grade_id(c): c for c in notebook.cells if utils.is_grade(c)}
    rows = []
    for name, score, max_score, manual in sorted(grades, key=lambda g: order.get(g[0], 0)):
        cell = cells.get(name)
        if manual:
            verdict, message, status = "waiting for the instructor's grade", "", "pending"
        elif cell is not None and utils.is_solution(cell):
            verdict, message = "graded by the instructor", ""
            status = "passed" if score == max_score else "failed"
        else:
            verdict, message = verdict_for(cell, delimiters(course))
            status = "passed" if score == max_score and max_score else "failed"
        rows.append(Row(name, f"{score:g}", f"{max_score:g}", status, verdict, message))
    return rows, total, maximum, late


def lateness(seconds_late: float | None, penalty: float | None) -> str | None:
    """How late a submission came in, and what nbgrader's late-submission penalty took; None if on time."""
    if not seconds_late or seconds_late <= 0:
        return None
    hours, minutes = divmod(round(seconds_late / 60), 60)
    took = f"the late penalty took {penalty:g} points" if penalty else "this course takes no points for it"
    return f"Submitted {hours} h {minutes} min after the due date: {took}."


def write_report(course: Course, lab: str, student: str) -> Path:
    """Write ``feedback/<student>/<lab>/<lab>.html`` (nbgrader's feedback layout) and return its path."""
    rows, total, maximum, late = rows_for(course, lab, student)
    recorded = read_faults(course.autograded / student / lab)
    html = TEMPLATES.get_template("feedback.html.j2").render(
        lab=lab,
        student=student,
        score=f"{total:g}",
        max_score=f"{maximum:g}",
        rows=rows,
        faults=recorded.get("faults", []),
        notes=recorded.get("notes", []),
        late=late,
    )
    path = course.feedback / student / lab / f"{lab}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html)
    return path


def write_all(course: Course, lab: str | None = None) -> list[Path]:
    """A report for every graded submission (of ``lab``, or of every lab)."""
    written = []
    course.require_gradebook()
    with Gradebook(course.db_url) as gradebook:
        labs = [a.name for a in gradebook.assignments if lab in (None, a.name)]
        pairs = [(a, s.student_id) for a in labs for s in gradebook.find_assignment(a).submissions]
    for assignment, student in pairs:
        try:
            written.append(write_report(course, assignment, student))
        except MissingEntry:
            continue
    return written
