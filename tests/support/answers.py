"""Submissions built from the course's own solutions, for tests and benchmarks (never shipped, never graded).

A perfect student's notebook is the released one with each answer cell holding the solution's code;
tests and benchmarks also put other code in those cells (a cheat, another student's style).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader import utils

from grader.cells import delimiters, grade_id
from grader.layout import Course


def solution_answers(source: nbformat.NotebookNode) -> dict[str, str]:
    """Each solution cell's text (by grade_id), code or written answer, without nbgrader's solution delimiters."""
    strip = delimiters().without_solution_delimiters
    return {grade_id(cell): strip(cell.source) for cell in source.cells if utils.is_solution(cell)}


def with_answers(notebook: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` whose answer cells named in ``answers`` (by grade_id) hold the given code."""
    copy = nbformat.from_dict(notebook)  # a deep copy: every dict and list is rebuilt
    for cell in copy.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return copy


def solved(course: Course, lab: str) -> nbformat.NotebookNode:
    """The released notebook with every answer from the source: what a perfect student hands in."""
    source = read(course.solutions, lab)
    return with_answers(read(course.labs, lab), solution_answers(source))


def read(folder: Path, lab: str) -> nbformat.NotebookNode:
    """``folder/<lab>/<lab>.ipynb``."""
    return nbformat.read(folder / lab / f"{lab}.ipynb", as_version=4)
