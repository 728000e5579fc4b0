"""nbgrader's cell conventions, read in one place: which cell is an answer or a test, and where its regions are.

The kinds come from nbgrader's own ``nbgrader.utils`` (``is_solution``, ``is_grade``,
``is_locked``); the region delimiters from nbgrader's ``ClearSolutions`` and
``ClearHiddenTests`` under the course's configuration, so a course that renames them
(``c.ClearSolutions.begin_solution_delimeter``) is read the way nbgrader reads it. A region
is matched as nbgrader matches it: a line *containing* the delimiter opens or closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

from grader.layout import PACKAGED_CONFIG, Course


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's nbgrader name, for any nbgrader cell; None for a plain cell."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_answer(cell: NotebookNode) -> bool:
    """A code cell students write in (solution, not graded itself)."""
    return cell.cell_type == "code" and utils.is_solution(cell) and not utils.is_grade(cell)


def is_test(cell: NotebookNode) -> bool:
    """A code cell of tests that nbgrader scores (graded, not a solution)."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def kind(cell: NotebookNode) -> str:
    """How the guarded kernel runs a cell: ``test``, ``locked`` (the course's setup) or ``student``."""
    if utils.is_grade(cell) and not utils.is_solution(cell):
        return "test"
    if utils.is_locked(cell):
        return "locked"
    return "student"


@dataclass(frozen=True)
class Delimiters:
    """The lines that open and close a solution region and a hidden-tests region."""

    begin_solution: str
    end_solution: str
    begin_hidden: str
    end_hidden: str

    def solution_regions(self, source: str) -> list[str]:
        """The code inside each solution region of a cell, delimiter lines left out."""
        return _regions(source, self.begin_solution, self.end_solution)

    def hidden_regions(self, source: str) -> list[str]:
        """The code inside each hidden-tests region of a cell, delimiter lines left out."""
        return _regions(source, self.begin_hidden, self.end_hidden)

    def without_solution_delimiters(self, source: str) -> str:
        """A solution cell's code as the solution reads: every line but the region delimiters."""
        return "\n".join(
            line for line in source.splitlines() if self.begin_solution not in line and self.end_solution not in line
        )

    def hidden_start(self, source: str) -> int | None:
        """The 1-based number of the line that opens a test cell's hidden tests, or None without one."""
        return next((n for n, line in enumerate(source.splitlines(), 1) if self.begin_hidden in line), None)


@lru_cache(maxsize=None)
def delimiters(course: Course | None = None) -> Delimiters:
    """The delimiters of ``course`` (default: the course as this package configures it)."""
    config = course.config() if course else Course(PACKAGED_CONFIG.parent.parent).config()
    solutions, hidden = ClearSolutions(config=config), ClearHiddenTests(config=config)
    return Delimiters(
        solutions.begin_solution_delimeter,
        solutions.end_solution_delimeter,
        hidden.begin_test_delimeter,
        hidden.end_test_delimeter,
    )


def _regions(source: str, begin: str, end: str) -> list[str]:
    regions, current = [], None
    for line in source.splitlines():
        if current is None and begin in line:
            current = []
        elif current is not None and end in line:
            regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return regions
