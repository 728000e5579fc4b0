"""Scores out of the gradebook: the summary line, a plain CSV, and Canvas's gradebook import.

Scores are net of nbgrader's late-submission penalty. The CSV has ``student_id,lab,score,max_score``
and then one column per graded cell (its grade_id), so a spreadsheet shows where points were lost.
The Canvas file follows the layout Canvas exports and imports back: ``Student, ID, SIS User ID,
SIS Login ID, Section``, one column per lab, and a ``Points Possible`` row; Canvas matches rows by
``ID`` (the Canvas user id that its submission downloads carry, see :mod:`grader.submissions`) or
``SIS User ID``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from grader.errors import GraderError
from grader.faults import read_faults
from grader.layout import Course


class ExportError(GraderError):
    """The gradebook holds nothing to export yet."""


@dataclass(frozen=True)
class Score:
    student: str
    lab: str
    score: float
    max_score: float
    cells: dict[str, float]  # grade_id -> points (manual grade when given, else autograde)


def scores(course: Course) -> list[Score]:
    """Every submission in the course's gradebook, by lab then student."""
    course.require_gradebook()
    rows = []
    with Gradebook(course.db_url) as gradebook:
        for assignment in gradebook.assignments:
            for submission in sorted(assignment.submissions, key=lambda s: s.student_id):
                cells = {grade.name: grade.score for notebook in submission.notebooks for grade in notebook.grades}
                score = after_penalty(submission.score, submission.late_submission_penalty)
                rows.append(Score(submission.student_id, assignment.name, score, submission.max_score, cells))
    return rows


def after_penalty(score: float, penalty: float | None) -> float:
    """A submission's score less nbgrader's late-submission penalty, as nbgrader's own export counts it."""
    return max(0.0, score - (penalty or 0.0))


def cell_ids(course: Course) -> dict[str, list[str]]:
    """Each lab's graded cells, in notebook order."""
    with Gradebook(course.db_url) as gradebook:
        return {
            assignment.name: [name for notebook in assignment.notebooks for name in _graded_cells(notebook)]
            for assignment in gradebook.assignments
        }


def _graded_cells(notebook) -> list[str]:
    graded = {cell.name for cell in notebook.grade_cells}
    return [cell.name for cell in notebook.source_cells if cell.name in graded]


def write(course: Course, fmt: str, out: Path) -> int:
    """Write ``csv`` or ``canvas`` to ``out``; return the number of student rows."""
    rows = scores(course)
    if not rows:
        raise ExportError("the gradebook holds no submissions yet: run `python -m grader autograde` first")
    table = csv_table(rows, cell_ids(course)) if fmt == "csv" else canvas_table(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        csv.writer(handle).writerows(table)
    return len(table) - (1 if fmt == "csv" else 2)  # the header, and Canvas's Points Possible row


def csv_table(rows: list[Score], cells: dict[str, list[str]]) -> list[list[str]]:
    """The plain export: a header, then one row per submission with its points per graded cell."""
    columns = [name for lab in sorted(cells) for name in cells[lab]]
    table = [["student_id", "lab", "score", "max_score", *columns]]
    for row in rows:
        table.append(
            [
                row.student,
                row.lab,
                _number(row.score),
                _number(row.max_score),
                *(_number(row.cells[c]) if c in row.cells else "" for c in columns),
            ]
        )
    return table


def canvas_table(rows: list[Score]) -> list[list[str]]:
    """Canvas's gradebook import: a header, ``Points Possible``, then one row per student and a column per lab.

    A student id of digits is a Canvas user id (from a Canvas download) and fills ``ID``; every id fills
    ``SIS User ID``, so a course that names students by SIS id matches too.
    """
    labs = sorted({row.lab for row in rows})
    maximum = {row.lab: row.max_score for row in rows}
    by_student = {(row.student, row.lab): row.score for row in rows}
    table = [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *labs],
        ["Points Possible", "", "", "", "", *(_number(maximum[lab]) for lab in labs)],
    ]
    for student in sorted({row.student for row in rows}):
        canvas_id = student if student.isdigit() else ""
        table.append(
            [
                student,
                canvas_id,
                student,
                "",
                "",
                *(_number(by_student[(student, lab)]) if (student, lab) in by_student else "" for lab in labs),
            ]
        )
    return table


def _number(value: float) -> str:
    return f"{value:g}"


def summary(course: Course, lab: str, report) -> str:
    """One line: how many were graded, how long it took, the mean, and how many had faults."""
    graded = [s for s in scores(course) if s.lab == lab and s.student in set(report.graded)]
    faults = sum(1 for s in graded if read_faults(course.autograded / s.student / lab).get("faults"))
    mean = sum(s.score for s in graded) / len(graded) if graded else 0.0
    maximum = graded[0].max_score if graded else 0.0
    skipped = f", {len(report.skipped)} files skipped" if report.skipped else ""
    return (
        f"graded {len(graded)} submissions of {lab} in {report.seconds:.0f} s: mean {mean:.1f}/{_number(maximum)}, "
        f"{faults} with faults or problems{skipped}; next: python -m grader feedback --lab {lab}"
    )
