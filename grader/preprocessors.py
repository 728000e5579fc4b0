"""nbgrader preprocessors of this course's own: each does one job in the autograde pipeline."""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

RESTORED_NOTE = "restored by the grader: this cell was missing from the submission"


class RestoreDeletedCells(NbGraderPreprocessor):
    """Put back every nbgrader cell (setup, answer, test) that a submission no longer has.

    The gradebook keeps each cell of the released lab in order; a missing one is
    inserted after the nearest earlier cell that is present. Answer cells come
    back as the released stub. nbgrader's ``OverwriteCells.add_missing_cells``
    does this for grade cells only, and fails when the cell before a deleted
    one is a locked or answer cell; this covers every kind. Runs after
    ``DeduplicateIds`` and before ``OverwriteCells``, which then rewrites the
    restored cells' source and metadata from the gradebook like any other.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        notebook_id = resources["nbgrader"]["notebook"]
        assignment_id = resources["nbgrader"]["assignment"]
        with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
            released = gradebook.find_notebook(notebook_id, assignment_id)
            points = {cell.name: cell.max_score for cell in released.grade_cells}
            answers = {cell.name for cell in released.solution_cells}
            sources = [(cell.name, cell.cell_type, cell.source, cell.locked) for cell in released.source_cells]
        present = {_grade_id(cell): index for index, cell in enumerate(nb.cells) if _grade_id(cell)}
        position = 0
        for name, cell_type, source, locked in sources:
            if name in present:
                position = present[name] + 1
                continue
            self.log.warning("Restoring deleted cell %s", name)
            nb.cells.insert(position, _released_cell(name, cell_type, source, locked, points.get(name), name in answers))
            present = {_grade_id(cell): index for index, cell in enumerate(nb.cells) if _grade_id(cell)}
            position += 1
        return nb, resources


def _grade_id(cell: NotebookNode) -> str | None:
    if utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell) or utils.is_task(cell):
        return cell.metadata["nbgrader"].get("grade_id")
    return None


def _released_cell(name: str, cell_type: str, source: str, locked: bool, points: float | None,
                   answer: bool) -> NotebookNode:
    metadata = {"nbgrader": {"grade_id": name, "grade": points is not None, "solution": answer, "locked": locked,
                             "task": False, "schema_version": 3, **({"points": points} if points is not None else {})},
                "grader": RESTORED_NOTE}
    make = new_code_cell if cell_type == "code" else new_markdown_cell
    return make(source=source, metadata=metadata)
